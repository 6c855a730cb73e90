"""Settings for tests that make accounts: Argon2 at the floor the settings accept (8 MiB,
one pass, one lane), so a test pays milliseconds per password, not the production
parameters' tenths of a second (measured separately: `rma bench accounts`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

FAST_ARGON2 = {
    "RMA_ARGON2_MEMORY_KIB": "8192",
    "RMA_ARGON2_TIME_COST": "1",
    "RMA_ARGON2_PARALLELISM": "1",
}
PASSWORD = "correct horse battery staple"


def command_line_on(database_url: str, monkeypatch: Any) -> None:
    """What ``rma`` commands run by a test read: this database, cheap Argon2."""
    monkeypatch.setenv("RMA_DATABASE_URL", database_url)
    for name, value in FAST_ARGON2.items():
        monkeypatch.setenv(name, value)


def adviser_app(settings: Any) -> FastAPI:
    """The adviser app itself, signing people in, with nothing listening where the three
    services should be (a route that calls one answers 503, past its permission check)."""
    from pydantic import SecretStr

    from rma.app.api import create
    from rma.cases.vault import generate_key
    from tests.support.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    return create(
        settings.model_copy(
            update={
                "rma_encryption_key": SecretStr(generate_key("tests")),
                "rma_service_key": SecretStr("no-service-listens-there"),
                "rma_notes_url": dead, "rma_docs_url": dead, "rma_rag_url": dead,
            }
        )
    )  # fmt: skip
