"""What kind of document this is: the model's answer, checked against the wording.

The model picks a type through structured output; code scores the text for wording
each type always carries (a default notice cites section 87(1), a bailiff's notice
says "notice of enforcement"...). When the model's pick has no such wording and
another type's does, the wording wins and the response says so; when neither has
evidence the model's pick stands, flagged as unverified.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from rma.errors import AllBackendsFailed, BackendError, InputError, RMAError
from rma.llm.router import ProviderRouter
from rma.llm.types import Message

log = logging.getLogger("rma.documents")


class DocType(StrEnum):
    CREDITOR_LETTER = "creditor_letter"
    DEBT_COLLECTION_LETTER = "debt_collection_letter"
    DEFAULT_NOTICE = "default_notice"
    COUNTY_COURT_CLAIM = "county_court_claim"
    CCJ = "ccj"
    ENFORCEMENT_AGENT_NOTICE = "enforcement_agent_notice"
    COUNCIL_TAX_BILL = "council_tax_bill"
    UTILITY_BILL = "utility_bill"
    BANK_STATEMENT = "bank_statement"
    UNIVERSAL_CREDIT_STATEMENT = "universal_credit_statement"
    NOT_A_CLIENT_DOCUMENT = "not_a_client_document"
    OTHER = "other"


DESCRIPTIONS: dict[DocType, str] = {
    DocType.CREDITOR_LETTER: "a lender or creditor writing about an account, arrears or payments",
    DocType.DEBT_COLLECTION_LETTER: "a debt collection agency or debt purchaser asking for payment",
    DocType.DEFAULT_NOTICE: "a default notice under the Consumer Credit Act 1974 section 87",
    DocType.COUNTY_COURT_CLAIM: "a county court claim form (N1) or money claim",
    DocType.CCJ: "a county court judgment (CCJ) against the client",
    DocType.ENFORCEMENT_AGENT_NOTICE: "an enforcement agent (bailiff) notice of enforcement",
    DocType.COUNCIL_TAX_BILL: "a council tax bill, reminder or final notice",
    DocType.UTILITY_BILL: "a gas, electricity, water, phone or broadband bill",
    DocType.BANK_STATEMENT: "a bank account statement listing transactions",
    DocType.UNIVERSAL_CREDIT_STATEMENT: "a Universal Credit statement or award notice",
    DocType.NOT_A_CLIENT_DOCUMENT: "not a client's paper: a manual or book page, a blank page",
    DocType.OTHER: "a client's paper of another kind",
}

# Wording each type carries: (pattern, weight). 3 = decisive on its own, 1 = supporting.
WORDING: dict[DocType, list[tuple[str, float]]] = {
    DocType.DEFAULT_NOTICE: [
        (r"default notice", 3),
        (r"section 87\s*\(1\)", 3),
        (r"consumer credit act 1974", 1),
        (r"remedy the breach", 2),
    ],
    # A judgment restates its claim; a claim never says judgment was given.
    DocType.CCJ: [
        (r"county court judgm?ent", 3),
        (r"judgm?ent for (the )?claimant", 3),
        (r"\bN30\b", 2),
        (r"judgm?ent (was )?(entered|made)", 2),
        (r"register of judgm?ents", 2),
    ],
    DocType.COUNTY_COURT_CLAIM: [
        (r"claim form", 3),
        (r"\bN1\b", 1),
        (r"county court business centre|civil national business centre", 2),
        (r"money claim", 2),
        (r"particulars of claim|brief details of claim", 2),
        (r"\bclaimant\b", 1),
        (r"\bdefendant\b", 1),
    ],
    DocType.ENFORCEMENT_AGENT_NOTICE: [
        (r"notice of enforcement", 3),
        (r"enforcement agents?\b", 2),
        (r"taking control of goods", 3),
        (r"\bbailiffs?\b", 2),
        (r"controlled goods agreement", 2),
    ],
    DocType.COUNCIL_TAX_BILL: [
        (r"council tax", 3),
        (r"\bband [A-H]\b|property band", 1),
        (r"billing authority", 2),
        (r"liability order", 1),
    ],
    DocType.UTILITY_BILL: [
        (r"\bkwh\b", 3),
        (r"your (electricity|gas|water|energy)( and \w+)? bill|\bsewerage\b", 3),
        (r"meter reading", 2),
        (r"\b(electricity|gas|water) (bill|supply|usage|charges)\b", 2),
        (r"standing charge", 2),
        (r"\btariff\b", 1),
        (r"broadband|mobile phone bill", 1),
    ],
    DocType.BANK_STATEMENT: [
        (r"\bstatement\b", 1),
        (r"sort code", 2),
        (r"(opening|closing|brought forward|carried forward) balance", 3),
        (r"money (in|out)\b|paid (in|out)\b", 2),
    ],
    DocType.UNIVERSAL_CREDIT_STATEMENT: [
        (r"universal credit", 3),
        (r"assessment period", 3),
        (r"standard allowance", 2),
        (r"\bDWP\b|department for work and pensions", 1),
    ],
    DocType.DEBT_COLLECTION_LETTER: [
        (r"debt collect(ion|or)", 3),
        (r"collection agency", 3),
        (r"(instructed|appointed) by", 2),
        (r"on (their|its) behalf", 1),
        (r"original creditor", 2),
        (r"current creditor|client account (number|no)", 2),
        (r"(assigned|sold) (the|this|your) (debt|account)|debt (has been|was) (sold|assigned)", 2),
    ],
    DocType.CREDITOR_LETTER: [
        (r"\barrears\b", 1),
        (r"payments? (have been |were )?missed|account is (in arrears|overdue|behind)", 2),
        (r"credit limit|minimum payment", 1),
        (r"missed payments?|not received your (last )?payments?", 2),
        (r"account number|agreement number", 1),
        (r"overdue", 1),
        (r"repayment plan|payment arrangement", 1),
    ],
}
# A type needs at least this much wording to count as evidenced.
MIN_EVIDENCE = 3.0
# The model is shown at most this much text (the local model's context is 2,048 tokens).
MODEL_TEXT_CHARS = 3000


class ModelClassification(BaseModel):
    """What the model is asked to return."""

    doc_type: DocType = Field(description="the kind of document")


@dataclass
class Classification:
    """The chosen type, how it was chosen, and the wording that supports it."""

    doc_type: DocType
    confidence: float
    method: Literal["agreed", "model", "wording", "none"]
    model_type: DocType | None
    wording_type: DocType | None
    evidence: list[str] = field(default_factory=list)
    # Why this type won, in a sentence, when the model and the wording disagreed.
    reason: str = ""

    def record(self) -> ClassificationRecord:
        return ClassificationRecord(
            doc_type=self.doc_type,
            confidence=self.confidence,
            method=self.method,
            model_type=self.model_type,
            wording_type=self.wording_type,
            evidence=self.evidence,
            reason=self.reason,
        )


class ClassificationRecord(BaseModel):
    """The document type as the API gives it, with how it was chosen."""

    doc_type: DocType
    confidence: float
    method: Literal["agreed", "model", "wording", "none"]
    model_type: DocType | None
    wording_type: DocType | None
    evidence: list[str]
    reason: str = Field("", description="Why this type, when the model and wording differ.")


# A sentence saying what may happen later ("we may pass your account to a collection
# agency") is not what has happened: a collector's wording there does not count.
MAY_HAPPEN = re.compile(
    r"\b(?:may|might|could|would|will)\b[^.]{0,40}\b(?:pass|refer|transfer|sell)\b"
)


def _sentence(text: str, start: int, end: int) -> str:
    first = max(text.rfind(".", 0, start), text.rfind("\n\n", 0, start)) + 1
    last = text.find(".", end)
    return text[first : last if last >= 0 else len(text)]


def wording_scores(text: str) -> dict[DocType, tuple[float, list[str]]]:
    """For each type with any matching wording: its score and the phrases found."""
    scores: dict[DocType, tuple[float, list[str]]] = {}
    for doc_type, patterns in WORDING.items():
        total, found = 0.0, []
        for pattern, weight in patterns:
            match = next(
                (
                    m
                    for m in re.finditer(pattern, text, re.IGNORECASE)
                    if doc_type is not DocType.DEBT_COLLECTION_LETTER
                    or not MAY_HAPPEN.search(_sentence(text, m.start(), m.end()))
                ),
                None,
            )
            if match:
                total += weight
                found.append(match.group(0))
        if found:
            scores[doc_type] = (total, found)
    return scores


def best_by_wording(scores: dict[DocType, tuple[float, list[str]]]) -> DocType | None:
    """The type with the most wording, if it reaches ``MIN_EVIDENCE``.

    Ties go to the more specific type (earlier in ``WORDING``): a default notice also
    talks about arrears, but a creditor letter never cites section 87(1).
    """
    order = list(WORDING)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], order.index(kv[0])))
    if ranked and ranked[0][1][0] >= MIN_EVIDENCE:
        return ranked[0][0]
    return None


def decide(
    model_type: DocType | None, scores: dict[DocType, tuple[float, list[str]]]
) -> tuple[Classification, list[str]]:
    """Combine the model's pick with the wording evidence; warnings say what was overruled."""
    wording_type = best_by_wording(scores)
    warnings: list[str] = []

    def evidence(t: DocType | None) -> list[str]:
        return scores.get(t, (0.0, []))[1] if t else []

    def score(t: DocType | None) -> float:
        return scores.get(t, (0.0, []))[0] if t else 0.0

    if model_type is not None and model_type == wording_type:
        result = Classification(model_type, 0.9, "agreed", model_type, wording_type)
    elif wording_type is None:
        if model_type is None:
            result = Classification(DocType.OTHER, 0.3, "none", None, None)
            warnings.append("the document type could not be determined; treated as other")
        elif model_type is DocType.OTHER:
            result = Classification(DocType.OTHER, 0.5, "model", model_type, None)
        else:
            result = Classification(model_type, 0.4, "model", model_type, None)
            warnings.append(
                f"document type {model_type.value} comes from the model alone: the text has "
                "none of the wording such documents carry; check it"
            )
    elif model_type is not None and score(model_type) >= max(MIN_EVIDENCE, score(wording_type) / 2):
        # Both are well evidenced: the model weighs the whole letter, so its pick stands.
        result = Classification(model_type, 0.7, "model", model_type, wording_type)
        warnings.append(
            f"document type: the model chose {model_type.value}; the wording also fits "
            f"{wording_type.value}"
        )
    else:
        result = Classification(wording_type, 0.7, "wording", model_type, wording_type)
        if model_type is not None:
            warnings.append(
                f"document type: the model said {model_type.value}, which the text does not "
                f"support; classified by its wording as {wording_type.value}"
            )
    result.evidence = evidence(result.doc_type)
    result.reason = "; ".join(warnings)
    return result, warnings


def _prompt(text: str) -> list[Message]:
    kinds = "\n".join(f"- {t.value}: {d}" for t, d in DESCRIPTIONS.items())
    return [
        Message.system(
            "You sort letters and documents that clients bring to a UK debt adviser. "
            f"Answer with JSON giving doc_type, one of:\n{kinds}"
        ),
        Message.user(f"Document text:\n\n{text[:MODEL_TEXT_CHARS]}"),
    ]


async def classify(
    text: str, router: ProviderRouter | None, *, addressed: bool = True
) -> tuple[Classification, dict[str, Any] | None, list[str]]:
    """Classification, the model call's provenance (None if no model answered), warnings.

    ``addressed``: whether the paper addresses a client or names an account (see
    :mod:`rma.documents.parts`); one that does neither is not a client's document,
    whatever its wording or the model say.
    """
    model_type: DocType | None = None
    provenance: dict[str, Any] | None = None
    warnings: list[str] = []
    if router is not None and text.strip():
        try:
            answer = await router.structured(_prompt(text), ModelClassification, max_tokens=40)
            model_type = answer.value.doc_type
            provenance = answer.result.provenance.model_dump()
        except (AllBackendsFailed, BackendError, InputError, RMAError) as exc:
            log.warning("classification model failed", extra={"error": type(exc).__name__})
            warnings.append(
                f"the model could not classify the document ({type(exc).__name__}); "
                "classified by wording only"
            )
    result, decided = decide(model_type, wording_scores(text))
    if not addressed:
        result, decided = not_a_client(text, result), []
    return result, provenance, warnings + decided


def not_a_client(text: str, decided: Classification) -> Classification:
    """A paper addressed to no one: a manual's or book's page, a blank page. The type
    wording and the model suggested is kept in the record, with the reason it lost."""
    if not text.strip():
        reason = "the page is blank"
    else:
        reason = (
            "no client is addressed (no name with a title at the top) and no account or "
            "reference number is given"
        )
    suggested = [t.value for t in (decided.wording_type, decided.model_type) if t]
    if suggested:
        reason += f"; its wording suggested {', '.join(dict.fromkeys(suggested))}"
    return Classification(
        DocType.NOT_A_CLIENT_DOCUMENT,
        0.8,
        "wording",
        decided.model_type,
        decided.wording_type,
        [reason],
        reason,
    )
