"""Reading a model's JSON replies: closing output that was cut short, validating it,
and asking once more when it does not fit the schema.

Small models under a JSON grammar can run on (in whitespace, or repeating items until
the token limit). Stop sequences end the run-on; :func:`close_json` makes what came
before parseable, dropping anything half-written; the schema then decides.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rma.errors import StructuredOutputError
from rma.llm.router import ProviderRouter
from rma.llm.types import ChatResult, Message
from rma.notes.checks import (
    LetterWarning,
)
from rma.notes.schema import (
    NotesExtraction,
)

M = TypeVar("M", bound=BaseModel)


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
