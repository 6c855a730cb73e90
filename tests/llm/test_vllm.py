"""The provider layer against the real vLLM server (OpenAI-compatible API)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from rma.config import load_settings
from rma.errors import BackendRejected
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Message, StreamEnd, TextDelta
from tests.conftest import VLLM, OllamaDouble
from tests.support.servers import free_port

pytestmark = pytest.mark.vllm


def vllm_router(vllm: VLLM, **env: object) -> ProviderRouter:
    values: dict[str, object] = {
        "LLM_PROVIDER": "vllm",
        "VLLM_URL": vllm.url,
        "VLLM_MODEL": vllm.model,
    }
    values.update(env)
    return build_router(load_settings(**values))


async def test_chat(clean_env: Path, vllm: VLLM) -> None:
    result = await vllm_router(vllm).chat(
        [Message.user("Name one priority debt in the UK.")], max_tokens=24
    )
    p = result.provenance
    assert result.text.strip()
    assert (p.provider, p.model, p.replica) == ("vllm", vllm.model, vllm.url)
    assert p.tokens_in > 5 and 0 < p.tokens_out <= 24
    assert p.ttft_ms is not None and 0 < p.ttft_ms <= p.latency_ms


async def test_streaming_reports_usage(clean_env: Path, vllm: VLLM) -> None:
    events = [
        e
        async for e in vllm_router(vllm).stream_chat(
            [Message.user("Count from one to ten in words.")], max_tokens=30
        )
    ]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.result.text == "".join(d.text for d in deltas)
    assert end.result.provenance.tokens_out == len(deltas) or end.result.provenance.tokens_out > 3


class Triage(BaseModel):
    topic: str
    urgent: bool
    amount_owed: int


async def test_structured_output_is_schema_valid(clean_env: Path, vllm: VLLM) -> None:
    out = await vllm_router(vllm).structured(
        [Message.user("A bailiff letter says £1,200 is owed by Friday. Triage it as JSON.")],
        Triage,
        max_tokens=80,
    )
    assert isinstance(out.value, Triage)
    assert out.result.provenance.provider == "vllm"


async def test_unknown_model_is_a_4xx_and_does_not_fall_back(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    router = vllm_router(
        vllm, VLLM_MODEL="no-such-model", FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url
    )
    with pytest.raises(BackendRejected) as info:
        await router.chat([Message.user("hello")], max_tokens=5)
    assert info.value.status_code == 404
    assert ollama.requests() == []


async def test_a_400_does_not_fall_back(clean_env: Path, vllm: VLLM, ollama: OllamaDouble) -> None:
    router = vllm_router(vllm, FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url)
    # Longer than the server's 2048-token context: vLLM answers 400.
    with pytest.raises(BackendRejected) as info:
        await router.chat([Message.user("debt advice " * 2000)], max_tokens=5)
    assert info.value.status_code == 400
    assert ollama.requests() == []


async def _running_requests(metrics_url: str, stop: asyncio.Event) -> int:
    """Peak of vLLM's own gauge of requests being processed, sampled while the burst runs."""
    peak = 0
    async with httpx.AsyncClient() as client:
        while not stop.is_set():
            text = (await client.get(metrics_url)).text
            for match in re.finditer(r"^vllm:num_requests_running\{[^}]*\} ([0-9.]+)", text, re.M):
                peak = max(peak, int(float(match.group(1))))
            await asyncio.sleep(0.05)
    return peak


async def test_32_concurrent_chats_are_in_flight_together_on_the_server(
    clean_env: Path, vllm: VLLM
) -> None:
    router = vllm_router(vllm)
    stop = asyncio.Event()
    sampler = asyncio.create_task(
        _running_requests(vllm.url.removesuffix("/v1") + "/metrics", stop)
    )
    prompts = [
        Message.user(f"Write one sentence about debt advice, number {i}.") for i in range(32)
    ]
    results = await asyncio.gather(*(router.chat([p], max_tokens=48) for p in prompts))
    stop.set()
    peak = await sampler
    assert all(r.text for r in results)
    assert peak >= 16, f"the server saw at most {peak} requests running at once"


async def test_replicas_share_the_load_and_skip_a_dead_one(clean_env: Path, vllm: VLLM) -> None:
    port = vllm.url.split(":")[-1].split("/")[0]
    alias = f"http://localhost:{port}/v1"
    dead = f"http://127.0.0.1:{free_port()}/v1"
    router = vllm_router(vllm, VLLM_URL=f"{vllm.url},{alias},{dead}")
    results = await asyncio.gather(
        *(router.chat([Message.user(f"Say {i}.")], max_tokens=4) for i in range(9))
    )
    replicas = {r.provenance.replica for r in results}
    assert replicas == {vllm.url, alias}
    hops = [h for r in results for h in r.provenance.hops]
    assert all(h.replica == dead and h.error == "BackendUnavailable" for h in hops)
