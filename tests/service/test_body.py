"""Bodies are counted as they arrive and refused past their limit; uploads are taken from
them in memory. Through a real app and its error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Request, Response
from fastapi.testclient import TestClient

from rma.config import load_settings
from rma.service.app import create_app
from rma.service.body import BodyLimit, uploaded_file
from rma.service.sse import Frame, event_stream

LIMIT = 100_000
Body = Annotated[bytes, Depends(BodyLimit(LIMIT))]
seen: list[int] = []


def make_client() -> TestClient:
    routes = APIRouter()

    @routes.post("/raw")
    async def raw(body: Body) -> dict[str, int]:
        seen.append(len(body))
        return {"bytes": len(body)}

    @routes.post("/file")
    async def file(request: Request, body: Body) -> dict[str, object]:
        upload = await uploaded_file(body, request.headers)
        return {"name": upload.filename, "bytes": len(upload.data)}

    return TestClient(create_app("test", routes=[routes], settings=load_settings()))


@pytest.fixture
def client(clean_env: Path) -> Iterator[TestClient]:
    seen.clear()
    with make_client() as client:
        yield client


def test_a_body_within_the_limit_arrives_whole(client: TestClient) -> None:
    assert client.post("/raw", content=b"x" * LIMIT).json() == {"bytes": LIMIT}


def test_a_declared_length_over_the_limit_is_refused_unread(client: TestClient) -> None:
    response = client.post("/raw", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert "over the limit of 100000 bytes (100 KB)" in response.json()["detail"]
    assert seen == []  # the route never ran


def test_a_chunked_body_is_counted_as_it_arrives(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"x" * 10_000

    response = client.post("/raw", content=chunks())  # no Content-Length
    assert response.status_code == 413
    assert seen == []


def test_an_upload_is_read_from_memory(client: TestClient) -> None:
    data = bytes(range(256)) * 300  # 76,800 bytes, more than a multipart spool holds by default
    response = client.post("/file", files={"file": ("scan.pdf", data, "application/pdf")})
    assert response.json() == {"name": "scan.pdf", "bytes": len(data)}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"content": b"not a form", "headers": {"content-type": "text/plain"}}, "multipart"),
        ({"data": {"note": "no file"}, "files": {"other": ("a", b"1")}}, "field named 'file'"),
        (
            {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data"}},
            "could not be read",
        ),
    ],
)
def test_bad_uploads_are_422(client: TestClient, kwargs: dict, words: str) -> None:
    response = client.post("/file", **kwargs)
    assert response.status_code == 422 and words in response.json()["detail"]


def test_a_stream_that_fails_ends_with_an_error_event(clean_env: Path) -> None:
    from rma.errors import StreamInterrupted

    routes = APIRouter()

    @routes.get("/events", response_class=Response)
    async def events() -> Response:
        async def frames() -> AsyncIterator[Frame]:
            yield "delta", {"text": "Half"}
            raise StreamInterrupted("the backend went away")

        return event_stream(frames())

    app = create_app("test", routes=[routes], settings=load_settings())
    with TestClient(app) as client:
        response = client.get("/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.strip().split("\n\n") if not b.startswith(":")]
    assert blocks[0] == 'event: delta\ndata: {"text": "Half"}'
    name, data = blocks[-1].split("\n")
    assert name == "event: error"
    assert '"status": 502' in data and "the backend went away" in data
