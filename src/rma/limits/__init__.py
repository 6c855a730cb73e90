"""Legal limits as governed, dated reference data.

- :mod:`rma.limits.table`: the table (shipped in ``table.toml``), its validation and the
  as-at lookup (:meth:`LimitTable.as_at` -> :class:`LimitValue` with ``statement()``);
- :mod:`rma.limits.changes`: proposals, approvals and rejections recorded in the
  database, and the effective table they make (:class:`LimitRegister`);
- :mod:`rma.limits.conflicts`: what a manual states, held against the table.

A manual never changes a figure RMA states as current: only an approved change does.
"""

from rma.limits.changes import LimitChange, LimitRegister, Proposal
from rma.limits.conflicts import Candidate, Finding, classify
from rma.limits.table import (
    LimitRow,
    LimitTable,
    LimitTableError,
    LimitValue,
    NoValueInForce,
    UnknownLimit,
    shipped_table,
)

__all__ = [
    "Candidate",
    "Finding",
    "LimitChange",
    "LimitRegister",
    "LimitRow",
    "LimitTable",
    "LimitTableError",
    "LimitValue",
    "NoValueInForce",
    "Proposal",
    "UnknownLimit",
    "classify",
    "shipped_table",
]
