"""Notes to letter: one extraction call, checks in code, at most one rewording call.

1. The notes are sized against the model's context (413 if they do not fit: never cut).
2. The model extracts matters, actions and debts as JSON (grammar-constrained, validated).
3. Code keeps only what the notes support: amounts, dates and creditors are verified
   and normalised here; an unsupported item is left out and named in a warning.
4. Code composes the letter, measures its reading age and, if it is above target,
   asks the model once for simpler wording of its sentences (checked again).
5. The finished letter is checked against the notes; every finding is a warning.

Nothing here logs or stores the notes.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, create_model

from rma import constants as C
from rma.config import Settings
from rma.errors import InputTooLarge, StreamInterrupted, StructuredOutputError
from rma.llm.router import ProviderRouter, Structured
from rma.llm.types import ChatResult, Message, StreamEnd, StreamEvent, StreamFailed, TextDelta
from rma.notes.checks import (
    LetterWarning,
    ReadingAge,
    check_letter,
    check_reading_age,
    grounded,
    invented_facts,
    is_carried,
    reading_age,
)
from rma.notes.facts import (
    MONTHS,
    NotesFacts,
    abbreviations_used,
    appointment_date,
    find_amounts,
    find_dates,
    format_date,
    name_in_text,
    priority_kind,
)
from rma.notes.letter import (
    ComposedLetter,
    LetterContent,
    compose,
    plain_sentence,
    sentence_from_notes,
    without_dates,
)
from rma.notes.schema import (
    MAX_PHRASE,
    Action,
    ConvertRequest,
    ConvertResponse,
    Debt,
    ExtractedAction,
    NotesExtraction,
)

M = TypeVar("M", bound=BaseModel)

EXTRACT_MAX_TOKENS = 640
REWORD_MAX_TOKENS = 640
# Per chat message, for the chat template's role markers.
MESSAGE_OVERHEAD_TOKENS = 16
SAFETY_TOKENS = 64
# Whatever the model's context, notes longer than this are not one appointment.
MAX_NOTES_CHARS = 20_000

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


# ------------------------------------------------------------------ the budget


def context_tokens(settings: Settings) -> int:
    """The smallest context window along the chat chain: the notes must fit whichever
    backend ends up answering."""
    sizes = {
        "vllm": settings.vllm_context_tokens,
        "ollama": settings.ollama_num_ctx,
        "local": C.LOCAL_CONTEXT_TOKENS,
    }
    return min(sizes[name] for name in settings.chat_chain)


def estimate_tokens(text: str) -> int:
    """A deliberately high token count for ``text``: tokenizers split digits and symbols
    one by one and cut short words rarely, long or unusual words into pieces."""
    count = 0
    for piece in re.findall(r"[A-Za-z]+|\d|\s+|[^\sA-Za-z\d]", text):
        if piece[0].isalpha():
            count += max(1, math.ceil(len(piece) / 3))
        elif not piece.isspace() or "\n" in piece:
            count += 1
    return count


@dataclass(frozen=True)
class NotesBudget:
    """How many tokens of notes fit in one extraction call on this deployment."""

    context: int
    notes_tokens: int

    @property
    def approx_chars(self) -> int:
        # Typical case notes run about 2.6 characters a token; say so in round figures.
        return int(self.notes_tokens * 2.5) // 100 * 100


def notes_budget(settings: Settings, prompt_text: str) -> NotesBudget:
    """``prompt_text``: everything sent with the notes (system and user text)."""
    context = context_tokens(settings)
    fixed = (
        estimate_tokens(prompt_text)
        + 2 * MESSAGE_OVERHEAD_TOKENS
        + SAFETY_TOKENS
        + EXTRACT_MAX_TOKENS
    )
    return NotesBudget(context, max(0, context - fixed))


def check_size(notes: str, settings: Settings, prompt_text: str) -> NotesBudget:
    """Raise :class:`InputTooLarge` (413) naming the limit if the notes do not fit."""
    budget = notes_budget(settings, prompt_text)
    if len(notes) > MAX_NOTES_CHARS:
        raise InputTooLarge(
            f"the notes have {len(notes)} characters; the limit is {MAX_NOTES_CHARS} "
            "(one appointment's notes). Split them into one request per appointment."
        )
    needed = estimate_tokens(notes)
    if needed > budget.notes_tokens:
        raise InputTooLarge(
            f"the notes need about {needed} tokens; with a model context of "
            f"{budget.context} tokens the limit is {budget.notes_tokens} tokens of notes "
            f"(about {budget.approx_chars} characters). Shorten or split the notes, or "
            "configure a model with a larger context (VLLM_CONTEXT_TOKENS, OLLAMA_NUM_CTX)."
        )
    return budget


# ------------------------------------------------------------------ the steps


@dataclass
class Prepared:
    """A request checked and ready for the model: facts read, messages built."""

    request: ConvertRequest
    facts: NotesFacts
    letter_date: date
    messages: list[Message]
    warnings: list[LetterWarning] = field(default_factory=list)


def prepare(request: ConvertRequest, settings: Settings, today: date | None = None) -> Prepared:
    """Read the notes in code and build the extraction prompt. CPU only; raises
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
    check_size(request.notes, settings, system + before + after)
    user = before + request.notes + after
    return Prepared(
        request=request,
        facts=NotesFacts.read(request.notes, appointment),
        letter_date=today,
        messages=[Message.system(system), Message.user(user)],
        warnings=warnings,
    )


def _checked_sentence(
    raw: str, facts: NotesFacts, what: str, warnings: list[LetterWarning], *, undated: bool
) -> str | None:
    """A model sentence fit for the letter, or None (with a warning saying why)."""
    if len(raw) >= MAX_PHRASE:
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"{what} {raw[:60]!r}... was cut off by its length limit and left out",
            )
        )
        return None
    text = without_dates(raw, facts.appointment) if undated else raw
    sentence = plain_sentence(text, facts.appointment)
    if not sentence:
        return None
    problems = invented_facts(sentence, facts)
    if problems:
        reasons = "; ".join(p.message.replace(" in the letter", "") for p in problems)
        warnings.append(
            LetterWarning("left_out_unsupported", f"{what} {sentence!r} was left out: {reasons}")
        )
        return None
    if not grounded(sentence, facts):
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"{what} {sentence!r} was left out: it is not about anything in the notes",
            )
        )
        return None
    return sentence


def _checked_action(
    item: ExtractedAction, facts: NotesFacts, owner: str, warnings: list[LetterWarning]
) -> Action | None:
    sentence = _checked_sentence(item.action, facts, owner, warnings, undated=True)
    if sentence is None:
        return None
    due_text = (item.due or "").strip() or None
    written = find_dates(due_text, facts.appointment) if due_text else []
    if not written:
        # The model may have left the deadline in the sentence instead.
        written = find_dates(item.action, facts.appointment)
        due_text = written[0].text if written else due_text
    due = None
    if written:
        # A deadline the notes also give resolves as the notes' own reading does.
        same = [d.value for d in facts.dates if d.text == written[0].text]
        due = same[0] if same else written[0].value
        if not facts.has_date(due, year_given=written[0].year_given):
            warnings.append(
                LetterWarning(
                    "left_out_unsupported",
                    f"the deadline {due_text!r} for {owner} {sentence!r} is not in the notes "
                    "and was left out",
                )
            )
            due = None
    elif due_text and due_text.lower() not in ("null", "none", "n/a", "-"):
        warnings.append(
            LetterWarning(
                "deadline_not_a_date",
                f"the deadline {due_text!r} for {owner} {sentence!r} is not a date; "
                "it was left out",
            )
        )
    return Action(action=sentence, due=due, due_as_written=due_text if due else None)


def _align_with_notes(
    ours: list[Action], yours: list[Action], facts: NotesFacts, warnings: list[LetterWarning]
) -> tuple[list[Action], list[Action]]:
    """Who does an action, and by when, as the notes say (read by code): an item the
    model put under the wrong heading moves; its deadline is the notes' deadline."""
    deadlines = {a.due for a in facts.actions if a.due is not None}
    out: dict[str, list[Action]] = {"us": [], "client": []}
    for owner, items in (("us", ours), ("client", yours)):
        for item in items:
            carried = [a for a in facts.actions if is_carried(a, item.action)]
            if not carried:
                out[owner].append(item)
                continue
            best = next((a for a in carried if a.owner == owner), carried[0])
            if best.owner != owner:
                warnings.append(
                    LetterWarning(
                        "action_moved",
                        f"{item.action!r} is {'our' if best.owner == 'us' else 'your'} action "
                        "in the notes and is listed there",
                    )
                )
            in_text = {d.value for d in find_dates(item.action, facts.appointment)}
            if best.due is not None and item.due != best.due and best.due not in in_text:
                if item.due is not None:
                    warnings.append(
                        LetterWarning(
                            "deadline_from_notes",
                            f"the deadline for {item.action!r} is {format_date(best.due)} in "
                            f"the notes, not {format_date(item.due)}; the notes' date is used",
                        )
                    )
                item = item.model_copy(update={"due": best.due})
            elif best.due is None and item.due in deadlines:
                # The model gave this action another action's deadline.
                warnings.append(
                    LetterWarning(
                        "deadline_from_notes",
                        f"the notes give no deadline for {item.action!r}; the date "
                        f"{format_date(item.due)} belongs to another action and is not used",
                    )
                )
                item = item.model_copy(update={"due": None, "due_as_written": None})
            out[best.owner].append(item)
    return out["us"], out["client"]


def _creditor_name(raw: str, facts: NotesFacts, warnings: list[LetterWarning]) -> str | None:
    name = re.sub(r"\s+", " ", re.sub(r"[`*_#|<>{}\[\]\\]", "", raw)).strip(" .,;:")
    if not name:
        return None
    is_figure = bool(find_dates(name, facts.appointment) or find_amounts(name))
    has_word = any(len(w) >= 2 and w.lower() not in MONTHS for w in re.findall(r"[A-Za-z&]+", name))
    if is_figure or not has_word or not facts.mentions(name):
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"the creditor {name!r} is not a creditor named in the notes and was left out",
            )
        )
        return None
    return name


def _unique(items: list[Any], key: Any, what: str, warnings: list[LetterWarning]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        k = key(item).lower()
        if k not in seen:
            seen.add(k)
            out.append(item)
    if len(out) < len(items):
        warnings.append(
            LetterWarning("repeats_merged", f"the model repeated some {what}; each is listed once")
        )
    return out


def checked_content(
    extraction: NotesExtraction, prepared: Prepared
) -> tuple[LetterContent, list[LetterWarning]]:
    """Keep what the notes support, normalise amounts and dates, note what was left out."""
    facts = prepared.facts
    warnings: list[LetterWarning] = []
    matters = [
        _checked_sentence(m, facts, "the matter", warnings, undated=False)
        for m in extraction.matters_discussed
    ]
    ours = [_checked_action(a, facts, "our action", warnings) for a in extraction.our_actions]
    yours = [_checked_action(a, facts, "your action", warnings) for a in extraction.your_actions]
    debts: list[Debt] = []
    for item in extraction.debts:
        creditor = _creditor_name(item.creditor, facts, warnings)
        if creditor is None:
            continue
        amount = None
        written = find_amounts(item.amount or "")
        if written:
            if facts.has_amount(written[0].value):
                amount = written[0]
            else:
                warnings.append(
                    LetterWarning(
                        "left_out_unsupported",
                        f"the amount {item.amount!r} for {creditor} is not in the notes and "
                        "was left out",
                    )
                )
        debts.append(
            Debt(
                creditor=creditor,
                amount=str(amount.value) if amount else None,
                amount_as_written=amount.text if amount else None,
                priority=_priority(creditor, facts.text),
            )
        )
    # Creditors code sees in the notes that the model did not list.
    for name in facts.creditors:
        if not any(name_in_text(name, d.creditor) for d in debts):
            warnings.append(
                LetterWarning(
                    "creditor_not_in_letter",
                    f"the notes mention {name}, which is not in the letter's list of debts "
                    "(fine if it is only the original lender of a debt listed)",
                )
            )
    our_list, your_list = _align_with_notes(
        [a for a in ours if a is not None], [a for a in yours if a is not None], facts, warnings
    )
    # Actions code found in the notes that the model's reply left out are written
    # from the notes' own words: a letter never says "nothing to do" over the notes.
    for action in facts.actions:
        mine = our_list if action.owner == "us" else your_list
        if any(is_carried(action, a.action) for a in [*our_list, *your_list]):
            continue
        sentence, due = sentence_from_notes(action.text, action.owner, facts.appointment)
        if not sentence:
            continue
        mine.append(Action(action=sentence, due=due))
        warnings.append(
            LetterWarning(
                "action_from_notes",
                f"{'our' if action.owner == 'us' else 'your'} action {action.text!r} was "
                "missing from the model's reply; the letter uses the notes' own words "
                f"({sentence!r}): check the phrasing",
            )
        )
    if not any(matters):
        warnings.append(
            LetterWarning(
                "no_matters",
                "the letter lists nothing under what we talked about; add what the notes "
                "record before sending",
            )
        )
    request = prepared.request
    content = LetterContent(
        client_name=request.client_name,
        letter_date=prepared.letter_date,
        appointment=facts.appointment,
        matters=_unique([m for m in matters if m], str, "matters", warnings),
        our_actions=_unique(our_list, _action_key, "actions", warnings),
        your_actions=_unique(your_list, _action_key, "actions", warnings),
        debts=_unique(debts, lambda d: d.creditor, "debts", warnings),
        adviser_name=request.adviser_name,
        organisation=request.organisation,
        tone=request.tone,
    )
    return content, warnings


def _action_key(action: Action) -> str:
    return action.action


def _priority(creditor: str, notes: str) -> str | None:
    """Priority kind from the creditor's name or the notes' lines that mention it."""
    kind = priority_kind(creditor)
    if kind:
        return kind
    for line in re.split(r"[\n;]|\.\s|,\s(?=\D)", notes):
        if name_in_text(creditor, line):
            kind = priority_kind(line)
            if kind:
                return kind
    return None


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
    value, result = await json_reply(router, messages, schema, max_tokens=budget)
    reworded, warnings = await asyncio.to_thread(
        apply_rewording, content, value.model_dump(), facts
    )
    return reworded, result, warnings


def apply_rewording(
    content: LetterContent, new: dict[str, list[str]], facts: NotesFacts
) -> tuple[LetterContent, list[LetterWarning]]:
    """``content`` with each sentence replaced by its rewording where that passes the
    same checks as the original; otherwise the original stays."""
    warnings: list[LetterWarning] = []

    def better(old: str, proposed: str) -> str:
        sentence = _checked_sentence(proposed, facts, "a reworded sentence", warnings, undated=True)
        return sentence or old

    matters = [better(o, n) for o, n in zip(content.matters, new["matters_discussed"], strict=True)]
    ours = [
        a.model_copy(update={"action": better(a.action, n)})
        for a, n in zip(content.our_actions, new["our_actions"], strict=True)
    ]
    yours = [
        a.model_copy(update={"action": better(a.action, n)})
        for a, n in zip(content.your_actions, new["your_actions"], strict=True)
    ]
    reworded = LetterContent(
        **{**content.__dict__, "matters": matters, "our_actions": ours, "your_actions": yours}
    )
    return reworded, warnings


async def json_reply(
    router: ProviderRouter, messages: list[Message], schema: type[M], *, max_tokens: int
) -> tuple[M, ChatResult]:
    """A reply validated against ``schema``, with one corrective retry, like
    ``router.structured``; unlike it, the call stops where a small model runs on in
    whitespace (:data:`RUNAWAY_STOPS`) and unfinished JSON is closed before validation,
    so a run-on costs seconds, not a full token budget."""
    convo = list(messages)
    for attempt in (1, 2):
        result = await router.chat(
            convo,
            max_tokens=max_tokens,
            json_schema=schema.model_json_schema(),
            schema_name=schema.__name__,
            stop=RUNAWAY_STOPS,
        )
        try:
            return schema.model_validate_json(close_json(result.text.strip())), result
        except ValidationError as exc:
            if attempt == 2:
                raise StructuredOutputError(
                    f"the model's reply did not match {schema.__name__} after a corrective "
                    f"retry: {_problems(exc)}",
                    raw=result.text,
                ) from None
            convo = [
                *messages,
                Message.assistant(result.text),
                Message.user(
                    f"That reply is not valid: {_problems(exc)}. Reply again with only a JSON "
                    "object that matches the schema."
                ),
            ]
    raise AssertionError("unreachable")


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

    def response(self, letter_id: str | None = None) -> ConvertResponse:
        return ConvertResponse(
            id=letter_id,
            appointment_date=self.content.appointment,
            matters_discussed=self.content.matters,
            our_actions=self.content.our_actions,
            your_actions=self.content.your_actions,
            debts=self.content.debts,
            letter=self.letter.text,
            reading_age=self.reading_age,
            reading_age_target=self.target,
            reworded=self.reworded,
            checked=self.checked,
            warnings=[w.as_dict() for w in self.warnings],
            provenance=[
                {"step": step, **result.provenance.as_dict()} for step, result in self.results
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


async def finish(
    router: ProviderRouter,
    prepared: Prepared,
    extracted: Structured[NotesExtraction],
    settings: Settings,
) -> Conversion:
    """From validated extraction to a checked letter (with one rewording if needed)."""
    target = settings.notes_reading_age_target
    # CPU work (matching, composing, checking) runs off the event loop.
    content, warnings = await asyncio.to_thread(checked_content, extracted.value, prepared)
    results: list[tuple[str, ChatResult]] = [("extract", extracted.result)]
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
            allowed_dates=allowed,
            checked=checked,
        )
        return letter, reading_age(letter.body), found

    letter, measured, found = await asyncio.to_thread(composed, content)
    counts = dict(checked)
    reworded = False
    if measured.age > target and (content.matters or content.our_actions or content.your_actions):
        try:
            candidate, result, extra = await reword(router, content, prepared.facts)
        except StructuredOutputError as exc:
            # The checked letter stands; only its simpler wording is missing.
            warnings.append(
                LetterWarning("reword_failed", f"the simpler wording could not be used: {exc}")
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
    return Conversion(content, letter, measured.age, target, reworded, unique, results, counts)


# ------------------------------------------------------------------ extraction


def close_json(text: str) -> str:
    """``text`` with an unfinished JSON value closed: a half-written string, a dangling
    comma or key dropped, open arrays and objects closed. Output cut at its token limit
    (or stopped where a small model runs on in whitespace) becomes parseable; whether
    it is *valid* is still for the schema to decide."""
    stack: list[str] = []
    in_string = escaped = False
    string_start = 0
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string, string_start = True, i
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    if in_string:
        text = text[:string_start]  # half a sentence must not reach a letter
    text = text.rstrip().rstrip(",").rstrip()
    if stack and stack[-1] == "}":
        # A key with no value yet ('"key"' or '"key":') is dropped.
        text = re.sub(r'([{,])\s*"(?:[^"\\]|\\.)*"\s*:?\s*$', r"\1", text).rstrip().rstrip(",")
    return text + "".join(reversed(stack))


def read_extraction(result: ChatResult) -> tuple[NotesExtraction, list[LetterWarning]]:
    """The model's JSON as a validated :class:`NotesExtraction`. Output that was cut
    short is closed and read; lists it never reached count as empty, with a warning."""
    warnings: list[LetterWarning] = []
    text = result.text.strip()
    cut = result.finish_reason in ("length", "stop") and not text.endswith("}")
    try:
        data = json.loads(close_json(text) if cut else text)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(
            f"the model's reply is not JSON ({exc.msg}); nothing was written", raw=text
        ) from None
    if not isinstance(data, dict):
        raise StructuredOutputError("the model's reply is not a JSON object", raw=text)
    if cut:
        missing = [name for name in NotesExtraction.model_fields if name not in data]
        for name in missing:
            data[name] = []
        _complete_items(data)
        warnings.append(
            LetterWarning(
                "output_cut_short",
                "the model's reply stopped before it was complete"
                + (f"; {', '.join(missing)} were never reached" if missing else "")
                + ": check the letter against the notes",
            )
        )
    try:
        return NotesExtraction.model_validate(data), warnings
    except ValidationError as exc:
        raise StructuredOutputError(
            f"the model's reply did not match the letter schema: {_problems(exc)}", raw=text
        ) from None


def _complete_items(data: dict[str, Any]) -> None:
    """In output cut short: drop items without their main text, and read a missing
    ``due`` or ``amount`` as not given."""
    for name, main, optional in (
        ("our_actions", "action", "due"),
        ("your_actions", "action", "due"),
        ("debts", "creditor", "amount"),
    ):
        items = data.get(name)
        if isinstance(items, list):
            data[name] = [
                {optional: None, **item}
                for item in items
                if isinstance(item, dict) and isinstance(item.get(main), str)
            ]
    if isinstance(data.get("matters_discussed"), list):
        data["matters_discussed"] = [m for m in data["matters_discussed"] if isinstance(m, str)]


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()[:6]
    )


# Small models under a JSON grammar can run on in whitespace once a list is full; these
# stop the reply there (the JSON is then closed by close_json) instead of at max_tokens.
RUNAWAY_STOPS = ("\n   \n   \n", "\n\n\n\n", "\n \n \n", "\t\t\t\t")


@dataclass(frozen=True)
class Event:
    """One step of a conversion, as sent to a streaming client."""

    name: str  # stage | progress
    data: dict[str, Any]


class ConversionRun:
    """One conversion, with the extraction streamed.

    :meth:`open` sends the extraction and waits for the model's first token, so a
    failed backend chain raises before any HTTP response has started (a real 503).
    :meth:`steps` then yields progress while the model writes, validates its JSON
    (one corrective retry, as the router's structured calls do), checks and composes
    the letter; :attr:`conversion` holds the result. Any failure raises: there is
    never a fallback letter."""

    PROGRESS_EVERY = 16  # deltas between progress events

    def __init__(self, router: ProviderRouter, prepared: Prepared, settings: Settings) -> None:
        self.router = router
        self.prepared = prepared
        self.settings = settings
        self.conversion: Conversion | None = None
        self._stream: Any = None
        self._first: StreamEvent | None = None

    def _start(self, messages: list[Message]) -> AsyncIterator[StreamEvent]:
        return self.router.stream_chat(
            messages,
            max_tokens=EXTRACT_MAX_TOKENS,
            json_schema=NotesExtraction.model_json_schema(),
            schema_name=NotesExtraction.__name__,
            stop=RUNAWAY_STOPS,
        )

    async def open(self) -> ConversionRun:
        self._stream = self._start(self.prepared.messages)
        try:
            self._first = await anext(self._stream)
        except BaseException:
            await self._stream.aclose()
            raise
        return self

    async def _drain(
        self, stream: AsyncIterator[StreamEvent], first: StreamEvent | None
    ) -> AsyncIterator[Event | ChatResult]:
        deltas = 0
        async with aclosing(stream):  # type: ignore[type-var]
            event = first if first is not None else await anext(stream)
            while True:
                if isinstance(event, TextDelta):
                    deltas += 1
                    if deltas % self.PROGRESS_EVERY == 0:
                        yield Event("progress", {"stage": "extracting", "chunks": deltas})
                elif isinstance(event, StreamFailed):
                    raise StreamInterrupted(f"{event.error}: {event.message}")
                elif isinstance(event, StreamEnd):
                    yield event.result
                    return
                event = await anext(stream)

    async def steps(self) -> AsyncIterator[Event]:
        if self._stream is None:
            await self.open()
        yield Event("stage", {"stage": "extracting"})
        result: ChatResult | None = None
        async for item in self._drain(self._stream, self._first):
            if isinstance(item, Event):
                yield item
            else:
                result = item
        assert result is not None
        attempts = 1
        try:
            extraction, cut_warnings = read_extraction(result)
        except StructuredOutputError as exc:
            yield Event("stage", {"stage": "extracting", "retry": True})
            retry = [
                *self.prepared.messages,
                Message.assistant(result.text),
                Message.user(
                    f"That reply is not valid: {exc}. Reply again with only a JSON object "
                    "that matches the schema."
                ),
            ]
            async for item in self._drain(self._start(retry), None):
                if isinstance(item, Event):
                    yield item
                else:
                    result = item
            attempts = 2
            extraction, cut_warnings = read_extraction(result)
        yield Event("stage", {"stage": "checking"})
        self.prepared.warnings.extend(cut_warnings)
        extracted = Structured(extraction, result, attempts)
        self.conversion = await finish(self.router, self.prepared, extracted, self.settings)


async def convert(
    router: ProviderRouter,
    request: ConvertRequest,
    settings: Settings,
    today: date | None = None,
) -> Conversion:
    """Notes in, checked letter out. Raises on any failure: there is no fallback letter."""
    prepared = await asyncio.to_thread(prepare, request, settings, today)
    run = ConversionRun(router, prepared, settings)
    async for _ in run.steps():
        pass
    assert run.conversion is not None
    return run.conversion
