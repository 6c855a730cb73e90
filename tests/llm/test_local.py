"""The embedded default: SmolLM2 in-process (llama.cpp) and MiniLM embeddings (ONNX)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from rma.config import load_settings
from rma.errors import ConfigError, InputTooLarge
from rma.llm import assets
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Message


@pytest.fixture(scope="module")
def local_router() -> ProviderRouter:
    return build_router(load_settings(LLM_PROVIDER="local", EMBED_PROVIDER="local"))


async def test_chat_in_process(local_router: ProviderRouter) -> None:
    result = await local_router.chat([Message.user("What is a debt?")], max_tokens=16)
    p = result.provenance
    assert result.text.strip()
    assert (p.provider, p.replica) == ("local", "in-process")
    assert 0 < p.tokens_out <= 16


async def test_generation_does_not_block_the_event_loop(local_router: ProviderRouter) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    await asyncio.gather(
        local_router.chat([Message.user("Explain budgeting in detail.")], max_tokens=64),
        local_router.embed(["a council tax bill"] * 64),
    )
    elapsed = time.monotonic() - started
    done.set()
    await beat
    assert elapsed > 0.3, "the work was too short to show anything"
    assert len(gaps) > elapsed / 0.1
    assert max(gaps) < 0.25, f"the event loop stalled for {max(gaps):.2f} s"


class Triage(BaseModel):
    topic: str
    urgent: bool


async def test_structured_output_is_grammar_constrained(local_router: ProviderRouter) -> None:
    out = await local_router.structured(
        [Message.user("A bailiff is coming tomorrow. Give topic and urgency as JSON.")],
        Triage,
        max_tokens=60,
    )
    assert isinstance(out.value, Triage)


async def test_prompt_beyond_the_local_context_is_refused(local_router: ProviderRouter) -> None:
    with pytest.raises(InputTooLarge, match="context"):
        await local_router.chat([Message.user("rent arrears " * 1500)], max_tokens=64)


async def test_embeddings_capture_meaning(local_router: ProviderRouter) -> None:
    out = await local_router.embed(
        [
            "How do I apply for a debt relief order?",
            "Applying for a debt relief order",
            "The weather is sunny.",
        ]
    )
    q, near, far = out.vectors
    assert out.dimension == 384
    assert all(abs(sum(x * x for x in v) - 1) < 1e-6 for v in out.vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(q, near) > 0.8 > 0.2 > cos(q, far)


def test_a_model_file_with_the_wrong_checksum_is_refused() -> None:
    altered = assets.Asset(assets.MINILM_ONNX.distribution, assets.MINILM_ONNX.path, "0" * 64)
    with pytest.raises(ConfigError, match="refusing"):
        assets.locate(altered)


def test_a_missing_model_package_says_how_to_install_it() -> None:
    missing = assets.Asset("rma-no-such-model-package", "x.gguf", "0" * 64)
    with pytest.raises(ConfigError, match=r"requirements/models\.txt"):
        assets.locate(missing)


def test_cli_chat_streams_on_the_embedded_default(clean_env: Path) -> None:
    from click.testing import CliRunner

    from rma.cli import main

    result = CliRunner().invoke(main, ["chat", "Explain what a budget is.", "--max-tokens", "4"])
    assert result.exit_code == 0, result.output
    assert "local/smollm2" in result.output
    # It says it is the bare model, and that four tokens cut the reply short.
    assert "the model alone: no manuals" in result.stderr and "rma ask" in result.stderr
    assert "cut off at the token limit (4)" in result.stderr
