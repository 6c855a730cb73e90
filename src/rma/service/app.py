"""The app factory every RMA service is built with.

It gives each service the same operational surface: ``/health`` (alive),
``/ready`` (backends reachable, models present, a one-token probe, breaker state),
``/metrics`` (Prometheus), request IDs, JSON access logs without client text, the
service gate (service tokens or ``RMA_API_KEYS`` only: :mod:`rma.accounts.gate`), and
error responses that say what went wrong. CORS is off unless ``RMA_CORS_ORIGINS`` names
origins. The adviser app, where people sign in, turns the gate off and authenticates
people itself (:mod:`rma.accounts.web`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel

from rma import __version__
from rma import constants as C
from rma.accounts.gate import ServiceGate
from rma.config import Settings, load_settings
from rma.errors import (
    AllBackendsFailed,
    BackendError,
    BackendRejected,
    ConfigError,
    Forbidden,
    InputError,
    RMAError,
    ServiceUnavailable,
    StreamInterrupted,
    StructuredOutputError,
    TooManyAttempts,
    Unauthenticated,
)
from rma.llm.factory import build_router, reload_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Role
from rma.service.logs import configure_logging, request_id

log = logging.getLogger("rma.http")

HTTP_REQUESTS = Counter(
    "rma_http_requests_total", "HTTP requests", ["service", "route", "method", "status"]
)
HTTP_LATENCY = Histogram("rma_http_request_seconds", "HTTP request latency", ["service", "route"])
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
READY_CACHE_SECONDS = 5.0

Startup = Callable[[FastAPI], Awaitable[None]]


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


ReadyStatus = Literal["ready", "degraded", "not_ready"]


class Readiness(BaseModel):
    """Each backend's check, and the verdict: ready, degraded (a fallback carries the
    load) or not ready (HTTP 503)."""

    status: ReadyStatus
    checks: list[dict[str, Any]]


ReadinessCheck = Callable[[FastAPI], Awaitable[tuple[Readiness, bool]]]


async def current_readiness(request: Request) -> tuple[Readiness, bool]:
    check: ReadinessCheck = getattr(request.app.state, "readiness", None) or readiness_report
    return await check(request.app)


ReadinessDep = Annotated[tuple[Readiness, bool], Depends(current_readiness)]


def error_body(kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": kind, "detail": detail, "request_id": request_id.get(), **extra}


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
    no model, like the adviser app, checks what it does depend on). With ``service_gate``
    (the three services), every endpoint but the probes needs a service credential; the
    adviser app passes False and admits people itself (:mod:`rma.accounts.web`)."""
    settings = settings or load_settings()
    gate = ServiceGate(settings) if service_gate else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.rma_log_level)
        app.state.settings = settings
        app.state.router = router or build_router(settings)
        app.state.ready_cache = (0.0, None)
        app.state.readiness = readiness
        reloads = router is None and _reload_on_sighup(app, service)
        if on_startup:
            await on_startup(app)
        log.info("service started", extra={"service": service})
        try:
            yield
        finally:
            if reloads:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if on_shutdown:
                await on_shutdown(app)
            if gate is not None:
                await gate.aclose()
            if router is None:
                await app.state.router.aclose()

    app = FastAPI(title=f"RMA {service}", version=__version__, lifespan=lifespan)
    if settings.rma_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.rma_cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Authorization", C.API_KEY_HEADER],
        )

    @app.middleware("http")
    async def frame(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get(C.REQUEST_ID_HEADER, "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.monotonic()
        try:
            refused = None
            if gate is not None and request.url.path not in OPEN_PATHS:
                refused = await _refusal(gate, request)
            response: Response = refused or await call_next(request)
            route = getattr(request.scope.get("route"), "path", "unmatched")
            seconds = time.monotonic() - started
            HTTP_REQUESTS.labels(service, route, request.method, str(response.status_code)).inc()
            HTTP_LATENCY.labels(service, route).observe(seconds)
            response.headers[C.REQUEST_ID_HEADER] = rid
            log.info(
                "request",
                extra={
                    "service": service,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            return response
        finally:
            request_id.reset(token)

    _install_error_handlers(app)

    @app.get("/health", tags=["operations"], response_model=Health)
    async def health() -> Health:
        """Liveness: the process is up and answering."""
        return Health(service=service, version=__version__)

    @app.get(
        "/ready",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready"}},
    )
    async def ready(report: ReadinessDep) -> JSONResponse:
        """Readiness: each backend reachable, its model present, a one-token probe."""
        body, ok = report
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)

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
    app.state.ready_cache = (0.0, None)
    log.info("providers reloaded", extra={"service": service, "provider": outcome["chat"]})


async def readiness_report(app: FastAPI) -> tuple[Readiness, bool]:
    """Cached for a few seconds so frequent probes do not each run a model call."""
    cached_at, cached = app.state.ready_cache
    if cached is not None and time.monotonic() - cached_at < READY_CACHE_SECONDS:
        return cached
    result = summarise_readiness(await app.state.router.readiness())
    app.state.ready_cache = (time.monotonic(), result)
    return result


def summarise_readiness(checks: list[dict[str, Any]]) -> tuple[Readiness, bool]:
    """Ready when the primary target of every role passes; degraded when a chat fallback
    carries the load; not ready otherwise."""

    def passed(c: dict[str, Any]) -> bool:
        return bool(c["reachable"] and c["model_present"] and c["probe"] in ("ok", "skipped"))

    by_role: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        by_role.setdefault(c["role"], []).append(c)
    primaries_ok = all(passed(chain[0]) for chain in by_role.values())
    chat = by_role.get(Role.CHAT.value, [])
    others_ok = all(passed(chain[0]) for role, chain in by_role.items() if role != Role.CHAT.value)
    degraded = not primaries_ok and others_ok and any(passed(c) for c in chat[1:])
    status: ReadyStatus = "ready" if primaries_ok else "degraded" if degraded else "not_ready"
    return Readiness(status=status, checks=checks), status != "not_ready"


async def _refusal(gate: ServiceGate, request: Request) -> Response | None:
    """None if the gate admits the request (the caller is kept on ``request.state``),
    else the 401 or 403 response that says why."""
    try:
        request.state.caller = await gate.admit(request.headers)
    except (Unauthenticated, Forbidden) as exc:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else {}
        kind = "unauthorised" if isinstance(exc, Unauthenticated) else "forbidden"
        return JSONResponse(
            error_body(kind, str(exc)), status_code=exc.status_code, headers=headers
        )
    return None


def status_for(exc: RMAError) -> int:
    """The HTTP status an error answers with (and, in a stream that has already
    started, the status it would have had)."""
    if isinstance(exc, InputError):
        return exc.status_code
    if isinstance(exc, (AllBackendsFailed, ServiceUnavailable)):
        return 503
    if isinstance(exc, BackendRejected) and exc.status_code == 400:
        return 422  # a 400 from the model server is almost always input it cannot take
    if isinstance(exc, (BackendError, StructuredOutputError, StreamInterrupted)):
        return 502
    return 500


def _error_kind(exc: RMAError) -> str:
    kinds = {
        AllBackendsFailed: "backends_unavailable",
        StructuredOutputError: "invalid_model_output",
        StreamInterrupted: "stream_interrupted",
        ConfigError: "configuration",
        ServiceUnavailable: "service_unavailable",
    }
    return next((k for t, k in kinds.items() if isinstance(exc, t)), type(exc).__name__)


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
        extra: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if isinstance(exc, AllBackendsFailed):
            extra["hops"] = [h.model_dump() for h in exc.hops]
            if exc.retry_after is not None:
                headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        elif isinstance(exc, BackendError):
            extra["provider"] = exc.provider
        elif isinstance(exc, ServiceUnavailable):
            extra["service"] = exc.service
        elif isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        elif isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        detail = exc.message if isinstance(exc, BackendError) else str(exc)
        return JSONResponse(
            error_body(_error_kind(exc), detail, **extra),
            status_code=status_for(exc),
            headers=headers,
        )
