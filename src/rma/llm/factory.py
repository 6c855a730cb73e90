"""Build the ProviderRouter that the settings describe, and rebuild it in place when
they change (a rollback or a migration step without a restart)."""

from __future__ import annotations

import asyncio
from typing import Any

from rma import constants as C
from rma.config import Settings
from rma.errors import ConfigError
from rma.llm.backends.base import Backend, Target
from rma.llm.migration import policy_from_settings
from rma.llm.resilience import RetryPolicy, Timeouts
from rma.llm.router import ProviderRouter
from rma.llm.types import Role

# Old backends are closed once every call that may still use them has had time to end.
_retiring: set[asyncio.Task[None]] = set()


def chat_model(settings: Settings, provider: str | None = None) -> str:
    """The chat model ``provider`` (default: the primary) serves, as settings name it."""
    models = {
        "vllm": settings.vllm_model,
        "ollama": settings.ollama_model,
        "local": C.LOCAL_CHAT_MODEL,
    }
    return models[provider or settings.llm_provider]


def build_router(settings: Settings) -> ProviderRouter:
    made: dict[str, Backend] = {}

    def backend(name: str, *, embed: bool = False) -> Backend:
        key = f"{name}-embed" if embed and name == "vllm" and settings.vllm_embed_url else name
        if key in made:
            return made[key]
        if name == "vllm":
            from rma.llm.backends.vllm import VLLMBackend

            made[key] = VLLMBackend(
                settings.embed_urls if embed else settings.vllm_url,
                api_key=settings.vllm_api_key.get_secret_value(),
                connect_timeout=settings.connect_timeout,
                max_in_flight=settings.vllm_max_in_flight,
                context_window=settings.vllm_context_tokens,
                name="vllm",
            )
        elif name == "ollama":
            from rma.llm.backends.ollama import OllamaBackend

            made[key] = OllamaBackend(
                settings.ollama_url,
                num_ctx=settings.ollama_num_ctx,
                keep_alive=settings.ollama_keep_alive,
                connect_timeout=settings.connect_timeout,
                max_in_flight=settings.ollama_max_in_flight,
            )
        elif name == "local":
            from rma.llm.backends.local import LocalBackend

            made[key] = LocalBackend()
        else:  # settings validation makes this unreachable
            raise ConfigError(f"unknown provider {name!r}")
        return made[key]

    chat_models = {name: chat_model(settings, name) for name in ("vllm", "ollama", "local")}
    embed_models = {
        "vllm": settings.vllm_embed_model,
        "ollama": settings.ollama_embed_model,
        "local": C.LOCAL_EMBED_MODEL,
    }

    chains: dict[Role, list[Target]] = {
        Role.CHAT: [Target(backend(n), chat_models[n]) for n in settings.chat_chain],
        Role.EMBED: [
            Target(
                backend(settings.embed_provider, embed=True), embed_models[settings.embed_provider]
            )
        ],
    }
    if settings.ocr_provider == "ollama":
        chains[Role.VISION] = [Target(backend("ollama"), settings.ollama_vision_model)]
    elif settings.ocr_provider == "vllm":
        if not settings.vllm_vision_model:
            raise ConfigError("OCR_PROVIDER=vllm needs VLLM_VISION_MODEL (the served vision model)")
        chains[Role.VISION] = [Target(backend("vllm"), settings.vllm_vision_model)]
    return ProviderRouter(
        chains,
        migration=policy_from_settings(settings, lambda n: Target(backend(n), chat_models[n])),
        retry=RetryPolicy(attempts=settings.retry_attempts),
        timeouts=Timeouts(
            connect=settings.connect_timeout,
            first_token=settings.first_token_timeout,
            total=settings.total_timeout,
        ),
        breaker_threshold=settings.breaker_threshold,
        breaker_reset_after=settings.breaker_reset_after,
        queue_limit=settings.queue_limit,
        queue_wait_timeout=settings.queue_wait_timeout,
    )


async def reload_router(router: ProviderRouter, settings: Settings) -> dict[str, Any]:
    """Rebuild ``router`` in place from ``settings`` (chain, fallbacks, shadow, canary), so
    every part of a running service that holds it switches at once; calls in flight finish
    on the old backends, which are closed after the total timeout. Refuses a change of
    embedding model: stored vectors would no longer match new ones."""
    fresh = build_router(settings)
    if fresh.embedding_model() != router.embedding_model():
        await fresh.aclose()
        raise ConfigError(
            f"the embedding model changed ({router.embedding_model()} -> "
            f"{fresh.embedding_model()}); restart and re-ingest instead of reloading"
        )
    retired = router.adopt(fresh)
    task = asyncio.get_running_loop().create_task(_close_later(retired, settings.total_timeout))
    _retiring.add(task)
    task.add_done_callback(_retiring.discard)
    return {
        "chat": [t.provider for t in router.chains[Role.CHAT]],
        "migration": router.migration.snapshot() if router.migration else None,
    }


async def _close_later(backends: list[Backend], delay: float) -> None:
    await asyncio.sleep(delay)
    for backend in backends:
        await backend.aclose()
