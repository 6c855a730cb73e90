"""The advice a letter records, read from the notes by code: the options discussed, the
one recommended and why.

Notes say "Options disc: DMP, DRO (surplus over £75 so no), IVA" and "Rec DMP via
free provider - surplus covers reasonable pmts to all 5 non-priority". The options
are the debt solutions and remedies the notes name (a fixed list, in the order the
notes first mention them); the recommendation is what follows "rec", "recommended" or
"advised", and its reason what follows a dash, a colon, "as" or "because". Where the
notes recommend nothing in words, "cl in crisis tx so MHCBS" recommends the option
after "so" for the reason before it, and "explained fine + TVL are priority - fine can
mean bailiffs" recommends paying the priority debts first for the reason after the
dash. A recommended solution without a reason of money or assets takes the notes'
own assessment of it ("DRO fits (< £50k, < £75 surplus, no assets)"). All keep the
notes' own words, spelt out by the glossary: a model never decides what was advised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rma.notes import glossary
from rma.notes.facts import ACTION_VERBS, KNOWN_CREDITORS

# (how notes write it, how a letter names it), most specific first.
OPTIONS: list[tuple[str, str]] = [
    (
        r"mental health crisis (?:breathing space|bs)|\bmhcbs\b",
        "mental health crisis breathing space",
    ),
    (r"\bstandard (?:breathing space|bs)\b|\bstd bs\b", "standard breathing space"),
    (r"breathing space|\bbs\b", "breathing space"),
    (r"debt management plan|\bdmp\b", "a debt management plan"),
    (r"debt relief order|\bdro\b", "a Debt Relief Order"),
    (r"individual voluntary arrangement|\biva\b", "an Individual Voluntary Arrangement"),
    (r"bankruptcy|bankrupt\b", "bankruptcy"),
    (r"full and final|\bf&f\b", "a full and final settlement"),
    (r"token (?:payments?|pmts?|offers?)|\btoken\b", "token payments"),
    (r"time to pay|\bttp\b", "Time to Pay with HMRC"),
    (r"alternative payment arrangement|\bapa\b", "an Alternative Payment Arrangement"),
    (r"voluntary termination", "voluntary termination"),
    (r"voluntary surrender|selling|\bsell\b", "selling your home"),
    (r"administration order", "an administration order"),
    (r"set aside|\bn244\b", "asking the court to set the judgment aside"),
    (r"support for mortgage interest|\bsmi\b", "Support for Mortgage Interest"),
    (r"customer support fund|\bcsf\b|fuel support fund", "the supplier's support fund"),
    (r"single person discount", "the single person discount"),
]
_RECOMMEND = re.compile(r"(?<![\w'])(?:rec|recommended|recommend)(?!['\w])\s*:?\s*", re.I)
_ADVISED = re.compile(r"(?<![\w'])(?:advised(?!['\w])\s*:?|advice\s*:)\s*", re.I)
_REASON_SPLIT = re.compile(r"\s+-\s+|:\s+|\s+as\s+|\s+because\s+|\s+bc\s+|,\s+as\s+", re.I)
# "- cl agrees", ", cl happy": the client's answer, not a reason.
_AGREES = re.compile(
    r"(?:^|,\s*|\s+-\s+)(?:cl|client|she|he|they)\s+(?:agrees|agreed|happy|wants to go ahead)\b.*$",
    re.I,
)
_VERB_FIRST = re.compile(rf"^(?:{ACTION_VERBS}|deal|file|stop|keep|use)\b", re.I)


@dataclass
class Advice:
    """What was advised, in the notes' words spelt out."""

    options: list[str] = field(default_factory=list)
    recommended: str | None = None  # the recommendation as the notes word it
    reason: str | None = None
    solution: str | None = None  # the option the recommendation names, if any


def _option_names(text: str) -> list[str]:
    plain = glossary.expand(text, KNOWN_CREDITORS).lower()
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    for pattern, name in OPTIONS:
        for m in re.finditer(pattern, plain):
            if any(m.start() in span for span in taken):
                continue
            taken.append(range(m.start(), m.end()))
            found.append((m.start(), name))
    names: list[str] = []
    for _, name in sorted(found):
        if name not in names:
            names.append(name)
    return names


def _plain(text: str) -> str:
    text = glossary.plain_english(text.strip(" .,;:-"), KNOWN_CREDITORS)
    return re.sub(r"\s+", " ", text).strip(" .,;:-")


def read_advice(notes: str) -> Advice:
    """The options the notes name, the recommendation and its reason."""
    advice = Advice(options=_option_names(notes))
    sentences = re.split(r"\n|(?<=[\w)])\.\s+", notes)
    found = _recommended(sentences) or _option_so(sentences) or _priority_first(sentences)
    if found is None:
        return advice
    advice.recommended, advice.reason, advice.solution = found
    if advice.solution is not None and not _CRITERIA.search(advice.reason or ""):
        assessed = _assessment(sentences, advice.solution)
        if assessed:
            advice.reason = f"{advice.reason}; {assessed}" if advice.reason else assessed
    return advice


Found = tuple[str, str | None, str | None]  # recommended, reason, solution


def _recommended(sentences: list[str]) -> Found | None:
    """After "rec"/"recommended" (its reason after a dash, "as", "because"), else after
    "advised"."""
    for pattern, with_reason in ((_RECOMMEND, True), (_ADVISED, False)):
        for sentence in sentences:
            m = pattern.search(sentence)
            rest = sentence[m.end() :].split(";")[0].strip() if m else ""
            rest = _AGREES.sub("", rest).strip(" .,;:-")
            if len(rest) < 3 or rest.lower().startswith("given"):
                continue
            parts = _REASON_SPLIT.split(rest, maxsplit=1) if with_reason else [rest]
            named = _option_names(parts[0])
            solution = named[0] if named else None
            reason = _plain(parts[1]) if len(parts) > 1 and parts[1].strip(" .,;:-") else None
            return _recommendation(_plain(parts[0]), solution), reason or None, solution
    return None


# "cl in crisis tx so MHCBS - lasts as long as tx + 30 days": the option after "so".
_SO = re.compile(r"(?:^|:\s*)(?P<why>[^:;]{3,}?)\s+(?:so|->)\s+(?P<what>[^-;]+?)(?:\s+-\s+|$)")


def _option_so(sentences: list[str]) -> Found | None:
    for sentence in sentences:
        for m in _SO.finditer(sentence):
            named = _option_names(m.group("what"))
            if not named or len(m.group("what").split()) > 4:
                continue
            why = m.group("why")
            after = sentence[m.end() :].strip(" .,;:-")
            reason = _plain(why + ("; " + after if after else ""))
            return _recommendation(_plain(m.group("what")), named[0]), reason, named[0]
    return None


# "explained rent + elec are priority", "I explained that the council tax and the
# energy are her priority debts and that the enforcement agents can take goods".
_PRIORITY = re.compile(
    r"\bexplained\s*:?\s+(?:that\s+)?(?P<what>.+?)\s+(?:are|is)\s+(?:\w+\s+)?priority"
    r"(?:\s+debts?)?(?P<rest>.*)$",
    re.I,
)
_PRIORITY_REASON = re.compile(
    r"^\s*(?:-+|:|,?\s*(?:as|because|since|and that))\s+(?P<why>.+)$", re.I
)


def _priority_first(sentences: list[str]) -> Found | None:
    for sentence in sentences:
        m = _PRIORITY.search(sentence)
        if m is None or re.search(r"\b(?:not|non)\s*-?\s*$", sentence[: m.start("rest")][:-9]):
            continue
        what = _plain(re.sub(r"^(?:the|her|his|their)\s+", "", m.group("what"), flags=re.I))
        why = _PRIORITY_REASON.match(m.group("rest"))
        reason = _plain(re.split(r",\s*so\b", why.group("why"))[0]) if why else None
        return f"that you deal with your priority debts first ({what})", reason, None
    return None


# Words of an assessment: money, assets, limits.
_CRITERIA = re.compile(r"surplus|spare|asset|income|limit|afford|£|<|>", re.I)
# "DRO (surplus too high)": an assessment against it is no reason for it.
_AGAINST = re.compile(r"\b(?:not|too|unsuitable|ineligible|so no)\b", re.I)
_ASSESSED = re.compile(r"^\s*(?:\?|:|\(|suitable\b|fits\b|eligible\b|possible\b)\s*:?\s*", re.I)


def _assessment(sentences: list[str], solution: str) -> str | None:
    """The notes' assessment of ``solution``: "DRO suitable: debts under £50k, ...",
    "DRO (debts ~£5.8k, surplus nil, no assets) - possible", "DRO? total approx £4.5k,
    surplus < £75, assets nil - yes"."""
    patterns = [p for p, name in OPTIONS if name == solution]
    for sentence in sentences:
        for m in re.finditer(patterns[0], sentence, re.I) if patterns else ():
            after = sentence[m.end() :]
            marker = _ASSESSED.match(after)
            if marker is None:
                continue
            rest = after[marker.end() :]
            if marker.group(0).strip().endswith("(") or rest.startswith("("):
                text = rest.lstrip("(").split(")")[0]
            else:
                text = re.split(r"\s+-\s+|\.\s", rest)[0]
            if _CRITERIA.search(text) and len(text.split()) >= 2 and not _AGAINST.search(text):
                return _plain(text)
    return None


def _recommendation(text: str, solution: str | None) -> str:
    """``text`` as the object of "we recommend": "DRO" becomes "a Debt Relief Order",
    "file your return" becomes "that you file your return"."""
    text = re.sub(r"^(?:that|she|he|they|you)\s+", "", text, flags=re.I)
    if solution is not None:
        bare = re.sub(r"^(?:a|an|the)\s+", "", solution)
        if text.lower().startswith(bare.lower()) and bare != solution:
            return solution + text[len(bare) :]
    third_person = re.match(r"^(\w+?)e?s\b", text)  # "offers Moneybarn ..."
    if third_person and _VERB_FIRST.fullmatch(third_person.group(1)):
        return "that you " + third_person.group(1) + text[third_person.end() :]
    if _VERB_FIRST.match(text):
        return "that you " + text
    return text


def advice_lines(advice: Advice) -> list[str]:
    """The advice as letter sentences."""
    lines = []
    if advice.options:
        lines.append("We talked about " + _listed(advice.options) + ".")
    if advice.recommended:
        lines.append(f"Our advice: we recommend {advice.recommended}.")
        if advice.reason:
            lines.append(f"This is because {advice.reason}.")
    return lines


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
