"""A stream that fails, on both streaming surfaces of the RAG service, over real HTTP: the
OpenAI-compatible stream ends with an error object that the ``openai`` SDK raises (as
OpenAI's and vLLM's servers send it; never a chunk with a made-up ``finish_reason``), and
``/query/stream`` ends with one ``error`` event of the service's error shape, whether the
model failed before or after its first token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from rma.rag.api import MODEL_ID
from tests.conftest import OllamaDouble
from tests.rag.conftest import rag_over_http

QUESTION = "What is the DRO debt limit?"


@pytest.fixture(scope="module")
def rag_service(
    ollama_server: OllamaDouble, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The RAG service over HTTP, on the Ollama test server, manuals ingested once."""
    folder = tmp_path_factory.mktemp("rag-stream-errors")
    with rag_over_http(
        folder, LLM_PROVIDER="ollama", OLLAMA_URL=ollama_server.url, LLM_RETRY_ATTEMPTS="1"
    ) as url:
        yield url


@pytest.fixture
def rag_url(rag_service: str, ollama: OllamaDouble) -> str:
    return rag_service


def openai_stream(url: str) -> tuple[list[Any], openai.APIError | None]:
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    chunks: list[Any] = []
    try:
        stream = sdk.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        for chunk in stream:
            chunks.append(chunk)
    except openai.APIError as exc:
        return chunks, exc
    return chunks, None


def events(url: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    with httpx.stream("POST", f"{url}/query/stream", json={"question": QUESTION}) as reply:
        assert reply.status_code == 200
        kind = "message"
        for line in reply.iter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                out.append((kind, json.loads(line.removeprefix("data:"))))
                kind = "message"
    return out


def test_a_break_mid_answer_is_an_error_the_openai_sdk_raises(
    rag_url: str, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=1, mid_stream=True, reply="The limit is £50,000 [1] today.")
    chunks, error = openai_stream(rag_url)
    assert error is not None, "the SDK read the broken stream as a normal end"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("The limit")
    assert all(c.choices[0].finish_reason is None for c in chunks if c.choices)
    assert error.body["type"] == "stream_interrupted"  # type: ignore[index]
    assert error.body["code"] == 502  # type: ignore[index]
    assert "BackendServerError" in error.message


def test_a_model_down_before_the_first_token_is_an_error_the_sdk_raises(
    rag_url: str, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=5, status=500, error="llama runner process has terminated")
    chunks, error = openai_stream(rag_url)
    assert error is not None, "the SDK read the failed stream as a normal end"
    assert error.body["type"] == "AllBackendsFailed"  # type: ignore[index]
    assert error.body["code"] == 503  # type: ignore[index]
    assert "llama runner process has terminated" in error.message
    assert all(c.choices[0].finish_reason is None for c in chunks if c.choices)


def test_query_stream_ends_with_one_error_event_after_a_break(
    rag_url: str, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=1, mid_stream=True, reply="The limit is £50,000 [1] today.")
    seen = events(rag_url)
    kinds = [k for k, _ in seen]
    assert kinds[0] == "sources" and "delta" in kinds
    assert kinds[-1] == "error" and "answer" not in kinds
    error = seen[-1][1]
    assert error["error"] == "stream_interrupted" and error["status"] == 502
    assert "BackendServerError" in error["detail"] and error["request_id"]


def test_query_stream_error_before_the_first_token_has_the_same_shape(
    rag_url: str, ollama: OllamaDouble
) -> None:
    ollama.control(fail_next=5, status=500, error="llama runner process has terminated")
    seen = events(rag_url)
    assert [k for k, _ in seen] == ["sources", "error"]
    error = seen[-1][1]
    assert error["error"] == "AllBackendsFailed" and error["status"] == 503
    assert "llama runner process has terminated" in error["detail"] and error["request_id"]
