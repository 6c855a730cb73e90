"""The notes service over HTTP: bad input, backend failure, scripted model replies,
the Word copy, kept letters, streaming and the CLI. The model is the Ollama test
server (scripted replies, failures) or a closed port; the real vLLM is in test_vllm."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import docx
import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from rma import constants as C
from rma.cli import main
from rma.notes.api import create
from rma.notes.evaluate import load_corpus, score_letter
from rma.notes.facts import NotesFacts, appointment_date
from rma.text import find_amounts
from tests.conftest import OllamaDouble
from tests.notes.conftest import sample
from tests.support.servers import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
NOTES = sample("01")
GOOD = {"notes": NOTES, "client_name": "Jo Bloggs", "adviser_name": "Sam Patel"}

# What a capable model would extract from sample 01, with one invented amount.
EXTRACTION = {
    "matters_discussed": [
        "You owe £4,230 to Lowell for an old Vanquis card.",
        "You might owe £12,000 more.",
    ],
    "our_actions": [{"action": "Ask for breathing space for you", "due": None}],
    "your_actions": [{"action": "Send us your SFS", "due": "12/3"}],
    "debts": [{"creditor": "Lowell", "amount": "£4,230"}],
}


def _client(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with TestClient(create()) as client:
        yield client


@pytest.fixture
def closed(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A service whose only backend is a port nobody listens on."""
    yield from _client(
        monkeypatch,
        LLM_PROVIDER="vllm",
        VLLM_URL=f"http://127.0.0.1:{free_port()}/v1",
        LLM_RETRY_ATTEMPTS="1",
    )


@pytest.fixture
def scripted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> Iterator[TestClient]:
    """A service on the Ollama test server, replying with EXTRACTION."""
    ollama.control(reply=json.dumps(EXTRACTION))
    yield from _client(
        monkeypatch,
        LLM_PROVIDER="ollama",
        OLLAMA_URL=ollama.url,
        LLM_RETRY_ATTEMPTS="1",
        NOTES_READING_AGE_TARGET="14",
    )


def serve_notes(log: Path, **env: str) -> ServerProcess:
    """``rma serve notes`` started in its own process, as deployed."""
    port = free_port()
    return ServerProcess(
        argv=[str(Path(sys.executable).parent / "rma"), "serve", "notes", "--port", str(port)],
        port=port,
        health_path="/health",
        log=log,
        env=env,
    ).start()


def _no_letter(response: object) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert "letter" not in body and "detail" in body


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("path", ["/convert", "/convert/stream"])
def test_bad_input_is_a_clear_4xx(closed: TestClient, path: str) -> None:
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"content": b""}, 422, "body is empty"),
        ({"json": {"notes": "", "client_name": "Jo"}}, 422, "notes are empty"),
        ({"json": {"notes": " \n\t ", "client_name": "Jo"}}, 422, "notes are empty"),
        ({"json": {"client_name": "Jo"}}, 422, "notes"),
        ({"json": {**GOOD, "colour": "red"}}, 422, "colour"),
        ({"json": ["notes"]}, 422, "JSON object"),
        ({"content": b'{"notes": "cl owes", ', "headers": {"content-type": "application/json"}},
         422, "not valid JSON"),
        ({"content": b'{"notes": "cl owes \xa34,230", "client_name": "Jo"}',
          "headers": {"content-type": "application/json"}}, 415, "not UTF-8"),
        ({"content": "cl owes £40".encode("latin-1"),
          "headers": {"content-type": "text/plain"}}, 415, "not UTF-8"),
        ({"content": b"<notes/>", "headers": {"content-type": "application/xml"}}, 415,
         "application/json or text/plain"),
        ({"content": b"x" * 300_000, "headers": {"content-type": "text/plain"}}, 413, "limit"),
        ({"content": b'{"notes": "cl owes \\ud800", "client_name": "Jo"}',
          "headers": {"content-type": "application/json"}}, 422, "not valid text"),
    ]  # fmt: skip
    for kwargs, status, words in cases:
        response = closed.post(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status, (kwargs, response.text)
        assert words in response.json()["detail"], response.text
        _no_letter(response)


def test_a_chunked_body_over_the_limit_is_refused(closed: TestClient) -> None:
    chunks = iter([b"x" * 100_000] * 4)  # no Content-Length: counted as it arrives
    response = closed.post("/convert", content=chunks, headers={"content-type": "text/plain"})
    assert response.status_code == 413 and "over the limit" in response.json()["detail"]


def test_a_client_name_with_markup_is_refused_and_not_echoed(closed: TestClient) -> None:
    for name in ("<script>alert(1)</script>", "Jo {{ evil }}", "[Jo](javascript:x)"):
        response = closed.post("/convert", json={**GOOD, "client_name": name})
        assert response.status_code == 422
        assert "markup is not accepted" in response.json()["detail"]
        assert name not in response.text


def test_notes_over_the_context_budget_are_413_naming_the_limit(closed: TestClient) -> None:
    notes = NOTES * 40
    response = closed.post("/convert", json={**GOOD, "notes": notes})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "model context of 2048 tokens" in detail and "the limit is" in detail
    _no_letter(response)


# ------------------------------------------------------------- backend failure


def test_backend_down_is_503_and_no_letter(closed: TestClient) -> None:
    response = closed.post("/convert", json=GOOD)
    assert response.status_code == 503
    assert response.json()["error"] == "backends_unavailable"
    assert "no backend could serve" in response.json()["detail"]
    _no_letter(response)
    stream = closed.post("/convert/stream", json=GOOD)
    assert stream.status_code == 503  # before any event: a real HTTP error
    assert "letter" not in stream.text


def test_backend_errors_after_retries_are_503(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=5, status=500)
    for client in _client(
        monkeypatch, LLM_PROVIDER="ollama", OLLAMA_URL=ollama.url, LLM_RETRY_ATTEMPTS="2"
    ):
        response = client.post("/convert", json=GOOD)
        assert response.status_code == 503
        _no_letter(response)


def test_a_fallback_is_shown(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    ollama.control(reply=json.dumps(EXTRACTION))
    for client in _client(
        monkeypatch,
        LLM_PROVIDER="vllm",
        VLLM_URL=f"http://127.0.0.1:{free_port()}/v1",
        FALLBACK_PROVIDER="ollama",
        OLLAMA_URL=ollama.url,
        LLM_RETRY_ATTEMPTS="1",
    ):
        response = client.post("/convert", json=GOOD)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["provenance"][0]["provider"] == "ollama"
        assert body["provenance"][0]["fallback"] is True
        assert any(w["code"] == "fallback" for w in body["warnings"])


def test_a_stream_that_breaks_gives_no_letter(scripted: TestClient, ollama: OllamaDouble) -> None:
    ollama.control(reply=json.dumps(EXTRACTION), fail_next=1, mid_stream=True)
    response = scripted.post("/convert", json=GOOD)
    assert response.status_code == 502
    _no_letter(response)
    ollama.control(reply=json.dumps(EXTRACTION), fail_next=1, mid_stream=True)
    events = _events(scripted.post("/convert/stream", json=GOOD).text)
    assert events[-1][0] == "error" and events[-1][1]["status"] == 502
    assert not any(name in ("letter", "result") for name, _ in events)


# ------------------------------------------------------------- unusable model output

CORPUS_CASE = "01_terse_six_creditors"


def test_unusable_model_output_still_gives_every_debt_and_deadline(
    clean_env: Path, tmp_path: Path, ollama: OllamaDouble
) -> None:
    """``rma serve notes`` in its own process, its model replying with text that is no
    JSON (twice: the reply and the corrective retry). The letter is code's: the answer
    key of a corpus case finds every debt and deadline in it, nothing invented, and the
    response says the wording is code-built."""
    (case,) = load_corpus(ROOT / C.NOTES_CORPUS, [CORPUS_CASE])
    ollama.control(reply="Sure! Here is the letter: Dear client, you owe some money.")
    proc = serve_notes(
        tmp_path / "notes-serve.log",
        LLM_PROVIDER="ollama",
        OLLAMA_URL=ollama.url,
        LLM_RETRY_ATTEMPTS="1",
        RMA_DATA_DIR=str(clean_env / "data"),
    )
    body = {"notes": case.notes, "client_name": case.key.client_name}
    try:
        response = httpx.post(f"{proc.base}/convert", json=body, timeout=60)
        events = _events(httpx.post(f"{proc.base}/convert/stream", json=body, timeout=60).text)
    finally:
        proc.stop()
    assert response.status_code == 200, response.text
    letter = response.json()
    assert letter["degraded"] is True and letter["reworded"] is False
    assert letter["warnings"][0]["code"] == "model_output_unusable"
    assert not any(w["code"] == "action_from_notes" for w in letter["warnings"])
    assert letter["provenance"][0]["step"] == "extract"
    assert letter["provenance"][0]["provider"] == "ollama"
    asked = [r for r in ollama.requests() if r["path"] == "/api/chat" and r["body"].get("format")]
    assert len(asked) == 4  # per request: the reply and one corrective retry, no rewording
    score = score_letter(letter, case.key, case=case.name, written_on=date.today())
    assert score.debts_matched == score.debts_expected == len(case.key.debts), score.problems
    assert score.deadlines_found == score.deadlines_expected > 0, score.problems
    assert score.invented == 0, score.problems
    assert letter["matters_discussed"], "code names what was talked about"
    assert events[-1][0] == "result" and events[-1][1]["degraded"] is True
    assert {"stage": "checking", "degraded": True} in [d for n, d in events if n == "stage"]
    assert events[-1][1]["letter"] == letter["letter"]


# ------------------------------------------------------------- scripted model


def test_convert_keeps_what_the_notes_support(scripted: TestClient) -> None:
    response = scripted.post("/convert", json=GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    letter = body["letter"]
    assert body["appointment_date"] == "2025-03-05"
    assert body["your_actions"] == [
        {
            "action": "Send us your Standard Financial Statement.",
            "due": "2025-03-12",
            "due_as_written": "12/3",
        }
    ]
    assert body["debts"][0] == {
        "creditor": "Lowell",
        "amount": "4230.00",
        "amount_as_written": "£4,230",
        "priority": None,
        "kind": "credit card",
        "original_creditor": "Vanquis",
        "next": "Not a priority debt: it is dealt with after your priority debts.",
        "source": "notes",
    }
    assert "£12,000" not in letter
    assert any("£12,000" in w["message"] for w in body["warnings"])
    facts = NotesFacts.read(NOTES, appointment_date(NOTES, date.today()) or date.today())
    assert {a.value for a in find_amounts(letter)} <= {a.value for a in facts.amounts}
    assert body["reading_age"] <= body["reading_age_target"]
    # £4,230 twice (a matter, the debts); today, 5 and 12 March; Lowell, Vanquis; 2
    # actions, one with a deadline; one debt.
    assert body["checked"] == {
        "amounts": 2,
        "dates": 3,
        "creditors": 2,
        "actions": 2,
        "deadlines": 1,
        "debts": 1,
    }
    assert body["provenance"][0]["step"] == "extract"
    assert body["id"] is None  # nothing kept unless configured


def test_plain_text_upload(scripted: TestClient) -> None:
    response = scripted.post(
        "/convert",
        content=NOTES.encode(),
        params={"client_name": "Jo Bloggs", "tone": "formal"},
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert "Yours sincerely," in response.json()["letter"]


def test_word_document(scripted: TestClient) -> None:
    response = scripted.post("/convert", params={"format": "docx"}, json=GOOD)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    warnings = json.loads(response.headers["X-RMA-Warnings"])
    assert warnings and all(re.fullmatch(r"[a-z_]+", code) for code in warnings)
    assert "12,000" not in response.headers["X-RMA-Warnings"]  # no text from the notes
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Dear Jo Bloggs," in text and "£12,000" not in text
    comments = [c.text for c in document.comments]
    assert len(comments) == len(warnings) and any("£12,000" in c for c in comments)


def test_letters_are_not_kept_unless_configured(scripted: TestClient) -> None:
    response = scripted.get("/convert/anything.docx")
    assert response.status_code == 404
    assert "NOTES_RETAIN_SECONDS" in response.json()["detail"]


def test_kept_letters_expire_and_can_be_deleted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    ollama.control(reply=json.dumps(EXTRACTION))
    for client in _client(
        monkeypatch, LLM_PROVIDER="ollama", OLLAMA_URL=ollama.url, NOTES_RETAIN_SECONDS="60"
    ):
        letter_id = client.post("/convert", json=GOOD).json()["id"]
        assert letter_id
        as_word = client.post("/convert", params={"format": "docx"}, json=GOOD)
        assert as_word.headers["X-RMA-Letter-Id"] not in ("", letter_id)
        got = client.get(f"/convert/{letter_id}.docx")
        assert got.status_code == 200 and got.content.startswith(b"PK")
        store = client.app.state.letters  # type: ignore[attr-defined]
        assert len(store) == 2
        store.ttl = 0  # later letters expire at once
        assert client.delete(f"/convert/{letter_id}").status_code == 204
        assert client.get(f"/convert/{letter_id}.docx").status_code == 404
        other = client.post("/convert", json=GOOD).json()["id"]
        assert client.get(f"/convert/{other}.docx").status_code == 404


def _events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_stream_sends_the_checked_letter_then_the_result(scripted: TestClient) -> None:
    response = scripted.post("/convert/stream", json=GOOD)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "stage" and names[-1] == "result"
    assert names.index("letter") > names.index("stage")
    streamed = "".join(data["text"] for name, data in events if name == "letter")
    result = events[-1][1]
    assert streamed.strip() == result["letter"].strip()
    assert "£12,000" not in streamed


def test_one_rewording_when_above_target(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    ollama.control(reply=json.dumps(EXTRACTION))
    for client in _client(
        monkeypatch, LLM_PROVIDER="ollama", OLLAMA_URL=ollama.url, NOTES_READING_AGE_TARGET="5"
    ):
        # The background readiness probe calls the model too: counted before, not during.
        deadline = time.monotonic() + 60
        while client.get("/ready").json()["checked_seconds_ago"] is None:
            assert time.monotonic() < deadline, "the first readiness probe never finished"
            time.sleep(0.05)
        ollama.reset()
        ollama.control(reply=json.dumps(EXTRACTION))
        body = client.post("/convert", json=GOOD).json()
        # The test server answers the rewording with the extraction again, which does not
        # fit the rewording schema: the checked letter stands, and says so.
        codes = [w["code"] for w in body["warnings"]]
        assert "reword_failed" in codes and "reading_age_above_target" in codes
        assert body["reworded"] is False and body["letter"]
        chats = ollama.chats()
        assert len(chats) == 3  # extraction, rewording, its one corrective retry


def test_a_rewording_that_passes_the_checks_is_used(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    plain = {
        "matters_discussed": ["You owe Lowell £4,230. This is for an old Vanquis card."],
        "our_actions": ["We will request breathing space for you."],
        "your_actions": ["Send us your SFS."],
    }
    for client in _client(
        monkeypatch, LLM_PROVIDER="ollama", OLLAMA_URL=ollama.url, NOTES_READING_AGE_TARGET="5"
    ):
        ollama.reset()
        ollama.control(replies=[json.dumps(EXTRACTION), json.dumps(plain)])
        body = client.post("/convert", json=GOOD).json()
        assert body["reworded"] is True, body["warnings"]
        codes = [w["code"] for w in body["warnings"]]
        assert "reword_failed" not in codes
        assert body["matters_discussed"] == plain["matters_discussed"]
        assert [a["action"] for a in body["our_actions"]] == plain["our_actions"]
        assert "You owe Lowell £4,230. This is for an old Vanquis card." in body["letter"]
        assert "You owe £4,230 to Lowell for an old Vanquis card." not in body["letter"]
        chats = ollama.chats()
        assert len(chats) == 2  # extraction, then one rewording that was accepted


# ------------------------------------------------------------- privacy and CLI


def test_notes_and_names_are_never_logged(
    scripted: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "Zanzibarquux owes £4,230 to Lowell. We to request breathing space."
    scripted.post("/convert", json={**GOOD, "notes": secret, "client_name": "Quillon Varga"})
    scripted.post("/convert", json={**GOOD, "notes": secret, "client_name": "<b>Quillon</b>"})
    out, err = capfd.readouterr()
    for text in ("Zanzibarquux", "Quillon"):
        assert text not in out and text not in err


def test_cli_prints_the_letter(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble, tmp_path: Path
) -> None:
    ollama.control(reply=json.dumps(EXTRACTION))
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    notes = tmp_path / "notes.txt"
    notes.write_text("Client: Ann Lee\n" + NOTES, encoding="utf-8")
    result = CliRunner().invoke(main, ["notes", str(notes), "--docx", str(tmp_path / "l.docx")])
    assert result.exit_code == 0, result.output
    assert "Dear Ann Lee," in result.stdout
    assert "Send us your Standard Financial Statement by 12 March 2025." in result.stdout
    assert "warning [left_out_unsupported]" in result.stderr
    assert (tmp_path / "l.docx").read_bytes().startswith(b"PK")

    latin = tmp_path / "latin.txt"
    latin.write_bytes("cl owes £40".encode("latin-1"))
    result = CliRunner().invoke(main, ["notes", str(latin), "--client", "Jo"])
    assert result.exit_code != 0 and "not UTF-8" in result.output

    bare = tmp_path / "bare.txt"
    bare.write_text(NOTES, encoding="utf-8")
    result = CliRunner().invoke(main, ["notes", str(bare)])
    assert result.exit_code == 2 and "--client" in result.output


def test_cli_backend_down_fails_without_a_letter(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "vllm")
    monkeypatch.setenv("VLLM_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("LLM_RETRY_ATTEMPTS", "1")
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    result = CliRunner().invoke(main, ["notes", str(notes), "--client", "Jo"])
    assert result.exit_code == 1
    assert "no backend could serve" in result.output and "Dear" not in result.output


def test_rma_serve_notes(clean_env: Path, tmp_path: Path) -> None:
    """The service as deployed: ``rma serve notes`` in its own process, its log checked
    for client text after a refused request and a failed one."""
    log = tmp_path / "notes-serve.log"
    proc = serve_notes(
        log,
        LLM_PROVIDER="vllm",
        VLLM_URL=f"http://127.0.0.1:{free_port()}/v1",
        LLM_RETRY_ATTEMPTS="1",
        RMA_DATA_DIR=str(clean_env / "data"),
    )
    try:
        secret = {"notes": "Zanzibarquux owes £4,230 to Lowell", "client_name": "Quillon Varga"}
        assert httpx.get(f"{proc.base}/health").json()["service"] == "notes"
        bad = httpx.post(f"{proc.base}/convert", json={**secret, "client_name": "<i>Q</i>"})
        assert bad.status_code == 422
        down = httpx.post(f"{proc.base}/convert", json=secret, timeout=30)
        assert down.status_code == 503 and "letter" not in down.json()
    finally:
        proc.stop()
    text = log.read_text()
    assert '"status": 503' in text  # the log is there, and it is about the request
    assert "Zanzibarquux" not in text and "Quillon" not in text
