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
    text = _CLIENT_DOES.sub(_client_does, text)
    text = _spell(text, client=True, lenders=lenders)
    text = _SYMBOL_SPACED.sub(lambda m: f" {g.symbols[m.group(1)]} ", text)
    text = re.sub(r"\?+|!+", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


# "if cl stops", "cl decides": the client's word becomes "you", so its verb must agree.
_CLIENT_DOES = re.compile(
    r"\b(cl|clt|cleint|clent|client)(\s+(?:also\s+|still\s+|now\s+)?)([a-z']+)\b",
    re.IGNORECASE,
)
# Verbs that start an action ("..., send to court", "+ move wages", "and to bring").
ACTION_VERBS = (
    "send|call|ring|phone|write|email|e-mail|apply|ask|check|get|pay|bring|sign|return|"
    "attend|draft|complete|fill|post|contact|chase|request|provide|make|book|cancel|open|"
    "move|switch|keep|stop|tell|give|upload|forward|fwd|report|confirm|file|gather|put|"
    "set up|save|collect|submit|refer|arrange|offer|claim|speak|go|do|start|look|visit|"
    "enclose|dispute|read|find|take|register|change"
)
# Verbs the client's word may come before: the action verbs and what notes say a client does.
_CLIENT_VERBS = (
    "decide|agree|want|need|say|owe|live|work|think|know|feel|receive|understand|accept|"
    "prefer|manage|struggle|refuse|wish|hope|plan|have|use|rent|earn|miss"
)
_VERBS = frozenset(f"{ACTION_VERBS}|{_CLIENT_VERBS}".split("|"))


def _client_does(m: re.Match[str]) -> str:
    verb = m.group(3)
    agreed = _you_verb(verb)
    if agreed == verb or (verb.lower() not in _YOU_VERB and agreed.lower() not in _VERBS):
        return m.group(0)
    return m.group(1) + m.group(2) + agreed


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


# ------------------------------------------------------------- the client as "you"

# Dictated notes speak of the client in the third person ("refer her to the bereavement
# service", "he has no assets"); the letter speaks to the client. Which of "she" and "he"
# is the client's is read from the notes (:func:`client_pronoun`); when that is unclear
# (a couple's notes use both) nothing is changed.
_SHE_WORDS = frozenset(["she", "her", "hers", "herself"])
# People a pronoun in the same sentence may stand for instead of the client.
_SOMEONE_ELSE = re.compile(
    r"\b(?:partner|husband|wife|son|daughter|child|children|kid|baby|mother|father|mum|dad|"
    r"brother|sister|friend|carer|landlord|landlady|interpreter|neighbour|grandson|"
    r"granddaughter)s?\b",
    re.IGNORECASE,
)
# Words after "her" that show it is the object ("phone her the most", "refer her to"),
# not a possessive ("her bereavement").
_NOT_A_NOUN = frozenset(
    [
        "the",
        "a",
        "an",
        "to",
        "and",
        "or",
        "but",
        "in",
        "on",
        "at",
        "for",
        "with",
        "about",
        "by",
        "from",
        "that",
        "this",
        "these",
        "those",
        "if",
        "when",
        "as",
        "up",
        "out",
        "back",
        "down",
        "off",
        "over",
        "again",
        "today",
        "tomorrow",
        "now",
        "soon",
        "know",
        "what",
        "how",
        "why",
        "where",
        "some",
        "any",
        "all",
        "more",
        "our",
        "their",
        "my",
        "your",
        "his",
        "its",
        "we",
        "i",
        "they",
        "he",
        "she",
        "you",
        "it",
        "which",
        "who",
    ]
)
_YOU_VERB = {
    "is": "are",
    "was": "were",
    "has": "have",
    "does": "do",
    "isn't": "aren't",
    "wasn't": "weren't",
    "hasn't": "haven't",
    "doesn't": "don't",
    "goes": "go",
}
_ADVERBS = frozenset(
    [
        "also",
        "still",
        "never",
        "already",
        "often",
        "usually",
        "always",
        "sometimes",
        "perhaps",
        "now",
        "only",
        "just",
        "really",
        "then",
    ]
)
_NEXT_WORD = re.compile(r"\W*?([A-Za-z']+)")


_PRONOUN = re.compile(r"\b(she|her|hers|herself|he|him|his|himself)\b", re.IGNORECASE)
_NOT_A_NAME = frozenset(
    ["he", "she", "they", "we", "i", "it", "this", "that", "there", "then", "cl", "client"]
)


def client_pronoun(notes: str, client_name: str | None = None) -> str | None:
    """``"she"`` or ``"he"`` if the notes speak of the client so, clearly more often than
    the other way; else None. Each pronoun is taken to stand for the last person the notes
    named before it: the client ("cl", the client's first name, or no one yet), or someone
    else ("ex", "mum", "partner", a name doing something: "Anna to bring ... when she gets
    it"), and only the client's count."""
    names = [n for n in re.findall(r"[A-Z][a-z]+", client_name or "") if n != "And"]
    client = r"\b(?:cl|clt|client)\b" + "".join(rf"|\b{re.escape(n)}\b" for n in names)
    named = r"\b(?-i:[A-Z][a-z]+)(?=\s+(?:to|will|is|has|was|said|says|can|should|agreed)\b)"
    marker = re.compile(
        rf"(?P<client>{client})|(?P<other>{_SOMEONE_ELSE.pattern}|\bex\b)"
        rf"|(?P<pronoun>{_PRONOUN.pattern})|(?P<named>{named})",
        re.IGNORECASE,
    )
    counts = {"she": 0, "he": 0}
    about_client = True
    for m in marker.finditer(notes):
        if m.group("client"):
            about_client = True
        elif m.group("other"):
            about_client = False
        elif m.group("pronoun"):
            if about_client:
                counts["she" if m.group("pronoun").lower() in _SHE_WORDS else "he"] += 1
        elif m.group("named").lower() not in _NOT_A_NAME:
            about_client = m.group("named") in names
    she, he = counts["she"], counts["he"]
    if she > 0 and she >= 3 * he:
        return "she"
    if he > 0 and he >= 3 * she:
        return "he"
    return None


def _you_verb(verb: str) -> str:
    low = verb.lower()
    if low in _YOU_VERB:
        return _YOU_VERB[low]
    if low.endswith("ies") and len(low) > 4:
        return verb[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x|z|o)es$", low):
        return verb[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        return verb[:-1]
    return verb


def second_person(text: str, pronoun: str | None) -> str:
    """``text`` with the client's third-person pronouns as "you" and "your" ("tell them she
    is vulnerable after her bereavement" -> "tell them you are vulnerable after your
    bereavement"). Nothing changes without a ``pronoun`` or where the text names another
    person the pronoun might stand for."""
    if pronoun not in ("she", "he") or _SOMEONE_ELSE.search(text):
        return text
    adverbs = "|".join(sorted(_ADVERBS))
    subject = re.compile(
        rf"\b({pronoun})('s|'ll|'d)?((?:\s+(?:{adverbs})\b)*)(?:\s+([A-Za-z']+))?",
        re.IGNORECASE,
    )

    def you_do(m: re.Match[str]) -> str:
        you = "You" if m.group(1)[0].isupper() else "you"
        short, gap, verb = (m.group(2) or "").lower(), m.group(3) or "", m.group(4)
        if short == "'s":
            short = "'ve" if verb and verb.lower() in ("been", "got") else "'re"
        if verb is None:
            return you + short + gap
        return f"{you}{short}{gap} {verb if short else _you_verb(verb)}"

    text = subject.sub(you_do, text)
    if pronoun == "she":
        text = re.sub(r"\bherself\b", "yourself", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhers\b", "yours", text, flags=re.IGNORECASE)

        def her(m: re.Match[str]) -> str:
            after = _NEXT_WORD.match(text, m.end())
            # the object ("refer her to", "phone her the most"), or a possessive
            obj = after is None or after.group(1).lower() in _NOT_A_NOUN
            if after is not None and text[m.end() : after.start(1)].strip():
                obj = True  # punctuation between: "with her, also"
            you = "you" if obj else "your"
            return you.capitalize() if m.group(0)[0].isupper() else you

        return re.sub(r"\bher\b", her, text, flags=re.IGNORECASE)
    text = re.sub(r"\bhimself\b", "yourself", text, flags=re.IGNORECASE)
    text = re.sub(r"\bhim\b", "you", text, flags=re.IGNORECASE)
    return re.sub(r"\bhis\b", "your", text, flags=re.IGNORECASE)
