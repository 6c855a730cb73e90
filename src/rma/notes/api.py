"""HTTP API of the notes service: case notes in, a checked Confirmation of Advice out.

``POST /convert`` answers JSON (or a Word document with ``?format=docx``);
``POST /convert/stream`` reports progress as server-sent events and then sends the
checked letter; ``GET /convert/{id}.docx`` returns a kept letter when
``NOTES_RETAIN_SECONDS`` allows keeping them. Notes arrive as a UTF-8 JSON body, or as
a ``text/plain`` body with the other fields as query parameters.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from rma import constants as C
from rma.errors import AllBackendsFailed, InputError, InputTooLarge, RMAError
from rma.notes.convert import Conversion, ConversionRun, convert, prepare
from rma.notes.docx import DOCX_MEDIA_TYPE, letter_docx
from rma.notes.schema import ConvertRequest, ConvertResponse, OutputFormat
from rma.notes.store import RetainedLetters
from rma.service.app import RouterDep, SettingsDep, create_app, error_body

log = logging.getLogger("rma.notes")

# Far above any notes that fit a model's context; stops a huge body before decoding.
MAX_BODY_BYTES = 256 * 1024
_TEXT_FIELDS = ("client_name", "adviser_name", "organisation", "tone", "appointment_date")


class UnsupportedBody(InputError):
    """The body is not UTF-8 JSON or plain text."""

    status_code = 415


routes = APIRouter(tags=["notes"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ConvertRequest.model_json_schema()},
            "text/plain": {"schema": {"type": "string", "description": "the notes"}},
        },
    }
}


async def read_convert_request(request: Request) -> ConvertRequest:
    """The request body as a :class:`ConvertRequest`, with a clear 4xx for each way it
    can be wrong (empty, too big, not UTF-8, not JSON, invalid fields)."""
    raw = await _body_within_limit(request)
    if not raw.strip():
        raise InputError("the request body is empty: send JSON with notes and client_name")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedBody(
            f"the request body is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
            f"{exc.start}); save or send the notes as UTF-8"
        ) from None
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "text/plain":
        fields: dict[str, Any] = {"notes": text.removeprefix("\ufeff")}
        fields.update({k: v for k, v in request.query_params.items() if k in _TEXT_FIELDS})
        return _validated(lambda: ConvertRequest.model_validate(fields))
    if media_type != "application/json":
        raise UnsupportedBody(f"send the notes as application/json or text/plain, not {media_type}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise InputError("the body must be a JSON object with notes and client_name")
    return _validated(lambda: ConvertRequest.model_validate(data))


async def _body_within_limit(request: Request) -> bytes:
    """The body, refused as soon as it is known to exceed :data:`MAX_BODY_BYTES`."""
    too_big = InputTooLarge(f"the request body is over the limit of {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _validated(build: Callable[[], ConvertRequest]) -> ConvertRequest:
    try:
        return build()
    except ValidationError as exc:
        # Field and reason only: the rejected value may be client text.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()[:8]
        )
        raise InputError(problems) from None


async def _conversion(request: Request, llm: RouterDep, settings: SettingsDep) -> Conversion:
    convert_request = await read_convert_request(request)
    return await convert(llm, convert_request, settings)


def _retain(request: Request, conversion: Conversion) -> str | None:
    store: RetainedLetters | None = request.app.state.letters
    return store.put(conversion.letter, conversion.warnings) if store is not None else None


def _docx_response(body: bytes, headers: dict[str, str]) -> Response:
    return Response(
        body,
        media_type=DOCX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="confirmation-of-advice.docx"'}
        | headers,
    )


@routes.post(
    "/convert",
    response_model=ConvertResponse,
    openapi_extra=_BODY_DOC,
    responses={200: {"content": {DOCX_MEDIA_TYPE: {}}}},
)
async def convert_notes(
    request: Request,
    llm: RouterDep,
    settings: SettingsDep,
    format: Annotated[OutputFormat, Query(description="json, or docx (Word)")] = "json",
) -> Response:
    """Turn case notes into a checked Confirmation of Advice letter."""
    conversion = await _conversion(request, llm, settings)
    letter_id = _retain(request, conversion)
    if format == "docx":
        body = await asyncio.to_thread(letter_docx, conversion.letter, conversion.warnings)
        response = conversion.response(letter_id)
        return _docx_response(
            body,
            {
                "X-RMA-Reading-Age": f"{response.reading_age:g}",
                # ASCII JSON: header values cannot carry other bytes.
                "X-RMA-Warnings": json.dumps(response.warnings),
                "X-RMA-Provenance": json.dumps(response.provenance),
            }
            | ({"X-RMA-Letter-Id": letter_id} if letter_id else {}),
        )
    return JSONResponse(conversion.response(letter_id).model_dump(mode="json"))


@routes.post("/convert/stream", openapi_extra=_BODY_DOC)
async def convert_notes_stream(
    request: Request, llm: RouterDep, settings: SettingsDep
) -> StreamingResponse:
    """Server-sent events: ``stage`` and ``progress`` while the model reads the notes,
    then the checked letter as ``letter`` paragraphs and a ``result`` (the JSON of
    ``POST /convert``), or an ``error`` and no letter. Bad input, and backends that all
    fail before the first token, are HTTP errors as for ``POST /convert``."""
    convert_request = await read_convert_request(request)
    prepared = await asyncio.to_thread(prepare, convert_request, llm.context_window())
    run = await ConversionRun(llm, prepared, settings).open()

    async def sse() -> AsyncIterator[str]:
        try:
            async for step in run.steps():
                yield _sse(step.name, step.data)
        except RMAError as exc:
            yield _sse(
                "error", {"error": type(exc).__name__, "detail": str(exc), "status": _status(exc)}
            )
            return
        except Exception:
            log.exception("notes conversion failed")  # the type only: see rma.service.logs
            yield _sse(
                "error",
                {"error": "internal", "status": 500, "detail": "the letter could not be made"},
            )
            return
        conversion = run.conversion
        assert conversion is not None
        letter_id = _retain(request, conversion)
        for paragraph in conversion.letter.text.split("\n\n"):
            yield _sse("letter", {"text": paragraph + "\n\n"})
        yield _sse("result", conversion.response(letter_id).model_dump(mode="json"))

    return StreamingResponse(
        sse(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _status(exc: RMAError) -> int:
    """The HTTP status the error would have had before the stream started."""
    if isinstance(exc, InputError):
        return exc.status_code
    return 503 if isinstance(exc, AllBackendsFailed) else 502


@routes.get("/convert/{letter_id}.docx", responses={200: {"content": {DOCX_MEDIA_TYPE: {}}}})
async def kept_letter_docx(letter_id: str, request: Request) -> Response:
    """A kept letter as a Word document (only when ``NOTES_RETAIN_SECONDS`` > 0)."""
    store: RetainedLetters | None = request.app.state.letters
    if store is None:
        return _not_found(
            "letters are not kept on this service (NOTES_RETAIN_SECONDS is 0): "
            "ask for the Word document with POST /convert?format=docx"
        )
    kept = store.get(letter_id)
    if kept is None:
        return _not_found("no letter with that id: it has expired or never existed")
    body = await asyncio.to_thread(letter_docx, kept.letter, kept.warnings)
    return _docx_response(body, {})


@routes.delete("/convert/{letter_id}", status_code=204)
async def forget_letter(letter_id: str, request: Request) -> Response:
    """Forget a kept letter now rather than when it expires."""
    store: RetainedLetters | None = request.app.state.letters
    if store is None or not store.delete(letter_id):
        return _not_found("no letter with that id")
    return Response(status_code=204)


def _not_found(detail: str) -> JSONResponse:
    return JSONResponse(error_body("not_found", detail), status_code=404)


async def _startup(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.letters = (
        RetainedLetters(settings.notes_retain_seconds, C.NOTES_MAX_RETAINED)
        if settings.notes_retain_seconds > 0
        else None
    )


def create(**kwargs: Any) -> FastAPI:
    """The notes service app (``rma serve notes``). ``kwargs`` go to ``create_app``."""
    return create_app("notes", routes=[routes], on_startup=_startup, **kwargs)
