"""Notes to letter: one extraction call, checks in code, at most one rewording call.

1. The notes are sized against the model's context (413 if they do not fit: never cut).
2. The model extracts matters, actions and debts as JSON (grammar-constrained, validated).
3. Code keeps only what the notes support: amounts, dates and creditors are verified
   and normalised here; an unsupported item is left out and named in a warning.
4. Code composes the letter, measures its reading age and, if it is above target,
   asks the model once for simpler wording of its sentences (checked again).
5. The finished letter is checked against the notes; every finding is a warning.

If the model's JSON still does not validate after the router's corrective retry, the
letter is written by code alone from what code read (every debt, action and deadline),
marked ``degraded`` with a ``model_output_unusable`` warning: no letter is lost to the
model. A backend that cannot be reached is still an error (the adviser can try again).

The parts: ``budget`` (step 1), ``content`` (step 3), ``letter`` (composition),
``checks`` (steps 4-5); the model's JSON is read by the router's structured calls.
Nothing here logs or stores the notes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import Field, create_model

from rma import constants as C
from rma.config import Settings
from rma.errors import AllBackendsFailed, BackendError, StreamInterrupted, StructuredOutputError
from rma.llm.router import ProviderRouter
from rma.llm.types import (
    ChatResult,
    Message,
    Structured,
    StructuredEvent,
    StructuredRetry,
    TextDelta,
)
from rma.notes.budget import check_size
from rma.notes.checks import (
    LetterWarning,
    ReadingAge,
    check_letter,
    check_reading_age,
    reading_age,
)
from rma.notes.content import apply_rewording, checked_content
from rma.notes.facts import (
    NotesFacts,
    abbreviations_used,
    appointment_date,
)
from rma.notes.letter import (
    ComposedLetter,
    LetterContent,
    compose,
)
from rma.notes.schema import (
    AdviceGiven,
    ConvertRequest,
    ConvertResponse,
    NotesExtraction,
    StepProvenance,
)
from rma.text import estimate_tokens

REWORD_MAX_TOKENS = 640

EXTRACT_SYSTEM = """\
You read a UK debt adviser's case notes and fill in JSON for a letter to the client.
Write to the client as "you". The adviser's organisation is "we".
- matters_discussed: what was talked about, one short sentence each.
- our_actions: what we will do for the client.
- your_actions: what the client must do. Start each with a verb, like "Send us your bank \
statements".
- due: the deadline exactly as written in the notes, or null.
- debts: each creditor, and the amount exactly as written in the notes.
Use short, everyday words. Use only facts in the notes: never add an amount, date or name.
"""
TONES = {
    "warm": "Sound warm and kind, as a helpful adviser would.",
    "formal": "Sound polite and formal.",
}

REWORD_SYSTEM = """\
Rewrite each sentence in simpler words so a 9 year old could read it. Use short words \
and short sentences. Keep the meaning. Keep every name and amount exactly as it is. \
Do not add anything. Reply with the same lists, in the same order."""


# ------------------------------------------------------------------ the steps


@dataclass
class Prepared:
    """A request checked and ready for the model: facts read, messages built."""

    request: ConvertRequest
    facts: NotesFacts
    letter_date: date
    messages: list[Message]
    warnings: list[LetterWarning] = field(default_factory=list)


def prepare(request: ConvertRequest, context_window: int, today: date | None = None) -> Prepared:
    """Read the notes in code and build the extraction prompt for a chat model with
    ``context_window`` tokens (``router.context_window()``). CPU only; raises
    :class:`InputTooLarge` before any model is called."""
    today = today or date.today()
    warnings: list[LetterWarning] = []
    appointment = request.appointment_date or appointment_date(request.notes, today)
    if appointment is None:
        appointment = today
        warnings.append(
            LetterWarning(
                "appointment_date_assumed",
                f"the notes give no appointment date; dates without a year were resolved "
                f"against today ({today.isoformat()})",
            )
        )
    shorthand = abbreviations_used(request.notes)
    glossary = (
        "\nShorthand the notes use: " + "; ".join(f"{k} = {v}" for k, v in shorthand.items())
        if shorthand
        else ""
    )
    # The glossary goes with the instructions: small models copy from the user message.
    system = EXTRACT_SYSTEM + TONES[request.tone] + glossary
    before, after = 'Case notes:\n"""\n', '\n"""'
    check_size(request.notes, context_window, system, before + after)
    user = before + request.notes + after
    return Prepared(
        request=request,
        facts=NotesFacts.read(request.notes, appointment, [request.client_name]),
        letter_date=today,
        messages=[Message.system(system), Message.user(user)],
        warnings=warnings,
    )


# ------------------------------------------------------------------ rewording


async def reword(
    router: ProviderRouter, content: LetterContent, facts: NotesFacts
) -> tuple[LetterContent, ChatResult, list[LetterWarning]]:
    """One call for simpler wording of the letter's sentences. A reworded sentence is
    used only if it passes the same checks; otherwise the original stays."""
    counts = {
        "matters_discussed": len(content.matters),
        "our_actions": len(content.our_actions),
        "your_actions": len(content.your_actions),
    }
    fields: dict[str, Any] = {
        name: (list[str], Field(min_length=n, max_length=n)) for name, n in counts.items()
    }
    schema = create_model("PlainWording", **fields)
    current = {
        "matters_discussed": content.matters,
        "our_actions": [a.action for a in content.our_actions],
        "your_actions": [a.action for a in content.your_actions],
    }
    messages = [
        Message.system(REWORD_SYSTEM),
        Message.user(json.dumps(current, ensure_ascii=False, indent=1)),
    ]
    # Simpler wording is about as long as the original: a bound keeps a run-on short.
    budget = min(REWORD_MAX_TOKENS, 2 * estimate_tokens(messages[1].content) + 32)
    answer = await router.structured(messages, schema, max_tokens=budget)
    value, result = answer.value, answer.result
    reworded, warnings = await asyncio.to_thread(
        apply_rewording, content, value.model_dump(), facts
    )
    return reworded, result, warnings


# ------------------------------------------------------------------ the whole


@dataclass
class Conversion:
    """A finished letter with its content, checks and the model calls behind it."""

    content: LetterContent
    letter: ComposedLetter
    reading_age: float
    target: float
    reworded: bool
    warnings: list[LetterWarning]
    results: list[tuple[str, ChatResult]]
    checked: dict[str, int]
    degraded: bool = False

    def response(self, letter_id: str | None = None) -> ConvertResponse:
        advice = self.content.advice
        return ConvertResponse(
            id=letter_id,
            appointment_date=self.content.appointment,
            matters_discussed=self.content.matters,
            our_actions=self.content.our_actions,
            your_actions=self.content.your_actions,
            debts=self.content.debts,
            advice=AdviceGiven(
                options_discussed=advice.options if advice else [],
                recommended=advice.recommended if advice else None,
                reason=advice.reason if advice else None,
            ),
            letter=self.letter.text,
            reading_age=self.reading_age,
            reading_age_target=self.target,
            reworded=self.reworded,
            degraded=self.degraded,
            checked=self.checked,
            warnings=self.warnings,
            provenance=[
                StepProvenance(step=step, **result.provenance.model_dump())
                for step, result in self.results
            ],
        )


def _fallback_warnings(results: list[tuple[str, ChatResult]]) -> list[LetterWarning]:
    out = []
    for step, result in results:
        prov = result.provenance
        if prov.hops:
            failed = ", ".join(sorted({h.provider for h in prov.hops}))
            out.append(
                LetterWarning(
                    "fallback",
                    f"the {step} step was answered by {prov.provider} ({prov.model}) after "
                    f"{failed} failed",
                )
            )
        if result.finish_reason == "length":
            out.append(
                LetterWarning(
                    "output_cut_short",
                    f"the model's {step} output reached its token limit; items may be missing",
                )
            )
    return out


def unusable_warning(error: StructuredOutputError) -> LetterWarning:
    """What the adviser is told when the letter is code's alone (the reason names the
    schema's fields, never the notes)."""
    return LetterWarning(
        "model_output_unusable",
        f"the model's reply could not be used ({error}); this letter was written by code "
        "from the notes: every debt, action and deadline code read is in it, in the notes' "
        "own words, and nothing is listed under what we talked about beyond what code "
        "found: check the wording before sending",
    )


async def finish(
    router: ProviderRouter | None,
    prepared: Prepared,
    extracted: Structured[NotesExtraction] | StructuredOutputError,
    settings: Settings,
) -> Conversion:
    """From validated extraction to a checked letter (with one rewording if needed).
    Given the extraction's :class:`StructuredOutputError` instead, the letter is built
    from code's reading alone, not reworded, and marked degraded. With no ``router``
    nothing is reworded."""
    target = settings.notes_reading_age_target
    degraded = isinstance(extracted, StructuredOutputError)
    # CPU work (matching, composing, checking) runs off the event loop.
    content, warnings = await asyncio.to_thread(
        checked_content,
        None if isinstance(extracted, StructuredOutputError) else extracted.value,
        prepared.facts,
        prepared.request,
        prepared.letter_date,
    )
    results: list[tuple[str, ChatResult]] = []
    if isinstance(extracted, StructuredOutputError):
        warnings.insert(0, unusable_warning(extracted))
        if isinstance(extracted.result, ChatResult):  # which model's reply was unusable
            results.append(("extract", extracted.result))
    else:
        results.append(("extract", extracted.result))
    allowed = {prepared.letter_date, prepared.facts.appointment}

    checked: dict[str, int] = {}

    def composed(
        content: LetterContent,
    ) -> tuple[ComposedLetter, ReadingAge, list[LetterWarning]]:
        letter = compose(content)
        found = check_letter(
            letter.text,
            prepared.facts,
            creditors=[d.creditor for d in content.debts],
            debts=[(d.creditor, d.amount) for d in content.debts],
            allowed_dates=allowed,
            checked=checked,
        )
        return letter, reading_age(letter.body), found

    letter, measured, found = await asyncio.to_thread(composed, content)
    counts = dict(checked)
    reworded = False
    wording = content.matters or content.our_actions or content.your_actions
    # A model whose reply was unusable is not asked for a second one.
    if measured.age > target and wording and not degraded and router is not None:
        try:
            candidate, result, extra = await reword(router, content, prepared.facts)
        except (StructuredOutputError, AllBackendsFailed, StreamInterrupted, BackendError) as exc:
            # The checked letter stands; only its simpler wording is missing, and it says so.
            warnings.append(
                LetterWarning("reword_failed", f"the simpler wording could not be made: {exc}")
            )
        else:
            results.append(("reword", result))
            warnings += extra
            candidate_letter, candidate_age, candidate_found = await asyncio.to_thread(
                composed, candidate
            )
            if set(candidate_found) - set(found):
                # Simpler, but it lost or changed something the notes say: keep the original.
                warnings.append(
                    LetterWarning(
                        "reword_rejected",
                        "the simpler wording dropped or changed something in the notes; "
                        "the original wording is kept",
                    )
                )
            elif candidate_age.age < measured.age:
                content, letter, measured, found = (
                    candidate,
                    candidate_letter,
                    candidate_age,
                    candidate_found,
                )
                counts = dict(checked)
                reworded = True
    warnings = (
        prepared.warnings
        + _fallback_warnings(results)
        + warnings
        + found
        + check_reading_age(measured, target)
    )
    unique = list(dict.fromkeys(warnings))  # the same finding twice helps no one
    return Conversion(
        content, letter, measured.age, target, reworded, unique, results, counts, degraded
    )


@dataclass(frozen=True)
class Event:
    """One step of a conversion, as sent to a streaming client."""

    name: str  # stage | progress
    data: dict[str, Any]


class ConversionRun:
    """One conversion, with the extraction streamed (``router.stream_structured``).

    :meth:`open` sends the extraction and waits for the model's first token, so a
    failed backend chain raises before any HTTP response has started (a real 503).
    :meth:`steps` then yields progress while the model writes (and a retry stage if its
    JSON needs the router's one corrective retry), checks and composes the letter;
    :attr:`conversion` holds the result. JSON still invalid after the retry gives the
    letter code builds alone (:func:`finish`); any other failure raises."""

    PROGRESS_EVERY = 16  # deltas between progress events

    def __init__(self, router: ProviderRouter, prepared: Prepared, settings: Settings) -> None:
        self.router = router
        self.prepared = prepared
        self.settings = settings
        self.conversion: Conversion | None = None
        self._events: AsyncGenerator[StructuredEvent, None] | None = None
        self._first: StructuredEvent | None = None

    async def open(self) -> ConversionRun:
        self._events = self.router.stream_structured(
            self.prepared.messages,
            NotesExtraction,
            max_tokens=self.settings.notes_extract_max_tokens,
        )
        try:
            self._first = await anext(self._events)
        except BaseException:
            await self._events.aclose()
            raise
        return self

    async def steps(self) -> AsyncIterator[Event]:
        if self._events is None:
            await self.open()
        assert self._events is not None and self._first is not None
        yield Event("stage", {"stage": "extracting"})
        extracted: Structured[NotesExtraction] | StructuredOutputError | None = None
        deltas = 0
        try:
            async with aclosing(self._events) as events:
                event = self._first
                while extracted is None:
                    if isinstance(event, TextDelta):
                        deltas += 1
                        if deltas % self.PROGRESS_EVERY == 0:
                            yield Event("progress", {"stage": "extracting", "chunks": deltas})
                    elif isinstance(event, StructuredRetry):
                        deltas = 0
                        yield Event("stage", {"stage": "extracting", "retry": True})
                    else:
                        extracted = event.structured
                        break
                    event = await anext(events)
        except StructuredOutputError as exc:
            extracted = exc  # the letter is code's alone, and says so
        yield Event(
            "stage",
            {"stage": "checking"}
            | ({"degraded": True} if isinstance(extracted, StructuredOutputError) else {}),
        )
        if not isinstance(extracted, StructuredOutputError):
            self.prepared.warnings.extend(cut_short_warnings(extracted))
        self.conversion = await finish(self.router, self.prepared, extracted, self.settings)


def cut_short_warnings(extracted: Structured[NotesExtraction]) -> list[LetterWarning]:
    """A warning when the model's reply stopped before it was complete and was closed."""
    if not extracted.cut_short:
        return []
    missing = extracted.never_reached
    return [
        LetterWarning(
            "output_cut_short",
            "the model's reply stopped before it was complete"
            + (f"; {', '.join(missing)} were never reached" if missing else "")
            + ": check the letter against the notes",
        )
    ]


async def code_built(
    request: ConvertRequest, settings: Settings, today: date | None = None
) -> Conversion:
    """The letter code builds alone from the notes, as when the model's reply cannot be
    used (no model is asked): what every letter carries whatever the model does."""
    prepared = await asyncio.to_thread(prepare, request, C.LOCAL_CONTEXT_TOKENS, today)
    unasked = StructuredOutputError("no model was asked: the letter code builds alone")
    return await finish(None, prepared, unasked, settings)


async def convert(
    router: ProviderRouter,
    request: ConvertRequest,
    settings: Settings,
    today: date | None = None,
) -> Conversion:
    """Notes in, checked letter out (built by code alone, ``degraded``, when the model's
    reply cannot be used). Raises when no backend answers."""
    prepared = await asyncio.to_thread(prepare, request, router.context_window(), today)
    run = ConversionRun(router, prepared, settings)
    async for _ in run.steps():
        pass
    assert run.conversion is not None
    return run.conversion
