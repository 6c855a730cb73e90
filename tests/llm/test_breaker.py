"""The circuit breaker's half-open state in full: one probe at a time, a failed probe opens
it again for a whole reset period, a cancelled probe frees its place, a good probe
closes it. First the breaker alone, then through the router against the Ollama test server
(primary) with the vLLM test server as the fallback that takes what the breaker refuses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.llm.resilience import CircuitBreaker
from rma.llm.router import ProviderRouter
from rma.llm.types import Message
from tests.conftest import VLLM_MODEL_NAME, OllamaDouble, OpenAIDouble

RESET = 0.3
ASK = [Message.user("What is a DRO?")]


def opened(threshold: int = 2) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold, RESET)
    for _ in range(threshold):
        breaker.record_failure()
    return breaker


def test_the_breaker_opens_at_the_threshold_not_before() -> None:
    breaker = CircuitBreaker(3, RESET)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert 0 < breaker.retry_in() <= RESET


def test_a_success_between_failures_starts_the_count_again() -> None:
    breaker = CircuitBreaker(2, RESET)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.failures == 1


def test_half_open_lets_exactly_one_probe_through() -> None:
    breaker = opened()
    assert not breaker.allow()
    time.sleep(RESET + 0.02)
    assert breaker.allow()  # the probe
    assert breaker.state == "half_open"
    assert [breaker.allow() for _ in range(5)] == [False] * 5  # no second probe
    assert breaker.snapshot()["state"] == "half_open"


def test_a_failed_probe_opens_the_breaker_for_a_whole_reset_period() -> None:
    breaker = opened(threshold=5)
    time.sleep(RESET + 0.02)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.retry_in() > RESET - 0.05  # timed from the failed probe, not the first
    assert not breaker.allow()
    time.sleep(RESET + 0.02)
    assert breaker.allow()  # and then one more probe


def test_a_probe_that_ended_without_a_verdict_frees_its_place() -> None:
    breaker = opened()
    time.sleep(RESET + 0.02)
    assert breaker.allow() and not breaker.allow()
    breaker.release()
    assert breaker.allow() and not breaker.allow()


def test_a_good_probe_closes_the_breaker() -> None:
    breaker = opened()
    time.sleep(RESET + 0.02)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.failures == 0 and breaker.retry_in() == 0
    assert all(breaker.allow() for _ in range(5))


def router(ollama: OllamaDouble, fallback: OpenAIDouble) -> ProviderRouter:
    return build_router(
        load_settings(
            LLM_PROVIDER="ollama",
            OLLAMA_URL=ollama.url,
            FALLBACK_PROVIDER="vllm",
            VLLM_URL=fallback.url,
            VLLM_MODEL=VLLM_MODEL_NAME,
            LLM_BREAKER_THRESHOLD=2,
            LLM_BREAKER_RESET_AFTER=RESET,
            LLM_RETRY_ATTEMPTS=1,
        )
    )


async def open_ollamas_breaker(r: ProviderRouter, ollama: OllamaDouble) -> None:
    ollama.control(fail_next=2, status=503)
    for _ in range(2):
        assert (await r.chat(ASK)).provenance.provider == "vllm"
    assert r.breakers()["ollama"]["state"] == "open"
    ollama.reset()


async def test_concurrent_calls_on_a_half_open_breaker_send_one_probe(
    clean_env: Path, ollama: OllamaDouble, openai_double: OpenAIDouble
) -> None:
    r = router(ollama, openai_double)
    await open_ollamas_breaker(r, ollama)
    await asyncio.sleep(RESET + 0.05)
    ollama.control(delay=0.5)  # the probe is slow; the others arrive while it runs
    results = await asyncio.gather(*(r.chat(ASK) for _ in range(4)))
    providers = sorted(x.provenance.provider for x in results)
    assert providers == ["ollama", "vllm", "vllm", "vllm"]
    assert len(ollama.requests()) == 1
    refused = [x for x in results if x.provenance.provider == "vllm"]
    assert all([h.error for h in x.provenance.hops] == ["CircuitOpen"] for x in refused)
    assert r.breakers()["ollama"]["state"] == "closed"
    assert (await r.chat(ASK)).provenance.provider == "ollama"


async def test_a_failed_probe_reopens_the_breaker(
    clean_env: Path, ollama: OllamaDouble, openai_double: OpenAIDouble
) -> None:
    r = router(ollama, openai_double)
    await open_ollamas_breaker(r, ollama)
    await asyncio.sleep(RESET + 0.05)
    ollama.control(fail_next=1, status=503)
    probe = await r.chat(ASK)
    assert probe.provenance.provider == "vllm"
    assert [h.error for h in probe.provenance.hops] == ["BackendServerError"]
    assert r.breakers()["ollama"]["state"] == "open"
    after = await r.chat(ASK)  # straight to the fallback: ollama is not asked
    assert [h.error for h in after.provenance.hops] == ["CircuitOpen"]
    assert len(ollama.requests()) == 1


async def test_a_cancelled_probe_lets_the_next_call_probe(
    clean_env: Path, ollama: OllamaDouble, openai_double: OpenAIDouble
) -> None:
    r = router(ollama, openai_double)
    await open_ollamas_breaker(r, ollama)
    await asyncio.sleep(RESET + 0.05)
    ollama.control(delay=5)
    probe = asyncio.create_task(r.chat(ASK))
    for _ in range(100):
        if ollama.requests():
            break
        await asyncio.sleep(0.02)
    assert len(ollama.requests()) == 1  # the probe is in flight
    probe.cancel()  # the user went away: no verdict on ollama
    await asyncio.gather(probe, return_exceptions=True)
    assert r.breakers()["ollama"]["state"] == "half_open"
    ollama.control(delay=0)
    result = await r.chat(ASK)
    assert result.provenance.provider == "ollama" and not result.provenance.hops
    assert r.breakers()["ollama"]["state"] == "closed"
