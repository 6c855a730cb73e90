"""What the router answers about its backends, so nothing above ``rma.llm`` asks which
backend it is: the context window a prompt must fit, how many calls fit at once, how the
embedder counts tokens, and whether a served model is the configured one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from rma.config import load_settings
from rma.errors import InputError
from rma.llm.backends.ollama import OllamaBackend
from rma.llm.backends.vllm import VLLMBackend
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Role
from rma.text import estimate_tokens

Build = Callable[..., ProviderRouter]


@pytest.fixture
async def build(clean_env: Path) -> AsyncIterator[Build]:
    """Routers from settings (no call is made: backends connect on first use)."""
    made: list[ProviderRouter] = []

    def make(**env: object) -> ProviderRouter:
        made.append(build_router(load_settings(**env)))
        return made[-1]

    yield make
    for router in made:
        await router.aclose()


@pytest.mark.parametrize(
    ("env", "window"),
    [
        ({}, 2048),  # the embedded model
        ({"LLM_PROVIDER": "vllm", "VLLM_CONTEXT_TOKENS": 8192}, 8192),
        ({"LLM_PROVIDER": "ollama", "OLLAMA_NUM_CTX": 4096}, 4096),
        # A fallback must fit the prompt too: the smallest along the chain decides.
        ({"LLM_PROVIDER": "vllm", "VLLM_CONTEXT_TOKENS": 8192, "FALLBACK_PROVIDER": "local"}, 2048),
        (
            {
                "LLM_PROVIDER": "vllm",
                "VLLM_CONTEXT_TOKENS": 8192,
                "FALLBACK_PROVIDER": "ollama",
                "OLLAMA_NUM_CTX": 4096,
            },
            4096,
        ),
        # So must a canary that takes live traffic first.
        (
            {
                "LLM_PROVIDER": "vllm",
                "VLLM_CONTEXT_TOKENS": 8192,
                "CANARY_PROVIDER": "ollama",
                "CANARY_PERCENT": 10,
                "OLLAMA_NUM_CTX": 3000,
            },
            3000,
        ),
    ],
)
async def test_context_window_is_the_smallest_that_may_answer(
    build: Build, env: dict[str, object], window: int
) -> None:
    assert build(**env).context_window() == window


async def test_capacity_is_the_primary_backends_concurrency(build: Build) -> None:
    assert build().capacity() == 1  # llama.cpp: one answer at a time
    assert build(LLM_PROVIDER="vllm", VLLM_MAX_IN_FLIGHT=48).capacity() == 48
    assert build(LLM_PROVIDER="ollama", FALLBACK_PROVIDER="vllm").capacity() == 4
    with pytest.raises(InputError, match="vision"):
        build().capacity(Role.VISION)  # no vision backend on the embedded default


async def test_token_counter_is_the_embedders_own_when_it_runs_here(build: Build) -> None:
    from rma.llm.backends.local import MiniLMEmbedder

    local = build().token_counter(Role.EMBED)
    text = "The DRO debt limit is £50,000."
    assert local(text) == MiniLMEmbedder().count_tokens(text)
    remote = build(EMBED_PROVIDER="vllm").token_counter(Role.EMBED)
    assert remote is estimate_tokens


def test_each_backend_matches_its_own_model_names() -> None:
    ollama = OllamaBackend("http://127.0.0.1:1")
    assert ollama.serves("llava", ["llava:latest"])  # Ollama's implicit tag
    assert ollama.serves("llava:7b", ["llava:7b"])
    assert not ollama.serves("llava:7b", ["llava:latest"])
    vllm = VLLMBackend(["http://127.0.0.1:1/v1"])
    assert vllm.serves("smollm2", ["smollm2"])
    assert not vllm.serves("smollm2", ["smollm2:latest"])
