"""Reading and writing the figures people type: money, dates, months, ordinal days,
citation marks, and a token estimate. The one parser for all of RMA.

Everything here is plain code over strings, with no model, no I/O and nothing of RMA's
beneath it, so every layer above may use it. Values are exact (``Decimal`` pounds,
``date``); a text that does not parse gives ``None`` or nothing found, never a guess.

- money: :func:`parse_money`, :func:`find_amounts`, :func:`find_money`,
  :func:`currency_tokens`, :func:`read_misread_amount`, :func:`to_pence`,
  :func:`format_money`, :func:`format_pence`
- dates: :func:`find_dates`, :func:`parse_date`, :func:`iso_date`, :func:`resolve_year`,
  :func:`read_period`, :func:`relative_dates`, :func:`format_date`, :data:`MONTHS`,
  :data:`MONTH_NAMES`, :data:`WEEKDAYS`,
  :func:`ordinal`, :func:`ordinal_day`
- citations: :func:`cited_numbers`
- sentences: :func:`split_sentences`
- tokens: :func:`estimate_tokens`, :func:`estimate_prompt_tokens`
"""

from rma.text.citations import cited_numbers
from rma.text.dates import (
    MONTH_NAMES,
    MONTHS,
    WEEKDAYS,
    FoundDate,
    Period,
    find_dates,
    format_date,
    iso_date,
    ordinal,
    ordinal_day,
    parse_date,
    read_period,
    relative_dates,
    resolve_year,
)
from rma.text.money import (
    Amount,
    CurrencyToken,
    currency_tokens,
    find_amounts,
    find_money,
    format_money,
    format_pence,
    parse_money,
    read_misread_amount,
    to_pence,
    to_pounds,
)
from rma.text.sentences import split_sentences
from rma.text.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TokenCounter,
    estimate_prompt_tokens,
    estimate_tokens,
)

__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "MONTHS",
    "MONTH_NAMES",
    "WEEKDAYS",
    "Amount",
    "CurrencyToken",
    "FoundDate",
    "Period",
    "TokenCounter",
    "cited_numbers",
    "currency_tokens",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "find_amounts",
    "find_dates",
    "find_money",
    "format_date",
    "format_money",
    "format_pence",
    "iso_date",
    "ordinal",
    "ordinal_day",
    "parse_date",
    "parse_money",
    "read_misread_amount",
    "read_period",
    "relative_dates",
    "resolve_year",
    "split_sentences",
    "to_pence",
    "to_pounds",
]
