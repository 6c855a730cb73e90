"""Document types, the fields of each, how values are written: what the document reader
extracts (``rma.documents.typed``) and the vocabulary the document corpus's answer key is
written in (``rma.documents.corpus``).

A key value is normalised so that comparing it needs no parsing: money is an int in
pence (negative when a bank account is overdrawn), a date is ISO ``yyyy-mm-dd``, a
choice is one of a fixed list of codes. Names and references are kept as printed and
compared ignoring case and punctuation (see ``score.same``).

The tables in docs/document-corpus.md are written from ``SCHEMA`` by
``schema_markdown`` so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rma.documents.classify import DocType

NOT_A_CLIENT_DOCUMENT = "not_a_client_document"
BUNDLE = "bundle"


class Kind(StrEnum):
    MONEY = "money"
    DATE = "date"
    TEXT = "text"
    REFERENCE = "reference"
    CHOICE = "choice"
    FLAG = "flag"
    LIST = "list"


@dataclass(frozen=True)
class Part:
    """One named part of a list item (an income line's date, source and amount)."""

    name: str
    kind: Kind
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    meaning: str
    choices: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()


INCOME_SOURCES = (
    "universal_credit",
    "wages",
    "pip",
    "child_benefit",
    "carers_allowance",
    "esa",
    "pension",
)
BENEFITS = tuple(s for s in INCOME_SOURCES if s not in ("wages", "pension"))
UC_ELEMENTS = ("standard_allowance", "housing", "child", "lcwra", "carer", "childcare")
UC_DEDUCTIONS = ("earnings", "advance", "third_party", "overpayment")
COUNCIL_TAX_NOTICES = ("bill", "reminder", "final_notice", "summons")
ENFORCEMENT_STAGES = ("compliance", "enforcement")
FUELS = ("electricity", "gas", "dual_fuel", "water")
METER_TYPES = ("credit", "prepayment", "smart_credit", "smart_prepayment")

_M, _D, _T, _R = Kind.MONEY, Kind.DATE, Kind.TEXT, Kind.REFERENCE


LETTER_FIELDS = (
    FieldSpec("creditor", _T, "who the debt is owed to now"),
    FieldSpec(
        "original_creditor", _T, "the lender the debt started with, where the page names one"
    ),
    FieldSpec("collector", _T, "the collection agency writing or acting, if any"),
    FieldSpec("account_reference", _R, "the sender's account or reference number"),
    FieldSpec("balance", _M, "the whole amount outstanding"),
    FieldSpec("arrears", _M, "the overdue part (arrears), separate from the balance"),
    FieldSpec("letter_date", _D, "the date of the letter or notice"),
    FieldSpec("deadline", _D, "the date by which the client must act"),
)

SCHEMA: dict[str, tuple[FieldSpec, ...]] = {
    DocType.CREDITOR_LETTER.value: LETTER_FIELDS,
    DocType.DEBT_COLLECTION_LETTER.value: LETTER_FIELDS,
    DocType.DEFAULT_NOTICE.value: (
        *LETTER_FIELDS,
        FieldSpec("remedy_date", _D, "the date the breach must be remedied by (also the deadline)"),
    ),
    DocType.BANK_STATEMENT.value: (
        FieldSpec("bank", _T, "the bank or building society"),
        FieldSpec("account_ending", _R, "the last four digits of the account number"),
        FieldSpec("period_start", _D, "the first day the statement covers"),
        FieldSpec("period_end", _D, "the last day the statement covers"),
        FieldSpec("opening_balance", _M, "the balance brought forward (negative if overdrawn)"),
        FieldSpec("closing_balance", _M, "the balance carried forward, as printed"),
        FieldSpec("total_in", _M, "money in over the period (the sum of the table)"),
        FieldSpec("total_out", _M, "money out over the period (the sum of the table)"),
        FieldSpec(
            "income",
            Kind.LIST,
            "each payment in from an income source",
            parts=(
                Part("date", _D),
                Part("source", Kind.CHOICE, INCOME_SOURCES),
                Part("amount", _M),
            ),
        ),
        FieldSpec(
            "creditor_payments",
            Kind.LIST,
            "each payment out to a creditor (lender, collector, council, utility, landlord)",
            parts=(Part("date", _D), Part("creditor", _T), Part("amount", _M)),
        ),
        FieldSpec(
            "charges",
            Kind.LIST,
            "each fee or charge the bank took",
            parts=(Part("date", _D), Part("description", _T), Part("amount", _M)),
        ),
        FieldSpec(
            "benefit_taken",
            Kind.LIST,
            "money the bank itself took from a benefit payment (set-off): flag to the adviser",
            parts=(Part("date", _D), Part("benefit", Kind.CHOICE, BENEFITS), Part("amount", _M)),
        ),
        FieldSpec(
            "sums_add_up", Kind.FLAG, "opening + in - out = closing, and every running balance"
        ),
    ),
    DocType.UNIVERSAL_CREDIT_STATEMENT.value: (
        FieldSpec("assessment_period_start", _D, "first day of the assessment period"),
        FieldSpec("assessment_period_end", _D, "last day of the assessment period"),
        FieldSpec(
            "elements",
            Kind.LIST,
            "the standard allowance and each element awarded",
            parts=(Part("element", Kind.CHOICE, UC_ELEMENTS), Part("amount", _M)),
        ),
        FieldSpec(
            "deductions",
            Kind.LIST,
            "what is taken off: earnings, advance repayment, third-party deductions, overpayment",
            parts=(Part("kind", Kind.CHOICE, UC_DEDUCTIONS), Part("amount", _M)),
        ),
        FieldSpec("total_entitlement", _M, "the total of the allowance and elements"),
        FieldSpec("payment", _M, "the amount paid for the period"),
        FieldSpec("payment_date", _D, "the day it is paid"),
    ),
    DocType.COUNCIL_TAX_BILL.value: (
        FieldSpec("council", _T, "the billing council"),
        FieldSpec("account_reference", _R, "the council tax account number"),
        FieldSpec("tax_year", _T, "the financial year, written 2025/26"),
        FieldSpec("notice", Kind.CHOICE, "which paper this is", choices=COUNCIL_TAX_NOTICES),
        FieldSpec(
            "amount",
            _M,
            "a bill's charge for the year; a reminder's, final notice's or "
            "summons's amount now due (before court costs)",
        ),
        FieldSpec("costs", _M, "the council's court costs on a summons"),
        FieldSpec(
            "instalments",
            Kind.LIST,
            "each instalment on a bill",
            parts=(Part("date", _D), Part("amount", _M)),
        ),
        FieldSpec("hearing_date", _D, "the magistrates' court hearing on a summons"),
        FieldSpec("court", _T, "the magistrates' court on a summons"),
        FieldSpec("letter_date", _D, "the date of issue"),
        FieldSpec("deadline", _D, "the date by which the amount due must be paid"),
    ),
    DocType.COUNTY_COURT_CLAIM.value: (
        FieldSpec("claimant", _T, "who brings the claim"),
        FieldSpec("claim_number", _R, "the court's claim number"),
        FieldSpec("court", _T, "the court or centre issuing the claim"),
        FieldSpec("amount", _M, "the amount claimed"),
        FieldSpec("court_fee", _M, "the court fee"),
        FieldSpec("legal_costs", _M, "the legal representative's costs"),
        FieldSpec("total", _M, "the total amount"),
        FieldSpec("issue_date", _D, "the date the claim was issued"),
        FieldSpec("response_deadline", _D, "the date by which the client must respond"),
    ),
    DocType.CCJ.value: (
        FieldSpec("claimant", _T, "who the judgment is for"),
        FieldSpec("claim_number", _R, "the court's claim number"),
        FieldSpec("court", _T, "the court"),
        FieldSpec("judgment_date", _D, "the date of the judgment"),
        FieldSpec("amount", _M, "the total the judgment orders paid"),
        FieldSpec("instalment", _M, "the monthly instalment, when ordered in instalments"),
        FieldSpec(
            "payment_due_date",
            _D,
            "when the first instalment or the whole sum must reach the claimant",
        ),
    ),
    DocType.ENFORCEMENT_AGENT_NOTICE.value: (
        FieldSpec("enforcement_firm", _T, "the enforcement agents' firm"),
        FieldSpec("creditor", _T, "who instructed them (the council, the court...)"),
        FieldSpec("account_reference", _R, "the firm's reference"),
        FieldSpec("stage", Kind.CHOICE, "the fee stage reached", choices=ENFORCEMENT_STAGES),
        FieldSpec(
            "fees",
            Kind.LIST,
            "each statutory fee charged so far",
            parts=(Part("stage", Kind.CHOICE, ENFORCEMENT_STAGES), Part("amount", _M)),
        ),
        FieldSpec("debt", _M, "the debt the firm was instructed to collect, before its fees"),
        FieldSpec("balance", _M, "the total to pay now, fees included"),
        FieldSpec("letter_date", _D, "the date of the notice"),
        FieldSpec("deadline", _D, "the date by which paying avoids the next step"),
        FieldSpec("earliest_visit_date", _D, "the first day an agent may visit"),
    ),
    DocType.UTILITY_BILL.value: (
        FieldSpec("supplier", _T, "the energy or water company"),
        FieldSpec("account_reference", _R, "the customer account number"),
        FieldSpec("fuel", Kind.CHOICE, "what is supplied", choices=FUELS),
        FieldSpec(
            "meter_type", Kind.CHOICE, "the meter, where the bill states it", choices=METER_TYPES
        ),
        FieldSpec("period_start", _D, "the first day billed"),
        FieldSpec("period_end", _D, "the last day billed"),
        FieldSpec("letter_date", _D, "the date of the bill"),
        FieldSpec("arrears", _M, "the unpaid balance brought forward from earlier bills"),
        FieldSpec("balance", _M, "the total to pay now"),
        FieldSpec("deadline", _D, "the date payment is due"),
    ),
    NOT_A_CLIENT_DOCUMENT: (),
}

CLIENT_TYPES = tuple(t for t in SCHEMA if t != NOT_A_CLIENT_DOCUMENT)
ALL_TYPES = tuple(SCHEMA)


def spec(doc_type: str, name: str) -> FieldSpec | None:
    """The field ``name`` of ``doc_type``, or None if that type has no such field."""
    return next((f for f in SCHEMA.get(doc_type, ()) if f.name == name), None)


def _kind_words(f: FieldSpec | Part) -> str:
    if f.kind is Kind.CHOICE:
        return "one of " + ", ".join(f"`{c}`" for c in f.choices)
    if isinstance(f, FieldSpec) and f.kind is Kind.LIST:
        return "list of {" + ", ".join(f"{p.name}: {_kind_words(p)}" for p in f.parts) + "}"
    return {
        Kind.MONEY: "pence",
        Kind.DATE: "ISO date",
        Kind.TEXT: "text",
        Kind.REFERENCE: "reference",
        Kind.FLAG: "true/false",
    }[f.kind]


def schema_markdown() -> str:
    """One Markdown table per document type: field, value, meaning."""
    out: list[str] = []
    for doc_type, fields in SCHEMA.items():
        out.append(f"#### `{doc_type}`\n")
        if not fields:
            out.append("No fields: any value returned for it is wrong.\n")
            continue
        out.append("| field | value | meaning |\n|---|---|---|")
        out.extend(f"| `{f.name}` | {_kind_words(f)} | {f.meaning} |" for f in fields)
        out.append("")
    return "\n".join(out)
