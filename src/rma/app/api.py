"""The adviser app (``rma serve app``, port 8103): built with the shared app factory.

It refuses to start without an encryption key (client files are never stored in the
clear), and is ready when its database answers and the three services it calls do.
People sign in here (:mod:`rma.accounts.web`: sessions, tokens, the permission on every
route, the audit of every request); the three services it calls take its service key.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.web import check_rules, install
from rma.app import pages
from rma.app.actor import Access, AccessHook
from rma.app.deps import AppState
from rma.app.reader import DocumentReader
from rma.app.routes import cases, debts, documents, eligibility, letters, manuals, money, search
from rma.app.services import Services
from rma.cases.store import CaseStore
from rma.cases.vault import Vault
from rma.config import Settings, load_settings
from rma.db import Database
from rma.documents.validation import UploadLimits
from rma.errors import ConfigError
from rma.limits.api import routes as limit_routes
from rma.limits.changes import LimitRegister
from rma.llm.router import ProviderRouter
from rma.service.app import create_app
from rma.service.readiness import Readiness

ROUTES = [cases.routes, documents.routes, debts.routes, money.routes, eligibility.routes,
          letters.routes, search.routes, manuals.routes]  # fmt: skip


async def _start(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    vault = Vault.from_settings(settings)  # a missing or bad key stops start-up here
    if settings.rma_service_auth == "tokens" and not settings.rma_service_key.get_secret_value():
        raise ConfigError(
            "the services take service credentials only, and RMA_SERVICE_KEY is not set: set "
            "it to the app's service token (rma tokens create --service adviser-app) or to "
            "one of the services' RMA_API_KEYS"
        )
    database: Database = app.state.accounts.database
    store = CaseStore(database, vault)
    services = Services.from_settings(settings)
    reader = DocumentReader(store, services.docs, services.search)
    limits = UploadLimits(max_bytes=settings.case_upload_max_bytes)
    app.state.cases = AppState(store, LimitRegister(database), services, reader, limits)
    app.state.limit_register = app.state.cases.register  # one register: one cache
    app.state.access_hooks = [audit_reads(app.state.accounts.audit)]
    await reader.resume()


async def _stop(app: FastAPI) -> None:
    state: AppState = app.state.cases
    await state.reader.aclose()
    await state.services.aclose()
    await state.store.database.aclose()


async def readiness(app: FastAPI) -> tuple[Readiness, bool]:
    """The database answers, and so does each service the app calls."""
    state: AppState = app.state.cases
    checks: list[dict[str, Any]] = []
    try:
        async with state.store.database.session() as session:
            await session.execute(text("SELECT 1"))
        checks.append({"service": "database", "ok": True})
    except Exception as exc:
        checks.append({"service": "database", "ok": False, "error": type(exc).__name__})
    for client in state.services.all():
        checks.append(await client.healthy())
    ok = all(c["ok"] for c in checks)
    return Readiness(status="ready" if ok else "not_ready", checks=checks), ok


def audit_reads(audit: AuditLog) -> AccessHook:
    """Each read of a client's documents (or sensitive details) as its own audit entry,
    beside the request's: what was read, of which case and document."""

    async def record(access: Access) -> None:
        await audit.record(
            access.actor,
            AuditEvent(access.action, case_id=access.case_id, object_type="document"
                       if access.document_id is not None else "case",
                       object_id=access.document_id or access.case_id),
        )  # fmt: skip

    return record


def create(settings: Settings | None = None, router: ProviderRouter | None = None) -> FastAPI:
    """The adviser app; settings default to the environment's."""
    settings = settings or load_settings()
    app = create_app(
        "app",
        routes=[*ROUTES, limit_routes],
        settings=settings,
        router=router,
        on_startup=_start,
        on_shutdown=_stop,
        readiness=readiness,
        service_gate=False,
    )
    install(app, settings, Database.from_settings(settings))
    pages.install(app)
    check_rules(app)
    return app
