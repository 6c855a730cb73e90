"""Server-sent events, one way for every service (sse-starlette underneath).

A route hands :func:`event_stream` an async iterable of ``(event, data)`` pairs: the
event name (None for a bare ``data:`` frame, as OpenAI-style streams send) and the
data, sent as JSON (pydantic models included), or as it is when it is :class:`Raw`
(OpenAI's closing ``[DONE]``). A failure once the stream has
started cannot change the HTTP status any more, so it becomes a last event
(``error_events``), and an unexpected one is logged by type only. A comment line keeps
idle connections open through proxies. :func:`read_events` reads such a stream back (the
app relays the RAG service's answers to the browser with it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from pydantic_core import to_jsonable_python
from sse_starlette import EventSourceResponse, ServerSentEvent

from rma.errors import RMAError
from rma.service.errors import error_body, public_detail, status_for

log = logging.getLogger("rma.http")

Frame = tuple[str | None, Any]
ErrorEvents = Callable[[str, str, int], list[Frame]]
# The media type of every streaming route, for its OpenAPI entry.
SSE_MEDIA_TYPE = "text/event-stream"
# One event of the stream (OpenAPI describes a text/event-stream by its events: the
# schema of one item). Each event's data is one line of JSON, or [DONE] at the end.
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string", "description": "JSON, or [DONE]"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events",
        "content": {SSE_MEDIA_TYPE: {"schema": SSE_EVENT_SCHEMA}},
    }
}
KEEPALIVE_SECONDS = 15


class Raw(str):
    """Data sent as it is, not as JSON."""


DONE = Raw("[DONE]")


def error_frames(kind: str, detail: str, status: int) -> list[Frame]:
    """The default last event of a stream that failed: ``error`` with what went wrong."""
    return [("error", error_body(kind, detail, status=status))]


def event_stream(
    frames: AsyncIterable[Frame], *, error_events: ErrorEvents = error_frames
) -> EventSourceResponse:
    """A ``text/event-stream`` response sending ``frames`` as they come."""
    return EventSourceResponse(
        _encoded(frames, error_events),
        sep="\n",
        ping=KEEPALIVE_SECONDS,
        headers={"Cache-Control": "no-store"},
    )


async def _encoded(
    frames: AsyncIterable[Frame], error_events: ErrorEvents
) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event, data in frames:
            yield _event(event, data)
    except RMAError as exc:
        for event, data in error_events(type(exc).__name__, public_detail(exc), status_for(exc)):
            yield _event(event, data)
    except Exception:
        log.exception("stream failed")  # the type only: see rma.service.logs
        for event, data in error_events("internal", "the stream could not be completed", 500):
            yield _event(event, data)


def _event(event: str | None, data: Any) -> ServerSentEvent:
    text = data if isinstance(data, Raw) else json.dumps(to_jsonable_python(data))
    return ServerSentEvent(text, event=event, sep="\n")


async def read_events(lines: AsyncIterable[str]) -> AsyncIterator[Frame]:
    """The ``(event, data)`` pairs of a stream :func:`event_stream` sent (read line by
    line, e.g. ``httpx.Response.aiter_lines``): data as JSON, or :class:`Raw` when it is
    not JSON. Comment lines (the keep-alive pings) are skipped."""
    event: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    yield event, json.loads(text)
                except ValueError:
                    yield event, Raw(text)
            event, data = None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
