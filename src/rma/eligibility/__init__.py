"""Eligibility for the debt solutions, decided by code from dated, approved limits.

One module per scheme (:mod:`~rma.eligibility.dro`, :mod:`~rma.eligibility.bankruptcy`,
:mod:`~rma.eligibility.breathing_space`, :mod:`~rma.eligibility.iva`), each a tuple of
rules: data (the limit's name, the question) plus a small function that measures the
client. :func:`assess` runs them all on one set of :class:`ClientFacts` as at a date.

Every criterion says the client's value, the limit with its value, dates and source as at
the assessment date, pass / fail / unknown, the margin ("£2,100 over the £50,000 limit")
and what is missing. Missing data never passes: see :mod:`rma.eligibility.criteria`.
No model is involved anywhere here.
"""

from rma.eligibility.criteria import Criterion, SchemeResult
from rma.eligibility.engine import SCHEMES, Assessment, assess
from rma.eligibility.facts import AssetFact, ClientFacts, DebtFact, IvaVote

__all__ = [
    "SCHEMES",
    "Assessment",
    "AssetFact",
    "ClientFacts",
    "Criterion",
    "DebtFact",
    "IvaVote",
    "SchemeResult",
    "assess",
]
