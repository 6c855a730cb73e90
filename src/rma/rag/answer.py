"""Cited answers: numbered sources in, an answer with resolved citations out.

The model writes the language; code does everything a reader relies on:

- **Sources** are numbered passages (document, page, heading, quote); citations like
  ``[2]`` in the answer are resolved back to them.
- **Not covered**: when retrieval finds nothing relevant, the answer says the manuals do
  not cover the question, and no model is asked to guess.
- **Limits**: when the question is about a named limit, the current verified value with
  its effective date goes into the prompt, and the answer always carries the sentence
  "As at <date>, <limit> is <value> [n]" built by code from the threshold book.
- **Figures**: every amount, day count and percentage in the answer is checked against
  the text of the sources it cites; figures not found there are listed in
  ``unsupported_figures``, and historical values of an asked-about limit are flagged.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from rma import constants as C
from rma.errors import InputError, InputTooLarge
from rma.llm.router import ProviderRouter
from rma.llm.types import ChatResult, Message, Provenance, StreamEnd, StreamFailed, TextDelta
from rma.rag.library import ManualLibrary
from rma.rag.manuals import ManualChunk
from rma.rag.retrieval import HybridRetriever, Retrieval
from rma.rag.store import ManualStore
from rma.rag.thresholds import (
    LimitCheck,
    LimitCheckRecord,
    Threshold,
    ThresholdBook,
    check_against_limits,
    find_figures,
    thresholds_in_question,
)
from rma.text import cited_numbers, estimate_prompt_tokens, estimate_tokens, format_date

MAX_QUESTION_CHARS = 2000
DEFAULT_TOP_K = 5
MAX_TOP_K = 20
DEFAULT_ANSWER_TOKENS = 300
NOT_COVERED = (
    "The manuals do not cover this question. No passage in the ingested manuals is close "
    "enough to answer it, so no answer has been generated."
)
SYSTEM_PROMPT = (
    "You help UK debt advisers. Answer only from the numbered sources below, which come "
    "from the adviser manuals. After each statement, cite the source number in square "
    "brackets, like [1]. Copy figures exactly as the sources give them and do not calculate. "
    "If the sources do not answer the question, say that the manuals do not cover it."
)
# Room kept free beyond the estimates (which are already high).
SAFETY_TOKENS = 64


class SourceRecord(BaseModel):
    """A numbered source of an answer: the passage and where it is in its manual."""

    number: int
    document_id: str
    document: str
    title: str
    page: int | None
    heading: str
    quote: str
    chunk_id: str
    char_start: int
    char_end: int
    cited: bool


class StatedLimit(Threshold):
    """A limit an answer states, with the sentence that states it."""

    statement: str


class AnswerResponse(BaseModel):
    """A cited answer from the manuals (``POST /query``)."""

    question: str
    answer: str
    covered: bool = Field(description="False when the manuals do not cover the question.")
    sources: list[SourceRecord]
    citations: list[int]
    unsupported_figures: list[dict[str, str]]
    limits: list[StatedLimit]
    limit_checks: list[LimitCheckRecord]
    warnings: list[str]
    provenance: Provenance | None


class AnalysisResponse(BaseModel):
    """What code reads from a question (``POST /analyze-question``)."""

    topic: str
    question_type: str
    figures: list[dict[str, Any]]
    thresholds: list[str]
    current_values: list[StatedLimit] = Field(default_factory=list)
    limit_checks: list[LimitCheckRecord] = Field(default_factory=list)


def stated(threshold: Threshold) -> StatedLimit:
    return StatedLimit(**dict(threshold), statement=threshold.as_at_statement())


@dataclass
class Source:
    number: int
    chunk: ManualChunk
    cited: bool = False

    def record(self) -> SourceRecord:
        return SourceRecord(
            number=self.number,
            document_id=self.chunk.document_id,
            document=self.chunk.document,
            title=self.chunk.title,
            page=self.chunk.page,
            heading=self.chunk.heading,
            quote=self.chunk.text,
            chunk_id=self.chunk.chunk_id,
            char_start=self.chunk.char_start,
            char_end=self.chunk.char_end,
            cited=self.cited,
        )


@dataclass
class PreparedQuestion:
    """Everything decided before the model is called."""

    question: str
    retrieval: Retrieval | None
    sources: list[Source]
    limits: list[tuple[Threshold, int]]  # current threshold, the source number it cites
    checks: list[tuple[LimitCheck, int]]  # the question's amounts against those limits
    messages: list[Message]
    covered: bool
    left_out: int = 0  # retrieved passages that did not fit the model's context


@dataclass
class CitedAnswer:
    question: str
    answer: str
    sources: list[Source]
    citations: list[int]
    unsupported_figures: list[dict[str, str]]
    limits: list[Threshold]
    warnings: list[str]
    provenance: Provenance | None
    covered: bool
    limit_checks: list[LimitCheck] = field(default_factory=list)

    def response(self) -> AnswerResponse:
        return AnswerResponse(
            question=self.question,
            answer=self.answer,
            covered=self.covered,
            sources=[s.record() for s in self.sources],
            citations=self.citations,
            unsupported_figures=self.unsupported_figures,
            limits=[stated(t) for t in self.limits],
            limit_checks=[c.record() for c in self.limit_checks],
            warnings=self.warnings,
            provenance=self.provenance,
        )


def check_question(question: str) -> str:
    text = (question or "").strip()
    if not text:
        raise InputError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputTooLarge(
            f"the question is {len(text)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    return text


class ManualsAnswerer:
    """Answers questions from the manuals with numbered, checked citations.

    ``thresholds`` gives the threshold book in force at the moment of asking (the
    library's, which it rebuilds whenever the manuals change), so an answer never uses
    a copy that an ingest has made stale."""

    def __init__(
        self,
        retriever: HybridRetriever,
        store: ManualStore,
        thresholds: Callable[[], ThresholdBook],
        router: ProviderRouter,
        *,
        context_window: int = C.LOCAL_CONTEXT_TOKENS,
    ) -> None:
        self.retriever = retriever
        self.store = store
        self.router = router
        self.context_window = context_window
        self._book = thresholds

    @classmethod
    def for_library(cls, library: ManualLibrary) -> ManualsAnswerer:
        """The answerer over a library's store and indexes, sized to the chat context."""
        retriever = HybridRetriever(library.store, library.keywords, library.router)
        return cls(
            retriever,
            library.store,
            lambda: library.thresholds,
            library.router,
            context_window=library.router.context_window(),
        )

    @property
    def thresholds(self) -> ThresholdBook:
        return self._book()

    async def prepare(
        self, question: str, top_k: int = DEFAULT_TOP_K, max_tokens: int = DEFAULT_ANSWER_TOKENS
    ) -> PreparedQuestion:
        """Retrieve, pick the limits the question is about, and build the prompt."""
        question = check_question(question)
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be between 1 and {MAX_TOP_K}")
        retrieval = await self.retriever.retrieve(question, top_k)
        limits = [
            t for t in (self.thresholds.current(n) for n in thresholds_in_question(question)) if t
        ]
        covered = retrieval.relevant or bool(limits)
        if not covered:
            return PreparedQuestion(question, retrieval, [], [], [], [], False)
        chunks: list[ManualChunk] = []
        if limits:
            # The passage a verified limit was read from goes first, so it is always cited.
            found = await asyncio.to_thread(self.store.chunks, [t.source.chunk_id for t in limits])
            chunks.extend(found[t.source.chunk_id] for t in limits if t.source.chunk_id in found)
        if retrieval.relevant:
            chunks.extend(h.chunk for h in retrieval.hits)
        sources: list[Source] = []
        seen: set[str] = set()
        # Everything but the sources, as if every limit were stated: what is left is theirs.
        frame = self._messages(
            question,
            [],
            [(t, 0) for t in limits],
            [(c, 0) for c in check_against_limits(question, limits)],
        )
        fixed = estimate_prompt_tokens(m.content for m in frame)
        budget = self.context_window - max_tokens - fixed - SAFETY_TOKENS
        left_out = 0
        for chunk in chunks:
            if chunk.chunk_id in seen:
                continue
            cost = estimate_tokens(_source_text(len(sources) + 1, chunk))
            if sources and cost > budget:
                left_out += 1  # reported as a warning: the answer saw fewer sources
                continue
            budget -= cost
            seen.add(chunk.chunk_id)
            sources.append(Source(len(sources) + 1, chunk))
        by_chunk = {s.chunk.chunk_id: s.number for s in sources}
        stated = [(t, by_chunk[t.source.chunk_id]) for t in limits if t.source.chunk_id in by_chunk]
        checks = [
            (c, by_chunk[c.threshold.source.chunk_id])
            for c in check_against_limits(question, [t for t, _ in stated])
        ]
        messages = self._messages(question, sources, stated, checks)
        return PreparedQuestion(
            question, retrieval, sources, stated, checks, messages, True, left_out
        )

    def _messages(
        self,
        question: str,
        sources: list[Source],
        limits: list[tuple[Threshold, int]],
        checks: list[tuple[LimitCheck, int]],
    ) -> list[Message]:
        parts = ["Sources:", *(_source_text(s.number, s.chunk) for s in sources)]
        if limits:
            parts.append("Verified current limits (state these, with their date):")
            parts.extend(f"- {t.as_at_statement()} [{n}]." for t, n in limits)
        if checks:
            parts.append("Checked by calculation (state these as given):")
            parts.extend(f"- {c.statement()} [{n}]." for c, n in checks)
        parts.append(f"Question: {question}")
        return [Message.system(SYSTEM_PROMPT), Message.user("\n\n".join(parts))]

    async def answer(
        self, question: str, top_k: int = DEFAULT_TOP_K, max_tokens: int = DEFAULT_ANSWER_TOKENS
    ) -> CitedAnswer:
        prepared = await self.prepare(question, top_k, max_tokens)
        if not prepared.covered:
            return self.finish(prepared, None)
        result = await self.router.chat(prepared.messages, max_tokens=max_tokens)
        return self.finish(prepared, result)

    async def stream(
        self, question: str, top_k: int = DEFAULT_TOP_K, max_tokens: int = DEFAULT_ANSWER_TOKENS
    ) -> AsyncIterator[tuple[str, Any]]:
        """("sources", [...]), then ("delta", text)..., then ("answer", CitedAnswer) or
        ("error", message)."""
        prepared = await self.prepare(question, top_k, max_tokens)
        yield "sources", [s.record() for s in prepared.sources]
        if not prepared.covered:
            yield "delta", NOT_COVERED
            yield "answer", self.finish(prepared, None)
            return
        async for event in self.router.stream_chat(prepared.messages, max_tokens=max_tokens):
            if isinstance(event, TextDelta):
                yield "delta", event.text
            elif isinstance(event, StreamEnd):
                final = self.finish(prepared, event.result)
                added = final.answer[len(event.result.text) :]
                if added:
                    yield "delta", added  # the code-stated limit, so the stream matches
                yield "answer", final
            elif isinstance(event, StreamFailed):
                yield "error", f"{event.error}: {event.message}"

    def finish(self, prepared: PreparedQuestion, result: ChatResult | None) -> CitedAnswer:
        """Resolve citations, state limits as at their date, check every figure."""
        warnings: list[str] = []
        if result is None:
            return CitedAnswer(
                prepared.question, NOT_COVERED, [], [], [], [], warnings, None, False
            )
        text = result.text.strip()
        if prepared.left_out:
            warnings.append(
                f"{prepared.left_out} retrieved passage(s) did not fit the model's context "
                f"and were left out"
            )
        if result.finish_reason == "length":
            warnings.append("the answer was cut off at the token limit")
        numbers = {s.number: s for s in prepared.sources}
        cited = cited_numbers(text)
        unknown = [n for n in cited if n not in numbers]
        if unknown:
            warnings.append(f"the answer cites sources that do not exist: {unknown}")
        cited = [n for n in cited if n in numbers]
        # The current value of each asked-about limit, stated by code with its date.
        statements = []
        for t, n in prepared.limits:
            sentence = f"{t.as_at_statement()} [{n}]."
            if sentence not in text:
                statements.append(sentence)
            if n not in cited:
                cited.append(n)
        for check, n in prepared.checks:
            sentence = f"{check.statement()} [{n}]."
            if sentence not in text:
                statements.append(sentence)
        if statements:
            text = f"{text}\n\n{' '.join(statements)}" if text else " ".join(statements)
        if not cited:
            warnings.append(
                "the answer cites no source; check it against the sources listed with it"
            )
        for n in cited:
            numbers[n].cited = True
        checked = [numbers[n] for n in cited] or prepared.sources
        # The client's own figures from the question may be repeated without a source.
        evidence = "\n".join([prepared.question, *(s.chunk.text for s in checked)])
        unsupported = []
        for figure in find_figures(text):
            supported = any(
                f.value == figure.value and _same_kind(f.unit, figure.unit)
                for f in find_figures(evidence)
            )
            if not supported:
                unsupported.append(
                    {"figure": figure.text, "reason": "not found in the text of the cited sources"}
                )
        for t, _ in prepared.limits:
            for old in self.thresholds.values(t.name):
                if old.status == "historical" and any(
                    f.value == old.value and _same_kind(f.unit, old.unit)
                    for f in find_figures(result.text)
                ):
                    until = (
                        f" until {format_date(old.effective_until)}" if old.effective_until else ""
                    )
                    warnings.append(
                        f"the answer mentions {old.display}, a historical "
                        f"value of {t.name}{until}; the current value is {t.display_value}"
                    )
        if prepared.retrieval and not prepared.retrieval.relevant and prepared.limits:
            warnings.append("only the verified limit answers this; no other passage was relevant")
        return CitedAnswer(
            prepared.question,
            text,
            prepared.sources,
            sorted(cited),
            unsupported,
            [t for t, _ in prepared.limits],
            warnings,
            result.provenance,
            True,
            [c for c, _ in prepared.checks],
        )


def _source_text(number: int, chunk: ManualChunk) -> str:
    """A numbered source as the prompt gives it: where it is from, then its text."""
    where = f"{chunk.title}"
    if chunk.heading_path[1:]:
        where += f" > {' > '.join(chunk.heading_path[1:])}"
    if chunk.page:
        where += f", page {chunk.page}"
    return f"[{number}] ({where})\n{chunk.text}"


def _same_kind(a: str, b: str) -> bool:
    money = ("GBP", "GBP/month")
    return a == b or (a in money and b in money)


def format_with_citations(answer: CitedAnswer) -> str:
    """The answer followed by its cited sources, for clients that show only text."""
    lines = [answer.answer]
    cited = [s for s in answer.sources if s.cited]
    if cited:
        lines.append("")
        lines.append("Sources:")
        for s in cited:
            page = f", page {s.chunk.page}" if s.chunk.page else ""
            lines.append(f"[{s.number}] {s.chunk.document}{page}: {s.chunk.heading}")
    if answer.unsupported_figures:
        lines.append("")
        figures = ", ".join(f["figure"] for f in answer.unsupported_figures)
        lines.append(f"Check: these figures were not found in the cited sources: {figures}")
    return "\n".join(lines)


TOPICS = (
    ("dro", r"\bDROs?\b|debt relief order"),
    ("bankruptcy", r"bankrupt|petition|adjudicator"),
    ("breathing_space", r"breathing space|debt respite"),
    ("iva", r"\bIVAs?\b|individual voluntary arrangement"),
    ("priority_debts", r"priority|council tax|rent arrears|mortgage arrears|bailiff|enforcement"),
)
QUESTION_TYPES = (
    ("limit", r"limit|maximum|minimum|how much|threshold|fee|cost|deposit|how long|how many"),
    ("eligibility", r"qualif|eligib|can (i|they|a client|my client)|allowed|entitled"),
    ("process", r"how (do|does|to|can)|apply|application|steps?|process"),
    ("definition", r"^what (is|are)|meaning|define"),
)


def analyze_question(question: str, book: ThresholdBook) -> AnalysisResponse:
    """Topic, question type, figures and limits a question mentions: all by code."""
    question = check_question(question)
    topic = next((name for name, rx in TOPICS if re.search(rx, question, re.I)), "other")
    kind = next((name for name, rx in QUESTION_TYPES if re.search(rx, question, re.I)), "other")
    figures = [
        {"text": f.text, "value": float(f.value), "unit": f.unit} for f in find_figures(question)
    ]
    names = thresholds_in_question(question)
    limits = [t for t in (book.current(n) for n in names) if t]
    return AnalysisResponse(
        topic=topic,
        question_type=kind,
        figures=figures,
        thresholds=names,
        current_values=[stated(t) for t in limits],
        limit_checks=[c.record() for c in check_against_limits(question, limits)],
    )
