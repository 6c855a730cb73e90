"""Every bad input found probing the services, sent over real HTTP to the services as they
are deployed: each must be a clear 4xx (a JSON body naming what is wrong, with the
request id), while the service's own memory and its temporary files stay within a bound
measured during the request. The table of inputs and answers in docs/security.md is
written from this suite (``RMA_UPDATE_DOCS=1``) and checked against it otherwise."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LOGS, ROOT
from tests.security import files
from tests.security.conftest import KEY, OTHER_KEY, RATE_LIMIT, Service, Watch
from tests.support.load import concurrent_gets
from tests.support.servers import free_port

MB = files.MB
DOC = ROOT / "docs" / "security.md"
BEGIN = "<!-- bad-inputs: written by tests/security/test_bad_inputs.py -->"
END = "<!-- end of bad-inputs -->"
# What no bad input may cost the service process, or leave on its disk, while it is read.
MEMORY_BOUND = 64 * MB
TEMP_BOUND = 1 * MB


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    sent: int = 0  # bytes of the body the client managed to send


Send = Callable[[Service], Answer]


def _answer(response: httpx.Response) -> Answer:
    return Answer(response.status_code, response.json(), dict(response.headers))  # lower-case


def post_json(path: str, raw: bytes, content_type: str = "application/json") -> Send:
    def send(service: Service) -> Answer:
        with service.client() as client:
            return _answer(client.post(path, content=raw, headers={"content-type": content_type}))

    return send


def upload(path: str, name: str, data: Callable[[], bytes]) -> Send:
    def send(service: Service) -> Answer:
        with service.client() as client:
            return _answer(client.post(path, files={"file": (name, data())}))

    return send


def request(method: str, path: str, key: str | None = KEY) -> Send:
    def send(service: Service) -> Answer:
        headers = {"X-API-Key": key} if key else {}
        with httpx.Client(base_url=service.base, timeout=60) as client:
            return _answer(client.request(method, path, headers=headers))

    return send


def endless(path: str, content_type: str, *, chunked: bool, total: int = 300 * MB) -> Send:
    """A body of ``total`` bytes sent as fast as the service takes it, chunked or with its
    length declared, until the service answers; the answer and the bytes sent."""

    def send(service: Service) -> Answer:
        where = urlsplit(service.base)
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % total
        head = (
            b"POST %s HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\nContent-Type: %s\r\n%s\r\n\r\n"
            % (path.encode(), where.netloc.encode(), KEY.encode(), content_type.encode(), framing)
        )
        piece = b"x" * 65536
        frame = b"%x\r\n" % len(piece) + piece + b"\r\n" if chunked else piece
        sent = 0
        with socket.create_connection((where.hostname, where.port), timeout=60) as conn:
            conn.sendall(head)
            reply = b""
            while sent < total:
                readable, _, _ = select.select([conn], [], [], 0)
                if readable:
                    break
                try:
                    conn.sendall(frame)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(piece)
            conn.settimeout(60)
            try:
                while b"\r\n\r\n" not in reply or len(reply) < _expected_length(reply):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
            except ConnectionResetError:
                pass
        head_part, _, body = reply.partition(b"\r\n\r\n")
        lines = head_part.decode("latin-1").split("\r\n")
        headers = {
            name.lower(): value
            for name, value in (line.split(": ", 1) for line in lines[1:] if ": " in line)
        }
        return Answer(int(lines[0].split()[1]), json.loads(body), headers, sent)

    return send


def _expected_length(reply: bytes) -> int:
    head, _, _ = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(reply) + 1


@dataclass(frozen=True)
class BadInput:
    id: str
    what: str  # the input, as the table shows it
    service: str
    route: str
    send: Send
    status: int
    error: str
    words: str  # in the answer's detail


def _surrogate_question() -> bytes:
    return b'{"question": "Can my client get a DRO \\ud800 now?"}'


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


CASES = [
    # ------------------------------------------------------------ the doc-processor
    BadInput("docs-pdf-stream-bomb", "416 KB PDF whose page content inflates to 400 MB",
             "docs", "POST /process",
             upload("/process", "letter.pdf", lambda: files.pdf_stream_bomb(400 * MB)),
             413, "InputTooLarge", "expands to more than 64 MB"),
    BadInput("docs-pdf-giant-image", "PDF drawing an image that declares 40,000 x 40,000 pixels",
             "docs", "POST /process", upload("/process", "scan.pdf", files.pdf_giant_image),
             413, "InputTooLarge", "40000x40000 pixels"),
    BadInput("docs-png-bomb", "1 MB PNG of 20,000 x 20,000 pixels (400 MP decoded)",
             "docs", "POST /process",
             upload("/process", "photo.png", lambda: files.huge_png(20_000, 20_000)),
             413, "InputTooLarge", "400 MP"),
    BadInput("docs-chunked-300mb", "300 MB upload, chunked (no length declared)",
             "docs", "POST /process",
             endless("/process", "multipart/form-data; boundary=x", chunked=True),
             413, "InputTooLarge", "over the limit"),
    BadInput("docs-declared-300mb", "300 MB upload, length declared",
             "docs", "POST /process",
             endless("/process", "multipart/form-data; boundary=x", chunked=False),
             413, "InputTooLarge", "over the limit"),
    BadInput("docs-truncated-pdf", "PDF cut off after its header", "docs", "POST /process",
             upload("/process", "letter.pdf", lambda: b"%PDF-1.7\n1 0 obj\n<< /Type"),
             422, "InputError", "not a readable PDF"),
    BadInput("docs-exe-as-pdf", "Windows program named letter.pdf", "docs", "POST /process",
             upload("/process", "letter.pdf", lambda: b"MZ\x90\x00" + b"\x00" * 512),
             415, "UnsupportedMediaType", "not a recognised document"),
    # ------------------------------------------------------------ Ask the Manuals
    BadInput("rag-question-surrogate", "question holding an unpaired surrogate (\\ud800)",
             "rag", "POST /query", post_json("/query", _surrogate_question()),
             422, "InputError", "unpaired surrogate"),
    BadInput("rag-question-control", "question holding a control character (U+0007)",
             "rag", "POST /query", post_json("/query", b'{"question": "DRO\\u0007 limit?"}'),
             422, "InputError", "control character"),
    BadInput("rag-query-parameter-nul", "query parameter holding NUL (%00)",
             "rag", "GET /thresholds", request("GET", "/thresholds?status=%00"),
             422, "InputError", "query parameter status is not valid text"),
    BadInput("rag-json-deep", "JSON nested 100,000 deep", "rag", "POST /query",
             post_json("/query", _deep(100_000)), 422, "InputError", "nests deeper than 32"),
    BadInput("rag-json-200mb-chunked", "200 MB JSON body, chunked", "rag", "POST /query",
             endless("/query", "application/json", chunked=True, total=200 * MB),
             413, "InputTooLarge", "over the limit of 1048576 bytes"),
    BadInput("rag-json-200mb-declared", "200 MB JSON body, length declared",
             "rag", "POST /query",
             endless("/query", "application/json", chunked=False, total=200 * MB),
             413, "InputTooLarge", "over the limit of 1048576 bytes"),
    BadInput("rag-ingest-300mb-chunked", "300 MB manual upload, chunked", "rag", "POST /ingest",
             endless("/ingest", "multipart/form-data; boundary=x", chunked=True),
             413, "InputTooLarge", "over the limit"),
    BadInput("rag-ingest-300mb-declared", "300 MB manual upload, length declared",
             "rag", "POST /ingest",
             endless("/ingest", "multipart/form-data; boundary=x", chunked=False),
             413, "InputTooLarge", "over the limit"),
    BadInput("rag-docx-truncated", "Word file cut in half", "rag", "POST /ingest",
             upload("/ingest", "manual.docx",
                    lambda: (lambda d: d[: len(d) // 2])(files.word_file(["A DRO lasts a year."]))),
             422, "InputError", "not a readable Word document"),
    BadInput("rag-docx-bomb", "345 KB Word file whose text unpacks to 300 MB",
             "rag", "POST /ingest", upload("/ingest", "manual.docx", files.word_bomb),
             413, "InputTooLarge", "the limit is 250 MB"),
    BadInput("rag-pdf-stream-bomb", "416 KB manual PDF whose page inflates to 400 MB",
             "rag", "POST /ingest", upload("/ingest", "manual.pdf", files.pdf_stream_bomb),
             413, "InputTooLarge", "expands to more than 64 MB"),
    BadInput("rag-path-nul", "path holding NUL", "rag", "DELETE /documents/{document_id}",
             request("DELETE", "/documents/a%00b"),
             422, "InputError", "the path is not valid text"),
    # ------------------------------------------------------------ notes
    BadInput("notes-json-deep", "JSON nested 100,000 deep", "notes", "POST /convert",
             post_json("/convert", _deep(100_000)), 422, "InputError", "nests deeper than 32"),
    BadInput("notes-surrogate", "notes holding an unpaired surrogate", "notes", "POST /convert",
             post_json("/convert", b'{"notes": "cl owes \\udc00", "client_name": "Jo"}'),
             422, "InputError", "unpaired surrogate"),
    BadInput("notes-nul-text", "plain-text notes holding NUL", "notes", "POST /convert",
             post_json("/convert", b"cl owes \x00 to Lowell", "text/plain"),
             422, "InputError", "control character"),
    BadInput("notes-chunked-300mb", "300 MB of notes, chunked", "notes", "POST /convert",
             endless("/convert", "text/plain", chunked=True),
             413, "InputTooLarge", "over the limit of 262144 bytes"),
    BadInput("notes-not-utf8", "JSON in Latin-1, not UTF-8", "notes", "POST /convert",
             post_json("/convert", '{"notes": "£40", "client_name": "Jo"}'.encode("latin-1")),
             415, "UnsupportedMediaType", "not UTF-8"),
    # ------------------------------------------------------------ every service
    BadInput("no-key", "no API key", "rag", "POST /query", request("POST", "/query", key=None),
             401, "unauthorised", "a service token is required"),
    BadInput("wrong-key", "a wrong API key", "notes", "POST /convert",
             request("POST", "/convert", key="not-the-key-" + "0" * 30),
             401, "unauthorised", "the service credential is not valid"),
    BadInput("unknown-route", "a path no route serves", "docs", "GET /nothing",
             request("GET", "/nothing"), 404, "not_found", "Not Found"),
    BadInput("wrong-method", "GET on a POST route", "docs", "GET /process",
             request("GET", "/process"), 405, "method_not_allowed", "Method Not Allowed"),
]  # fmt: skip
RESULTS: dict[str, tuple[BadInput, Answer, Watch]] = {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_clear_4xx_within_bounds(
    services: dict[str, Service], case: BadInput
) -> None:
    service = services[case.service]
    with Watch(service) as watch:
        answer = case.send(service)
    assert answer.status == case.status, answer.body
    assert answer.body["error"] == case.error, answer.body
    assert case.words in answer.body["detail"], answer.body
    assert answer.body["request_id"] == answer.headers["x-request-id"]
    assert watch.memory_growth < MEMORY_BOUND, f"{watch.memory_growth / MB:.0f} MB"
    assert watch.temp_growth < TEMP_BOUND, f"{watch.temp_growth / MB:.1f} MB of temporary files"
    if answer.sent:  # cut off long before the end: the body was refused while it arrived
        assert answer.sent < 50 * MB
    assert httpx.get(f"{service.base}/health", timeout=10).status_code == 200  # still serving
    RESULTS[case.id] = (case, answer, watch)


def test_the_rate_limit_answers_429_with_retry_after(services: dict[str, Service]) -> None:
    rag = services["rag"]
    limit = int(RATE_LIMIT.split("/")[0])
    # Twice limit + 10 requests in two bursts, each at once: within the second however
    # loaded the machine (one after another, they could take longer than the window).
    answers = asyncio.run(
        concurrent_gets(rag.base, "/v1/models", concurrency=limit + 10, rounds=1,
                        headers={"X-API-Key": OTHER_KEY})
    )  # fmt: skip
    statuses = [a.status for a in answers]
    assert set(statuses) <= {200, 429} and 429 in statuses, "the limit was never reached"
    refused = next(a for a in answers if a.status == 429)
    assert int(refused.headers["retry-after"]) == 1  # the window is a second
    body = json.loads(refused.body)
    assert body["error"] == "rate_limited" and f"more than {limit} requests" in body["detail"]
    with rag.client(KEY) as client:  # another key is not held back
        assert client.get("/v1/models").status_code == 200


def test_a_service_refuses_to_listen_beyond_loopback_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMA_", "LLM_"))}
    env |= {"RMA_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-m", "rma.cli", "serve", "notes", "--host", "0.0.0.0"]
    argv += ["--port", str(free_port())]
    done = subprocess.run(
        argv, env=env | {"RMA_SERVICE_AUTH": "off"}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without service credentials" in done.stderr
    short = subprocess.run(
        argv, env=env | {"RMA_API_KEYS": "short"}, capture_output=True, text=True, timeout=120
    )
    assert short.returncode == 2 and "at least 32 characters" in short.stderr
    assert "short" not in short.stderr.replace("shorter", "")  # the key is never echoed


def test_the_table_in_docs_security_is_this_suite(services: dict[str, Service]) -> None:
    """docs/security.md shows exactly these inputs and answers (RMA_UPDATE_DOCS=1 rewrites
    it); measurements go to the test logs."""
    if set(RESULTS) != {c.id for c in CASES}:
        pytest.skip("only the whole suite writes or checks the table")
    rows = ["| input | service, route | answer | what the service says |", "|---|---|---|---|"]
    measured = {}
    for case in CASES:
        _, answer, watch = RESULTS[case.id]
        detail = answer.body["detail"].replace("|", "\\|")
        rows.append(
            f"| {case.what} | {case.service} `{case.route}` | {answer.status} "
            f"`{answer.body['error']}` | {detail} |"
        )
        measured[case.id] = {
            "status": answer.status,
            "service_memory_growth_mb": round(watch.memory_growth / MB, 1),
            "worker_peak_mb": round(watch.peak_workers / MB, 1),
            "temp_growth_mb": round(watch.temp_growth / MB, 2),
            "body_bytes_sent": answer.sent,
        }
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "bad-inputs.json").write_text(json.dumps(measured, indent=1))
    table = "\n".join(rows)
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    wanted = f"{text[:start]}\n{table}\n{text[end:]}"
    if os.environ.get("RMA_UPDATE_DOCS") == "1":
        DOC.write_text(wanted, encoding="utf-8")
        return
    assert text == wanted, "docs/security.md differs from the suite: rerun with RMA_UPDATE_DOCS=1"


def test_stats_name_no_filesystem_path(services: dict[str, Service]) -> None:
    rag = services["rag"]
    with rag.client() as client:
        stats = client.get("/stats")
    assert stats.status_code == 200
    assert str(rag.tmp.parent) not in stats.text  # where the data lives
    assert stats.json()["store"] == "embedded", stats.text
