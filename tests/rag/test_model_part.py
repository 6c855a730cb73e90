"""The checks of the model's own part of an answer (tests/support/answers.py) can fail: the
RAG service on the vLLM test server, scripted to answer "" or without citations or with a
figure no source holds, on ``/query``, ``/query/stream`` and ``/v1/chat/completions``. An
empty reply still gives an answer that looks right as a whole (the code-built limit
sentence, cited): only the model's part shows the fault. The same checks run on the real
vLLM in tests/rag/test_e2e_vllm.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rma.rag.api import MODEL_ID
from tests.conftest import VLLM_MODEL_NAME, OpenAIDouble
from tests.rag.conftest import rag_over_http
from tests.support.answers import model_problems

QUESTION = "What is the DRO debt limit?"
CODE_SENTENCE = "the DRO debt limit is £50,000, in force from 28 June 2024"


@pytest.fixture(scope="module")
def rag_service(
    openai_server: OpenAIDouble, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("rag-model-part")
    with rag_over_http(
        folder, LLM_PROVIDER="vllm", VLLM_URL=openai_server.url, VLLM_MODEL=VLLM_MODEL_NAME
    ) as url:
        yield url


@pytest.fixture
def rag(rag_service: str, openai_double: OpenAIDouble) -> str:
    return rag_service


def query(url: str) -> dict[str, Any]:
    return httpx.post(f"{url}/query", json={"question": QUESTION}, timeout=60).json()  # type: ignore[no-any-return]


def streamed(url: str) -> dict[str, Any]:
    final: dict[str, Any] = {}
    with httpx.stream("POST", f"{url}/query/stream", json={"question": QUESTION}) as reply:
        kind = ""
        for line in reply.iter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:") and kind == "answer":
                final = json.loads(line.removeprefix("data:"))
    return final


def completion(url: str) -> dict[str, Any]:
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": QUESTION}]}
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60).json()
    return reply["rma"]  # type: ignore[no-any-return]


SURFACES = {"query": query, "query_stream": streamed, "chat_completions": completion}


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_an_empty_reply_looks_right_as_a_whole_but_not_in_the_models_part(
    rag: str, openai_double: OpenAIDouble, surface: str
) -> None:
    openai_double.control(reply="")
    body = SURFACES[surface](rag)
    # What the end-to-end tests used to check all holds with a model that said nothing:
    assert body["covered"] and CODE_SENTENCE in body["answer"]
    assert any(s["cited"] for s in body["sources"]) and body["unsupported_figures"] == []
    assert model_problems(body) == [
        "the model's own text is empty (only code-built sentences remain)"
    ]


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_an_uncited_reply_is_caught(rag: str, openai_double: OpenAIDouble, surface: str) -> None:
    openai_double.control(reply="A DRO is a way to deal with debts you cannot pay.")
    problems = model_problems(SURFACES[surface](rag))
    assert len(problems) == 1 and problems[0].startswith("the model's text cites no source")


def test_a_figure_no_cited_source_holds_is_caught(rag: str, openai_double: OpenAIDouble) -> None:
    openai_double.control(reply="The fee is £999 and it lasts 17 weeks [1].")
    assert model_problems(query(rag)) == [
        "the model states '£999', which its cited sources do not hold",
        "the model states '17 weeks', which its cited sources do not hold",
    ]


def test_a_citation_of_a_source_that_does_not_exist_is_caught(
    rag: str, openai_double: OpenAIDouble
) -> None:
    openai_double.control(reply="You can apply through an approved intermediary [42].")
    assert model_problems(query(rag)) == ["the model's text cites sources that do not exist: {42}"]


def test_a_cited_reply_with_the_sources_figures_passes(
    rag: str, openai_double: OpenAIDouble
) -> None:
    openai_double.control(reply="You can apply through an approved intermediary [1].")
    body = query(rag)
    assert model_problems(body) == []
    # and a figure taken from the cited source is supported
    number, figure = next(
        (s["number"], found[0])
        for s in body["sources"]
        if (found := re.findall(r"£[\d,]+", s["quote"]))
    )
    openai_double.control(reply=f"The figure is {figure} [{number}].")
    assert model_problems(query(rag)) == []
