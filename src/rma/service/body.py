"""A route's own body limit, and uploads taken from the body without touching disk.

:class:`BodyLimit` is a dependency that declares how large a route's body may be (an
upload's limit, which may live in the service's state). The edge
(:class:`rma.service.guard.RequestGuard`) enforces it while the body arrives, counting
bytes (a declared ``Content-Length`` and a chunked upload alike) and refusing it with 413
as soon as it passes the limit, before any of it is parsed or written anywhere; routes
without one get ``MAX_BODY_BYTES``. An upload is then taken out of that body in memory
(:func:`uploaded_file`), so a client's document never sits in a temporary file.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from rma.errors import InputError

# Room for the multipart envelope (boundaries, part headers) around a file.
MULTIPART_OVERHEAD = 64 * 1024


def describe_size(size: int) -> str:
    """``256 KB``, ``25 MB``: a limit as people read it."""
    return f"{size / 1e6:.0f} MB" if size >= 1_000_000 else f"{size / 1e3:.0f} KB"


class BodyLimit:
    """A dependency giving the request body, declared to be at most ``max_bytes``.

    ``max_bytes`` is a number, or a function of the request for limits that live in the
    service's state (e.g. a configurable upload size). The edge reads the body within
    it before the route runs (see the module)."""

    def __init__(self, max_bytes: int | Callable[[Request], int]) -> None:
        self.max_bytes = max_bytes

    def limit(self, request: Request) -> int:
        return self.max_bytes(request) if callable(self.max_bytes) else self.max_bytes

    async def __call__(self, request: Request) -> bytes:
        return await request.body()


@dataclass(frozen=True)
class UploadedFile:
    """One file from a multipart form: its name as sent and its bytes."""

    filename: str
    data: bytes


async def uploaded_file(body: bytes, headers: Headers, field: str = "file") -> UploadedFile:
    """The file in form field ``field`` of a ``multipart/form-data`` ``body`` already read
    within its limit; parsed in memory (a part never spills to a temporary file)."""
    if not headers.get("content-type", "").startswith("multipart/form-data"):
        raise InputError(f"send the file as multipart/form-data with a field named {field!r}")

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body
        yield b""

    parser = MultiPartParser(headers, stream(), max_files=1, max_fields=4)
    parser.spool_max_size = len(body) + 1  # never rolls over to disk
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InputError(f"the multipart body could not be read: {exc.message}") from None
    except Exception as exc:  # python-multipart's own errors share no base class with ours
        raise InputError(f"the multipart body could not be read ({type(exc).__name__})") from None
    try:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise InputError(f"the form has no file in a field named {field!r}")
        return UploadedFile(upload.filename or "", await upload.read())
    finally:
        await form.close()


def file_upload_body(description: str, field: str = "file") -> dict[str, Any]:
    """The OpenAPI request body of a route that takes one file in form field ``field``
    (for ``openapi_extra``: the route reads the body itself, within its limit)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {
                            field: {
                                "type": "string",
                                "format": "binary",
                                "description": description,
                            }
                        },
                    }
                }
            },
        }
    }
