"""The middleware around every route, outermost first:

- :class:`RequestFrame`: a request id for every request; every response counted, timed
  and logged (route and status, never the body or query); any exception a route did not
  handle becomes a 500 JSON body with that id, logged by its type only.
- CORS (when origins are named), so a browser's preflight is answered before keys are
  asked for, and error responses carry the CORS headers a browser needs to read them.
- :class:`ProbeAnswers`: ``GET /health`` and ``GET /ready`` answered from bodies kept
  ready, without routing, keys or body checks, so a probe costs microseconds even when
  the service is busy (the routes stay declared in the app, for its OpenAPI document).
- :class:`Gate`: the service gate (service tokens or ``RMA_API_KEYS``), then a rate
  limit per caller (429 with ``Retry-After``).
- :class:`rma.service.guard.RequestGuard`: bodies within their limit, text that is text.

Pure ASGI (not ``BaseHTTPMiddleware``): streamed responses pass through untouched and
nothing is buffered here.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from limits import RateLimitItem, parse_many
from rma import constants as C
from rma.accounts.gate import ServiceGate
from rma.errors import Forbidden, Unauthenticated
from rma.service.errors import error_body
from rma.service.logs import request_id

log = logging.getLogger("rma.http")

HTTP_REQUESTS = Counter(
    "rma_http_requests_total", "HTTP requests", ["service", "route", "method", "status"]
)
HTTP_LATENCY = Histogram("rma_http_request_seconds", "HTTP request latency", ["service", "route"])
HTTP_UNHANDLED = Counter(
    "rma_http_unhandled_errors_total", "Exceptions no route handled (answered 500)",
    ["service", "error"],
)  # fmt: skip
HTTP_LIMITED = Counter("rma_http_rate_limited_total", "Requests refused with 429", ["service"])
# Open to probes and scrapers without a key; they say nothing about clients.
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
PROBE_PATHS = frozenset({"/health", "/ready"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return ""


class RequestFrame:
    """Request ids, metrics, the access log and the last-resort 500 (see module)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, C.REQUEST_ID_HEADER.lower().encode())
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.monotonic()
        status = 500
        answered = False

        async def framed(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                MutableHeaders(scope=message)[C.REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, framed)
        except Exception as exc:
            label = _route_label(scope)
            HTTP_UNHANDLED.labels(self.service, type(exc).__name__).inc()
            log.exception(  # the type only: see rma.service.logs
                "unhandled error", extra={"service": self.service, "route": label}
            )
            if not answered:
                body = error_body(
                    "internal",
                    "the service failed on this request; quote the request id when reporting it",
                )
                await JSONResponse(body, status_code=500)(scope, receive, framed)
            status = 500
        finally:
            label = _route_label(scope)
            seconds = time.monotonic() - started
            HTTP_REQUESTS.labels(self.service, label, scope["method"], str(status)).inc()
            HTTP_LATENCY.labels(self.service, label).observe(seconds)
            # Probes come every few seconds from every kubelet: logged only at DEBUG.
            level = logging.DEBUG if label in PROBE_PATHS else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "service": self.service,
                    "method": scope["method"],
                    "route": label,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            request_id.reset(token)


@dataclass(frozen=True)
class _Probe:
    path: str  # what the frame labels the request with, as Starlette's routes have


ProbeAnswer = Callable[[], tuple[int, bytes]]


class ProbeAnswers:
    """Answers ``GET`` on each path in ``answers`` with the status and JSON body its
    function gives (see the module); everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, answers: dict[str, ProbeAnswer]) -> None:
        self.app = app
        self.answers = answers
        self.labels = {path: _Probe(path) for path in answers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.answers.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.labels[scope["path"]]
        status, body = answer()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _route_label(scope: Scope) -> str:
    """The route's path template (``/documents/{document_id}``), never the path itself."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class Gate:
    """Who is calling, then a rate limit per caller (429 with ``Retry-After``).

    The caller is the one the service gate admits (:mod:`rma.accounts.gate`: a service
    token or a key in ``RMA_API_KEYS``; 401 or 403 otherwise), kept on the request's
    state as ``caller``; the rate limit is counted per service account, or per client
    address when the gate is off (``RMA_SERVICE_AUTH=off``). Without a gate (the adviser
    app, which admits people itself) requests pass unchecked and unlimited here.
    ``OPEN_PATHS`` pass freely."""

    def __init__(
        self, app: ASGIApp, service: str, gate: ServiceGate | None, rate_limit: str = ""
    ) -> None:
        self.app = app
        self.service = service
        self.gate = gate
        self.limits: list[RateLimitItem] = parse_many(rate_limit) if rate_limit else []
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self.gate is None:
            await self.app(scope, receive, send)
            return
        try:
            caller = await self._caller(self.gate, scope)
        except (Unauthenticated, Forbidden) as exc:
            await _refusal(exc)(scope, receive, send)
            return
        for item in self.limits:
            if not self.limiter.hit(item, self.service, caller):
                await self._too_many(item, caller)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _caller(gate: ServiceGate, scope: Scope) -> str:
        """Who is calling, for the rate limit: the service account the gate admits (its
        name, never the credential), or the client address when the gate is off."""
        actor = await gate.admit(Headers(scope=scope))
        scope.setdefault("state", {})["caller"] = actor
        if gate.open:
            client = scope.get("client")
            return f"address:{client[0] if client else 'unknown'}"
        return f"{actor.via}:{actor.name}"

    def _too_many(self, item: RateLimitItem, caller: str) -> JSONResponse:
        HTTP_LIMITED.labels(self.service).inc()
        reset = self.limiter.get_window_stats(item, self.service, caller).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return JSONResponse(
            error_body(
                "rate_limited",
                f"more than {item.amount} requests per {_period(item)} from this caller; "
                f"retry after {wait} s",
            ),
            status_code=429,
            headers={"Retry-After": str(wait)},
        )


def _refusal(exc: Unauthenticated | Forbidden) -> JSONResponse:
    if isinstance(exc, Unauthenticated):
        return JSONResponse(
            error_body("unauthorised", str(exc)),
            status_code=exc.status_code,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return JSONResponse(error_body("forbidden", str(exc)), status_code=exc.status_code)


def _period(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"
