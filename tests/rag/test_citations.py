"""Citations in an answer resolve to every source they name, however they are written.

Two copies of the citation parser once drifted and one read "[1, 2, 3]" as sources 1
and 3; the answer path now uses rma.text's one parser. These go through
``ManualsAnswerer.finish``, the step that turns the model's text into a cited answer.
"""

from __future__ import annotations

import pytest

from rma.llm.types import ChatResult, Provenance
from rma.rag.answer import (
    CitedAnswer,
    ManualsAnswerer,
    PreparedQuestion,
    Source,
    format_with_citations,
)
from rma.rag.limits import ManualLimits
from rma.rag.manuals import ManualChunk


def _source(number: int) -> Source:
    chunk = ManualChunk(
        chunk_id=f"manual:{number}",
        document_id="manual",
        document="manual.md",
        title="A manual",
        index=number,
        page=None,
        heading_path=("A manual", f"Section {number}"),
        char_start=0,
        char_end=10,
        text=f"Passage number {number}.",
    )
    return Source(number, chunk)


def _finish(answer: str, sources: int = 12) -> tuple[list[int], list[str], str | None]:
    prepared = PreparedQuestion(
        question="What applies?",
        retrieval=None,
        sources=[_source(n) for n in range(1, sources + 1)],
        limits=[],
        checks=[],
        messages=[],
        covered=True,
    )
    # finish() reads only the limits: no retriever, store or router is called.
    limits = ManualLimits(lambda: (0, []))
    answerer = ManualsAnswerer(None, None, limits, None)  # type: ignore[arg-type]
    result = ChatResult(answer, "stop", Provenance(role="chat", provider="local", model="m"))
    cited = answerer.finish(prepared, result)
    assert [s.number for s in cited.sources if s.cited] == cited.citations
    return cited.citations, cited.warnings, cited.unchecked_reply


@pytest.mark.parametrize(
    ("answer", "citations"),
    [
        ("Both apply [1][2].", [1, 2]),
        ("All three apply [1, 2, 3].", [1, 2, 3]),
        ("All three apply [1,2].", [1, 2]),
        ("All three apply [1-3].", [1, 2, 3]),
        ("All three apply [2–4].", [2, 3, 4]),
        ("One applies [ 3 ].", [3]),
        ("The twelfth applies [12].", [12]),
        ("Later ones first [3], then [1; 2].", [1, 2, 3]),
    ],
)
def test_every_cited_source_is_resolved(answer: str, citations: list[int]) -> None:
    got, warnings, unchecked = _finish(answer)
    assert got == citations
    assert not any("do not exist" in w for w in warnings)
    assert unchecked is None


@pytest.mark.parametrize("answer", ["Set in [2025].", "A footnote [a].", "No mark at all."])
def test_text_that_is_not_a_citation_cites_nothing(answer: str) -> None:
    got, warnings, unchecked = _finish(answer)
    # The reply is kept out of the answer; the best passages are cited in its place.
    assert unchecked == answer and got == [1, 2, 3]
    assert any("cites no source" in w for w in warnings)


def test_a_source_that_does_not_exist_is_reported() -> None:
    got, warnings, unchecked = _finish("See [2, 14].")
    assert unchecked == "See [2, 14]." and got == [1, 2, 3]
    assert "the answer cites sources that do not exist: [14]" in warnings


def test_a_source_a_warning_names_is_shown_though_not_cited() -> None:
    sources = [_source(n) for n in (1, 2, 5)]
    sources[0].cited = True
    answer = CitedAnswer(
        question="What applies?", answer="It applies [1].", sources=sources, citations=[1],
        unsupported_figures=[], limits=[], provenance=None, covered=True,
        warnings=["source [5] quotes an out-of-date or unknown figure: £30,000 was the limit"],
        warned_sources=[5],
    )  # fmt: skip
    text = format_with_citations(answer)
    cited, warned = text.split("Named in the warnings (not cited):")
    assert "[1] manual.md: A manual > Section 1" in cited
    assert warned.strip() == "[5] manual.md: A manual > Section 5"
    assert "[2]" not in text  # neither cited nor named: not listed
    answer.warnings, answer.warned_sources = [], []
    assert "Named in the warnings" not in format_with_citations(answer)
