"""What the model itself contributed to a cited answer, judged apart from what code adds.

An answer from the manuals ends with sentences built by code ("As at 30 November 2026,
the DRO debt limit is £50,000, in force from 28 June 2024 (source: ...) [1]."), correct
and cited whatever the model said, so a test of the whole answer passes with a model
that answered nothing. These checks strip the code-built sentences and judge the rest
with their own reading of citations and figures (not the service's), against the
sources in the response: the model's text is there, cites a source that exists, and
states no figure its cited sources do not hold."""

from __future__ import annotations

import re
from typing import Any

# The sentences code adds: a limit as at its date, and a client's amount against a limit.
CODE_SENTENCES = (
    re.compile(r"As at \d{1,2} [A-Z][a-z]+ \d{4}, [^\[]*\[\d+\]\."),
    re.compile(r"£[\d,]+(?:\.\d\d)? is (?:within|over|under|above|below|not)[^\[]*\[\d+\]\."),
)
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
FIGURE = re.compile(
    r"£\s?\d[\d,]*(?:\.\d\d)?|\b\d+(?:\.\d+)?\s?%|\b\d+ (?:days?|weeks?|months?|years?)\b"
)


def model_text(answer: str) -> str:
    """The answer without the sentences code adds."""
    for sentence in CODE_SENTENCES:
        answer = sentence.sub("", answer)
    return answer.strip()


def _plain(figure: str) -> str:
    return re.sub(r"[\s,]", "", figure).rstrip("s").lower()


def model_problems(response: dict[str, Any]) -> list[str]:
    """What is wrong with the model's own part of an answer (``/query``'s response body)."""
    text = model_text(response["answer"])
    if response.get("checked") is False:  # the service kept the reply out of the answer
        text = model_text(response.get("unchecked_reply") or "")
    if not re.search(r"\w", text):
        return ["the model's own text is empty (only code-built sentences remain)"]
    sources = {s["number"]: s["quote"] for s in response["sources"]}
    cited = {int(n) for group in CITATION.findall(text) for n in group.split(",")}
    problems = []
    if not cited:
        problems.append(f"the model's text cites no source: {text[:120]!r}")
    if cited - set(sources):
        problems.append(f"the model's text cites sources that do not exist: {cited - set(sources)}")
    held = " ".join(sources[n] for n in cited & set(sources))
    held_figures = {_plain(f) for f in FIGURE.findall(held)} | {
        _plain(f) for f in FIGURE.findall(response.get("question", ""))
    }
    for figure in FIGURE.findall(text):
        if _plain(figure) not in held_figures:
            problems.append(f"the model states {figure!r}, which its cited sources do not hold")
    return problems


def handling_problems(response: dict[str, Any]) -> list[str]:
    """What is wrong with how the service treated the model's part, whatever the model
    wrote. A reply the service let stand must have nothing wrong with it
    (:func:`model_problems`); a reply it kept out (``checked: false``) must not be in the
    answer, which must give the passages it cites word for word instead. A small model
    cites or not from one run to the next; what code does with either is fixed."""
    if response.get("checked") is not False:
        return model_problems(response)
    problems = []
    reply = (response.get("unchecked_reply") or "").strip()
    if reply and reply in response["answer"]:
        problems.append(f"the unchecked reply is shown as the answer: {reply[:120]!r}")
    shown = [s for s in response["sources"] if s["cited"]]
    if not shown:
        problems.append("the answer that replaces the reply cites no passage")
    for source in shown:
        if source["quote"] not in response["answer"]:
            problems.append(f"passage [{source['number']}] is cited but not given word for word")
    return problems
