"""The fields that drive advice, each tied to the page and the words it came from.

Code finds what patterns find reliably (amounts next to their labels, UK dates,
references after their labels; amounts and dates read by :mod:`rma.text`); the model
fills what is left (usually the creditor's name). Every value, wherever it came from,
is then checked in code against the text: an amount must occur on the page, a date
must parse and occur, a deadline must fall after the letter date. A value that fails a
check is kept, marked unverified, and named in the warnings: an adviser decides,
nothing is silently dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from rma.errors import AllBackendsFailed, BackendError, InputError, RMAError
from rma.llm.router import ProviderRouter
from rma.llm.types import Message
from rma.text import currency_tokens, find_dates, parse_date, parse_money, read_misread_amount

log = logging.getLogger("rma.documents")

FIELD_NAMES = (
    "creditor",
    "account_reference",
    "claim_number",
    "balance",
    "arrears",
    "letter_date",
    "deadline",
)
MONEY_FIELDS = ("balance", "arrears")
DATE_FIELDS = ("letter_date", "deadline")
REFERENCE_FIELDS = ("account_reference", "claim_number")
# How a value was found scales the page's OCR confidence (see docs/documents.md).
TRUST = {
    "pattern": 0.95,
    "model-verified": 0.8,
    "computed": 0.6,
    "misread": 0.3,
    "ocr-ambiguous": 0.5,
    "unverified": 0.3,
}
MODEL_TEXT_CHARS = 3000
Source = Literal["code", "model"]
FieldValue = str | bool | list[dict[str, str | None]]


@dataclass
class Line:
    """One line of text and the page it is on."""

    page: int
    text: str
    confidence: float


@dataclass
class DocumentField:
    """One extracted value with where it is and how far to trust it."""

    value: FieldValue
    page: int | None
    quote: str
    confidence: float
    source: Source
    verified: bool
    note: str = ""
    # Every page a list's items came from (a statement's rows run over pages).
    pages: list[int] = field(default_factory=list)
    # Where the quote is on ``page`` (left, top, right, bottom in the page's units, as
    # uploaded): see :mod:`rma.documents.place`; empty if it was not found there.
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    def record(self) -> FieldRecord:
        return FieldRecord(
            value=self.value,
            page=self.page,
            pages=self.pages or ([self.page] if self.page is not None else []),
            quote=self.quote,
            confidence=round(self.confidence, 3),
            source=self.source,
            verified=self.verified,
            note=self.note,
            boxes=[
                (round(a, 1), round(b, 1), round(c, 1), round(d, 1)) for a, b, c, d in self.boxes
            ],
        )


class FieldRecord(BaseModel):
    """One field as the API gives it."""

    value: FieldValue = Field(
        description="Money as pounds ('1234.56', negative if overdrawn), dates ISO, text as "
        "printed; a check's outcome true/false; a list's items as objects in the same forms."
    )
    page: int | None = Field(description="The page it was found on; None if not found.")
    pages: list[int] = Field(default_factory=list, description="Every page it was read from.")
    quote: str = Field(description="The line it was read from.")
    confidence: float
    source: Source
    verified: bool = Field(description="Whether code found the value in the text.")
    note: str
    boxes: list[tuple[float, float, float, float]] = Field(
        default_factory=list,
        description="Where the quote is on its page, to highlight it: left, top, right, "
        "bottom in the units of the page's size (see pages), origin at the top left of the "
        "page as uploaded; empty if the quote was not found on the page.",
    )


@dataclass
class ExtractedFields:
    fields: dict[str, DocumentField] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] | None = None


# ------------------------------------------------------------------ matching helpers


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9£.]+", " ", text.lower()).strip()


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


# ------------------------------------------------------------------ code extraction

AMOUNT_LABELS: list[tuple[str, str]] = [
    ("arrears", r"arrears|amount (?:now )?(?:due|overdue)|overdue amount|remedy the breach"),
    (
        "balance",
        r"balance(?: (?:now )?(?:outstanding|owing|owed|due))?|amount outstanding"
        r"|total (?:amount )?(?:outstanding|due|owed|owing|debt)"
        r"|amount claimed|total claimed|amount owed|you owe",
    ),
]
REFERENCE_LABEL = re.compile(
    r"\b(?:(?:account|agreement|customer|policy|loan|card)\s+(?:number|no\.?|reference|ref\.?)"
    r"|(?:our|your)\s+ref(?:erence)?(?:\s+number)?|reference(?:\s+number)?|ref\.?)",
    re.I,
)
CLAIM_LABEL = re.compile(r"claim\s+(?:number|no\.?)\s*[:.]?\s*([A-Z0-9]{6,12})\b", re.I)
REFERENCE_VALUE = re.compile(r"\s*[:.#]?\s*([A-Z0-9][A-Z0-9\-/]{3,}(?:\s\d{3,})*)", re.I)
# (label, needs_colon): a "Creditor: X" line names a creditor whatever X looks like;
# prose ("instructed by X") only counts when X looks like an organisation.
CREDITOR_LABELS = [
    (r"original creditor", True),
    (r"creditor", True),
    (r"claimant", True),
    (r"(?:collect(?:ing)?|acting) on behalf of", False),
    (r"instructed by", False),
]
# Next to a digit, these are as likely OCR's misreading of 0 or 1 as what was printed.
OCR_CONFUSABLE = re.compile(r"(?<=\d)[OoIl]|[OoIl](?=\d)")
# Pages with this confidence are exact text (a PDF text layer), not OCR.
EXACT_TEXT = 1.0
LETTERHEAD = "taken from the letterhead"
# Senders whose letterhead is not the creditor's: they act for someone else.
AGENT_TYPES = ("debt_collection_letter", "enforcement_agent_notice")
ORGANISATION = re.compile(
    r"\b(ltd|limited|plc|llp|bank|council|building society|credit|finance|loans?|energy|"
    r"water|services|group|uk)\b",
    re.I,
)
# The whole of what comes before a letter's date on its line: "Date of agreement" is not.
LETTER_DATE_LABEL = re.compile(
    r"^\s*(?:(?:letter |notice |bill )?date(?: of (?:this )?(?:notice|letter|issue|bill))?"
    r"|issue date|date issued|dated)\s*[:.-]?\s*$",
    re.I,
)
DEADLINE_CUE = re.compile(
    r"\b(?:by|before|on or before|no later than|deadline|due date|pay(?:ment)? by|until)\s*:?\s*$",
    re.I,
)
RELATIVE_DEADLINE = re.compile(r"\bwithin\s+(\d{1,2})\s+days\b(?!\s+of\s+(?:service|receiv))", re.I)


def _field(
    name: str,
    value: str,
    line: Line,
    how: str,
    note: str = "",
    span: tuple[int, int] | None = None,
) -> DocumentField:
    verified = how in ("pattern", "model-verified")
    return DocumentField(
        value=value,
        page=line.page,
        quote=line.text.strip() if span is None else sentence_around(line.text, *span),
        confidence=TRUST[how] * line.confidence,
        source="model" if how.startswith("model") else "code",
        verified=verified,
        note=note,
    )


# A quote longer than this (a paragraph of a text layer) is cut to the value's sentence.
QUOTE_MAX_CHARS = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``text[start:end]`` if ``text`` is too long to
    quote whole (a paragraph); else ``text``, stripped."""
    if len(text.strip()) <= QUOTE_MAX_CHARS:
        return text.strip()
    begin, finish = 0, len(text)
    for cut in _SENTENCE_END.finditer(text):
        if cut.end() <= start:
            begin = cut.end()
        elif cut.start() >= end:
            finish = cut.start()
            break
    return text[begin:finish].strip()


def find_amounts(lines: list[Line]) -> dict[str, DocumentField]:
    """Balance and arrears: each amount goes to the nearest label on its line.

    A label right before the amount ("Arrears: £X") beats one after it ("£X in arrears").
    """
    best: dict[str, tuple[int, DocumentField]] = {}
    for line in lines:
        for token in currency_tokens(line.text):
            amount = token.value
            misread = read_misread_amount(token.digits) if amount is None else None
            if amount is None and misread is None:
                continue
            before = line.text[max(0, token.start - 70) : token.start].lower()
            after = line.text[token.end : token.end + 25].lower()
            label, rank = None, 0
            nearest = -1
            for name, pattern in AMOUNT_LABELS:
                for hit in re.finditer(pattern, before):
                    if hit.end() > nearest:
                        nearest, label = hit.end(), name
                        # "Label: £X" (the label ends the text before it) ranks highest.
                        rank = 3 if re.fullmatch(r"[^a-z0-9]*", before[hit.end() :]) else 2
            if label is None:
                for name, pattern in AMOUNT_LABELS:
                    if re.search(rf"^\s*(?:in\s+)?(?:{pattern})", after):
                        label, rank = name, 1
                        break
            if label is None:
                continue
            value, how, note = str(amount), "pattern", ""
            if misread is not None:
                value, how = str(misread), "misread"
                note = f"the amount reads {token.text!r}; taken as {value}"
            if label not in best or rank > best[label][0]:
                best[label] = (rank, _field(label, value, line, how, note))
    return {name: found for name, (_, found) in best.items()}


def find_references(lines: list[Line]) -> dict[str, DocumentField]:
    """Claim number and account reference, each after its label and holding a digit."""
    found: dict[str, DocumentField] = {}
    for line in lines:
        m = CLAIM_LABEL.search(line.text) if "claim_number" not in found else None
        if m and re.search(r"\d", m.group(1)):
            found["claim_number"] = _reference(m.group(1).upper(), line)
            continue
        if "account_reference" in found:
            continue
        for label in REFERENCE_LABEL.finditer(line.text):
            value = REFERENCE_VALUE.match(line.text, label.end())
            if value and re.search(r"\d", value.group(1)):
                found["account_reference"] = _reference(value.group(1).strip(), line)
                break
    return found


def _reference(value: str, line: Line) -> DocumentField:
    """A reference as a field; on an OCR'd page, letters OCR confuses with digits flag it."""
    if line.confidence < EXACT_TEXT and OCR_CONFUSABLE.search(value):
        note = f"OCR may have confused O with 0 or I/l with 1 in {value!r}"
        return _field("reference", value, line, "ocr-ambiguous", note)
    return _field("reference", value, line, "pattern")


def find_creditor(lines: list[Line]) -> DocumentField | None:
    """A labelled creditor ("Original creditor: X", "Claimant: X"), else the letterhead."""
    for label, labelled in CREDITOR_LABELS:
        pattern = re.compile(rf"\b{label}\b\s*{':' if labelled else ':?'}\s*(.+)$", re.I)
        for line in lines:
            m = pattern.search(line.text)
            if not m:
                continue
            name = re.split(r"\s+to\s+|[.,;](?:\s|$)", m.group(1).strip())[0].strip(" .,:;")
            looks_right = ORGANISATION.search(name) if not labelled else name[:1].isupper()
            if name and looks_right and len(name) <= 80:
                return _field("creditor", name, line, "pattern")
    first = next((line for line in lines if line.text.strip()), None)
    if first is not None and ORGANISATION.search(first.text) and len(first.text) <= 60:
        return _field("creditor", first.text.strip(), first, "pattern", LETTERHEAD)
    return None


def find_dates_fields(lines: list[Line]) -> dict[str, DocumentField]:
    """The letter date (labelled, or the first date near the top) and the deadline."""
    found: dict[str, DocumentField] = {}
    for line in lines:
        for written in find_dates(line.text):
            before = line.text[: written.start]
            iso = written.value.isoformat()
            span = (written.start, written.end)
            if "letter_date" not in found and LETTER_DATE_LABEL.search(before):
                found["letter_date"] = _field("letter_date", iso, line, "pattern", span=span)
            elif "deadline" not in found and DEADLINE_CUE.search(before[-40:]):
                found["deadline"] = _field("deadline", iso, line, "pattern", span=span)
    if "letter_date" not in found:
        # An unlabelled date on its own line near the top is how most letters are dated.
        for line in lines[:15]:
            dates = find_dates(line.text)
            if len(dates) == 1 and len(line.text.strip()) <= len(dates[0].text) + 4:
                found["letter_date"] = _field(
                    "letter_date", dates[0].value.isoformat(), line, "pattern"
                )
                break
    if "deadline" not in found and "letter_date" in found:
        sent = date.fromisoformat(str(found["letter_date"].value))
        for line in lines:
            m = RELATIVE_DEADLINE.search(line.text)
            if m:
                days = int(m.group(1))
                found["deadline"] = _field(
                    "deadline",
                    (sent + timedelta(days=days)).isoformat(),
                    line,
                    "computed",
                    f"computed as the letter date plus {days} days; the real deadline may run "
                    "from when the letter was received",
                )
                break
    return found


def extract_by_code(lines: list[Line]) -> dict[str, DocumentField]:
    """Every field the patterns can find, each already tied to its line."""
    found: dict[str, DocumentField] = {}
    found.update(find_amounts(lines))
    found.update(find_references(lines))
    found.update(find_dates_fields(lines))
    creditor = find_creditor(lines)
    if creditor is not None:
        found["creditor"] = creditor
    return found


# ------------------------------------------------------------------ model extraction


class ModelFields(BaseModel):
    """What the model is asked to return: values copied as written, null when absent."""

    creditor: str | None = Field(None, description="who the money is owed to")
    account_reference: str | None = Field(None, description="account or reference number")
    claim_number: str | None = Field(None, description="court claim number, if any")
    balance: str | None = Field(None, description="total amount owed, e.g. £1,234.56")
    arrears: str | None = Field(None, description="amount overdue or in arrears")
    letter_date: str | None = Field(None, description="date of the letter")
    deadline: str | None = Field(None, description="date by which the client must act")


def _prompt(text: str) -> list[Message]:
    return [
        Message.system(
            "You read letters that clients bring to a UK debt adviser. Copy each field "
            "exactly as written in the letter; use null when the letter does not state it."
        ),
        Message.user(f"Letter:\n\n{text[:MODEL_TEXT_CHARS]}"),
    ]


def locate(name: str, value: str, lines: list[Line]) -> tuple[str, Line] | None:
    """Check a value against the text: its normal form, and the line that states it."""
    if name in MONEY_FIELDS:
        amount = parse_money(value)
        if amount is None:
            return None
        for line in lines:
            if any(token.value == amount for token in currency_tokens(line.text)):
                return str(amount), line
        return None
    if name in DATE_FIELDS:
        wanted = parse_date(value)
        if wanted is None:
            return None
        for line in lines:
            if any(written.value == wanted for written in find_dates(line.text)):
                return wanted.isoformat(), line
        return None
    target = _compact(value) if name != "creditor" else _normal(value)
    if len(target) < 3:
        return None
    for line in lines:
        haystack = _compact(line.text) if name != "creditor" else _normal(line.text)
        if target in haystack:
            return value.strip(), line
    return None


def verify_model_value(name: str, value: str, lines: list[Line]) -> tuple[DocumentField, str]:
    """The model's value as a field: verified if code finds it in the text, else flagged."""
    located = locate(name, value, lines)
    if located is not None:
        normal, line = located
        if name in REFERENCE_FIELDS:
            checked = _reference(normal, line)
            if not checked.verified:
                checked.source = "model"
                return checked, f"{name}: {checked.note}; check it against the document"
        return _field(name, normal, line, "model-verified"), ""
    if name in MONEY_FIELDS and parse_money(value) is None:
        why = f"{value!r} is not an amount"
    elif name in DATE_FIELDS and parse_date(value) is None:
        why = f"{value!r} is not a date"
    elif name not in MONEY_FIELDS + DATE_FIELDS and len(_compact(value)) < 3:
        why = f"{value!r} is too short to check against the text"
    else:
        why = f"{value!r} does not occur in the text"
    unverified = DocumentField(
        value=value.strip(),
        page=None,
        quote="",
        confidence=TRUST["unverified"],
        source="model",
        verified=False,
        note=f"not verified: {why}",
    )
    return unverified, f"{name}: the model's value {why}; check it against the document"


def cross_check(fields: dict[str, DocumentField]) -> list[str]:
    """Checks between fields: a deadline after the letter date, arrears within the balance."""
    warnings: list[str] = []
    sent, due = fields.get("letter_date"), fields.get("deadline")
    if sent and due:
        sent_on, due_on = parse_date(str(sent.value)), parse_date(str(due.value))
        if sent_on and due_on and due_on <= sent_on:
            due.verified = False
            due.confidence = min(due.confidence, TRUST["unverified"])
            due.note = (due.note + "; " if due.note else "") + "not after the letter date"
            warnings.append(
                f"deadline {due.value} is not after the letter date {sent.value}; check both"
            )
    balance, arrears = fields.get("balance"), fields.get("arrears")
    if balance and arrears:
        b, a = parse_money(str(balance.value)), parse_money(str(arrears.value))
        if b is not None and a is not None and a > b:
            warnings.append(
                f"arrears {a} are more than the balance {b}; one of them may be misread"
            )
    return warnings


def check_against_type(fields: dict[str, DocumentField], doc_type: str) -> list[str]:
    """Checks that need the document type: a collector's letterhead is not the creditor."""
    creditor = fields.get("creditor")
    if creditor and doc_type in AGENT_TYPES and creditor.note == LETTERHEAD:
        creditor.verified = False
        creditor.confidence = min(creditor.confidence, TRUST["unverified"])
        creditor.note = f"{LETTERHEAD}, but a {doc_type.replace('_', ' ')} comes from an agent"
        return [f"creditor: {creditor.note}; find who the debt is owed to"]
    return []


def lines_of(pages: list[tuple[int, str, float]]) -> list[Line]:
    return [
        Line(number, text, confidence)
        for number, page_text, confidence in pages
        for text in page_text.splitlines()
    ]


async def extract_fields(
    pages: list[tuple[int, str, float]], router: ProviderRouter | None
) -> ExtractedFields:
    """Fields from (page number, text, OCR confidence) triples: code first, then the model.

    The model's value is used for a field code did not find; where both found one and
    they differ, code's value stands and the note says what the model read.
    """
    lines = lines_of(pages)
    out = ExtractedFields(fields=extract_by_code(lines))
    for name, found in out.fields.items():
        if not found.verified:
            out.warnings.append(f"{name}: {found.note}; check it against the document")
    text = "\n".join(t for _, t, _ in pages)
    if router is not None and text.strip():
        try:
            answer = await router.structured(_prompt(text), ModelFields, max_tokens=300)
            out.provenance = answer.result.provenance.model_dump()
            model_values = answer.value.model_dump()
        except (AllBackendsFailed, BackendError, InputError, RMAError) as exc:
            log.warning("field extraction model failed", extra={"error": type(exc).__name__})
            out.warnings.append(
                f"the model could not read the fields ({type(exc).__name__}); "
                "fields found by code only"
            )
            model_values = {}
        for name in FIELD_NAMES:
            value = model_values.get(name)
            if not isinstance(value, str) or not value.strip() or value.strip().lower() == "null":
                continue
            mine = out.fields.get(name)
            if mine is None:
                found, warning = verify_model_value(name, value, lines)
                out.fields[name] = found
                if warning:
                    out.warnings.append(warning)
                continue
            located = locate(name, value, lines)
            if located is None or located[0] != mine.value:
                mine.note = (mine.note + "; " if mine.note else "") + (
                    f"the model read {value.strip()!r}"
                )
    out.warnings.extend(cross_check(out.fields))
    return out
