"""Settings for tests that make accounts: Argon2 at the floor the settings accept (8 MiB,
one pass, one lane), so a test pays milliseconds per password, not the production 0.1 s
(measured separately: `rma bench accounts`)."""

from __future__ import annotations

FAST_ARGON2 = {
    "RMA_ARGON2_MEMORY_KIB": "8192",
    "RMA_ARGON2_TIME_COST": "1",
    "RMA_ARGON2_PARALLELISM": "1",
}
PASSWORD = "correct horse battery staple"
