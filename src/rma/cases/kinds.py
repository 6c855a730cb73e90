"""The kinds of debt a case records: the vocabulary of the priority rules (here) and of
the eligibility rules (a DRO cannot include some kinds)."""

from __future__ import annotations

from typing import Literal

# What kind of debt it is: decides its priority (rma.cases.priority) and whether a DRO
# can include it (rma.eligibility.dro). A debt of no known kind is None.
DEBT_KINDS: dict[str, str] = {
    "mortgage": "mortgage",
    "secured_loan": "loan secured on the home",
    "rent": "rent arrears",
    "council_tax": "council tax",
    "gas": "gas",
    "electricity": "electricity",
    "water": "water",
    "magistrates_fine": "magistrates' court fine",
    "child_maintenance": "child maintenance",
    "hmrc": "income tax, VAT or National Insurance",
    "tv_licence": "TV licence",
    "hire_purchase": "hire purchase or conditional sale",
    "credit_card": "credit card",
    "personal_loan": "personal loan",
    "overdraft": "overdraft",
    "catalogue": "catalogue",
    "buy_now_pay_later": "buy now pay later",
    "payday_loan": "payday loan",
    "student_loan": "student loan",
    "social_fund": "social fund loan",
    "benefit_overpayment": "benefit overpayment",
    "other": "other debt",
}
SECURED_KINDS = frozenset({"mortgage", "secured_loan"})
DebtKind = Literal[
    "mortgage", "secured_loan", "rent", "council_tax", "gas", "electricity", "water",
    "magistrates_fine", "child_maintenance", "hmrc", "tv_licence", "hire_purchase",
    "credit_card", "personal_loan", "overdraft", "catalogue", "buy_now_pay_later",
    "payday_loan", "student_loan", "social_fund", "benefit_overpayment", "other",
]  # fmt: skip
