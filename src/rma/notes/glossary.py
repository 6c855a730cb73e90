"""Adviser shorthand and what it means: the maintained glossary (``glossary.toml``).

Notes say "cl to send SFS re CT arrs + 3 mths stmts"; a client's letter must say
"send your Standard Financial Statement about council tax arrears and 3 months'
statements". The glossary is data, kept by people, so a new abbreviation is a line in
``glossary.toml``, not a code change. Code decides only what data cannot: "CC" after a
place ("Leeds CC") is the council, otherwise a credit card.

Two readings: :func:`expand` spells shorthand out to match notes against a letter's
plain words; :func:`plain_english` writes it the letter's way (the client is "you",
symbols such as "+" and "w/" become words).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Glossary:
    """The glossary file, read: meanings by shorthand (lower case unless capitals only)."""

    any_case: Mapping[str, str]
    spelling: Mapping[str, str]
    capitals: Mapping[str, str]
    by_context: Mapping[str, Mapping[str, str]]
    symbols: Mapping[str, str]
    client: Mapping[str, str]

    def meaning(self, short: str) -> str | None:
        """The plain meaning of ``short`` as written, or None if it is not shorthand."""
        if short in self.capitals:
            return self.capitals[short]
        return self.any_case.get(short.lower())


@cache
def glossary() -> Glossary:
    """The shipped glossary (read once)."""
    text = resources.files("rma.notes").joinpath("glossary.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Glossary(
        any_case={k.lower(): v for k, v in data["any_case"].items()},
        spelling={k.lower(): v for k, v in data["spelling"].items()},
        capitals=dict(data["capitals"]),
        by_context={k: dict(v) for k, v in data["by_context"].items()},
        symbols=dict(data["symbols"]),
        client={k.lower(): v for k, v in data["client"].items()},
    )


def whole_words(words: Iterable[str], *, ignore_case: bool = True) -> re.Pattern[str]:
    """Any of ``words`` standing alone (longest first)."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(r"(?<![\w&/'])(" + alternatives + r")(?![\w&/])", flags)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    g = glossary()
    return (
        whole_words([*g.any_case, *g.spelling]),
        whole_words([*g.capitals, *(k for k in g.by_context if k.isupper())], ignore_case=False),
        whole_words(g.client),
    )


@cache
def _spelling() -> re.Pattern[str]:
    return whole_words(glossary().spelling)


# A place before "CC" makes it the council: a capitalised word that is not a lender's.
_PLACE_BEFORE = re.compile(r"(?:^|[\s(,;:-])([A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)\s+$")


def _by_context(short: str, text: str, start: int, lenders: Iterable[str]) -> str:
    rules = glossary().by_context[short]
    place = _PLACE_BEFORE.search(text[:start])
    lender_words = {w.lower() for name in lenders for w in name.split()}
    if place and not {w.lower() for w in place.group(1).split()} & lender_words:
        return rules["after_a_place"]
    return rules["otherwise"]


def _spell(text: str, *, client: bool, lenders: Iterable[str]) -> str:
    any_case, capitals, for_client = _patterns()
    g = glossary()
    if client:
        text = _spelling().sub(lambda m: g.spelling[m.group(1).lower()], text)
        text = for_client.sub(lambda m: g.client[m.group(1).lower()], text)

    def capital(m: re.Match[str]) -> str:
        short = m.group(1)
        if short in g.by_context:
            return _by_context(short, m.string, m.start(), lenders)
        return g.capitals[short]

    text = capitals.sub(capital, text)

    def word(m: re.Match[str]) -> str:
        written = m.group(1).lower()
        return g.any_case.get(written) or g.spelling[written]

    return any_case.sub(word, text)


def expand(text: str, lenders: Iterable[str] = ()) -> str:
    """``text`` with shorthand spelt out (for matching, not for the letter). ``lenders``
    are names after which "CC" is a credit card, not a council."""
    return _spell(text, client=False, lenders=lenders)


# "ex Very" is the lender a debt came from; "ask ex for his share" is a former partner.
_EX = re.compile(r"(?<![\w-])ex(?![\w-])(?=(\s*[-]?\s*[A-Z])?)")
_SYMBOL_SPACED = re.compile(r"\s*(\+|&|->|~|@|<|>)\s*")
_SLASH_BETWEEN_WORDS = re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z]{2})")


_PER_WORDS = {"pm": "a month", "pcm": "a month", "mth": "a month", "month": "a month"}
_PER_WORDS |= {"pw": "a week", "wk": "a week", "week": "a week"}
_PER = re.compile(
    r"(?P<sum>£?[\d.,]*\d)\s?(?P<slash>/?)(?P<per>pm|pcm|pw|mth|month|wk|week)\b", re.I
)


def _per(m: re.Match[str]) -> str:
    """ "£20/mth", "£100pm", "15 pw" are sums a month or a week; "12 mth limit" and
    "4 wk hold" are lengths of time."""
    per = m.group("per").lower()
    if m.group("sum").startswith("£") or m.group("slash") or per in ("pm", "pcm", "pw"):
        return m.group("sum") + " " + _PER_WORDS[per]
    return m.group(0)


def plain_english(text: str, lenders: Iterable[str] = ()) -> str:
    """``text`` written the letter's way: shorthand spelt out, the client as "you",
    and no shorthand symbols ("+", "&", "w/", "->", "~", "x3", "wages/UC")."""
    g = glossary()
    text = _PER.sub(_per, text)
    text = re.sub(r"(?<![\w/])w/(?=\s*\w)", "with ", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w/])b/c(?!\w)", "because", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<!\w)x([23])(?!\w)", lambda m: g.symbols["x" + m.group(1)], text)
    text = _SLASH_BETWEEN_WORDS.sub(" and ", text)
    text = _EX.sub(
        lambda m: g.by_context["ex"]["before_a_name" if m.group(1) else "otherwise"], text
    )
    text = _spell(text, client=True, lenders=lenders)
    text = _SYMBOL_SPACED.sub(lambda m: f" {g.symbols[m.group(1)]} ", text)
    text = re.sub(r"\?+|!+", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def used_in(text: str) -> dict[str, str]:
    """The shorthand ``text`` uses, as written, with its meaning (for the model's prompt)."""
    any_case, capitals, _ = _patterns()
    g = glossary()
    found: dict[str, str] = {}
    for m in capitals.finditer(text):
        short = m.group(1)
        meaning = (
            _by_context(short, text, m.start(), ()) if short in g.by_context else g.capitals[short]
        )
        found.setdefault(short, meaning)
    for m in any_case.finditer(text):
        if m.group(1).lower() in g.any_case:
            found.setdefault(m.group(1), g.any_case[m.group(1).lower()])
    return found
