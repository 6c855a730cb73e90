"""Shadow and canary modes of the provider layer, with the real vLLM server and the Ollama
test server: what the user gets, what is recorded, and that shadow work never costs the
user time or errors."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import pytest

from rma.config import load_settings
from rma.errors import ConfigError
from rma.llm.backends.base import Target
from rma.llm.backends.ollama import OllamaBackend
from rma.llm.backends.vllm import VLLMBackend
from rma.llm.factory import build_router, reload_router
from rma.llm.migration import (
    PAIRS_FILE,
    MigrationPolicy,
    PairLog,
    answer_similarity,
    citation_overlap,
)
from rma.llm.router import ProviderRouter
from rma.llm.types import Message, Role
from rma.text import cited_numbers
from tests.conftest import VLLM, OllamaDouble

QUESTION = "Mrs Jane Example owes 4,230 pounds to Lowell: is that a priority debt?"
REPLY = "Council tax is a priority debt [1]; a credit card is not [2, 3]."


def vllm_primary(vllm: VLLM, ollama: OllamaDouble, **env: object) -> ProviderRouter:
    values: dict[str, object] = {
        "LLM_PROVIDER": "vllm",
        "VLLM_URL": vllm.url,
        "VLLM_MODEL": vllm.model,
        "OLLAMA_URL": ollama.url,
        "EMBED_PROVIDER": "ollama",
    }
    return build_router(load_settings(**{**values, **env}))


def pairs(clean_env: Path) -> list[dict]:
    path = clean_env / "data" / PAIRS_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ------------------------------------------------------------ computed in code


def test_similarity_and_citations_are_computed_from_the_texts() -> None:
    assert answer_similarity("a b c", "a b c") == pytest.approx(1.0)
    assert answer_similarity("Council tax", "council TAX") == pytest.approx(1.0)
    assert answer_similarity("a b", "c d") == 0.0
    assert answer_similarity("", "") == 1.0 and answer_similarity("a", "") == 0.0
    assert answer_similarity("a a b", "a b b") == pytest.approx(4 / 5)
    assert citation_overlap([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    assert citation_overlap([], []) is None and citation_overlap([1], []) == 0.0


def test_migration_settings_are_checked(clean_env: Path) -> None:
    s = load_settings(SHADOW_PROVIDER="", CANARY_PROVIDER=" ")
    assert s.shadow_provider is None and s.canary_provider is None
    with pytest.raises(ConfigError, match="CANARY_PROVIDER"):
        load_settings(LLM_PROVIDER="vllm", CANARY_PROVIDER="vllm", CANARY_PERCENT=5)
    with pytest.raises(ConfigError, match="SHADOW_PERCENT"):
        load_settings(SHADOW_PROVIDER="ollama", SHADOW_PERCENT=150)
    with pytest.raises(ConfigError, match="SHADOW_PROVIDER"):
        load_settings(SHADOW_PROVIDER="nonsense")
    assert build_router(load_settings(SHADOW_PROVIDER="ollama")).migration is None  # 0 %


def test_canary_share_follows_the_percentage() -> None:
    chain = [Target(VLLMBackend(["http://primary.invalid/v1"]), "primary-model")]
    candidate = Target(
        OllamaBackend("http://candidate.invalid", num_ctx=2048, keep_alive="1m"), "candidate"
    )
    policy = MigrationPolicy(
        pairs=PairLog(Path("unused")), canary=candidate, canary_percent=10, rng=random.Random(7)
    )
    routes = [policy.route(Role.CHAT, chain)[1] for _ in range(2000)]
    assert 150 <= routes.count("canary") <= 250  # 10 % of 2000, within sampling noise
    canary_chain, _ = next(
        (c, r) for c, r in (policy.route(Role.CHAT, chain) for _ in range(100)) if r == "canary"
    )
    assert canary_chain == [candidate, *chain]  # the normal chain stays behind it
    assert all(policy.route(Role.VISION, chain)[1] == "primary" for _ in range(50))


# ------------------------------------------------------------------------ canary


@pytest.mark.vllm
async def test_canary_sends_its_share_to_the_candidate_with_the_chain_behind(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    router = vllm_primary(vllm, ollama, CANARY_PROVIDER="ollama", CANARY_PERCENT=100)
    result = await router.chat([Message.user(QUESTION)], max_tokens=8)
    assert result.provenance.provider == "ollama" and result.provenance.route == "canary"
    assert result.provenance.model_dump()["route"] == "canary"

    ollama.control(fail_next=10, status=500)  # the candidate breaks: the user still gets vLLM
    fallback = await router.chat([Message.user(QUESTION)], max_tokens=8)
    assert fallback.provenance.provider == "vllm" and fallback.provenance.route == "canary"
    assert {h.provider for h in fallback.provenance.hops} == {"ollama"}
    await router.aclose()

    off = vllm_primary(vllm, ollama, CANARY_PROVIDER="ollama", CANARY_PERCENT=0)
    plain = await off.chat([Message.user(QUESTION)], max_tokens=8)
    assert plain.provenance.provider == "vllm" and plain.provenance.route == "primary"
    await off.aclose()


# ------------------------------------------------------------------------ shadow


@pytest.mark.vllm
async def test_shadow_records_pairs_without_texts(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    ollama.control(reply=REPLY)
    router = vllm_primary(vllm, ollama, SHADOW_PROVIDER="ollama", SHADOW_PERCENT=100)
    answers = [await router.chat([Message.user(QUESTION)], max_tokens=16) for _ in range(3)]
    assert all(a.provenance.provider == "vllm" for a in answers)
    assert router.migration is not None
    await router.migration.drain()
    await router.aclose()

    recorded = pairs(clean_env)
    assert len(recorded) == 3
    assert len(ollama.chats()) == 3
    raw = (clean_env / "data" / PAIRS_FILE).read_text()
    assert "Jane Example" not in raw and "priority debt" not in raw  # no client text
    assert answers[0].text.strip()[:20] not in raw
    for pair, answer in zip(recorded, answers, strict=True):
        assert pair["primary"]["provider"] == "vllm" and pair["candidate"]["provider"] == "ollama"
        assert pair["candidate"]["error"] is None
        assert pair["candidate"]["tokens_out"] == len(REPLY.split(" "))
        assert pair["candidate"]["latency_ms"] > 0
        assert pair["primary"]["tokens_out"] == answer.provenance.tokens_out
        assert pair["similarity"] == round(answer_similarity(answer.text, REPLY), 4)
        assert pair["citations"]["candidate"] == [1, 2, 3]
        assert pair["citations"]["primary"] == cited_numbers(answer.text)


@pytest.mark.vllm
async def test_shadow_never_costs_the_user_time_or_errors(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    router = vllm_primary(
        vllm, ollama, SHADOW_PROVIDER="ollama", SHADOW_PERCENT=100, SHADOW_MAX_PENDING=1
    )
    assert router.migration is not None
    ollama.control(delay=6.0)  # a slow candidate
    started = time.monotonic()
    answers = [await router.chat([Message.user(QUESTION)], max_tokens=4) for _ in range(3)]
    assert time.monotonic() - started < 6.0  # nobody waited for the candidate
    assert all(a.provenance.provider == "vllm" and not a.provenance.hops for a in answers)
    # One copy in flight at most: the other two were dropped, and counted.
    assert router.migration.counts["dropped"] == 2
    assert router.migration.snapshot()["shadow"]["pending"] == 1
    await router.migration.drain()
    assert router.migration.counts["recorded"] == 1

    ollama.control(fail_next=5, status=500)  # a failing candidate
    answer = await router.chat([Message.user(QUESTION)], max_tokens=4)
    assert answer.provenance.provider == "vllm" and not answer.provenance.hops
    await router.migration.drain()
    assert router.migration.counts["failed"] == 1
    await router.aclose()
    assert [p["candidate"]["error"] for p in pairs(clean_env)] == [None, "BackendServerError"]


# ------------------------------------------------------------------------ reload


async def test_reload_switches_the_router_in_place(clean_env: Path, ollama: OllamaDouble) -> None:
    base = {"OLLAMA_URL": ollama.url, "EMBED_PROVIDER": "ollama", "LLM_TOTAL_TIMEOUT": 5}
    router = build_router(load_settings(LLM_PROVIDER="ollama", **base))
    ollama.control(delay=1.0)
    in_flight = asyncio.create_task(router.chat([Message.user(QUESTION)], max_tokens=4))
    await asyncio.sleep(0.3)

    changed = load_settings(
        LLM_PROVIDER="ollama", FALLBACK_PROVIDER="vllm", CANARY_PROVIDER="vllm", CANARY_PERCENT=10,
        VLLM_URL="http://127.0.0.1:9/v1", **base,
    )  # fmt: skip
    outcome = await reload_router(router, changed)
    assert outcome["chat"] == ["ollama", "vllm"]
    assert outcome["migration"]["canary"] == {"provider": "vllm", "percent": 10.0}
    assert (await in_flight).provenance.provider == "ollama"  # the call in flight finished

    with pytest.raises(ConfigError, match="embedding model"):
        await reload_router(router, load_settings(OLLAMA_EMBED_MODEL="nomic-embed-text", **base))
    assert [t.provider for t in router.chains[Role.CHAT]] == ["ollama", "vllm"]  # kept
    await router.aclose()
