"""Embeddings through a real vLLM pooling server, and agreement with the local ONNX model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rma.config import load_settings
from rma.llm.factory import build_router
from tests.conftest import VLLM

pytestmark = pytest.mark.vllm

TEXTS = [
    "A Debt Relief Order can help if your debts are £50,000 or less.",
    "Breathing space pauses most enforcement action for 60 days.",
    "Council tax arrears are a priority debt.",
]


async def test_embeddings_through_vllm(clean_env: Path, vllm_embed: VLLM) -> None:
    router = build_router(
        load_settings(
            EMBED_PROVIDER="vllm", VLLM_EMBED_URL=vllm_embed.url, VLLM_EMBED_MODEL=vllm_embed.model
        )
    )
    out = await router.embed(TEXTS)
    assert (out.model, out.dimension) == ("all-minilm-l6-v2", 384)
    assert out.provenance.provider == "vllm" and out.provenance.replica == vllm_embed.url
    assert out.provenance.tokens_in > 0
    assert all(abs(sum(x * x for x in v) - 1) < 1e-5 for v in out.vectors)

    # The same model run locally (int8 ONNX) points the same way, yet is recorded under
    # another name: a store built with one refuses vectors from the other.
    local = await build_router(load_settings(EMBED_PROVIDER="local")).embed(TEXTS)
    assert local.model != out.model
    for a, b in zip(out.vectors, local.vectors, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.95
