"""The shared service scaffolding, served over real HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from rma.config import load_settings
from rma.llm.types import Message
from rma.service.app import RouterDep, create_app
from rma.service.logs import JsonFormatter
from tests.conftest import OllamaDouble
from tests.support.serve import serving
from tests.support.servers import free_port

CLIENT_TEXT = "Mrs Jane Example owes 4,230 pounds to Lowell"
KEY_ONE = "k1-" + "a" * 32
KEY_TWO = "k2-" + "b" * 32


class Ask(BaseModel):
    question: str


def app_for(**env: object):  # type: ignore[no-untyped-def]
    routes = APIRouter()

    @routes.post("/ask")
    async def ask(body: Ask, router: RouterDep) -> dict:
        result = await router.chat([Message.user(body.question)], max_tokens=20)
        return {"answer": result.text, "provenance": result.provenance.model_dump()}

    return create_app("test", routes=[routes], settings=load_settings(**env))


def ollama_env(ollama: OllamaDouble, **extra: object) -> dict[str, object]:
    return {"LLM_PROVIDER": "ollama", "OLLAMA_URL": ollama.url, "EMBED_PROVIDER": "ollama", **extra}


def probed(base: str, timeout: float = 30) -> httpx.Response:
    """/ready once the background prober has a result."""
    deadline = time.monotonic() + timeout
    while True:
        ready = httpx.get(f"{base}/ready")
        if ready.json()["checked_seconds_ago"] is not None or time.monotonic() > deadline:
            return ready
        time.sleep(0.05)


def test_health_ready_and_metrics(clean_env: Path, ollama: OllamaDouble) -> None:
    with serving(app_for(**ollama_env(ollama))) as base:
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        ready = probed(base)
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        chat = next(c for c in body["checks"] if c["role"] == "chat")
        assert chat["reachable"] and chat["model_present"] and chat["probe"] == "ok"
        assert chat["breaker"]["state"] == "closed"
        httpx.post(f"{base}/ask", json={"question": "What is a DRO?"}).raise_for_status()
        metrics = httpx.get(f"{base}/metrics").text
        assert (
            'rma_http_requests_total{method="POST",route="/ask",service="test",status="200"}'
            in metrics
        )
        assert 'rma_llm_requests_total{outcome="ok",provider="ollama",role="chat"}' in metrics


def test_not_ready_when_the_chat_backend_is_down(clean_env: Path, ollama: OllamaDouble) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with serving(app_for(**ollama_env(ollama, LLM_PROVIDER="vllm", VLLM_URL=dead))) as base:
        ready = probed(base)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert "127.0.0.1" not in ready.text  # an open endpoint names no internal address


def test_degraded_but_serving_when_a_fallback_is_ready(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    env = ollama_env(ollama, LLM_PROVIDER="vllm", VLLM_URL=dead, FALLBACK_PROVIDER="ollama")
    with serving(app_for(**env)) as base:
        ready = probed(base)
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        answer = httpx.post(f"{base}/ask", json={"question": "What is a DRO?"}).json()
        assert answer["provenance"]["provider"] == "ollama"
        assert answer["provenance"]["fallback"] is True


def test_backend_failure_is_a_503_with_retry_after_and_hops(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=10, status=429, retry_after=7)
    with serving(app_for(**ollama_env(ollama, LLM_RETRY_ATTEMPTS=1))) as base:
        resp = httpx.post(f"{base}/ask", json={"question": "What is a DRO?"})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "7"
    body = resp.json()
    assert body["error"] == "backends_unavailable"
    assert body["hops"][0]["error"] == "BackendOverloaded"
    assert body["request_id"] == resp.headers["X-Request-ID"]


def test_input_errors_are_4xx(clean_env: Path, ollama: OllamaDouble) -> None:
    with serving(app_for(**ollama_env(ollama))) as base:
        assert httpx.post(f"{base}/ask", json={"question": "  "}).status_code == 422
        assert httpx.post(f"{base}/ask", json={"question": "x" * 250_000}).status_code == 413
        assert httpx.post(f"{base}/ask", content=b"\xff\xfe").status_code == 422


def test_request_ids(clean_env: Path, ollama: OllamaDouble) -> None:
    with serving(app_for(**ollama_env(ollama))) as base:
        given = httpx.get(f"{base}/health", headers={"X-Request-ID": "abc-123"})
        assert given.headers["X-Request-ID"] == "abc-123"
        made = httpx.get(f"{base}/health", headers={"X-Request-ID": "<script>"})
        assert made.headers["X-Request-ID"] != "<script>"
        assert len(made.headers["X-Request-ID"]) == 32


def test_api_keys_when_configured(clean_env: Path, ollama: OllamaDouble) -> None:
    env = ollama_env(ollama, RMA_API_KEYS=f"{KEY_ONE},{KEY_TWO}", RMA_SERVICE_AUTH="tokens")
    with serving(app_for(**env)) as base:
        question = {"question": "What is a DRO?"}
        assert httpx.post(f"{base}/ask", json=question).status_code == 401
        assert (
            httpx.post(f"{base}/ask", json=question, headers={"X-API-Key": "nope"}).status_code
            == 401
        )
        assert (
            httpx.post(f"{base}/ask", json=question, headers={"X-API-Key": KEY_TWO}).status_code
            == 200
        )
        bearer = {"Authorization": f"Bearer {KEY_ONE}"}
        assert httpx.post(f"{base}/ask", json=question, headers=bearer).status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200


@pytest.mark.parametrize(
    ("origins", "allowed"), [("", None), ("https://advice.example", "https://advice.example")]
)
def test_cors_is_off_unless_origins_are_named(
    clean_env: Path, ollama: OllamaDouble, origins: str, allowed: str | None
) -> None:
    with serving(app_for(**ollama_env(ollama, RMA_CORS_ORIGINS=origins))) as base:
        for origin in ("https://advice.example", "https://evil.example"):
            resp = httpx.get(f"{base}/health", headers={"Origin": origin})
            header = resp.headers.get("access-control-allow-origin")
            assert header == (allowed if origin == allowed else None)


def test_logs_are_json_and_never_contain_client_text(clean_env: Path, ollama: OllamaDouble) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    ollama.control(reply=f"Dear client, {CLIENT_TEXT}.")
    with serving(app_for(**ollama_env(ollama))) as base:
        logging.getLogger().addHandler(handler)
        try:
            httpx.post(f"{base}/ask", json={"question": CLIENT_TEXT}).raise_for_status()
            httpx.post(f"{base}/ask?name={CLIENT_TEXT}", json={"question": ""})
        finally:
            logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert any(line.get("route") == "/ask" and line.get("status") == 200 for line in lines)
    assert all("request_id" in line for line in lines if line["msg"] == "request")
    assert "Jane" not in buffer.getvalue() and "4,230" not in buffer.getvalue()


def test_the_prober_says_not_ready_when_a_probe_outruns_its_timeout_or_probes_stop(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    """An honest /ready: the last result is served only while it still says something
    about now. A probe slower than its timeout is not ready; so is a result older than
    two intervals and a timeout (the prober stuck or gone)."""
    from rma.llm.factory import build_router
    from rma.service.readiness import ReadinessProber, router_readiness

    async def scenario() -> list[tuple[int, dict]]:
        router = build_router(load_settings(**ollama_env(ollama)))
        prober = ReadinessProber(lambda: router_readiness(router), interval=0.3, timeout=1.0)
        seen = []

        async def settle(seconds: float) -> None:
            await asyncio.sleep(seconds)
            status, body = prober.answer()
            seen.append((status, json.loads(body)))

        prober.start()
        await settle(0.8)  # a fast probe: ready
        ollama.control(delay=3.0)
        await settle(2.5)  # the next probes each outrun 1 s
        ollama.control(delay=0.0)
        await settle(1.5)  # ready again
        await prober.stop()
        await settle(2 * 0.3 + 1.0 + 0.5)  # nobody probes any more
        await router.aclose()
        return seen

    (s1, fast), (s2, slow), (s3, again), (s4, stale) = asyncio.run(scenario())
    assert (s1, fast["status"]) == (200, "ready")
    assert (s2, slow["status"]) == (503, "not_ready")
    assert "longer than 1 s" in slow["note"]
    assert (s3, again["status"]) == (200, "ready")
    assert (s4, stale["status"]) == (503, "not_ready")
    assert "probes have stopped" in stale["note"] and stale["checked_seconds_ago"] > 1.6
