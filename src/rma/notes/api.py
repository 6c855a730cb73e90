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
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from rma import constants as C
from rma.errors import InputError
from rma.notes.convert import Conversion, ConversionRun, convert, prepare
from rma.notes.docx import DOCX_MEDIA_TYPE, letter_docx
from rma.notes.schema import ConvertRequest, ConvertResponse, OutputFormat
from rma.notes.store import RetainedLetters
from rma.service.app import RouterDep, SettingsDep, create_app
from rma.service.body import BodyLimit
from rma.service.sse import SSE_RESPONSE, Frame, event_stream

# Far above any notes that fit a model's context; stops a huge body before decoding.
MAX_BODY_BYTES = 256 * 1024
_TEXT_FIELDS = ("client_name", "adviser_name", "organisation", "tone", "appointment_date")


class UnsupportedBody(InputError):
    """The body is not UTF-8 JSON or plain text."""

    status_code = 415


class LetterNotFound(InputError):
    """No kept letter with that id (expired, forgotten, never kept or never existed)."""

    status_code = 404


routes = APIRouter(tags=["notes"])

_DOCX_SCHEMA: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ConvertRequest.model_json_schema()},
            "text/plain": {"schema": {"type": "string", "description": "the notes"}},
        },
    }
}


def get_letters(request: Request) -> RetainedLetters | None:
    """The kept letters, or None when this service keeps none (``NOTES_RETAIN_SECONDS`` 0)."""
    return request.app.state.letters  # type: ignore[no-any-return]


LettersDep = Annotated[RetainedLetters | None, Depends(get_letters)]
NotesBody = Annotated[bytes, Depends(BodyLimit(MAX_BODY_BYTES))]


async def read_convert_request(request: Request, raw: NotesBody) -> ConvertRequest:
    """The request body as a :class:`ConvertRequest`, with a clear 4xx for each way it
    can be wrong (empty, too big, not UTF-8, not JSON, invalid fields)."""
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


ConvertRequestDep = Annotated[ConvertRequest, Depends(read_convert_request)]


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
    responses={200: {"content": {DOCX_MEDIA_TYPE: _DOCX_SCHEMA}}},
)
async def convert_notes(
    convert_request: ConvertRequestDep,
    llm: RouterDep,
    settings: SettingsDep,
    letters: LettersDep,
    format: Annotated[OutputFormat, Query(description="json, or docx (Word)")] = "json",
) -> ConvertResponse | Response:
    """Turn case notes into a checked Confirmation of Advice letter."""
    conversion = await convert(llm, convert_request, settings)
    letter_id = _retain(letters, conversion)
    response = conversion.response(letter_id)
    if format != "docx":
        return response
    body = await asyncio.to_thread(letter_docx, conversion.letter, conversion.warnings)
    dumped = response.model_dump(mode="json")
    return _docx_response(
        body,
        {
            "X-RMA-Reading-Age": f"{response.reading_age:g}",
            # Codes only: proxies log headers, and a warning's message can quote the notes
            # (the messages are comments in the document). ASCII JSON, as headers need.
            "X-RMA-Warnings": json.dumps([w["code"] for w in dumped["warnings"]]),
            "X-RMA-Provenance": json.dumps(dumped["provenance"]),
        }
        | ({"X-RMA-Letter-Id": letter_id} if letter_id else {}),
    )


@routes.post(
    "/convert/stream", openapi_extra=_BODY_DOC, response_class=Response, responses=SSE_RESPONSE
)
async def convert_notes_stream(
    convert_request: ConvertRequestDep, llm: RouterDep, settings: SettingsDep, letters: LettersDep
) -> Response:
    """Server-sent events: ``stage`` and ``progress`` while the model reads the notes,
    then the checked letter as ``letter`` paragraphs and a ``result`` (the JSON of
    ``POST /convert``), or an ``error`` and no letter. Bad input, and backends that all
    fail before the first token, are HTTP errors as for ``POST /convert``."""
    prepared = await asyncio.to_thread(prepare, convert_request, llm.context_window())
    run = await ConversionRun(llm, prepared, settings).open()

    async def frames() -> AsyncIterator[Frame]:
        async for step in run.steps():
            yield step.name, step.data
        conversion = run.conversion
        assert conversion is not None
        letter_id = _retain(letters, conversion)
        for paragraph in conversion.letter.text.split("\n\n"):
            yield "letter", {"text": paragraph + "\n\n"}
        yield "result", conversion.response(letter_id)

    return event_stream(frames())


def _retain(letters: RetainedLetters | None, conversion: Conversion) -> str | None:
    return letters.put(conversion.letter, conversion.warnings) if letters is not None else None


@routes.get(
    "/convert/{letter_id}.docx",
    response_class=Response,
    responses={200: {"content": {DOCX_MEDIA_TYPE: _DOCX_SCHEMA}}},
)
async def kept_letter_docx(letter_id: str, letters: LettersDep) -> Response:
    """A kept letter as a Word document (only when ``NOTES_RETAIN_SECONDS`` > 0)."""
    if letters is None:
        raise LetterNotFound(
            "letters are not kept on this service (NOTES_RETAIN_SECONDS is 0): "
            "ask for the Word document with POST /convert?format=docx"
        )
    kept = letters.get(letter_id)
    if kept is None:
        raise LetterNotFound("no letter with that id: it has expired or never existed")
    body = await asyncio.to_thread(letter_docx, kept.letter, kept.warnings)
    return _docx_response(body, {})


@routes.delete("/convert/{letter_id}", status_code=204, response_class=Response)
async def forget_letter(letter_id: str, letters: LettersDep) -> Response:
    """Forget a kept letter now rather than when it expires."""
    if letters is None or not letters.delete(letter_id):
        raise LetterNotFound("no letter with that id")
    return Response(status_code=204)


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
