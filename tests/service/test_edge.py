"""The edge every route sits behind, over real HTTP: one error shape for every failure
(including exceptions nobody expected), CORS before keys, the rate limit per key, and
/ready answering at once from its background prober while the backend is slow."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import statistics
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from rma import constants as C
from rma.config import load_settings
from rma.errors import ConfigError
from rma.llm.types import Message
from rma.service.app import RouterDep, create_app
from rma.service.logs import JsonFormatter
from tests.conftest import LOGS, OllamaDouble
from tests.support.load import concurrent_gets
from tests.support.serve import serving
from tests.support.servers import free_port, rma_service

CLIENT_TEXT = "Mrs Jane Example owes 4,230 pounds to Lowell"
KEY = "edge-test-key-" + "0123456789abcdef" * 2
ORIGIN = "https://advice.example"


class Ask(BaseModel):
    question: str


def app_for(**env: object):  # type: ignore[no-untyped-def]
    routes = APIRouter()

    @routes.post("/ask")
    async def ask(body: Ask) -> dict[str, str]:
        return {"echo": str(len(body.question))}

    @routes.post("/chat")
    async def chat(body: Ask, router: RouterDep) -> dict[str, str]:
        return {"answer": (await router.chat([Message.user(body.question)], max_tokens=5)).text}

    @routes.get("/fails")
    async def fails() -> dict[str, str]:
        raise RuntimeError(f"a bug that quotes {CLIENT_TEXT}")

    # The service gate on when the test gives keys (the suite's default is off).
    env.setdefault("RMA_SERVICE_AUTH", "tokens" if "RMA_API_KEYS" in env else "off")
    settings = load_settings(LLM_PROVIDER="ollama", OLLAMA_URL="http://127.0.0.1:1", **env)
    return create_app("edge", routes=[routes], settings=settings)


def test_an_unexpected_exception_is_a_500_json_body_logged_by_type_and_counted(
    clean_env: Path,
) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    # Added once the service has configured logging, kept until it has stopped: the access
    # line is written after the response.
    try:
        with serving(app_for()) as base:
            logging.getLogger().addHandler(handler)
            response = httpx.get(f"{base}/fails")
            metrics = httpx.get(f"{base}/metrics").text
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal" and body["request_id"] == response.headers["X-Request-ID"]
    assert "Jane" not in response.text
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    failure = next(line for line in lines if line["msg"] == "unhandled error")
    assert failure["exception"] == "RuntimeError" and failure["request_id"] == body["request_id"]
    access = next(
        line for line in lines if line["msg"] == "request" and line["route"] != "/metrics"
    )
    assert access["status"] == 500 and access["route"] == "/fails"
    assert "Jane" not in buffer.getvalue()
    assert 'route="/fails",service="edge",status="500"' in metrics
    assert 'rma_http_unhandled_errors_total{error="RuntimeError",service="edge"} 1.0' in metrics


def test_a_503_names_no_internal_address(clean_env: Path) -> None:
    """The model server is down: the answer says so, by provider, not where it lives."""
    with serving(app_for()) as base:
        down = httpx.post(f"{base}/chat", json={"question": CLIENT_TEXT}, timeout=60)
    assert down.status_code == 503
    body = down.json()
    assert body["error"] == "backends_unavailable" and body["hops"], body
    assert body["hops"][0]["provider"] == "ollama"
    assert "127.0.0.1" not in down.text and "http://" not in down.text, down.text
    assert "Jane" not in down.text


def test_unknown_routes_and_methods_answer_in_the_same_shape(clean_env: Path) -> None:
    with serving(app_for()) as base:
        missing = httpx.get(f"{base}/nowhere")
        wrong = httpx.get(f"{base}/ask")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")
    assert wrong.json()["request_id"] == wrong.headers["X-Request-ID"]


def test_a_json_body_over_the_default_limit_is_refused_while_it_arrives(clean_env: Path) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 100_000

    with serving(app_for()) as base:
        big = httpx.post(
            f"{base}/ask", content=chunks(), headers={"content-type": "application/json"}
        )
        deep = httpx.post(f"{base}/ask", content=b"[" * 50 + b"]" * 50)
        fine = httpx.post(f"{base}/ask", json={"question": "What is a DRO?\n\tTab and newline."})
    assert big.status_code == 413 and "1048576 bytes" in big.json()["detail"]
    assert deep.status_code == 422 and "deeper than 32" in deep.json()["detail"]
    assert fine.status_code == 200


def test_the_cors_preflight_is_answered_before_keys_are_asked_for(clean_env: Path) -> None:
    with serving(app_for(RMA_API_KEYS=KEY, RMA_CORS_ORIGINS=ORIGIN)) as base:
        preflight = httpx.options(
            f"{base}/ask",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
            },
        )
        refused = httpx.post(f"{base}/ask", json={"question": "q"}, headers={"Origin": ORIGIN})
        allowed = httpx.post(
            f"{base}/ask", json={"question": "q"}, headers={"Origin": ORIGIN, "X-API-Key": KEY}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    # A browser can read why it was refused, and which request it was.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in refused.headers["access-control-expose-headers"].lower()
    assert allowed.status_code == 200


def test_the_rate_limit_is_per_key_with_retry_after(clean_env: Path) -> None:
    other = "other-edge-key-" + "fedcba9876543210" * 2
    with serving(app_for(RMA_API_KEYS=f"{KEY},{other}", RMA_RATE_LIMIT="3/minute")) as base:
        own = [
            httpx.post(f"{base}/ask", json={"question": "q"}, headers={"X-API-Key": KEY})
            for _ in range(4)
        ]
        theirs = httpx.post(f"{base}/ask", json={"question": "q"}, headers={"X-API-Key": other})
        probes = [httpx.get(f"{base}/health") for _ in range(5)]  # open paths are not limited
    assert [r.status_code for r in own] == [200, 200, 200, 429]
    assert 1 <= int(own[-1].headers["Retry-After"]) <= 60
    assert own[-1].json()["error"] == "rate_limited" and "3 requests per minute" in own[-1].text
    assert theirs.status_code == 200
    assert all(p.status_code == 200 for p in probes)


def test_settings_refuse_short_keys_and_an_open_gate_beyond_loopback(clean_env: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32 characters") as refused:
        load_settings(RMA_API_KEYS="tiny-key")
    assert "tiny-key" not in str(refused.value)
    off = {"RMA_SERVICE_AUTH": "off"}
    with pytest.raises(ConfigError, match="RMA_TRUSTED_NETWORK"):
        load_settings(**off).check_exposure("0.0.0.0")
    with pytest.raises(ConfigError, match="RMA_TRUSTED_NETWORK"):  # keys do not count when off
        load_settings(**off, RMA_API_KEYS=KEY).check_exposure("10.0.0.5")
    for loopback in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        load_settings(**off).check_exposure(loopback)
    load_settings(**off, RMA_TRUSTED_NETWORK="1").check_exposure("0.0.0.0")
    # The gate on (service tokens, or keys): every call needs a credential, anywhere.
    load_settings(RMA_SERVICE_AUTH="tokens").check_exposure("0.0.0.0")
    load_settings(RMA_SERVICE_AUTH="tokens", RMA_API_KEYS=KEY).check_exposure("10.0.0.5")
    with pytest.raises(ConfigError, match="RMA_RATE_LIMIT"):
        load_settings(RMA_RATE_LIMIT="lots")


def test_ready_answers_at_once_under_50_concurrent_calls_while_the_backend_is_slow(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    """The service in its own process; the Ollama test server then takes 8 s per model
    call, so the background probe is slow. While that probe is in flight, rounds of 50
    concurrent /ready calls must answer in under 100 ms at the 99th percentile from the
    last result, and none may start a probe of its own."""
    port = free_port()
    env = {"LLM_PROVIDER": "ollama", "EMBED_PROVIDER": "ollama", "OLLAMA_URL": ollama.url,
           "RMA_DATA_DIR": str(clean_env / "data"), "RMA_API_KEYS": KEY,
           "RMA_SERVICE_AUTH": "tokens"}  # fmt: skip
    service = rma_service("notes", port, LOGS / "ready-under-load.log", env).start()
    try:
        deadline = time.monotonic() + 60
        while httpx.get(f"{service.base}/ready").json()["checked_seconds_ago"] is None:
            assert time.monotonic() < deadline, "the first probe never finished"
            time.sleep(0.1)
        ollama.control(delay=8.0)
        chats_before = sum(r["path"] == "/api/chat" for r in ollama.requests())
        deadline = time.monotonic() + C.READY_PROBE_SECONDS + 5
        while ollama.stats()["in_flight"] == 0:  # the next probe has started, and waits
            assert time.monotonic() < deadline, "no probe started"
            time.sleep(0.05)
        answers = asyncio.run(
            concurrent_gets(service.base, "/ready", concurrency=50, rounds=6, pause=0.5)
        )
        assert ollama.stats()["in_flight"] == 1, "the slow probe ended while measuring"
        chats = sum(r["path"] == "/api/chat" for r in ollama.requests()) - chats_before
    finally:
        service.stop()
    assert {a.status for a in answers} == {200}
    assert {json.loads(a.body)["status"] for a in answers} == {"ready"}  # the last result
    times = [a.ms for a in answers]
    p99 = statistics.quantiles(times, n=100)[98]
    print(f"/ready, 6 x 50 at once: p50 {statistics.median(times):.1f} ms, p99 {p99:.1f} ms")
    assert p99 < 100, f"p99 {p99:.0f} ms"
    assert chats <= 1  # the prober's own at most: 350 calls started no probe of their own
