"""One shape for every error a service answers: a JSON body with what went wrong and the
request id, whatever raised it (our own errors, FastAPI's validation, Starlette's 404 and
405, the edge's limits, or an exception nobody expected).

Bodies never carry client text (validation problems name fields, not values) nor the
addresses of internal backends: an operator finds those in the logs by request id.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from rma.errors import (
    AllBackendsFailed,
    BackendError,
    BackendRejected,
    ConfigError,
    InputError,
    RMAError,
    ServiceUnavailable,
    StreamInterrupted,
    StructuredOutputError,
    TooManyAttempts,
    Unauthenticated,
)
from rma.service.logs import request_id

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>)\]]+", re.I)
# Hosts and ports as backend errors print them without a scheme (``vllm:8000``).
_HOST_PORT = re.compile(r"\b[\w.-]+:\d{2,5}\b")


class ErrorBody(BaseModel):
    """What every error response holds (HTTP 4xx and 5xx)."""

    error: str = Field(description="A stable code for the kind of error.")
    detail: str = Field(description="What went wrong, for people.")
    request_id: str = Field(description="Quote it when reporting a problem.")
    problems: list[dict[str, Any]] | None = Field(
        default=None, description="Each field that did not validate (invalid_request only)."
    )
    hops: list[dict[str, Any]] | None = Field(
        default=None, description="Each backend tried (backends_unavailable only)."
    )
    provider: str | None = None
    service: str | None = Field(
        default=None, description="The RMA service that failed (service_unavailable only)."
    )
    status: int | None = Field(
        default=None, description="In a stream's last event: the HTTP status."
    )


# Every route documents these, so a client (and the schema fuzzer) knows their shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "The request cannot be served as sent."},
    "5XX": {"model": ErrorBody, "description": "A backend or the service failed."},
}


def redact(text: str) -> str:
    """``text`` without URLs or host:port pairs (internal addresses)."""
    return _HOST_PORT.sub("(backend)", _URL.sub("(backend)", text))


def error_body(kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": kind, "detail": detail, "request_id": request_id.get(), **extra}


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


def error_kind(exc: RMAError) -> str:
    kinds = {
        AllBackendsFailed: "backends_unavailable",
        StructuredOutputError: "invalid_model_output",
        StreamInterrupted: "stream_interrupted",
        ConfigError: "configuration",
        ServiceUnavailable: "service_unavailable",
    }
    return next((k for t, k in kinds.items() if isinstance(exc, t)), type(exc).__name__)


def public_detail(exc: RMAError) -> str:
    """What an error may say to a client: backend errors without internal addresses."""
    detail = exc.message if isinstance(exc, BackendError) else str(exc)
    return detail if isinstance(exc, InputError) else redact(detail)


def error_response(exc: RMAError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The response for one of our errors."""
    extra: dict[str, Any] = {}
    headers = dict(headers or {})
    if isinstance(exc, AllBackendsFailed):
        extra["hops"] = [
            {
                "provider": h.provider,
                "model": h.model,
                "error": h.error,
                "message": redact(h.message),
            }
            for h in exc.hops
        ]
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
    return JSONResponse(
        error_body(error_kind(exc), public_detail(exc), **extra),
        status_code=status_for(exc),
        headers=headers,
    )
