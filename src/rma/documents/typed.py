"""The fields each type of client paper carries, read off its layout.

One reader per type (see docs/documents.md, "Fields by type"): labels as such papers
print them in general, the sender's name from the largest print at the top, lists read
from tables, and sums that must agree checked in code (a bill's previous balance plus
its charges, an enforcement notice's debt plus fees, a statement's running balance).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from rma.documents.fields import TRUST, DocumentField, ExtractedFields
from rma.documents.layout_fields import (
    Found,
    Page,
    Parse,
    a_date,
    anywhere,
    in_prose,
    labelled,
    letterhead,
    money,
    name,
    period,
    reference,
)
from rma.documents.schema import SCHEMA, Kind
from rma.documents.statement import (
    BENEFITS,
    CHARGE,
    SET_OFF,
    Table,
    check_sums,
    mend_amounts,
    payee,
    read_table,
    source_of,
)

Fields = dict[str, Any]  # a name to a Found, or to a list of Found items

REF = (
    r"(?:account|agreement|customer|policy|loan|card|client account)\s*(?:number|no\.?|ref\w*)"
    r"|(?:card|loan|credit card|mortgage|current) account"
    r"|(?:our|your)\s+ref(?:erence)?(?:\s+number)?|reference(?:\s+number)?|ref\.?"
)
LETTER_DATE = (
    r"date(?: of (?:notice|letter|issue|this notice))?|issue date|dated|bill date|date issued"
)
# A cell that labels the value beside it: another date, or anything ending in a colon.
OTHER_LABEL = re.compile(r"\bdate\b|:\s*$", re.I)
DEADLINE_PROSE = (
    r"(?:pay|paid|contact us|call us|reply|respond|payment)[^.]{0,60}?\b(?:by|before|no later than)"
    r"\s*:?\s*(.{6,30})"
)


def _date(text: str) -> str | None:
    return a_date(text)


def _put(out: Fields, field: str, found: Found | None) -> None:
    if found is not None and field not in out:
        out[field] = found


def _letter_common(pages: list[Page], out: Fields) -> None:
    _put(out, "account_reference", labelled(pages, REF, reference))
    _put(out, "letter_date", labelled(pages, LETTER_DATE, _date))
    if "letter_date" not in out:  # a date alone on its line near the top
        for row in pages[0].layout.rows[:14] if pages else []:
            for j, cell in enumerate(row.cells):
                value = _date(cell.text)
                # not the value of another label beside it ("Date of agreement | 23rd
                # October 2024" when the notice's own date was misread)
                if (
                    value
                    and len(cell.text) <= 32
                    and not (j and OTHER_LABEL.search(row.cells[j - 1].text))
                ):
                    out["letter_date"] = Found(value, pages[0].number, row.text, cell.confidence)
                    break
            if "letter_date" in out:
                break


def debt_letter(pages: list[Page], doc_type: str) -> Fields:
    """Creditor and collector letters and default notices."""
    out: Fields = {}
    _letter_common(pages, out)
    _put(
        out,
        "arrears",
        labelled(
            pages,
            r"arrears(?: amount)?|amount (?:now )?overdue|overdue amount|amount in arrears"
            r"|amount required to remedy the breach|amount needed to remedy the breach",
            money,
        ),
    )
    _put(
        out,
        "balance",
        labelled(
            pages,
            r"(?:total |current |outstanding )?balance(?: outstanding| owing| owed| now due)?"
            r"(?: under the agreement)?|amount outstanding"
            r"|total (?:amount )?(?:due|owed|owing|outstanding)|outstanding balance"
            r"|total balance outstanding(?: under the agreement)?",
            money,
        ),
    )
    _put(
        out,
        "arrears",
        in_prose(pages, r"(£\s?[\d,.]+\d|GBP\s?[\d,.]+\d) (?:in arrears|overdue)", money),
    )
    _put(
        out,
        "balance",
        in_prose(
            pages,
            r"(?:total |outstanding )?balance (?:you owe(?: us)?|outstanding|owing|due) "
            r"(?:is|of) (£\s?[\d,.]+\d|GBP\s?[\d,.]+\d)",
            money,
        ),
    )
    remedy = labelled(
        pages, r"date by which the breach must be remedied|remedy (?:the breach )?by", _date
    )
    if doc_type == "default_notice":
        _put(out, "remedy_date", remedy)
        _put(out, "deadline", remedy)
    _put(
        out,
        "deadline",
        labelled(pages, r"(?:please )?pay(?: in full)? by|reply by|respond by|due date", _date),
    )
    _put(out, "deadline", in_prose(pages, DEADLINE_PROSE, _date))
    if doc_type == "default_notice":
        _put(out, "remedy_date", out.get("deadline"))  # what a default notice's deadline is
    owner = labelled(pages, r"current creditor|creditor|client|on behalf of|owner", name)
    original = labelled(pages, r"original (?:creditor|lender)|previous creditor", name)
    sender = letterhead(pages)
    if doc_type == "debt_collection_letter":
        _put(out, "collector", sender)
        _put(out, "creditor", owner)
        _put(
            out,
            "creditor",
            anywhere(pages, r"instructed by ([A-Z][\w&'. ]+?) to\b", name),
        )
        _put(
            out,
            "creditor",
            anywhere(pages, r"(?:sold|assigned) to ([A-Z][\w&'. ]+?)(?: and|,|\.)", name),
        )
        _put(out, "original_creditor", original)
        _put(
            out,
            "original_creditor",
            anywhere(
                pages, r"your account with ([A-Z][\w&'. ]+?) has been (?:sold|assigned)", name
            ),
        )
    else:
        _put(out, "creditor", sender)
        _put(out, "original_creditor", original)
    return out


def bank_statement(pages: list[Page]) -> tuple[Fields, Table]:
    out: Fields = {}
    _put(out, "bank", letterhead(pages))
    account = labelled(pages, r"account(?: number| no\.?)", reference)
    if account is not None:
        digits = re.sub(r"\D", "", account.value)
        if len(digits) >= 4:
            account.value = digits[-4:]
            out["account_ending"] = account
    span = period(pages, r"statement|period|from")
    start: date | None = None
    if span is not None:
        out["period_start"], out["period_end"] = span
        start = date.fromisoformat(span[0].value)
    opening = labelled(
        pages, r"opening balance|balance brought forward|previous balance|start balance", money
    ) or (_balance_on(pages, span[0].value) if span else None)
    closing = labelled(
        pages, r"closing balance|balance carried forward|new balance|end balance", money
    ) or (_balance_on(pages, span[1].value) if span else None)
    _put(out, "opening_balance", opening)
    _put(out, "closing_balance", closing)
    _put(
        out,
        "total_in",
        labelled(pages, r"money in|total (?:paid )?in|paid in|total credits", money),
    )
    _put(
        out,
        "total_out",
        labelled(pages, r"money out|total (?:paid )?out|paid out|total debits", money),
    )
    table = read_table(pages, start)
    mend_amounts(table, opening.value if opening is not None else None)
    income, payments, charges, taken = [], [], [], []
    benefits_on: dict[str | None, list[tuple[str, int]]] = {}
    for row in table.rows:
        item = Found({}, row.page, row.quote, row.confidence)
        if row.money_in is not None:
            source = source_of(row.description)
            if source is not None:
                item.value = {"date": row.date, "source": source, "amount": row.money_in}
                income.append(item)
                if source in BENEFITS:
                    benefits_on.setdefault(row.date, []).append((source, row.money_in))
            continue
        if row.money_out is None:
            continue
        if SET_OFF.search(row.description):
            paid = [b for b in benefits_on.get(row.date, []) if b[1] >= row.money_out]
            if paid:
                item.value = {"date": row.date, "benefit": paid[-1][0], "amount": row.money_out}
                item.note = "the bank took this from a benefit payment: check set-off rules"
                if len({b[0] for b in paid}) > 1:
                    # Two benefits paid that day, either large enough: the row does not say.
                    item.confidence = min(item.confidence, 0.5)
                    item.note += f"; {len(paid)} benefits were paid that day, check which"
                taken.append(item)
            continue
        if CHARGE.search(row.description) and payee(row.description) is None:
            item.value = {"date": row.date, "description": row.description, "amount": row.money_out}
            charges.append(item)
            continue
        creditor = payee(row.description)
        if creditor is not None:
            item.value = {"date": row.date, "creditor": creditor, "amount": row.money_out}
            payments.append(item)
    if table.rows:
        for total, column in (("total_in", "money_in"), ("total_out", "money_out")):
            if total not in out:
                sum_ = sum(getattr(r, column) or 0 for r in table.rows)
                rows = [r for r in table.rows if getattr(r, column) is not None]
                out[total] = Found(
                    sum_,
                    rows[0].page if rows else table.rows[0].page,
                    f"the sum of {len(rows)} rows",
                    min((r.confidence for r in rows), default=1.0),
                    SUMMED_NOTE,
                )
    for field, items in (
        ("income", income),
        ("creditor_payments", payments),
        ("charges", charges),
        ("benefit_taken", taken),
    ):
        if items:
            out[field] = items
    adds_up, faults = check_sums(
        table.rows,
        opening.value if opening else None,
        closing.value if closing else None,
    )
    if adds_up is not None:
        page = closing.page if closing else table.rows[-1].page
        out["sums_add_up"] = Found(adds_up, page, "; ".join(faults), 1.0, "; ".join(faults))
    table.warnings.extend(faults)
    return out, table


def _balance_on(pages: list[Page], iso: str) -> Found | None:
    """The balance printed beside "Balance on <date>" for the given day."""
    for page in pages:
        for row in page.layout.rows:
            for j, cell in enumerate(row.cells[:-1]):
                m = re.match(r"\s*balance (?:on|at|as at) (.+)$", cell.text, re.I)
                if m and _date(m.group(1)) == iso:
                    value = money(row.cells[j + 1].text)
                    if value is not None:
                        cells = [cell, row.cells[j + 1]]
                        return Found(value, page.number, row.text, min(c.confidence for c in cells))
    return None


UC_ELEMENTS = {
    "standard_allowance": r"standard allowance",
    "housing": r"housing",
    "childcare": r"childcare",
    "child": r"\bchild(?:ren)?\b",
    "lcwra": r"\blcwra\b|limited capability for work",
    "carer": r"\bcarer",
}
UC_DEDUCTIONS = {
    "earnings": r"earnings|take-home|wages",
    "advance": r"advance",
    "third_party": r"third[- ]party",
    "overpayment": r"overpayment",
}
UC_DEDUCTIONS_START = re.compile(r"take off|^deductions?\b", re.I)


def uc_statement(pages: list[Page]) -> Fields:
    out: Fields = {}
    span = period(pages, r"assessment period")
    if span is not None:
        out["assessment_period_start"], out["assessment_period_end"] = span
    elements, deductions = [], []
    taking_off = False
    for page in pages:
        for row in page.layout.rows:
            if UC_DEDUCTIONS_START.search(row.cells[0].text):
                taking_off = True
            if len(row.cells) < 2 or re.search(r"\btotal\b", row.cells[0].text, re.I):
                continue
            label, amount = row.cells[0].text.strip(), money(row.cells[-1].text)
            if amount is None:
                continue
            found = Found({}, page.number, row.text, min(c.confidence for c in row.cells))
            kinds = UC_DEDUCTIONS if taking_off else UC_ELEMENTS
            code = next(
                (k for k, pattern in kinds.items() if re.search(pattern, label, re.I)), None
            )
            if code is None:
                continue
            if taking_off:
                found.value = {"kind": code, "amount": amount}
                deductions.append(found)
            else:
                found.value = {"element": code, "amount": amount}
                elements.append(found)
    if elements:
        out["elements"] = elements
    if deductions:
        out["deductions"] = deductions
    _put(
        out,
        "total_entitlement",
        labelled(
            pages,
            r"total before deductions|total entitlement|total of your (?:allowance|award)",
            money,
        ),
    )
    _put(
        out,
        "payment",
        labelled(pages, r"total amount you will be paid|your payment|amount paid|payment", money),
    )
    _put(
        out,
        "payment_date",
        anywhere(pages, r"pay (?:this|it) into your account on (.{6,30})", _date),
    )
    _put(out, "payment_date", labelled(pages, r"payment date|paid on", _date))
    return out


NOTICES = (
    ("summons", r"\bsummons\b|summoned"),
    ("final_notice", r"final notice"),
    ("reminder", r"reminder"),
    ("bill", r"council tax bill|annual bill|demand notice"),
)


def council_tax(pages: list[Page]) -> Fields:
    out: Fields = {}
    _put(out, "council", letterhead(pages, r"council"))
    _letter_common(pages, out)
    _put(
        out, "tax_year", anywhere(pages, r"\b(20\d\d\s*/\s*\d\d)\b", lambda t: re.sub(r"\s", "", t))
    )
    text = "\n".join(r.text for p in pages for r in p.layout.rows)
    for notice, pattern in NOTICES:
        if re.search(pattern, text, re.I):
            hit = next(
                (p, r) for p in pages for r in p.layout.rows if re.search(pattern, r.text, re.I)
            )
            out["notice"] = Found(notice, hit[0].number, hit[1].text, hit[1].confidence)
            break
    notice = out["notice"].value if "notice" in out else "bill"
    if notice == "bill":
        _put(
            out,
            "amount",
            labelled(
                pages,
                r"amount payable for the year|total (?:amount )?payable|annual charge|total charge",
                money,
            ),
        )
        instalments = []
        for page in pages:
            for row in page.layout.rows:
                if len(row.cells) == 2:
                    when, amount = _date(row.cells[0].text), money(row.cells[1].text)
                    if when and amount is not None and len(row.cells[0].text) <= 24:
                        instalments.append(
                            Found(
                                {"date": when, "amount": amount},
                                page.number,
                                row.text,
                                row.confidence,
                            )
                        )
        if instalments:
            out["instalments"] = instalments
    else:
        _put(
            out,
            "amount",
            labelled(
                pages,
                r"amount (?:now )?(?:due|outstanding|owed)|balance (?:now )?due(?: for the year)?"
                r"|arrears|amount you owe",
                money,
            ),
        )
        _put(out, "deadline", labelled(pages, r"pay(?: in full)? by|payment due by|due by", _date))
        _put(out, "deadline", anywhere(pages, DEADLINE_PROSE, _date))
    if notice == "summons":
        _put(out, "costs", labelled(pages, r"costs(?: incurred)?|court costs|summons costs", money))
        _put(out, "hearing_date", labelled(pages, r"hearing(?: date)?|date of hearing", _date))
        _put(
            out,
            "court",
            anywhere(pages, r"\b((?-i:(?:[A-Z][\w'-]+ )+)Magistrates'? Court)", name),
        )
    return out


# A claim form's boxes: (field, label, how the value is read).
CLAIM_FORM: tuple[tuple[str, str, Parse], ...] = (
    ("court", r"in the", name),
    ("claim_number", r"claim (?:no\.?|number)", reference),
    ("issue_date", r"issue date|date of issue|issued on", _date),
    ("amount", r"amount claimed|sum claimed", money),
    ("court_fee", r"court fee", money),
    ("legal_costs", r"legal representative'?s costs|solicitor'?s costs|legal costs", money),
    ("total", r"total amount|total", money),
    ("response_deadline", r"you must respond by|respond by|reply by|response due", _date),
)
CLAIMANT = r"claimant(?:\(s\))?(?:'s)?(?: name(?:\(s\))?)?(?: and address(?:\(es\))?)?"


def claim_form(pages: list[Page]) -> Fields:
    out: Fields = {}
    for field, label, parse in CLAIM_FORM:
        _put(out, field, labelled(pages, label, parse))
    _put(out, "claimant", labelled(pages, CLAIMANT, name, below=True))
    return out


def judgment(pages: list[Page]) -> Fields:
    out: Fields = {}
    _put(out, "court", anywhere(pages, r"^In the (.+)$", name))
    _put(out, "claim_number", labelled(pages, r"claim (?:no\.?|number)", reference))
    _put(out, "judgment_date", labelled(pages, r"date(?: of judgment)?", _date))
    _put(out, "claimant", labelled(pages, r"claimant", name))
    _put(out, "amount", labelled(pages, r"total|amount to pay|you must pay", money))
    _put(
        out,
        "instalment",
        anywhere(pages, r"instalments of ((?:GBP )?\S+) (?:per|a|each) month", money),
    )
    _put(
        out,
        "payment_due_date",
        anywhere(pages, r"(?:first payment|first instalment)[^.]*?\bby (.{6,30})", _date),
    )
    _put(
        out,
        "payment_due_date",
        anywhere(pages, r"pay the total (?:on or before|by) (.{6,30})", _date),
    )
    return out


def enforcement(pages: list[Page]) -> Fields:
    out: Fields = {}
    _put(out, "enforcement_firm", letterhead(pages, r"enforcement|bailiff"))
    _letter_common(pages, out)
    _put(out, "creditor", labelled(pages, r"creditor|client", name))
    _put(out, "creditor", anywhere(pages, r"instructed by ([A-Z][\w&'. ]+?) to\b", name))
    fees = []
    for stage in ("compliance", "enforcement"):
        fee = labelled(pages, rf"{stage} (?:stage )?fee", money)
        if fee is not None:
            fee.value = {"stage": stage, "amount": fee.value}
            fees.append(fee)
    if fees:
        out["fees"] = fees
        last = fees[-1]
        out["stage"] = Found(last.value["stage"], last.page, last.quote, last.confidence)
    _put(out, "debt", labelled(pages, r"amount of the debt|debt(?: amount)?|amount owed", money))
    _put(
        out, "balance", labelled(pages, r"total (?:now )?(?:due|to pay|outstanding)|balance", money)
    )
    _put(out, "deadline", labelled(pages, r"pay(?: in full)? by", _date))
    _put(out, "deadline", anywhere(pages, r"pay(?: in full)? by (.{6,30})", _date))
    _put(
        out,
        "earliest_visit_date",
        anywhere(pages, r"visit (?:from|after|on or after) (.{6,30})", _date),
    )
    return out


FUELS = (
    ("water", r"\bwater\b|sewerage"),
    ("dual_fuel", r"\bgas\b.*\belectricity\b|\belectricity\b.*\bgas\b|dual fuel"),
    ("electricity", r"\belectricity\b"),
    ("gas", r"\bgas\b"),
)
METERS = (
    ("smart_prepayment", r"smart[^.]{0,20}pre-?pay"),
    ("smart_credit", r"smart[^.]{0,20}credit"),
    ("prepayment", r"pre-?payment"),
    ("credit", r"credit meter|standard meter|meter type:? credit"),
)


def _fuel(pages: list[Page]) -> Fields:
    """What is supplied: named in the bill's heading ("Your gas bill"), else what its
    charges are for (electricity and gas lines: dual fuel)."""
    rows = [(p, r) for p in pages for r in p.layout.rows]
    heading = next((pr for pr in rows if re.search(r"your .*bill", pr[1].text, re.I)), None)
    if heading is not None:
        for fuel, pattern in FUELS:
            if re.search(pattern, heading[1].text, re.I):
                page, row = heading
                return {"fuel": Found(fuel, page.number, row.text, row.confidence)}
    charged = {
        fuel
        for fuel in ("electricity", "gas", "water")
        for _, row in rows
        if len(row.cells) > 1 and re.match(rf"\s*{fuel}\b", row.cells[0].text, re.I)
    }
    if not charged:
        return {}
    fuel = "dual_fuel" if {"electricity", "gas"} <= charged else sorted(charged)[0]
    page, row = next((pr for pr in rows if re.search(r"\bbill\b", pr[1].text, re.I)), rows[0])
    return {"fuel": Found(fuel, page.number, row.text, row.confidence)}


def utility_bill(pages: list[Page]) -> Fields:
    out: Fields = {}
    _put(out, "supplier", letterhead(pages))
    _letter_common(pages, out)
    span = period(pages, r"period|from")
    if span is not None:
        out["period_start"], out["period_end"] = span
    out.update(_fuel(pages))
    meter = labelled(pages, r"meter(?: type)?", lambda t: t)
    if meter is not None:
        for kind, pattern in METERS:
            if re.search(pattern, meter.quote, re.I):
                meter.value = kind
                out["meter_type"] = meter
                break
    _put(
        out,
        "arrears",
        labelled(
            pages,
            r"previous balance(?: not paid| unpaid| outstanding)?|balance brought forward|arrears"
            r"|unpaid balance|amount outstanding from (?:your )?(?:last|previous) bill",
            money,
        ),
    )
    _put(
        out,
        "balance",
        labelled(
            pages, r"total to pay|total (?:amount )?due|amount (?:to pay|due)|balance to pay", money
        ),
    )
    _put(
        out,
        "deadline",
        labelled(pages, r"(?:please )?pay by|payment due(?: by| date)?|due date", _date),
    )
    return out


READERS: dict[str, Callable[[list[Page]], Fields]] = {
    "creditor_letter": lambda p: debt_letter(p, "creditor_letter"),
    "debt_collection_letter": lambda p: debt_letter(p, "debt_collection_letter"),
    "default_notice": lambda p: debt_letter(p, "default_notice"),
    "universal_credit_statement": uc_statement,
    "council_tax_bill": council_tax,
    "county_court_claim": claim_form,
    "ccj": judgment,
    "enforcement_agent_notice": enforcement,
    "utility_bill": utility_bill,
}


def read_fields(doc_type: str, pages: list[Page]) -> tuple[Fields, Table | None]:
    """The type's fields (and a statement's table) from the pages' layouts."""
    if doc_type == "bank_statement":
        return bank_statement(pages)
    reader = READERS.get(doc_type)
    return (reader(pages) if reader else {}), None


LOW_CONFIDENCE_NOTE = "its words were read with low confidence; check it against the original"


def _normal(value: Any) -> Any:
    """Pence as pounds ('1234.56'), everything else as read; list items alike."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"{value / 100:.2f}"
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def as_field(found: Found | list[Found]) -> DocumentField:
    """A value read off the layout as a field: verified when its words were read surely."""
    items = found if isinstance(found, list) else [found]
    sure = all(f.sure for f in items)
    confidence = min(f.confidence for f in items) * TRUST["pattern"]
    notes = [f.note for f in items if f.note]
    if not sure:
        notes.append(LOW_CONFIDENCE_NOTE)
    value = [_normal(f.value) for f in items] if isinstance(found, list) else _normal(found.value)
    return DocumentField(
        value=value,
        page=items[0].page,
        quote=items[0].quote if len(items) == 1 else " / ".join(f.quote for f in items),
        confidence=confidence if sure else min(confidence, TRUST["ocr-ambiguous"]),
        source="code",
        verified=sure,
        note="; ".join(dict.fromkeys(notes)),
        pages=sorted({f.page for f in items}),
    )


# Names and references OCR may misread with confidence (``/`` as ``1``, ``I`` as ``l``),
# and nothing else on the page can confirm them.
UNCHECKABLE = (Kind.TEXT, Kind.REFERENCE)
OCR_NOTE = "read by OCR and nothing on the page confirms it; check it against the original"


# A general field that is a type's own field under another name, used when the type's
# reader found none: a council tax reminder's arrears are the amount now due.
GENERAL_AS = {"council_tax_bill": {"arrears": "amount"}}


def merge_fields(
    extracted: ExtractedFields, typed: Fields, doc_type: str, ocr_pages: Collection[int] = ()
) -> None:
    """The type's own fields over the general ones: a general field stays only where the
    type has a field of that name and its own reader found none. A paper that is not a
    client's has no fields (any figure on it is the manual's, not the client's)."""
    names = {f.name for f in SCHEMA.get(doc_type, ())}
    if doc_type == "not_a_client_document":
        if extracted.fields:
            extracted.warnings.append("not a client's document: no fields are read from it")
        extracted.fields.clear()
        return
    renamed = GENERAL_AS.get(doc_type, {})
    general = {
        renamed.get(n, n): f
        for n, f in extracted.fields.items()
        if not names or renamed.get(n, n) in names
    }
    extracted.fields = {n: as_field(f) for n, f in typed.items()}
    for field_name, found in general.items():
        extracted.fields.setdefault(field_name, found)
    kinds = {f.name: f.kind for f in SCHEMA.get(doc_type, ())}
    unconfirmed = rows_unconfirmed(doc_type, typed)
    for field_name, found in extracted.fields.items():
        pages = found.pages or ([found.page] if found.page is not None else [])
        on_ocr = bool(set(pages) & set(ocr_pages))
        if found.verified and on_ocr and kinds.get(field_name) in UNCHECKABLE:
            _unverify(found, OCR_NOTE)
        elif found.verified and on_ocr and field_name in unconfirmed:
            _unverify(found, unconfirmed[field_name])
        if not found.verified and found.note.endswith(
            (LOW_CONFIDENCE_NOTE, OCR_NOTE, ROWS_NOTE, NAMES_NOTE, SUMS_NOTE)
        ):
            extracted.warnings.append(f"{field_name}: {found.note}")


def _unverify(found: DocumentField, note: str) -> None:
    found.verified = False
    found.confidence = min(found.confidence, TRUST["ocr-ambiguous"])
    found.note = "; ".join(n for n in (found.note, note) if n)


# A list read from a table's rows, or a total summed from them: on a page read by OCR a
# row the reading lost leaves the list short while every item in it was read surely. Such
# a field is verified only when the document's own arithmetic shows no row is missing.
ROW_FIELDS = {
    "bank_statement": ("income", "creditor_payments", "charges", "benefit_taken"),
    "universal_credit_statement": ("elements", "deductions"),
    "council_tax_bill": ("instalments",),
    "enforcement_agent_notice": ("fees",),
}
# Lists a row joins by the name in it: on a page read by OCR a misread payee reads as other
# spending, so even a statement whose sums add up cannot show the list is whole.
BY_NAME = ("bank_statement",)
SUMMED_NOTE = "not printed: the sum of the table's rows"
ROWS_NOTE = (
    "read by OCR from a table whose figures do not show that every row was read; "
    "check the list against the original"
)
NAMES_NOTE = (
    "read by OCR: a row whose name was misread is left out of this list; check the list "
    "against the original"
)
SUMS_NOTE = (
    "read by OCR: a misread or missing row looks the same as figures that do not add "
    "up; check the statement against the original"
)


def _pence(found: Found | list[Found] | None) -> int | None:
    if isinstance(found, Found) and isinstance(found.value, int):
        return found.value
    return None


def _rows_add_up(doc_type: str, typed: Fields) -> bool:
    """Does the document's own arithmetic account for every row read?"""
    if doc_type == "bank_statement":
        check = typed.get("sums_add_up")
        return isinstance(check, Found) and check.value is True
    if doc_type == "council_tax_bill":  # the instalments make the year's bill
        amount = _pence(typed.get("amount"))
        return amount is not None and _summed(typed, "instalments") == amount
    if doc_type == "enforcement_agent_notice":  # the debt and the fees make what is due
        debt, balance = _pence(typed.get("debt")), _pence(typed.get("balance"))
        return debt is not None and balance is not None and debt + _summed(typed, "fees") == balance
    total, payment = _pence(typed.get("total_entitlement")), _pence(typed.get("payment"))
    if total is None or payment is None:
        return False
    elements, deductions = _summed(typed, "elements"), _summed(typed, "deductions")
    return elements == total and total - deductions == payment


def _summed(typed: Fields, list_name: str) -> int:
    """The pence of a list field's items added up (0 for none)."""
    items = typed.get(list_name) or []
    return sum(i.value["amount"] for i in items) if isinstance(items, list) else 0


def rows_unconfirmed(doc_type: str, typed: Fields) -> dict[str, str]:
    """Fields read from a table's rows that the document's arithmetic does not confirm
    complete, with the note each gets when it was read by OCR."""
    if doc_type not in ROW_FIELDS:
        return {}
    out: dict[str, str] = {}
    if doc_type in BY_NAME:
        out.update(dict.fromkeys(ROW_FIELDS[doc_type], NAMES_NOTE))
    if not _rows_add_up(doc_type, typed):
        out.update(dict.fromkeys(ROW_FIELDS[doc_type], ROWS_NOTE))
        for name in ("total_in", "total_out"):
            found = typed.get(name)
            if isinstance(found, Found) and found.note == SUMMED_NOTE:
                out[name] = ROWS_NOTE
    check = typed.get("sums_add_up")
    if isinstance(check, Found) and check.value is False:
        out["sums_add_up"] = SUMS_NOTE
    return out
