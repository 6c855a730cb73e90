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


def accounts_app(settings: Any) -> FastAPI:
    """An app with the accounts routes, the limits routes and nothing else, built the way
    the adviser app is (no service gate; people sign in): the stand-in for it in tests
    of what accounts do on their own."""
    from rma.accounts.web import check_rules, install
    from rma.db import Database
    from rma.limits.api import routes as limit_routes
    from rma.service.app import create_app

    database = Database.from_settings(settings)

    async def close(_: FastAPI) -> None:
        await database.aclose()

    app = create_app(
        "app", routes=[limit_routes], settings=settings, on_shutdown=close, service_gate=False
    )
    install(app, settings, database)
    check_rules(app)
    return app
