"""Reading a model's JSON reply: the object in it, closed if the reply was cut short.

Small models under a JSON grammar can run on (in whitespace, or repeating items) until
the token limit. :data:`RUNAWAY_STOPS` ends such a run-on early; :func:`close_json`
makes what came before parseable, dropping anything half-written. :func:`read_reply`
is the one reader every structured call uses: it finds and closes the object, and in a
reply that was cut short keeps what is whole (lists never reached are empty, list items
without their required parts are dropped) and says so. Whether the result is *valid*
is always for the schema to decide.
"""

from __future__ import annotations

import json
import re
import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# Raw newlines and tabs cannot occur inside JSON strings, so these runs can only be
# whitespace between tokens: a model that has finished and is running on.
RUNAWAY_STOPS = ("\n   \n   \n", "\n\n\n\n", "\n \n \n", "\t\t\t\t")


def close_json(text: str) -> str:
    """``text`` with an unfinished JSON value closed: a half-written string, a dangling
    comma or key dropped, open arrays and objects closed."""
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
        text = text[:string_start]  # half a sentence must not reach a client
    text = text.rstrip().rstrip(",").rstrip()
    if stack and stack[-1] == "}":
        # A key with no value yet ('"key"' or '"key":') is dropped.
        text = re.sub(r'([{,])\s*"(?:[^"\\]|\\.)*"\s*:?\s*$', r"\1", text).rstrip().rstrip(",")
    return text + "".join(reversed(stack))


def json_object_text(reply: str) -> str:
    """The JSON object in a model's reply (code fences tolerated), closed if unfinished.
    Raises ``ValueError`` when there is no object at all."""
    return close_json(_object_from(reply))


def _object_from(reply: str) -> str:
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start = text.find("{")
    if start == -1:
        raise ValueError("the reply contains no JSON object")
    return text[start:].rstrip()


@dataclass
class Reading(Generic[M]):
    """A reply read into ``schema``: the value, and whether the reply had to be closed."""

    value: M
    #: the reply stopped before its JSON was complete, and was closed
    cut_short: bool = False
    #: top-level lists the reply never reached (read as empty)
    never_reached: list[str] = field(default_factory=list)


def read_reply(reply: str, schema: type[M]) -> Reading[M]:
    """The model's reply as a validated ``schema``.

    Raises ``ValueError`` when there is no JSON object in it, and pydantic's
    ``ValidationError`` when the object does not match (the caller may ask again)."""
    sent = _object_from(reply)
    text = close_json(sent)
    cut = text != sent
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    never: list[str] = []
    if cut:
        never = _complete(data, schema)
    return Reading(schema.model_validate(data), cut, never)


def _complete(data: dict[str, Any], schema: type[BaseModel]) -> list[str]:
    """In a reply cut short: lists never reached count as empty; in lists, items that are
    not whole are dropped and optional parts never reached are null. Returns the names
    of the lists never reached."""
    never = []
    for name, info in schema.model_fields.items():
        item = _list_item(info.annotation)
        if item is None:
            continue
        if name not in data:
            data[name] = []
            never.append(name)
        elif isinstance(data[name], list):
            data[name] = [kept for kept in (_whole(v, item) for v in data[name]) if kept]
    return never


def _whole(value: Any, item: Any) -> Any:
    """``value`` if it is a whole list item of type ``item``, else None."""
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return value if isinstance(value, _plain(item)) else None
    if not isinstance(value, dict):
        return None
    out = dict(value)
    for name, info in item.model_fields.items():
        if name in out or not info.is_required():
            continue
        if not _nullable(info.annotation):
            return None  # its main part was never written
        out[name] = None
    return out


def _list_item(annotation: Any) -> Any:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return _unwrap(item)
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _nullable(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _plain(item: Any) -> type | tuple[type, ...]:
    return item if isinstance(item, type) else object
