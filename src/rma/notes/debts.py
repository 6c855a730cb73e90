"""The debts table of a letter, read from the notes by code: creditor, kind, balance,
priority and what happens next.

Advisers list debts tersely ("Leeds CC ct arrs £1,146", "Lowell (ex Very) £2,315",
"Sunny (old payday) now w/ Lowell £460") or in prose ("£10,260 owed to Cabot
Financial"). Each sum of money is read as a balance only when a creditor goes with it
and nothing marks it as something else (a payment, an offer, a fee, income, a total, a
limit); a lender the debt came from ("ex Very", "old Vodafone") is its original
creditor, not a second debt. Priority follows the usual advisers' list (the facts:
rent, mortgage, council tax, energy, magistrates' fines, child maintenance, income
tax, TV licence, hire purchase of essential goods); water, benefit overpayments and
County Court Judgments are not on it. Nothing here asks a model, and nothing is
guessed: a sum with no creditor is not a debt.

Once a case record holds confirmed debts, a request carries them and the letter lists
those instead; this table is for letters written straight from notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from rma.notes import glossary
from rma.notes.facts import KNOWN_CREDITORS
from rma.text import Amount, find_amounts

# ------------------------------------------------------------------ creditors

_COUNCIL = re.compile(
    r"\b(?:London Borough of [A-Z][a-z]+|"
    r"(?P<place>[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)\s+"
    r"(?P<body>City Council|County Council|Borough Council|District Council|"
    r"[Cc]ouncil|CC|LBC|MBC|MDC|BC|DC)\b)"
)
_COUNCIL_BODIES = ("Council", "London Borough Council")
_COUNCIL_NAMES = {
    "CC": "City Council",
    "LBC": "London Borough Council",
    "MBC": "Metropolitan Borough Council",
    "MDC": "Metropolitan District Council",
    "BC": "Borough Council",
    "DC": "District Council",
}
# Bodies named by shorthand, written out in full in a letter.
_BODIES = {
    "HMRC": "HMRC",
    "DWP": "DWP",
    "CMS": "Child Maintenance Service",
    "TVL": "TV Licensing",
    "BG": "British Gas",
}
# When the notes name a priority debt but not who it is owed to.
_OWED_TO = {
    "magistrates' court fine": "Magistrates' court",
    "income tax": "HMRC",
    "child maintenance": "Child Maintenance Service",
    "TV licence": "TV Licensing",
}
_NOT_NAME_WORDS = (
    "total tot income wages wage net rent surplus equity fee debts debt other also cl "
    "client clt sfs budget mortgage ct uc pip dla cb hb i we she he they explained "
    "advised options rec disc agreed next offer token payday catalogues loans joint "
    "the his her their a an this that fee he she issued offer paid owes gave sent "
    "spent saved borrowed approx about around roughly nearly only just now then plus "
    "first"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


@dataclass(frozen=True)
class _Name:
    name: str
    start: int
    end: int
    former: bool  # "ex Very", "old Vodafone", "(for Vodaphone)": the original lender
    current: bool  # "now w/ Lowell", "passed to Marston": who holds it now


_FORMER_BEFORE = re.compile(r"(?:\bex|\bold|\bformerly|\boriginally|\bfor)\s*[-:]?\s*$", re.I)
_CURRENT_BEFORE = re.compile(r"\b(?:now (?:w/|with)|passed to|sold to|bought by)\s*$", re.I)
_DOUBTED_AFTER = re.compile(r"^\s*\?\s*(?:no|not)\b", re.I)


def _names(item: str) -> list[_Name]:
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, name: str) -> None:
        if not any(start < e and s < end for s, e, _ in spans):
            spans.append((start, end, name))

    for m in _COUNCIL.finditer(item):
        body = m.group("body")
        if body is None:
            add(m.start(), m.end(), m.group(0))
            continue
        place = m.group("place")
        if place in KNOWN_CREDITORS or place.lower() in _NOT_NAMES:
            continue
        if body == "CC" and glossary.expand(m.group(0), KNOWN_CREDITORS).endswith("credit card"):
            continue
        add(m.start(), m.end(), f"{place} {_COUNCIL_NAMES.get(body, body.capitalize())}")
    for name in sorted(KNOWN_CREDITORS, key=len, reverse=True):
        flags = 0 if len(name) <= 5 or name in _CASE_SENSITIVE else re.I
        for m in re.finditer(r"(?<![\w])" + re.escape(name) + r"(?![\w])", item, flags):
            add(m.start(), m.end(), name)
    # A landlord named in brackets: "HA flat (Places for People)", "Housing assoc (Riverside)".
    for m in _LANDLORD.finditer(item):
        add(m.start(1), m.end(1), m.group(1))
    for short, body in _BODIES.items():
        for m in re.finditer(r"(?<![\w])" + short + r"(?![\w])", item):
            add(m.start(), m.end(), body)
    # The head of a list item ("Drafty £780"): capitalised words right before a sum.
    head = re.match(
        r"^\s*(?:[-*•]\s*)?((?:[A-Z][\w'&]*|\d+)(?:\s+(?:[A-Z][\w'&]*|\d+|for|of|&))*)", item
    )
    if head and re.match(r"\s*(?:[a-z/]+\s+){0,2}£", item[head.end(1) :]):
        words = head.group(1).split()
        while words and (words[-1].isdigit() or words[-1].lower() in _NOT_NAMES):
            words.pop()
        shorthand = words and glossary.glossary().meaning(words[0]) is not None
        if (
            words
            and words[0].lower() not in _NOT_NAMES
            and not words[0].isupper()
            and not shorthand
        ):
            add(head.start(1), head.start(1) + len(" ".join(words)), " ".join(words))
    out = []
    for start, end, name in sorted(spans):
        before, after = item[:start], item[end:]
        if _DOUBTED_AFTER.match(after):
            continue
        out.append(
            _Name(
                name,
                start,
                end,
                bool(_FORMER_BEFORE.search(before)) or before.rstrip().endswith("(for"),
                bool(_CURRENT_BEFORE.search(before)),
            )
        )
    return out


_LANDLORD = re.compile(
    r"\b(?:HA|housing assoc\w*|landlord|tenant|tenancy)\b[^()]{0,15}\(([A-Z][\w&' ]+?)\)",
    re.I,
)
_CASE_SENSITIVE = frozenset({"Very", "Three", "Studio", "Fluid", "Sky", "Aqua", "Marbles"})

# ------------------------------------------------------------------ kinds

# (words in the item, kind, priority?) in order: the first that matches wins.
_KINDS: list[tuple[str, str, bool]] = [
    (r"council tax|\bct\b|liability order", "council tax arrears", True),
    (r"\brent\b|\bnosp\b|\bs8\b|housing association", "rent arrears", True),
    (r"mortgage", "mortgage arrears", True),
    (r"magistrates|\bmags\b|\bfine\b|hmcts", "magistrates' court fine", True),
    (r"child maintenance|\bcms\b|\bdeo\b", "child maintenance", True),
    (r"\bhmrc\b|income tax|self assessment|\bsa\b|\btax\b|\bvat\b", "income tax", True),
    (r"tv licen|\btvl\b", "TV licence", True),
    (r"\belec|\bgas\b|energy|dual fuel|\bmeter\b|fuel", "gas or electricity", True),
    (r"hire purchase|\bhp\b|conditional sale|cond sale|car finance", "hire purchase", True),
    (r"\bwater\b", "water", False),
    (r"overpayment|\bo/p\b", "benefit overpayment", False),
    (r"\bccj\b|county court judg", "County Court Judgment", False),
    (r"claim form|\bn1\b", "debt with a court claim", False),
    (r"overdraft|\bo/d\b", "overdraft", False),
    (r"payday|\bpdl\b", "payday loan", False),
    (r"guarantor", "guarantor loan", False),
    (r"doorstep", "doorstep loan", False),
    (r"\bloan\b", "loan", False),
    (r"catalogue|\bcat\b", "catalogue", False),
    (r"klarna|clearpay|pay in 3|pay later", "buy now pay later", False),
    (r"credit card|\bcc\b|\bcard\b", "credit card", False),
    (r"phone|contract|broadband|mobile", "phone or broadband", False),
]
_KIND_OF_NAME: dict[str, str] = {
    "Very": "catalogue",
    "Littlewoods": "catalogue",
    "JD Williams": "catalogue",
    "Studio": "catalogue",
    "Klarna": "buy now pay later",
    "Clearpay": "buy now pay later",
    "Barclaycard": "credit card",
    "Vanquis": "credit card",
    "Aqua": "credit card",
    "Marbles": "credit card",
    "Fluid": "credit card",
    "Capital One": "credit card",
    "MBNA": "credit card",
    "American Express": "credit card",
    "Amex": "credit card",
    "NewDay": "credit card",
    "PayPal Credit": "credit account",
    "Lending Stream": "payday loan",
    "Moneyboat": "payday loan",
    "Drafty": "payday loan",
    "Provident": "doorstep loan",
    "TV Licensing": "TV licence",
    "HMRC": "income tax",
    "Child Maintenance Service": "child maintenance",
    "British Gas": "gas or electricity",
    "EDF": "gas or electricity",
    "Octopus": "gas or electricity",
    "Octopus Energy": "gas or electricity",
    "Scottish Power": "gas or electricity",
    "OVO": "gas or electricity",
    "E.ON": "gas or electricity",
}
COLLECTORS = frozenset(
    {
        "Lowell",
        "Cabot",
        "Cabot Financial",
        "Intrum",
        "Moorcroft",
        "Hoist",
        "Hoist Finance",
        "Capquest",
        "Marlin",
        "Arrow Global",
        "PRA Group",
        "Link Financial",
    }
)
# Hire purchase is a priority only for goods the client needs.
_ESSENTIAL = re.compile(r"\b(?:essential|needs?|needed|for work|to get to|job)\b", re.I)

# What happens next, by kind of priority debt: the reason it comes first.
_NEXT_PRIORITY = {
    "council tax arrears": "The council can pass unpaid council tax to enforcement agents "
    "(bailiffs), so it is paid before other debts.",
    "rent arrears": "Your landlord can go to court to evict you, so it is paid before other debts.",
    "mortgage arrears": "The lender can go to court to take back your home, so it is paid "
    "before other debts.",
    "magistrates' court fine": "The court can send enforcement agents, or in the worst case "
    "send you to prison, so it is paid before other debts.",
    "child maintenance": "The Child Maintenance Service can take money from your wages or "
    "bank, so it is paid before other debts.",
    "income tax": "HMRC can use enforcement agents or take money from your bank, so it is "
    "paid before other debts.",
    "TV licence": "Not paying can lead to prosecution, so it is paid before other debts.",
    "gas or electricity": "The supplier can fit a prepayment meter or cut off your supply, "
    "so it is paid before other debts.",
    "hire purchase": "The lender can take back the goods you need, so it is paid before "
    "other debts.",
}


@dataclass(frozen=True)
class NoteDebt:
    """One debt for the letter's table, read from the notes (or a case record)."""

    creditor: str
    kind: str
    balance: Amount | None
    priority: str | None  # why it is a priority debt, or None
    original_creditor: str | None = None

    def next_step(self, recommended: str | None) -> str:
        """What happens next with this debt, in plain words."""
        if self.priority is not None:
            return _NEXT_PRIORITY.get(self.kind, "It is paid before other debts.")
        if self.kind == "water":
            return (
                "Not a priority debt: your water cannot be cut off, but the company can go "
                "to court."
            )
        if recommended:
            plan = re.sub(r"^(?:a|an)\s+", "", recommended)
            return (
                "Not a priority debt: it is dealt with after your priority debts, "
                f"in the {plan} we recommend."
            )
        return "Not a priority debt: it is dealt with after your priority debts."


def _kind(item: str, creditor: str) -> tuple[str, bool]:
    plain = glossary.expand(item, KNOWN_CREDITORS).lower()
    for pattern, kind, priority in _KINDS:
        if re.search(pattern, plain) or re.search(pattern, item.lower()):
            return kind, priority
    named = _KIND_OF_NAME.get(creditor)
    if named is not None:
        return named, named in _NEXT_PRIORITY and named != "hire purchase"
    if creditor in COLLECTORS:
        return "debt with a debt collector", False
    return "debt", False


# ------------------------------------------------------------------ balances

# A sum is no balance when these words come just before it, or after it.
_NOT_BALANCE_BEFORE = re.compile(
    r"\b(?:pay|pays|paying|paid|payment of|offer|offers|offered|token|fee|fees|worth|equity|"
    r"limit|under|over|below|above|vs|issued|deducting|deduction|extra|save|saved|saving|"
    r"income|wages?|net|earns?|board|surplus|spare|costs?|instalments? of|recovering|"
    r"arrs of|arrears of|arreas of|was|behind\s*=|=|to|rate)"
    r"\s*(?:approx\.?|about|~|of|full)?\s*$|[<>]\s*$",
    re.I,
)
_NOT_BALANCE_AFTER = re.compile(
    r"^\s*(?:/\s*(?:mth|month|wk|week|yr)|(?:a|per|each|every)\s+(?:month|week|year|mth|wk)|"
    r"pm|pw|pcm|pa|wk|mth|each|fee|offers?|extra|limit|surplus|spare|net|a month|a week)\b",
    re.I,
)
_TOTAL = re.compile(r"\b(?:total|tot|totals|altogether|in all)\b", re.I)
_BALANCE_WORD = re.compile(
    r"\b(?:arrs|arrears|arreas|owes?|owed|owing|left|bal|balance|o/s|outstanding|debt|behind)\b",
    re.I,
)
# Items: a list's parts. Commas inside brackets stay ("(ex Very £1,450, ex Three £620)").
_ITEM_SPLIT = re.compile(r",(?!\d)\s*|;\s*|:\s+|\s+and\s+|\s+\+\s*(?=[A-Z])|\.\s+|\s+-\s+(?=[A-Z])")


def _items(sentence: str) -> list[str]:
    out, depth, start = [], 0, 0
    i = 0
    while i < len(sentence):
        ch = sentence[i]
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if depth == 0:
            m = _ITEM_SPLIT.match(sentence, i)
            if m and m.end() > i:
                out.append(sentence[start:i])
                start = i = m.end()
                continue
        i += 1
    out.append(sentence[start:])
    return [item for item in out if item.strip()]


def _balance(item: str, amount: Amount, names: list[_Name]) -> bool:
    before = item[: amount.start]
    # "pay Clarion £150": the words before the creditor's name count.
    named = [n for n in names if n.end <= amount.start and not before[n.end :].strip()]
    if named:
        before = before[: named[-1].start]
    after = item[amount.end :]
    if not amount.is_money or _NOT_BALANCE_BEFORE.search(before[-40:]):
        return False
    return not _NOT_BALANCE_AFTER.match(after)


def _holder(names: list[_Name], amount: Amount, item: str) -> _Name | None:
    """Who is owed ``amount``: the nearest creditor before it that is not the lender it
    came from ("Cabot re old Vodafone contract £486"); one who holds it now ("now w/
    Lowell") wins; else a name just after it ("£10,260 owed to Cabot Financial")."""
    current = [n for n in names if n.current and n.end <= amount.start]
    if current:
        return current[-1]
    before = [n for n in names if n.end <= amount.start and not n.former]
    if before:
        return before[-1]
    after = [
        n
        for n in names
        if n.start >= amount.end
        and not n.former
        and re.fullmatch(
            r"[\s(-]*(?:owed to|owing to|to|with|w/|from)?[\s(]*", item[amount.end : n.start]
        )
    ]
    return after[0] if after else None


def _original(names: list[_Name], holder: _Name, amount: Amount) -> str | None:
    """The lender ``amount`` came from: the nearest "ex ..." before it, else any."""
    former = [n for n in names if n.former and n.name != holder.name]
    before = [n for n in former if n.end <= amount.start]
    chosen = before[-1] if before else former[0] if former else None
    return chosen.name if chosen else None


def find_debts(notes: str) -> list[NoteDebt]:
    """The debts in ``notes``: each balance with its creditor, kind and priority, in
    the order the notes give them; a creditor and balance named twice is listed once."""
    debts: list[NoteDebt] = []
    seen: set[tuple[str, Decimal]] = set()
    for line in notes.splitlines():
        for sentence in re.split(r"(?<=[a-z)\d])\.\s+(?=[A-Z])|;\s*", line):
            items = _items(sentence)
            owed: set[tuple[str, str | None]] = set()  # given a balance in this sentence
            for index, item in enumerate(items):
                names = _names(item)
                for amount in find_amounts(item):
                    if not _balance(item, amount, names):
                        continue
                    holder = _holder(names, amount, item)
                    near = item[max(0, amount.start - 30) : amount.end + 10]
                    if holder is None:
                        if _TOTAL.search(item[: amount.start]) or not _BALANCE_WORD.search(item):
                            holder = _owed_by_kind(near)
                        else:  # "Mortgage w/ Halifax, arrs £4,620": named just before
                            holder = (
                                _earlier_name(items[:index])
                                or _next_name(items[index + 1 : index + 2])
                                or _owed_by_kind(near)
                            )
                        context = " ".join(items[max(0, index - 1) : index + 1])
                    else:
                        start = min(holder.start, amount.start)
                        context = item[max(0, start - 25) : max(holder.end, amount.end) + 25]
                    if holder is None:
                        continue
                    # "Lowell x2 (ex Very £1,450, ex Three £620)" is two debts; "Zopa
                    # £6,200 ... arrears of £412" is one.
                    original = _original(names, holder, amount)
                    if (holder.name, original) in owed:
                        continue
                    owed.add((holder.name, original))
                    key = (holder.name.lower(), amount.value)
                    if key in seen:
                        continue
                    seen.add(key)
                    kind, priority = _kind(context, holder.name)
                    # A council's debt is council tax when the notes speak of it.
                    council = kind == "debt" and holder.name.endswith(_COUNCIL_BODIES)
                    if council and re.search(r"council tax|\bct\b", notes, re.I):
                        kind, priority = "council tax arrears", True
                    if kind == "hire purchase":
                        priority = bool(_ESSENTIAL.search(line))
                    debts.append(
                        NoteDebt(
                            creditor=holder.name,
                            kind=kind,
                            balance=amount,
                            priority=kind if priority else None,
                            original_creditor=original,
                        )
                    )
    return debts


def _next_name(items: list[str]) -> _Name | None:
    """ "Rent arrs £1,870 - Clarion served s8": a creditor that starts the next item."""
    for item in items:
        names = _names(item)
        if names and not item[: names[0].start].strip():
            return names[0]
    return None


def _earlier_name(items: list[str]) -> _Name | None:
    for item in reversed(items):
        names = [n for n in _names(item) if not n.former]
        if names:
            return names[-1]
    return None


def _owed_by_kind(item: str) -> _Name | None:
    """A priority debt the notes name by kind only ("mags fine £385", "est further
    £1,900 tax"): who it is owed to is known from the kind."""
    item = re.split(r"\b(?:excl|except|excluding|not|without)\b", item, flags=re.I)[0]
    if _TOTAL.search(item) or re.search(r"\bdebts\b", item, re.I):
        return None
    plain = glossary.expand(item, KNOWN_CREDITORS).lower()
    for pattern, kind, _ in _KINDS:
        if kind in _OWED_TO and (re.search(pattern, plain) or re.search(pattern, item.lower())):
            return _Name(_OWED_TO[kind], 0, 0, False, False)
    return None


def is_priority_kind(kind: str) -> bool:
    """Whether a debt of this kind (as an adviser writes it) is a priority debt."""
    plain = kind.lower()
    return any(priority and re.search(pattern, plain) for pattern, _, priority in _KINDS)
