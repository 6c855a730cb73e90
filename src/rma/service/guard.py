"""What every request passes before a route sees it: a body within its limit, and text
that is text.

:class:`RequestGuard` is ASGI middleware. When a route first asks for its body (routing
has then chosen the route, so its limit is known), the guard reads it as it arrives,
counting bytes (a declared ``Content-Length`` and a chunked upload alike), and answers
413 as soon as the count passes the limit: nothing past it is kept, parsed or written
anywhere. A route's limit is the :class:`BodyLimit` it depends on (uploads), else
``MAX_BODY_BYTES``. The body is then handed on whole; a route that never reads its body
never has it read.

A JSON body is refused (422) when it nests deeper than ``MAX_JSON_DEPTH`` or any of its
strings holds an unpaired surrogate or a control character; a text body, the path and
the query string likewise. Messages name the field and position, never the text. A body
that is not JSON at all, or not UTF-8, is left to the route, which says so in its own
words.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rma import constants as C
from rma.errors import InputError, InputTooLarge, UnsupportedMediaType
from rma.service.body import BodyLimit, describe_size
from rma.service.errors import error_response

# Control characters other than the whitespace ones pasted text carries (tab, line feed,
# vertical tab, form feed, carriage return); DEL and the C1 set; UTF-16 surrogates, which
# only an escape such as \\ud800 can produce and no encoder can write out.
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(text: str, where: str) -> str | None:
    """Why ``text`` is not acceptable text (naming ``where`` and the position), or None."""
    bad = _NOT_TEXT.search(text)
    if bad is None:
        return None
    code = ord(bad.group())
    kind = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return f"{where} is not valid text: it holds {kind} (U+{code:04X}) at position {bad.start()}"


def json_problem(value: Any, max_depth: int = C.MAX_JSON_DEPTH) -> str | None:
    """The first reason a parsed JSON body is refused: nested too deep, or a string (key
    or value) that is not valid text. Walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(value, "body", 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item, where)
            if problem:
                return problem
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            return f"the JSON body nests deeper than {max_depth} levels"
        if isinstance(item, dict):
            for key, sub in item.items():
                problem = text_problem(key, f"a key in {where}")
                if problem:
                    return problem
                stack.append((sub, f"{where}.{_printable_key(key)}", depth + 1))
        else:
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
    return None


def _printable_key(key: str) -> str:
    return key if key.isidentifier() and len(key) <= 40 else "(a key)"


class RefusedBody(HTTPException):
    """A body the edge refuses while a route reads it: an ``HTTPException`` so that the
    framework's body reader passes it on untouched, carrying the error to answer with."""

    def __init__(self, error: InputError) -> None:
        super().__init__(error.status_code, str(error))
        self.error = error


class RequestGuard:
    """Bodies read within their route's limit; JSON depth and text checked (see module).

    The path and query are checked at once. The body is read when the route first asks
    for it (after routing, so the route's own limit is known) and handed over whole; a
    route that never reads its body never has it read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_address(scope)
        except InputError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, _checked_body(scope, receive), send)


def _checked_body(scope: Scope, receive: Receive) -> Receive:
    """``receive`` for the app: on the first call the whole body, read within the route's
    limit and checked; afterwards the client's own messages (a disconnect, which streaming
    responses listen for)."""
    read = False

    async def checked() -> Message:
        nonlocal read
        if read:
            return await receive()
        read = True
        try:
            body = await _read_within(receive, scope, _limit_for(scope))
            _check_body(body, scope)
        except InputError as exc:
            raise RefusedBody(exc) from None
        return {"type": "http.request", "body": body, "more_body": False}

    return checked


def _limit_for(scope: Scope) -> int:
    dependant = getattr(scope.get("route"), "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, BodyLimit):
            return dependency.call.limit(Request(scope))
        pending.extend(dependency.dependencies)
    return C.MAX_BODY_BYTES


async def _read_within(receive: Receive, scope: Scope, limit: int) -> bytes:
    headers = dict(scope.get("headers") or [])
    too_big = InputTooLarge(
        f"the request body is over the limit of {limit} bytes ({describe_size(limit)})"
    )
    declared = headers.get(b"content-length", b"").decode("latin-1")
    if declared.isdigit() and int(declared) > limit:
        raise too_big  # refused unread
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def _check_body(body: bytes, scope: Scope) -> None:
    media = _media_type(scope)
    is_json = media in ("", "application/json") or media.endswith("+json")
    if not body or not (is_json or media.startswith("text/")):
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if media == "":
            return  # not declared as text: the route decides what it is
        raise UnsupportedMediaType(
            f"the request body is not UTF-8 text (byte 0x{body[exc.start]:02x} at position "
            f"{exc.start}); send it as UTF-8"
        ) from None
    if not is_json:
        problem = text_problem(text.removeprefix("\ufeff"), "the body")
    else:
        try:
            value = json.loads(text)
        except RecursionError:
            problem = f"the JSON body nests deeper than {C.MAX_JSON_DEPTH} levels"
        except ValueError:
            return  # not JSON: the route says how
        else:
            problem = json_problem(value)
    if problem:
        raise InputError(problem)


def _check_address(scope: Scope) -> None:
    problem = text_problem(scope.get("path", ""), "the path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        problem = problem or text_problem(name, "a query parameter name")
        problem = problem or text_problem(value, f"the query parameter {_printable_key(name)}")
    if problem:
        raise InputError(problem)
