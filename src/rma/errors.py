"""The few error types RMA raises, and which of them are worth another backend.

Modelled on httpx: low-level failures (sockets, HTTP statuses, bad JSON) are mapped
onto a small hierarchy, so callers catch meaning, not transport details.

    RMAError
    ├── ConfigError                 bad settings, found at start-up
    ├── InputError                  the caller's request is wrong (HTTP 4xx)
    │   ├── Unauthenticated         no valid session, token or service credential (HTTP 401)
    │   ├── Forbidden               signed in, but the role does not allow it (HTTP 403)
    │   ├── TooManyAttempts         sign-ins locked for a while (HTTP 429, has retry_after)
    │   ├── NotFound                what was asked for does not exist (HTTP 404)
    │   ├── Conflict                it clashes with what is recorded (HTTP 409)
    │   │   └── NothingIngested     a question before any manual is ingested
    │   ├── CapabilityError         the backend cannot do this role (vision on local)
    │   ├── UnsupportedMediaType    an upload in a format we do not read (HTTP 415)
    │   └── InputTooLarge
    ├── BackendError                a model backend failed
    │   ├── BackendUnavailable *    connection refused/reset, DNS
    │   ├── BackendTimeout *        connect, first-token or total timeout
    │   ├── BackendOverloaded *     429 or our own queue is full (has retry_after)
    │   ├── BackendServerError *    5xx
    │   ├── BackendRejected         4xx: bad request, unknown model (never retried)
    │   │   └── ContextTooLong      the prompt does not fit the model's context window
    │   └── MalformedResponse       the backend answered something we cannot read
    ├── CircuitOpen *               the breaker is open for that backend
    ├── StoredDataError             stored data does not read back (altered, damaged)
    ├── ServiceUnavailable          another RMA service did not answer (HTTP 503)
    ├── AllBackendsFailed           every backend in the chain failed (has hops)
    ├── StreamInterrupted           a stream failed after its first token
    └── StructuredOutputError       the model's JSON did not validate, twice

Types marked * are transient: the router retries them and falls back to the next
backend. The rest go straight to the caller.
"""

from __future__ import annotations

from typing import Any


class RMAError(Exception):
    """Base of every error RMA raises on purpose."""


class ConfigError(RMAError):
    """Settings that cannot work; raised at start-up, never silently defaulted."""


class InputError(RMAError):
    """The request itself is wrong; retrying or another backend will not help."""

    status_code = 422


class Unauthenticated(InputError):
    """No valid credential: sign in, or send a valid token."""

    status_code = 401


class Forbidden(InputError):
    """The caller is known, but the permission table does not allow this."""

    status_code = 403


class TooManyAttempts(InputError):
    """Too many failed sign-ins: refused until ``retry_after`` seconds have passed."""

    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(InputError):
    """The thing asked for does not exist (an unknown limit, no value on that date)."""

    status_code = 404


class Conflict(InputError):
    """The request clashes with what is already recorded (a decided proposal)."""

    status_code = 409


class NothingIngested(Conflict):
    """A question to a library with no manuals in it: saying "not covered" would mislead."""


class InputTooLarge(InputError):
    status_code = 413


class UnsupportedMediaType(InputError):
    """An uploaded file in a format RMA does not read."""

    status_code = 415


class CapabilityError(InputError):
    """The chosen backend does not offer this role (e.g. vision on the local model)."""

    status_code = 501


class BackendError(RMAError):
    """A model backend failed. ``transient`` says whether another try may succeed."""

    transient = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        replica: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.replica = replica
        self.status_code = status_code
        self.retry_after = retry_after


class BackendUnavailable(BackendError):
    transient = True


class BackendTimeout(BackendError):
    transient = True


class BackendOverloaded(BackendError):
    transient = True


class BackendServerError(BackendError):
    transient = True


class BackendRejected(BackendError):
    """A 4xx from the backend: our request or model name is wrong. Never falls back."""


class ContextTooLong(BackendRejected):
    """The server refused a prompt longer than its context window (vLLM's 400)."""


class MalformedResponse(BackendError):
    """The backend answered, but not in its documented format."""


class CircuitOpen(BackendError):
    transient = True


class StoredDataError(RMAError):
    """Data RMA stored does not read back: a file altered, damaged, moved or missing."""


class ServiceUnavailable(RMAError):
    """Another RMA service (called over HTTP) did not answer, or answered an error."""

    status_code = 503

    def __init__(self, message: str, *, service: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.service = service
        self.status = status


class AllBackendsFailed(RMAError):
    """Every backend in the chain failed; ``hops`` lists what each one said."""

    def __init__(self, message: str, hops: list[Any], retry_after: float | None = None) -> None:
        super().__init__(message)
        self.hops = hops
        self.retry_after = retry_after


class StreamInterrupted(RMAError):
    """A stream broke after tokens had been sent; it cannot be replayed elsewhere."""


class StructuredOutputError(RMAError):
    """The model's output did not match the requested schema after one corrective retry."""

    def __init__(self, message: str, raw: str = "", result: Any = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.result = result  # the last reply's ChatResult (provider, model, tokens)
