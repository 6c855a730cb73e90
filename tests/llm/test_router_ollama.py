"""The router and the Ollama backend against the Ollama test server, over real HTTP.

Covers the request shape Ollama's API takes, and the router's behaviour on failure:
retries, fallback, the circuit breaker, Retry-After, mid-stream errors, timeouts,
the bounded queue, malformed responses and structured output.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel

from rma.config import load_settings
from rma.errors import (
    AllBackendsFailed,
    BackendRejected,
    InputError,
    InputTooLarge,
    MalformedResponse,
    StreamInterrupted,
    StructuredOutputError,
)
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import (
    Image,
    Message,
    StreamEnd,
    StreamFailed,
    StructuredEnd,
    StructuredRetry,
    TextDelta,
)
from tests.conftest import OllamaDouble
from tests.support.servers import free_port

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def make_router(ollama: OllamaDouble, **env: object) -> ProviderRouter:
    values = {"LLM_PROVIDER": "ollama", "OLLAMA_URL": ollama.url, "EMBED_PROVIDER": "ollama"}
    values.update({k: v for k, v in env.items()})
    return build_router(load_settings(**values))


def dead_vllm() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def user(text: str = "What is a DRO?") -> list[Message]:
    return [Message.user(text)]


async def test_chat_returns_text_and_provenance(clean_env: Path, ollama: OllamaDouble) -> None:
    router = make_router(ollama)
    result = await router.chat(user(), max_tokens=50)
    assert result.text == "This is the fake Ollama answer."
    p = result.provenance
    assert (p.provider, p.model, p.replica) == ("ollama", "llama3.1:8b", ollama.url)
    assert p.tokens_in > 0 and p.tokens_out == 6
    assert p.ttft_ms is not None and p.latency_ms >= p.ttft_ms
    assert not p.fallback and p.hops == []


async def test_request_shape_is_what_ollama_takes(clean_env: Path, ollama: OllamaDouble) -> None:
    router = make_router(ollama, OLLAMA_NUM_CTX=4096, OLLAMA_KEEP_ALIVE="10m")
    await router.chat(user(), max_tokens=7, temperature=0.2)
    body = ollama.requests()[-1]["body"]
    assert body["stream"] is True
    assert body["options"] == {"num_ctx": 4096, "temperature": 0.2, "num_predict": 7}
    assert body["keep_alive"] == "10m"
    assert body["messages"] == [{"role": "user", "content": "What is a DRO?"}]


async def test_long_prompt_is_not_silently_truncated(clean_env: Path, ollama: OllamaDouble) -> None:
    # Ollama's default context is 2048 tokens; without num_ctx it would cut this prompt.
    router = make_router(ollama, OLLAMA_NUM_CTX=8192)
    await router.chat(user("debt " * 3000), max_tokens=5)
    recorded = ollama.requests()[-1]
    assert recorded["num_ctx_set"] is True
    assert recorded["truncated"] is False


async def test_images_go_as_raw_base64(clean_env: Path, ollama: OllamaDouble) -> None:
    router = make_router(ollama, OCR_PROVIDER="ollama")
    result = await router.vision("Read this letter", [Image(PNG_1PX, "image/png")])
    assert "fake vision" in result.text
    body = ollama.requests()[-1]["body"]
    assert body["model"] == "llava:7b"
    assert body["messages"][0]["images"] == [base64.b64encode(PNG_1PX).decode()]


async def test_vision_is_refused_clearly_on_the_local_backend(clean_env: Path) -> None:
    from rma.errors import CapabilityError
    from rma.llm.backends.base import Target
    from rma.llm.backends.local import LocalBackend
    from rma.llm.types import Role

    router = ProviderRouter({Role.VISION: [Target(LocalBackend(), "smollm2")]})
    with pytest.raises(CapabilityError, match="cannot serve the vision role"):
        await router.vision("read", [Image(PNG_1PX)])


async def test_unknown_model_is_rejected_without_fallback(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    router = make_router(
        ollama, OLLAMA_MODEL="no-such-model", FALLBACK_PROVIDER="vllm", VLLM_URL=dead_vllm()
    )
    with pytest.raises(BackendRejected, match="not found"):
        await router.chat(user())
    assert router.breakers()["vllm"]["consecutive_failures"] == 0  # never tried
    assert router.breakers()["ollama"]["state"] == "closed"


async def test_a_5xx_is_retried_on_the_same_backend(clean_env: Path, ollama: OllamaDouble) -> None:
    ollama.control(fail_next=1, status=500)
    router = make_router(ollama)
    result = await router.chat(user())
    assert result.provenance.provider == "ollama"
    assert [h.error for h in result.provenance.hops] == ["BackendServerError"]
    assert not result.provenance.fallback


async def test_a_scripted_failure_spares_the_readiness_probe_unless_told(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    """A service probes readiness whenever it likes; a failure a test scripts must reach
    the test's own call, not a probe that happened to land first."""
    router = make_router(ollama, LLM_RETRY_ATTEMPTS="1")
    ollama.control(fail_next=1, status=500)
    (probe,) = [r for r in await router.readiness() if r["role"] == "chat"]
    assert probe["probe"] == "ok"
    with pytest.raises(AllBackendsFailed):
        await router.chat(user())
    ollama.control(fail_next=1, status=500, spare=[])
    (probe,) = [r for r in await router.readiness() if r["role"] == "chat"]
    assert probe["probe"] == "failed"


def _fallbacks() -> float:
    value = REGISTRY.get_sample_value(
        "rma_llm_fallbacks_total",
        {"role": "chat", "from_provider": "vllm", "to_provider": "ollama"},
    )
    return value or 0.0


async def test_unreachable_primary_falls_back_and_says_so(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    router = make_router(
        ollama, LLM_PROVIDER="vllm", VLLM_URL=dead_vllm(), FALLBACK_PROVIDER="ollama"
    )
    before = _fallbacks()
    result = await router.chat(user())
    p = result.provenance
    assert p.provider == "ollama" and p.fallback
    assert [(h.provider, h.error) for h in p.hops] == [("vllm", "BackendUnavailable")]
    assert p.model_dump()["fallback"] is True
    assert _fallbacks() == before + 1


async def test_breaker_opens_then_skips_the_dead_backend(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    router = make_router(
        ollama,
        LLM_PROVIDER="vllm",
        VLLM_URL=dead_vllm(),
        FALLBACK_PROVIDER="ollama",
        LLM_BREAKER_THRESHOLD=2,
    )
    for _ in range(2):
        await router.chat(user())
    assert router.breakers()["vllm"]["state"] == "open"
    result = await router.chat(user())
    assert [h.error for h in result.provenance.hops] == ["CircuitOpen"]
    assert result.provenance.provider == "ollama"


async def test_breaker_half_opens_and_closes_on_recovery(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    router = make_router(
        ollama, LLM_BREAKER_THRESHOLD=2, LLM_BREAKER_RESET_AFTER=0.3, LLM_RETRY_ATTEMPTS=1
    )
    ollama.control(fail_next=2, status=503)
    for _ in range(2):
        with pytest.raises(AllBackendsFailed):
            await router.chat(user())
    assert router.breakers()["ollama"]["state"] == "open"
    with pytest.raises(AllBackendsFailed) as info:
        await router.chat(user())
    assert info.value.hops[-1].error == "CircuitOpen"
    assert info.value.retry_after is not None and info.value.retry_after <= 0.3
    await asyncio.sleep(0.35)
    result = await router.chat(user())  # the half-open probe succeeds
    assert result.provenance.provider == "ollama"
    assert router.breakers()["ollama"]["state"] == "closed"


async def test_429_waits_for_retry_after(clean_env: Path, ollama: OllamaDouble) -> None:
    ollama.control(fail_next=1, status=429, retry_after=1)
    router = make_router(ollama)
    started = time.monotonic()
    result = await router.chat(user())
    assert time.monotonic() - started >= 0.9
    assert [h.error for h in result.provenance.hops] == ["BackendOverloaded"]


async def test_mid_stream_failure_is_an_error_event_not_a_fallback(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=1, mid_stream=True, reply="one two three four five six")
    router = make_router(ollama, FALLBACK_PROVIDER="vllm", VLLM_URL=dead_vllm())
    events = [e async for e in router.stream_chat(user())]
    assert isinstance(events[0], TextDelta)
    assert isinstance(events[-1], StreamFailed)
    assert events[-1].partial_text.startswith("one")
    assert not any(isinstance(e, StreamEnd) for e in events)
    assert router.breakers()["ollama"]["consecutive_failures"] == 1
    assert router.breakers()["vllm"]["consecutive_failures"] == 0  # never tried


async def test_chat_raises_when_the_stream_breaks(clean_env: Path, ollama: OllamaDouble) -> None:
    ollama.control(fail_next=1, mid_stream=True, reply="one two three four")
    with pytest.raises(StreamInterrupted):
        await make_router(ollama).chat(user())


async def test_first_token_timeout(clean_env: Path, ollama: OllamaDouble) -> None:
    ollama.control(delay=3)
    router = make_router(ollama, LLM_FIRST_TOKEN_TIMEOUT=0.5, LLM_RETRY_ATTEMPTS=1)
    started = time.monotonic()
    with pytest.raises(AllBackendsFailed) as info:
        await router.chat(user())
    assert time.monotonic() - started < 2
    assert info.value.hops[0].error == "BackendTimeout"


async def test_a_busy_backend_is_waited_for_not_timed_out(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    # The server answers one request at a time and queues the rest, as a batching server
    # does beyond its batch: queued requests hear nothing for longer than the first-token
    # window while the server streams to others. Busy is not dead: all four are answered.
    ollama.control(parallel=1, token_delay=0.1)
    router = make_router(
        ollama, LLM_FIRST_TOKEN_TIMEOUT=1, LLM_RETRY_ATTEMPTS=1, OLLAMA_MAX_IN_FLIGHT=4
    )
    started = time.monotonic()
    results = await asyncio.gather(*(router.chat(user()) for _ in range(4)))
    assert time.monotonic() - started > 1.5, "the server must have kept requests waiting"
    assert all(r.text == "This is the fake Ollama answer." for r in results)
    assert router.breakers()["ollama"]["consecutive_failures"] == 0


async def test_a_busy_backend_still_meets_the_total_deadline(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    # One at a time, 1.2 s each: by the 4 s deadline the fifth request served has not
    # started (a slow machine only makes more of them late). The server takes them in the
    # order their connections arrive, not the order of the list, so no position is assumed.
    # A request never started is timed out as busy, not dead; one started but not finished
    # by the deadline is a stream cut at the deadline.
    ollama.control(parallel=1, token_delay=0.2)
    router = make_router(
        ollama,
        LLM_FIRST_TOKEN_TIMEOUT=1,
        LLM_TOTAL_TIMEOUT=4,
        LLM_RETRY_ATTEMPTS=1,
        OLLAMA_MAX_IN_FLIGHT=5,
    )
    outcomes = await asyncio.gather(
        *(router.chat(user()) for _ in range(5)), return_exceptions=True
    )
    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    assert answered, outcomes
    late = [o for o in outcomes if isinstance(o, AllBackendsFailed)]
    assert late, outcomes
    assert all(o.hops[0].error == "BackendTimeout" for o in late)
    assert all("busy answering other requests" in o.hops[0].message for o in late)
    cut = [o for o in outcomes if isinstance(o, StreamInterrupted)]
    assert all("BackendTimeout" in str(o) for o in cut), cut
    assert len(answered) + len(late) + len(cut) == len(outcomes), outcomes


async def test_full_queue_answers_busy_with_retry_after(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(token_delay=0.2)
    router = make_router(ollama, OLLAMA_MAX_IN_FLIGHT=1, LLM_QUEUE_LIMIT=0)
    outcomes = await asyncio.gather(
        router.chat(user()), router.chat(user()), return_exceptions=True
    )
    busy = [o for o in outcomes if isinstance(o, AllBackendsFailed)]
    assert len(busy) == 1
    assert busy[0].hops[0].error == "BackendOverloaded"
    assert busy[0].retry_after is not None and busy[0].retry_after >= 1


async def test_malformed_response_is_a_typed_error(clean_env: Path, ollama: OllamaDouble) -> None:
    ollama.control(garbage=True)
    with pytest.raises(MalformedResponse, match="not JSON"):
        await make_router(ollama).chat(user())


class Triage(BaseModel):
    topic: str
    urgent: bool
    amount_pence: int


async def test_structured_output_sends_the_schema_and_validates(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    out = await make_router(ollama).structured(user("Triage this"), Triage)
    assert out.value == Triage(topic="example", urgent=True, amount_pence=1)
    assert out.attempts == 1
    assert ollama.requests()[-1]["body"]["format"]["required"] == [
        "topic",
        "urgent",
        "amount_pence",
    ]


async def test_structured_output_retries_once_with_the_error_then_fails(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(reply='{"topic": "x"}')
    with pytest.raises(StructuredOutputError, match="urgent"):
        await make_router(ollama).structured(user("Triage this"), Triage)
    chats = ollama.chats()
    assert len(chats) == 2
    correction = chats[1]["body"]["messages"][-1]["content"]
    assert "urgent" in correction and "not valid" in correction


async def test_structured_output_streams_its_progress(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    events = [e async for e in make_router(ollama).stream_structured(user("Triage"), Triage)]
    assert events and all(isinstance(e, TextDelta) for e in events[:-1])
    end = events[-1]
    assert isinstance(end, StructuredEnd)
    assert end.structured.value == Triage(topic="example", urgent=True, amount_pence=1)
    assert "".join(e.text for e in events[:-1]) == end.structured.result.text


async def test_a_streamed_retry_is_announced_before_it_is_sent(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(reply='{"topic": "x"}')
    seen: list[object] = []
    with pytest.raises(StructuredOutputError, match="after a corrective retry"):
        async for event in make_router(ollama).stream_structured(user("Triage"), Triage):
            seen.append(event)
    retries = [e for e in seen if isinstance(e, StructuredRetry)]
    assert len(retries) == 1 and "urgent" in retries[0].problem
    assert isinstance(seen[-1], TextDelta)  # the second reply streamed too, then failed


async def test_embeddings_are_normalised_and_not_truncated(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    out = await make_router(ollama).embed(["debt relief order", "breathing space"])
    assert out.model == "all-minilm" and out.dimension == 384
    for vec in out.vectors:
        assert abs(sum(x * x for x in vec) - 1) < 1e-6
    assert ollama.requests()[-1]["body"]["truncate"] is False


@pytest.mark.parametrize(
    ("messages", "kwargs", "error"),
    [
        ([], {}, InputError),
        ([Message.user("   ")], {}, InputError),
        ([Message.user("x" * 300_000)], {}, InputTooLarge),
        ([Message.user("hi")], {"role": "translator"}, InputError),
        ([Message.user("hi")], {"role": "embed"}, InputError),
        ([Message.user("hi")], {"max_tokens": 0}, InputError),
    ],
)
async def test_bad_input_is_refused_before_any_call(
    clean_env: Path, ollama: OllamaDouble, messages: list[Message], kwargs: dict, error: type
) -> None:
    with pytest.raises(error):
        await make_router(ollama).chat(messages, **kwargs)
    assert ollama.requests() == []


def test_unknown_message_role_is_refused() -> None:
    with pytest.raises(InputError, match="role"):
        Message("tool", "x")  # type: ignore[arg-type]


async def test_empty_embedding_input_is_refused(clean_env: Path, ollama: OllamaDouble) -> None:
    with pytest.raises(InputError):
        await make_router(ollama).embed(["fine", ""])


async def test_non_json_where_json_was_asked_is_a_typed_error(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    ollama.control(reply="Sorry, I can only answer in prose.")
    with pytest.raises(StructuredOutputError, match="no JSON object"):
        await make_router(ollama).structured(user("Triage this"), Triage)


async def test_readiness_reports_each_target_as_it_found_it(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    """The report /ready builds on: what each role's target answered, and why not."""
    router = make_router(ollama, FALLBACK_PROVIDER="vllm", VLLM_URL=dead_vllm())
    reports = {(r["role"], r["provider"]): r for r in await router.readiness()}
    chat = reports[("chat", "ollama")]
    assert (chat["model"], chat["reachable"], chat["model_present"], chat["probe"]) == (
        "llama3.1:8b", True, True, "ok",
    )  # fmt: skip
    assert chat["breaker"]["state"] == "closed" and "error" not in chat
    probe = [r for r in ollama.requests() if r["body"].get("messages") == [ollama.PROBE]]
    assert probe and probe[-1]["body"]["options"]["num_predict"] == 1  # one token, no more
    embed = reports[("embed", "ollama")]
    assert (embed["model"], embed["probe"]) == ("all-minilm", "ok")
    assert any(r["path"] == "/api/embed" and r["body"]["input"] == ollama.EMBED_PROBE
               for r in ollama.requests())  # fmt: skip
    dead = reports[("chat", "vllm")]
    assert (dead["reachable"], dead["model_present"], dead["probe"]) == (False, False, "skipped")
    assert dead["error"]  # why it is not ready, in words
    # a model the backend does not serve: reachable, said so, not probed
    missing = make_router(ollama, OLLAMA_MODEL="no-such-model:1b")
    report = next(r for r in await missing.readiness() if r["role"] == "chat")
    assert (report["reachable"], report["model_present"], report["probe"]) == (
        True,
        False,
        "skipped",
    )
    assert "no-such-model:1b" in report["error"] and "not served" in report["error"]


async def test_embeddings_and_streams_carry_their_provenance(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    router = make_router(ollama)
    out = await router.embed(["debt relief order"])
    p = out.provenance
    assert (p.provider, p.model, p.replica) == ("ollama", "all-minilm", ollama.url)
    assert p.tokens_in > 0 and not p.fallback
    events = [e async for e in router.stream_chat(user(), max_tokens=50)]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.result.finish_reason == "stop"
    q = end.result.provenance
    assert (q.provider, q.model, q.replica) == ("ollama", "llama3.1:8b", ollama.url)
    assert q.ttft_ms is not None and q.tokens_out == 6
