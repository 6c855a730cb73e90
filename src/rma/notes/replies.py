"""Reading the model's extraction: output cut short is closed (``rma.llm.jsonreply``),
lists it never reached count as empty, and the schema then decides."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rma.errors import StructuredOutputError
from rma.llm.jsonreply import close_json
from rma.llm.types import ChatResult
from rma.notes.checks import (
    LetterWarning,
)
from rma.notes.schema import (
    NotesExtraction,
)

M = TypeVar("M", bound=BaseModel)


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
