"""The app factory every RMA service is built with.

It gives each service the same operational surface: ``/health`` (alive), ``/ready``
(backends reachable, models present, a one-token probe, breaker state; from one
background prober, see :mod:`rma.service.readiness`), ``/metrics`` (Prometheus), and the
edge every other route sits behind (:mod:`rma.service.edge`): request ids, JSON access
logs without client text, the service gate (service tokens or ``RMA_API_KEYS`` only:
:mod:`rma.accounts.gate`) with a rate limit per caller, bodies within their limit and
text that is text, and error responses that say what went wrong in one JSON shape
(:mod:`rma.service.errors`). CORS is off unless ``RMA_CORS_ORIGINS`` names origins. The
adviser app, where people sign in, turns the gate off and authenticates people itself
(:mod:`rma.accounts.web`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from rma import __version__
from rma import constants as C
from rma.accounts.gate import ServiceGate
from rma.config import Settings, load_settings
from rma.errors import ConfigError, RMAError
from rma.llm.factory import build_router, reload_router
from rma.llm.router import ProviderRouter
from rma.service.edge import Gate, ProbeAnswers, RequestFrame
from rma.service.errors import ERROR_RESPONSES, error_body, error_response
from rma.service.guard import RefusedBody, RequestGuard
from rma.service.logs import configure_logging
from rma.service.readiness import (
    Readiness,
    ReadinessCheck,
    ReadinessProber,
    backends_readiness,
)

log = logging.getLogger("rma.http")

Startup = Callable[[FastAPI], Awaitable[None]]
# Kinds of error for the HTTP statuses Starlette and FastAPI raise themselves.
_HTTP_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def get_router(request: Request) -> ProviderRouter:
    return request.app.state.router  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


RouterDep = Annotated[ProviderRouter, Depends(get_router)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str
    version: str


def create_app(
    service: str,
    *,
    routes: list[APIRouter] = (),  # type: ignore[assignment]
    settings: Settings | None = None,
    router: ProviderRouter | None = None,
    on_startup: Startup | None = None,
    on_shutdown: Startup | None = None,
    readiness: ReadinessCheck | None = None,
    service_gate: bool = True,
) -> FastAPI:
    """A FastAPI app for ``service`` with RMA's shared middleware and endpoints.
    ``readiness`` replaces the model backends' checks in ``/ready`` (a service that calls
    no model, like the adviser app, checks what it does depend on); the background prober
    runs it either way. With ``service_gate`` (the three services), every endpoint but the
    probes needs a service credential; the adviser app passes False and admits people
    itself (:mod:`rma.accounts.web`)."""
    settings = settings or load_settings()
    gate = ServiceGate(settings) if service_gate else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.rma_log_level)
        app.state.settings = settings
        app.state.router = router or build_router(settings)
        check = readiness or backends_readiness
        app.state.readiness = ReadinessProber(lambda: check(app))
        reloads = router is None and _reload_on_sighup(app, service)
        if on_startup:
            await on_startup(app)
        app.state.readiness.start()
        log.info("service started", extra={"service": service})
        try:
            yield
        finally:
            await app.state.readiness.stop()
            if reloads:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if on_shutdown:
                await on_shutdown(app)
            if gate is not None:
                await gate.aclose()
            if router is None:
                await app.state.router.aclose()

    app = FastAPI(
        title=f"RMA {service}", version=__version__, lifespan=lifespan, responses=ERROR_RESPONSES
    )
    # Added innermost first: the frame wraps everything, CORS answers before the gate.
    app.add_middleware(RequestGuard)
    app.add_middleware(Gate, service=service, gate=gate, rate_limit=settings.rma_rate_limit)
    alive = Health(service=service, version=__version__).model_dump_json().encode()
    probes = {
        "/health": lambda: (200, alive),
        "/ready": lambda: app.state.readiness.answer(),
    }
    app.add_middleware(ProbeAnswers, answers=probes)
    if settings.rma_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.rma_cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Authorization", C.API_KEY_HEADER],
            expose_headers=[C.REQUEST_ID_HEADER, "Retry-After"],
        )
    app.add_middleware(RequestFrame, service=service)
    _install_error_handlers(app)

    # Answered by ProbeAnswers before any routing; declared here for the OpenAPI document.
    @app.get("/health", tags=["operations"], response_model=Health)
    async def health() -> Response:
        """Liveness: the process is up and answering (nothing else is checked)."""
        return Response(alive, media_type="application/json")

    @app.get(
        "/ready",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready"}},
    )
    async def ready(request: Request) -> Response:
        """Readiness: each backend reachable, its model present, a one-token probe (or the
        service's own checks); the last result of the background prober, never a probe of
        its own."""
        status, body = request.app.state.readiness.answer()
        return Response(body, status_code=status, media_type="application/json")

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """Prometheus metrics: requests, errors, fallbacks, latency, tokens."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for r in routes:
        app.include_router(r)
    return app


def _reload_on_sighup(app: FastAPI, service: str) -> bool:
    """SIGHUP re-reads the settings (environment and ``RMA_CONFIG`` file) and rebuilds the
    provider layer in place: a rollback or a migration change without a restart."""
    loop = asyncio.get_running_loop()
    app.state.reloads = set()

    def on_signal() -> None:
        task = loop.create_task(reload_providers(app, service))
        app.state.reloads.add(task)
        task.add_done_callback(app.state.reloads.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_signal)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals off the main thread
        return False
    return True


async def reload_providers(app: FastAPI, service: str) -> None:
    """Apply the current settings to the running service's router (see ``reload_router``);
    on bad settings the previous ones stay in force and the refusal is logged."""
    try:
        settings = load_settings()
        outcome = await reload_router(app.state.router, settings)
    except ConfigError as exc:
        log.error(
            "reload refused, the previous settings stay in force: %s",
            exc,
            extra={"service": service, "error": type(exc).__name__},
        )
        return
    app.state.settings = settings
    app.state.readiness.probe_now()
    log.info("providers reloaded", extra={"service": service, "provider": outcome["chat"]})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Without echoing the input: it may be client text, or bytes that are not UTF-8.
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("invalid_request", "the request does not match the API", problems=problems),
            status_code=422,
        )

    @app.exception_handler(RMAError)
    async def rma_error(_: Request, exc: RMAError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, RefusedBody):
            return error_response(exc.error)
        kind = _HTTP_KINDS.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(
            error_body(kind, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
