"""Reading a model's JSON reply: the object in it, closed if the reply was cut short.

Small models under a JSON grammar can run on (in whitespace, or repeating items) until
the token limit. :data:`RUNAWAY_STOPS` ends such a run-on early; :func:`close_json`
makes what came before parseable, dropping anything half-written. Whether the result
is *valid* is always for the schema to decide.
"""

from __future__ import annotations

import re

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
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start = text.find("{")
    if start == -1:
        raise ValueError("the reply contains no JSON object")
    return close_json(text[start:])
