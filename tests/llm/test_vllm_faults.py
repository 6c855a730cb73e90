"""Stop the real vLLM server mid-suite: fallback to Ollama, the breaker opening, recovery."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.llm.types import Message
from tests.conftest import VLLM, OllamaDouble

pytestmark = [pytest.mark.vllm, pytest.mark.vllm_restart]


async def test_vllm_down_falls_back_opens_the_breaker_and_recovers(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    router = build_router(
        load_settings(
            LLM_PROVIDER="vllm",
            VLLM_URL=vllm.url,
            VLLM_MODEL=vllm.model,
            FALLBACK_PROVIDER="ollama",
            OLLAMA_URL=ollama.url,
            LLM_BREAKER_THRESHOLD=2,
            LLM_BREAKER_RESET_AFTER=2,
            LLM_RETRY_ATTEMPTS=1,
        )
    )
    ask = [Message.user("What is a priority debt?")]
    assert (await router.chat(ask, max_tokens=8)).provenance.provider == "vllm"

    vllm.stop()
    try:
        first = await router.chat(ask, max_tokens=8)
        assert first.provenance.provider == "ollama" and first.provenance.fallback
        assert first.provenance.hops[0].provider == "vllm"
        assert first.provenance.hops[0].error == "BackendUnavailable"
        await router.chat(ask, max_tokens=8)
        assert router.breakers()["vllm"]["state"] == "open"
        started = time.monotonic()
        skipped = await router.chat(ask, max_tokens=8)
        assert [h.error for h in skipped.provenance.hops] == ["CircuitOpen"]
        assert time.monotonic() - started < 0.5  # no time spent on the dead server
    finally:
        vllm.start()

    await asyncio.sleep(2.1)  # past the breaker's reset time: the next call is the probe
    back = await router.chat(ask, max_tokens=8)
    assert back.provenance.provider == "vllm" and not back.provenance.hops
    assert router.breakers()["vllm"]["state"] == "closed"
