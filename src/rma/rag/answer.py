"""Cited answers: numbered sources in, an answer with resolved citations out.

The model writes the language; code does everything a reader relies on:

- **Sources** are numbered passages (document, page, heading, quote); citations like
  ``[2]`` in the answer are resolved back to them.
- **Not covered**: when retrieval finds nothing relevant, the answer says the manuals do
  not cover the question, and no model is asked to guess.
- **Limits**: when the question is about a named limit, the value from RMA's approved
  table for the date asked (today, "in 2022", "before June 2024") goes into the prompt,
  and the answer always carries the sentence built by code: "As at <date>, <limit> is
  <value>, in force from <date> (source: <instrument>) [n]", where [n] is a passage of
  the manuals that supports the value (when one does). A past value is stated as such,
  with today's beside it. Nothing read from a manual is stated as a limit.
- **Figures**: every amount, day count and percentage in the model's text is checked
  against the text of the sources it cites (and the values the table states); figures
  not found there are listed in ``unsupported_figures``, and old values of an
  asked-about limit are flagged. A source that quotes a stale or unknown value of a
  limit is named in a warning.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from rma import constants as C
from rma.errors import InputError, InputTooLarge
from rma.limits.conflicts import Finding
from rma.limits.evidence import LimitEvidence
from rma.limits.extract import find_figures
from rma.limits.questions import read_question
from rma.llm.router import ProviderRouter
from rma.llm.types import ChatResult, Message, Provenance, StreamEnd, StreamFailed, TextDelta
from rma.rag.library import ManualLibrary
from rma.rag.limits import (
    AskedValue,
    ConflictRecord,
    LimitCheck,
    LimitCheckRecord,
    ManualLimits,
    StatedLimit,
    check_against_limits,
    conflict_record,
    values_asked,
)
from rma.rag.manuals import ManualChunk
from rma.rag.retrieval import HybridRetriever, Retrieval
from rma.rag.store import ManualStore
from rma.text import cited_numbers, estimate_prompt_tokens, estimate_tokens

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
# An answer RMA could not check shows this many of the best passages instead, word for word.
FALLBACK_PASSAGES = 3


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


class AnswerResponse(BaseModel):
    """A cited answer from the manuals (``POST /query``)."""

    question: str
    answer: str
    covered: bool = Field(
        description="True only for a supported answer: the manuals cover the question and "
        "the answer's wording was checked against the sources it cites (or the approved "
        "limits table answers it)."
    )
    checked: bool = Field(
        True,
        description="False when the model's reply cited nothing, cited a source that does not "
        "exist or stated a figure its sources do not hold: the answer is then the best "
        "passages word for word, with their citations, and the reply is in unchecked_reply.",
    )
    unchecked_reply: str | None = Field(
        None, description="The model's reply RMA could not check, kept out of the answer."
    )
    sources: list[SourceRecord]
    citations: list[int]
    unsupported_figures: list[dict[str, str]]
    limits: list[StatedLimit]
    limit_checks: list[LimitCheckRecord]
    limit_conflicts: list[ConflictRecord] = Field(
        default_factory=list,
        description="Sources that quote a value of a limit the approved table does not hold.",
    )
    warnings: list[str]
    provenance: Provenance | None


class AnalysisResponse(BaseModel):
    """What code reads from a question (``POST /analyze-question``)."""

    topic: str
    question_type: str
    figures: list[dict[str, Any]]
    limits: list[str] = Field(description="The limits the question asks about.")
    asked_when: str | None = Field(description="The date or period asked about, as written.")
    values: list[StatedLimit] = Field(default_factory=list)
    limit_checks: list[LimitCheckRecord] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


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
    limits: list[tuple[AskedValue, int | None]]  # a value to state, the source it cites
    checks: list[tuple[LimitCheck, int | None]]  # the question's figures against them
    messages: list[Message]
    covered: bool
    left_out: int = 0  # retrieved passages that did not fit the model's context
    conflicts: list[tuple[Finding, int]] = field(default_factory=list)  # in the sources
    notes: list[str] = field(default_factory=list)  # what could not be stated, and why


@dataclass
class CitedAnswer:
    question: str
    answer: str
    sources: list[Source]
    citations: list[int]
    unsupported_figures: list[dict[str, str]]
    limits: list[StatedLimit]
    warnings: list[str]
    provenance: Provenance | None
    covered: bool
    limit_checks: list[LimitCheck] = field(default_factory=list)
    limit_conflicts: list[Finding] = field(default_factory=list)
    unchecked_reply: str | None = None  # the model's reply, when it could not be checked
    warned_sources: list[int] = field(default_factory=list)  # sources a warning names

    def response(self) -> AnswerResponse:
        return AnswerResponse(
            question=self.question,
            answer=self.answer,
            covered=self.covered,
            checked=self.unchecked_reply is None,
            unchecked_reply=self.unchecked_reply,
            sources=[s.record() for s in self.sources],
            citations=self.citations,
            unsupported_figures=self.unsupported_figures,
            limits=self.limits,
            limit_checks=[c.record() for c in self.limit_checks],
            limit_conflicts=[conflict_record(f) for f in self.limit_conflicts],
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

    ``limits`` gives the approved table and what the manuals say about it at the moment
    of asking (rebuilt when an approval is recorded or the manuals change)."""

    states_limits = True  # False: the sources are not manuals (a client's own papers)

    def __init__(
        self,
        retriever: HybridRetriever,
        store: ManualStore,
        limits: ManualLimits,
        router: ProviderRouter,
        *,
        context_window: int = C.LOCAL_CONTEXT_TOKENS,
    ) -> None:
        self.retriever = retriever
        self.store = store
        self.router = router
        self.context_window = context_window
        self.limits = limits

    @classmethod
    def for_library(cls, library: ManualLibrary, limits: ManualLimits) -> ManualsAnswerer:
        """The answerer over a library's store and indexes, sized to the chat context."""
        retriever = HybridRetriever(library.store, library.keywords, library.router)
        return cls(
            retriever,
            library.store,
            limits,
            library.router,
            context_window=library.router.context_window(),
        )

    async def prepare(
        self, question: str, top_k: int = DEFAULT_TOP_K, max_tokens: int = DEFAULT_ANSWER_TOKENS
    ) -> PreparedQuestion:
        """Retrieve, pick the limit values to state, and build the prompt."""
        question = check_question(question)
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be between 1 and {MAX_TOP_K}")
        evidence = await self.limits.evidence()
        retrieval = await self.retriever.retrieve(question, top_k)
        hits = [h.chunk for h in retrieval.hits] if retrieval.relevant else []
        asked = read_question(question, today=evidence.today) if self.states_limits else None
        values, notes = (
            values_asked(asked, evidence, prefer=[c.chunk_id for c in hits]) if asked else ([], [])
        )
        covered = retrieval.relevant or bool(values)
        if not covered:
            return PreparedQuestion(question, retrieval, [], [], [], [], False, notes=notes)
        chunks: list[ManualChunk] = []
        cited_ids = [v.support.candidate.chunk_id for v in values if v.support]
        if cited_ids:
            # A passage that supports a stated value goes first, so it is always given.
            found = await asyncio.to_thread(self.store.chunks, cited_ids)
            chunks.extend(found[i] for i in cited_ids if i in found)
        chunks.extend(hits)
        checks = check_against_limits(question, [v.value for v in values])
        # Everything but the sources, as if every limit were stated: what is left is theirs.
        frame = self._messages(
            question, [], [(v, None) for v in values], [(c, None) for c in checks]
        )
        fixed = estimate_prompt_tokens(m.content for m in frame)
        budget = self.context_window - max_tokens - fixed - SAFETY_TOKENS
        sources: list[Source] = []
        seen: set[str] = set()
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
        stated = [
            (v, by_chunk.get(v.support.candidate.chunk_id) if v.support else None) for v in values
        ]
        cite = {id(v.value.row): n for v, n in stated}
        cited_checks = [(c, cite.get(id(c.value.row))) for c in checks]
        conflicts = [
            (f, by_chunk[f.candidate.chunk_id]) for f in evidence.in_chunks(by_chunk) if f.conflict
        ]
        messages = self._messages(question, sources, stated, cited_checks)
        return PreparedQuestion(
            question, retrieval, sources, stated, cited_checks, messages, True, left_out,
            conflicts=conflicts, notes=notes,
        )  # fmt: skip

    def _messages(
        self,
        question: str,
        sources: list[Source],
        limits: list[tuple[AskedValue, int | None]],
        checks: list[tuple[LimitCheck, int | None]],
    ) -> list[Message]:
        parts = ["Sources:", *(_source_text(s.number, s.chunk) for s in sources)]
        if limits:
            parts.append("Limits from the approved table (state these as given, with their dates):")
            parts.extend(f"- {v.sentence(n)}" for v, n in limits)
        if checks:
            parts.append("Checked by calculation (state these as given):")
            parts.extend(f"- {c.sentence(n)}" for c, n in checks)
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
                streamed = event.result.text
                if final.answer.startswith(streamed):
                    added = final.answer[len(streamed) :]  # the code-stated limits
                else:  # the reply could not be checked: what replaces it follows it
                    added = f"\n\n{final.answer}"
                if added:
                    yield "delta", added
                yield "answer", final
            elif isinstance(event, StreamFailed):
                yield "error", f"{event.error}: {event.message}"

    def finish(self, prepared: PreparedQuestion, result: ChatResult | None) -> CitedAnswer:
        """Resolve citations, state limits from the table, check every figure."""
        warnings: list[str] = list(prepared.notes)
        if result is None:
            return CitedAnswer(
                prepared.question, NOT_COVERED, [], [], [], [], warnings, None, False
            )
        model_text = result.text.strip()
        if prepared.left_out:
            warnings.append(
                f"{prepared.left_out} retrieved passage(s) did not fit the model's context "
                f"and were left out"
            )
        if result.finish_reason == "length":
            warnings.append("the answer was cut off at the token limit")
        numbers = {s.number: s for s in prepared.sources}
        cited = cited_numbers(model_text)
        unknown = [n for n in cited if n not in numbers]
        if unknown:
            warnings.append(f"the answer cites sources that do not exist: {unknown}")
        cited = [n for n in cited if n in numbers]
        model_cited = bool(cited)
        # Each asked-about limit, stated by code from the table with its dates and source.
        statements = [v.sentence(n) for v, n in prepared.limits]
        statements += [c.sentence(n) for c, n in prepared.checks]
        cited += [n for _, n in prepared.limits if n is not None and n not in cited]
        if not model_cited and model_text:
            warnings.append("the answer cites no source")
        checked = [numbers[n] for n in cited] or prepared.sources
        # The client's own figures from the question, and the values the table states, are
        # supported without a passage.
        stated_values = " ".join(v.value.display for v, _ in prepared.limits)
        evidence = "\n".join([prepared.question, stated_values, *(s.chunk.text for s in checked)])
        unsupported = []
        for figure in find_figures(model_text):
            supported = any(
                f.value == figure.value and _same_kind(f.unit, figure.unit)
                for f in find_figures(evidence)
            )
            if not supported:
                unsupported.append(
                    {"figure": figure.text, "reason": "not found in the text of the cited sources"}
                )
        model_figures = find_figures(model_text)
        stated_by_name: dict[str, list[AskedValue]] = {}
        for value, _ in prepared.limits:
            stated_by_name.setdefault(value.value.name, []).append(value)
        for name, asked in stated_by_name.items():
            said = {v.value.value for v in asked}
            table = asked[0].evidence.table
            for other in table.history(name, asked[0].value.row.jurisdiction):
                if other.value in said:
                    continue
                if any(
                    f.value == other.value and _same_kind(f.unit, other.unit) for f in model_figures
                ):
                    shown = " or ".join(v.value.display for v in asked)
                    warnings.append(
                        f"the answer mentions {other.display}, the value of {name} "
                        f"{other.period()}; for the date asked it is {shown}"
                    )
        for finding, n in prepared.conflicts:
            warning = f"source [{n}] quotes an out-of-date or unknown figure: {finding.message}"
            if warning not in warnings:
                warnings.append(warning)
        if prepared.retrieval and not prepared.retrieval.relevant and prepared.limits:
            warnings.append("only the approved limit answers this; no other passage was relevant")
        # The model's wording stands only where it was checked: it cites a source, cites none
        # that does not exist, and states no figure its sources do not hold.
        problems = [
            *(["it cites no source"] if not model_cited else []),
            *([f"it cites sources that do not exist ({unknown})"] if unknown else []),
            *(
                [f"it states figures its sources do not hold ({_figures(unsupported)})"]
                if unsupported
                else []
            ),
        ]
        unchecked = None
        if model_text and problems:
            unchecked, model_text = model_text, ""
        elif not model_text and not statements and prepared.sources:
            problems, unchecked = ["the model wrote nothing"], ""
        text = " ".join(statements)
        if model_text:  # the code-built sentences the model did not already give
            added = " ".join(x for x in statements if x not in model_text)
            text = f"{model_text}\n\n{added}" if added else model_text
        if unchecked is not None:
            best = prepared.sources[:FALLBACK_PASSAGES]
            cited = sorted({*cited, *(source.number for source in best)})
            passages = "\n\n".join(_verbatim(source) for source in best)
            notice = (
                f"RMA could not check the model's answer against the manuals "
                f"({'; '.join(problems)}), so it is not shown. The passages that matched the "
                f"question best, word for word:"
            )
            text = "\n\n".join(part for part in (text, notice, passages) if part)
            warnings.append(
                f"the model's answer could not be checked ({'; '.join(problems)}): "
                "the best passages are shown instead"
            )
        for n in cited:
            numbers[n].cited = True
        return CitedAnswer(
            prepared.question,
            text,
            prepared.sources,
            sorted(cited),
            unsupported,
            [v.record(n) for v, n in prepared.limits],
            warnings,
            result.provenance,
            unchecked is None or bool(statements),
            [c for c, _ in prepared.checks],
            [f for f, _ in prepared.conflicts],
            unchecked,
            sorted({n for _, n in prepared.conflicts}),
        )


def _source_text(number: int, chunk: ManualChunk) -> str:
    """A numbered source as the prompt gives it: where it is from, then its text."""
    where = f"{chunk.title}"
    if chunk.heading_path[1:]:
        where += f" > {' > '.join(chunk.heading_path[1:])}"
    if chunk.page:
        where += f", page {chunk.page}"
    return f"[{number}] ({where})\n{chunk.text}"


def _verbatim(source: Source) -> str:
    """A passage as the fallback shows it: its number, where it is, its text unchanged."""
    chunk = source.chunk
    where = chunk.title or chunk.document
    if chunk.page:
        where += f", page {chunk.page}"
    if chunk.heading:
        where += f", section \u201c{chunk.heading}\u201d"
    return f"[{source.number}] {where}:\n\u201c{chunk.text}\u201d"


def _figures(unsupported: list[dict[str, str]]) -> str:
    return ", ".join(f["figure"] for f in unsupported)


def _same_kind(a: str, b: str) -> bool:
    money = ("GBP", "GBP/month")
    return a == b or (a in money and b in money)


def source_line(s: Source) -> str:
    """``[n] document, page p: heading``: a source as the text surfaces list it."""
    page = f", page {s.chunk.page}" if s.chunk.page else ""
    return f"[{s.number}] {s.chunk.document}{page}: {s.chunk.heading}"


def format_with_citations(answer: CitedAnswer) -> str:
    """The answer followed by its cited sources, for clients that show only text."""
    lines = [answer.answer]
    cited = [s for s in answer.sources if s.cited]
    if cited:
        lines.append("")
        lines.append("Sources:")
        lines += [source_line(s) for s in cited]
    # A source a warning names ("source [5] quotes an out-of-date figure") is shown too,
    # though the answer does not cite it: a warning never points at something unseen.
    warned = [s for s in answer.sources if s.number in answer.warned_sources and not s.cited]
    if warned:
        lines.append("")
        lines.append("Named in the warnings (not cited):")
        lines += [source_line(s) for s in warned]
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


def analyze_question(question: str, evidence: LimitEvidence) -> AnalysisResponse:
    """Topic, question type, figures, and the limits a question asks about with their
    approved values for the date asked: all by code."""
    question = check_question(question)
    topic = next((name for name, rx in TOPICS if re.search(rx, question, re.I)), "other")
    kind = next((name for name, rx in QUESTION_TYPES if re.search(rx, question, re.I)), "other")
    figures = [
        {"text": f.text, "value": float(f.value), "unit": f.unit} for f in find_figures(question)
    ]
    asked = read_question(question, today=evidence.today)
    values, notes = values_asked(asked, evidence)
    return AnalysisResponse(
        topic=topic,
        question_type=kind,
        figures=figures,
        limits=asked.names,
        asked_when=asked.when.words if asked.when else None,
        values=[v.record(None) for v in values],
        limit_checks=[
            c.record() for c in check_against_limits(question, [v.value for v in values])
        ],
        warnings=notes,
    )
