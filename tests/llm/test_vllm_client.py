"""The vLLM client against the vLLM test server, over real HTTP: the failures a real vLLM
server sends (an error event inside a stream, a context-length 400), and what the router
makes of them. The real server cannot be made to fail on cue; the test server copies
vLLM's own error shapes (tests/fakes/openai_vision.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from rma.config import load_settings
from rma.errors import AllBackendsFailed, BackendRejected, ContextTooLong, StreamInterrupted
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Message, StreamFailed, TextDelta
from tests.conftest import VLLM_MODEL_NAME, OllamaDouble, OpenAIDouble

ASK = [Message.user("What is a debt relief order?")]


def vllm_router(server: OpenAIDouble, **env: object) -> ProviderRouter:
    values: dict[str, object] = {
        "LLM_PROVIDER": "vllm",
        "VLLM_URL": server.url,
        "VLLM_MODEL": VLLM_MODEL_NAME,
        "LLM_RETRY_ATTEMPTS": 1,
    }
    return build_router(load_settings(**{**values, **env}))


async def test_an_error_event_mid_stream_ends_the_stream_with_what_vllm_said(
    clean_env: Path, openai_double: OpenAIDouble, ollama: OllamaDouble
) -> None:
    openai_double.control(
        fail_next=1, mid_stream=True, error="Internal server error", reply="one two three four"
    )
    router = vllm_router(openai_double, FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url)
    events = [e async for e in router.stream_chat(ASK)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["one", " two"]
    failed = events[-1]
    assert isinstance(failed, StreamFailed), events
    assert failed.error == "BackendServerError"
    assert "Internal server error" in failed.message and failed.partial_text == "one two"
    assert ollama.requests() == []  # text was sent: no replay on another backend
    assert router.breakers()["vllm"]["consecutive_failures"] == 1


async def test_chat_raises_when_vllm_breaks_off(
    clean_env: Path, openai_double: OpenAIDouble
) -> None:
    openai_double.control(fail_next=1, mid_stream=True, reply="one two three four")
    with pytest.raises(StreamInterrupted, match="failed mid-response"):
        await vllm_router(openai_double).chat(ASK)


async def test_an_error_event_before_any_text_falls_back(
    clean_env: Path, openai_double: OpenAIDouble, ollama: OllamaDouble
) -> None:
    openai_double.control(fail_next=1, mid_stream=True, reply="one")
    router = vllm_router(openai_double, FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url)
    result = await router.chat(ASK)
    assert result.provenance.provider == "ollama"
    assert [h.error for h in result.provenance.hops] == ["BackendServerError"]


async def test_a_bad_request_error_event_is_not_retried_elsewhere(
    clean_env: Path, openai_double: OpenAIDouble, ollama: OllamaDouble
) -> None:
    # vLLM sends a 400 in the stream when, e.g., its output parser cannot be made.
    openai_double.control(fail_next=1, mid_stream=True, status=400, error="bad grammar", reply="x")
    router = vllm_router(openai_double, FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url)
    with pytest.raises(BackendRejected, match=r"rejected the request \(400\): bad grammar"):
        await router.chat(ASK)
    assert ollama.requests() == []
    assert router.breakers()["vllm"]["consecutive_failures"] == 0


async def test_a_prompt_longer_than_the_context_is_a_clear_error_not_a_fallback(
    clean_env: Path, openai_double: OpenAIDouble, ollama: OllamaDouble
) -> None:
    openai_double.control(max_model_len=20)
    router = vllm_router(openai_double, FALLBACK_PROVIDER="ollama", OLLAMA_URL=ollama.url)
    with pytest.raises(ContextTooLong) as info:
        await router.chat([Message.user("word " * 40)])
    assert "maximum context length is 20 tokens" in str(info.value)
    assert "40 input tokens" in str(info.value)
    assert info.value.status_code == 400
    assert ollama.requests() == []  # the next backend's window is no bigger: no hop
    assert router.breakers()["vllm"]["consecutive_failures"] == 0


async def test_max_tokens_is_cut_to_what_is_left_of_the_context(
    clean_env: Path, openai_double: OpenAIDouble
) -> None:
    openai_double.control(max_model_len=8, reply="a b c d e f g h i j")
    result = await vllm_router(openai_double).chat([Message.user("one two three")])
    assert result.text == "a b c d e" and result.finish_reason == "length"


async def test_vllms_failure_without_a_stream_is_an_http_error(
    openai_double: OpenAIDouble,
) -> None:
    openai_double.control(fail_next=1, mid_stream=True, error="Internal server error")
    sdk = openai.AsyncOpenAI(base_url=openai_double.url, api_key="EMPTY", max_retries=0)
    with pytest.raises(openai.InternalServerError) as info:
        await sdk.chat.completions.create(
            model=VLLM_MODEL_NAME, messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.body == {
        "message": "Internal server error",
        "type": "InternalServerError",
        "param": None,
        "code": 500,
    }
    await sdk.close()


def test_ollamas_failure_without_a_stream_is_an_http_error(ollama: OllamaDouble) -> None:
    ollama.control(fail_next=1, mid_stream=True, error="model runner crashed")
    reply = httpx.post(
        f"{ollama.url}/api/chat",
        json={"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}],
              "stream": False},
    )  # fmt: skip
    assert reply.status_code == 500 and reply.json() == {"error": "model runner crashed"}


async def test_the_openai_sdk_reads_the_test_servers_error_event(
    openai_double: OpenAIDouble,
) -> None:
    openai_double.control(fail_next=1, mid_stream=True, reply="one two three four")
    sdk = openai.AsyncOpenAI(base_url=openai_double.url, api_key="EMPTY", max_retries=0)
    stream = await sdk.chat.completions.create(
        model=VLLM_MODEL_NAME, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    seen = []
    with pytest.raises(openai.APIError) as info:
        async for event in stream:
            seen.append(event.choices[0].delta.content)
    assert seen == ["", "one", " two"]
    assert info.value.body == {
        "message": "Internal server error",
        "type": "InternalServerError",
        "param": None,
        "code": 500,
    }
    await sdk.close()


async def test_all_backends_failed_keeps_vllms_words(
    clean_env: Path, openai_double: OpenAIDouble
) -> None:
    openai_double.control(fail_next=1, status=503, error="Engine is sleeping")
    with pytest.raises(AllBackendsFailed, match="Engine is sleeping"):
        await vllm_router(openai_double).chat(ASK)
    (request,) = openai_double.requests()
    assert request["body"]["stream"] is True
    assert request["body"]["stream_options"] == {"include_usage": True}
