"""The debt-advice vocabulary: the words advisers and manuals use for the same thing.

Advisers ask "OR deposit for bankruptcy?" and "how much spare income for a DRO"; manuals
say "official receiver" and "surplus income". Each :class:`Term` names one thing and the
forms it goes by. Keyword search indexes a passage's words plus the term of every form it
contains, and reads questions the same way, so both sides meet on the term. Questions are
also embedded with the long form beside each abbreviation ("dro (debt relief order)"),
because the embedder knows the words better than the letters.

Upper-case abbreviations that are also English words ("OR", "BS", "EA", "IP", "AO") are
read only in capitals; the rest in any case. Add a term here, not in the callers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Term:
    """One thing: its index token, the long form, and every other form (case-insensitive
    phrases; ``capitals`` only as written)."""

    token: str
    long_form: str
    forms: tuple[str, ...] = ()
    capitals: tuple[str, ...] = ()
    # spell out the long form beside a short form in a question (abbreviations, jargon)
    expand: bool = True

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        phrases = sorted((self.long_form, *self.forms), key=len, reverse=True)
        words = "|".join(_phrase(p) for p in phrases)
        caps = "|".join(re.escape(c) for c in self.capitals)
        either = f"(?i:{words})" + (f"|{caps}" if caps else "")
        return re.compile(rf"(?<![\w£])(?:{either})(?!\w)")


def _phrase(text: str) -> str:
    """A phrase with any run of spaces or hyphens between its words, and an optional
    plural or possessive at the end."""
    parts = [re.escape(w) for w in text.split()]
    return r"[\s-]+".join(parts) + r"(?:s|'s|s')?"


TERMS: tuple[Term, ...] = (
    Term("xdro", "debt relief order", ("dro",)),
    Term("xofficialreceiver", "official receiver", capitals=("OR",)),
    Term(
        "xmhcbs",
        "mental health crisis breathing space",
        ("mhcbs", "mental health crisis moratorium", "mental health breathing space"),
    ),
    Term(
        "xbreathingspace",
        "breathing space",
        ("debt respite scheme", "standard breathing space"),
        capitals=("BS",),
    ),
    Term("xccj", "county court judgment", ("ccj", "judgment")),
    Term("xdmp", "debt management plan", ("dmp",)),
    Term("xiva", "individual voluntary arrangement", ("iva",)),
    Term(
        "xsurplus",
        "surplus income",
        ("spare income", "disposable income", "surplus", "spare", "left over", "leftover"),
    ),
    Term("xvehicle", "motor vehicle", ("vehicle", "car", "van", "motorbike"), expand=False),
    Term("xpercent", "per cent", ("percent", "percentage", "pc")),
    Term("xsfs", "standard financial statement", ("sfs",)),
    Term("xenforcementagent", "enforcement agent", ("bailiff",), capitals=("EA",)),
    Term("xipa", "income payments agreement", ("ipa", "income payments order", "ipo")),
    Term("xadminorder", "administration order", ("admin order",), capitals=("AO",)),
    Term("xstatdemand", "statutory demand", ("stat demand",)),
    Term("xip", "insolvency practitioner", capitals=("IP",)),
    Term("xhp", "hire purchase", ("conditional sale",), capitals=("HP",)),
    Term("xuc", "universal credit", capitals=("UC",)),
    Term("xcoa", "confirmation of advice", ("coa",)),
    Term("xfee", "fee", ("cost", "costs", "charge", "price", "pay to apply"), expand=False),
    Term(
        "xlimit",
        "limit",
        ("maximum", "max", "ceiling", "cap", "threshold", "upper limit"),
        expand=False,
    ),
    Term("xpetition", "creditor's petition", ("creditor petition", "petition"), expand=False),
    Term("xassets", "assets", ("asset", "savings", "possessions"), expand=False),
    Term("xdischarge", "discharge", ("discharged", "freed from"), expand=False),
    # how advisers say what the manuals put formally
    Term(
        "xexcluded",
        "excluded",
        ("can't go in", "cant go in", "cannot go in", "not included", "left out", "exclude"),
        expand=False,
    ),
    Term("xremoved", "removed", ("scrapped", "abolished", "axed", "got rid of"), expand=False),
    Term(
        "xrepaid",
        "repaid",
        ("repaying", "paid back", "pay back", "paying back", "paid off", "paid in full"),
        expand=False,
    ),
    Term(
        "xrelative",
        "relative",
        ("family member", "mum", "dad", "mother", "father", "brother", "sister", "parent"),
        expand=False,
    ),
)


def terms_in(text: str) -> list[str]:
    """The index token of each term, once per form found in ``text``; "%" counts as
    "per cent"."""
    found = [term.token for term in TERMS for _ in term.pattern.finditer(text)]
    found += ["xpercent"] * text.count("%")
    return found


def expand_question(question: str) -> str:
    """The question with the long form beside each abbreviation or short form it uses,
    for the embedder: "OR deposit?" -> "OR (official receiver) deposit?"."""

    def spell(term: Term) -> str:
        return rf"\g<0> ({term.long_form})"

    out = question
    for term in TERMS:
        if not term.expand or term.long_form.lower() in question.lower():
            continue
        short = [f for f in (*term.forms, *term.capitals) if len(f) <= 5 and f.isalpha()]
        if not short:
            continue
        pattern = re.compile(
            "|".join(
                [rf"(?<!\w)(?i:{re.escape(f)})(?!\w)" for f in term.forms if f in short]
                + [rf"(?<!\w){re.escape(c)}(?!\w)" for c in term.capitals]
            )
        )
        out = pattern.sub(spell(term), out, count=1)
    return out
