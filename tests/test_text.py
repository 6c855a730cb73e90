"""rma.text: the one reader of money, dates, months, ordinal days, citations and tokens.

Table-driven; the odd cases come from the three readers it replaced (case notes,
creditor letters, manuals) and from the citation bug ("[1, 2, 3]" read as 1 and 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rma.text import (
    MONTH_NAMES,
    MONTHS,
    cited_numbers,
    currency_tokens,
    estimate_tokens,
    find_amounts,
    find_dates,
    find_money,
    format_date,
    format_money,
    ordinal,
    ordinal_day,
    parse_date,
    parse_money,
    read_misread_amount,
    read_period,
    relative_dates,
    resolve_year,
    to_pence,
)

ROOT = Path(__file__).resolve().parent.parent
MARCH_5 = date(2025, 3, 5)

# ----------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("written", "pounds"),
    [
        ("£4,230", "4230.00"),
        ("4230", "4230.00"),
        ("£4.2k", "4200.00"),
        ("4.2k", "4200.00"),
        ("£4.23k", "4230.00"),
        ("£5k", "5000.00"),
        ("£50k", "50000.00"),
        ("£1,234.56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1234.5", "1234.50"),
        ("£1,250.50", "1250.50"),
        ("£ 75", "75.00"),
        ("GBP 20", "20.00"),
        ("gbp 20", "20.00"),
        ("680 pounds", "680.00"),
        ("1 pound", "1.00"),
        ("£1,500,000", "1500000.00"),
        (" £90 ", "90.00"),
        # not amounts: garbled separators, prose, a thousands separator misplaced
        ("£1,408,16", None),
        ("£2.574.99", None),
        ("£1.408", None),
        ("£12,34", None),
        ("about a grand", None),
        ("", None),
        ("£", None),
        ("£4.2k and £5", None),
    ],
)
def test_parse_money(written: str, pounds: str | None) -> None:
    assert parse_money(written) == (Decimal(pounds) if pounds else None)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("cl owes £4.2k to Lowell", [("£4.2k", "4200.00", True)]),
        (
            "£4.2k and 3 kids, 4230 and 680 pounds",
            [
                ("£4.2k", "4200.00", True),
                ("3", "3.00", False),
                ("4230", "4230.00", False),
                ("680 pounds", "680.00", True),
            ],
        ),
        # dates, times and versions are not amounts
        ("send SFS by 12/3 and call on 14/01/2025", []),
        ("meet at 12:30", []),
        ("v1.2 of the form", []),
        # a currency mark is money whatever stands before it
        ("£30,000-£40,000", [("£30,000", "30000.00", True), ("£40,000", "40000.00", True)]),
        ("(£4.2k)", [("£4.2k", "4200.00", True)]),
        ("the fee is £90.", [("£90", "90.00", True)]),
        # a sum a week or a month, written with a slash; a fraction is no amount
        ("pay £7/wk, £20/mth", [("£7", "7.00", True), ("£20", "20.00", True)]),
        ("3/4 of it, 24/7", []),
        # a run of digits is a reference: kept exact, never rounded
        (
            "ref 123456789012345678901234567890",
            [("123456789012345678901234567890", "123456789012345678901234567890", False)],
        ),
        ("items 1,2,3", []),
    ],
)
def test_find_amounts(text: str, found: list[tuple[str, str, bool]]) -> None:
    got = find_amounts(text)
    assert [(a.text, str(a.value), a.is_money) for a in got] == found
    for a in got:
        assert text[a.start : a.end] == a.text


def test_find_money_keeps_only_sums_of_money() -> None:
    assert [a.text for a in find_money("3 kids, £40 and 5k")] == ["£40", "5k"]
    assert find_money("GBP 12.50")[0].currency == "GBP"


def test_currency_tokens_see_garbled_amounts_whole() -> None:
    tokens = currency_tokens("Balance £2.574.99, arrears £120.00 and GBP 1,408,16")
    assert [(t.digits, t.value) for t in tokens] == [
        ("2.574.99", None),
        ("120.00", Decimal("120.00")),
        ("1,408,16", None),
    ]
    garbled = [read_misread_amount(t.digits) for t in tokens if t.value is None]
    assert garbled == [Decimal("2574.99"), Decimal("1408.16")]


@pytest.mark.parametrize(
    ("digits", "reading"),
    [("1,408,16", "1408.16"), ("2.574.99", "2574.99"), ("1.408", None), ("12,34,56", None)],
)
def test_read_misread_amount(digits: str, reading: str | None) -> None:
    assert read_misread_amount(digits) == (Decimal(reading) if reading else None)


@pytest.mark.parametrize(
    ("value", "written"),
    [("4230.00", "£4,230"), ("1250.5", "£1,250.50"), ("0.99", "£0.99"), ("50000", "£50,000")],
)
def test_format_money(value: str, written: str) -> None:
    assert format_money(Decimal(value)) == written


def test_format_money_with_pence_always() -> None:
    assert format_money(Decimal("4230"), pence=True) == "£4,230.00"
    assert format_money(Decimal("1250.5"), pence=True) == "£1,250.50"


def test_pence() -> None:
    assert to_pence(Decimal("4.2")) == 420
    assert to_pence(parse_money("£1,234.56") or Decimal(0)) == 123456


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected", "year_given"),
    [
        ("9/12", date(2025, 12, 9), False),  # day first: 9 December
        ("9/12/25", date(2025, 12, 9), True),
        ("09/12/2025", date(2025, 12, 9), True),
        ("9.12.25", date(2025, 12, 9), True),
        ("on 5.3.25.", date(2025, 3, 5), True),  # a full stop ends the sentence, not the date
        ("9-12-2025", date(2025, 12, 9), True),
        ("2025-12-09", date(2025, 12, 9), True),
        ("2025-3-5", date(2025, 3, 5), True),
        ("9 December 2025", date(2025, 12, 9), True),
        ("9th of Dec", date(2025, 12, 9), False),
        ("5th Mar. 2025", date(2025, 3, 5), True),
        ("hearing 3 Sept 2025", date(2025, 9, 3), True),
        ("Dec 9th", date(2025, 12, 9), False),
        ("due March 31st", date(2026, 3, 31), False),  # a deadline: the next one
        ("December 9, 2025", date(2025, 12, 9), True),
        ("Date: 05/03/2025", date(2025, 3, 5), True),
        ("Bill date: 05-Mar-2025", date(2025, 3, 5), True),
        ("by 05-Mar-25.", date(2025, 3, 5), True),
    ],
)
def test_date_forms(text: str, expected: date, year_given: bool) -> None:
    (found,) = find_dates(text, date(2025, 11, 20))
    assert (found.value, found.year_given, found.precision) == (expected, year_given, "day")
    assert text[found.start : found.end] == found.text


def test_a_date_without_a_year_resolves_against_the_reference() -> None:
    (d,) = find_dates("send SFS by 12/3", MARCH_5)
    assert d.value == date(2025, 3, 12)
    # A deadline in January written in December is next January.
    (d,) = find_dates("agreed to send docs by 10/1", date(2025, 12, 20))
    assert d.value == date(2026, 1, 10)
    # A past event without a deadline word takes the nearest date.
    (d,) = find_dates("EA letter rec 3/2", MARCH_5)
    assert d.value == date(2025, 2, 3)
    # Without a reference, a date without a year is not read at all.
    assert find_dates("send SFS by 12/3") == []


@pytest.mark.parametrize(
    "text",
    ["ref 31/2 and 45/13", "31/02/2025", "13/13/2025", "12/3/1850", "£12/3", "1/2/3/4", "soon"],
)
def test_not_dates(text: str) -> None:
    assert find_dates(text, MARCH_5) == []


def test_resolve_year_finds_the_nearest_real_day() -> None:
    assert resolve_year(29, 2, date(2025, 3, 1), future=True) == date(2024, 2, 29)
    assert resolve_year(30, 2, date(2025, 3, 1), future=False) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 March 2025", date(2025, 3, 5)),
        ("5th Mar 2025", date(2025, 3, 5)),
        ("05/03/2025", date(2025, 3, 5)),
        ("5.3.25", date(2025, 3, 5)),
        ("March 5, 2025", date(2025, 3, 5)),
        ("2025-03-05", date(2025, 3, 5)),
        ("5 March 2025.", date(2025, 3, 5)),
        ("31/02/2025", None),
        ("13/13/2025", None),
        ("5/3", None),  # a year is needed without a reference
        ("by 5 March 2025", None),  # one date alone, nothing else
        ("soon", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_months_alone_only_when_asked() -> None:
    assert find_dates("the June 2021 changes") == []
    (june,) = find_dates("the June 2021 changes", months=True)
    assert (june.value, june.precision) == (date(2021, 6, 1), "month")


@pytest.mark.parametrize(
    ("text", "start", "until", "precision"),
    [
        ("This limit applies from 28 June 2024.", date(2024, 6, 28), None, "day"),
        ("since June 2021", date(2021, 6, 1), None, "month"),
        ("with effect from 1 April 2024 the fee is £680", date(2024, 4, 1), None, "day"),
        ("Before 28 June 2024 the limit was £30,000.", None, date(2024, 6, 27), "none"),
        ("until June 2021", None, date(2021, 5, 31), "none"),
        (
            "Between October 2015 and June 2021 the limit was £20,000",
            date(2015, 10, 1),
            date(2021, 6, 30),
            "month",
        ),
        ("£30,000 (29 June 2021 – 27 June 2024)", date(2021, 6, 29), date(2024, 6, 27), "day"),
        ("£30,000 (29 June 2021 to 27 June 2024)", date(2021, 6, 29), date(2024, 6, 27), "day"),
        ("The limit is £50,000.", None, None, "none"),
    ],
)
def test_read_period(text: str, start: date | None, until: date | None, precision: str) -> None:
    period = read_period(text)
    assert (period.start, period.until, period.precision) == (start, until, precision)


def test_read_period_lists_every_date() -> None:
    period = read_period("From 28 June 2024 (it was £30,000 from June 2021).")
    assert period.dates == [date(2024, 6, 28), date(2021, 6, 1)]


def test_months_and_formats() -> None:
    assert MONTHS["sept"] == MONTHS["september"] == 9
    assert MONTH_NAMES[3] == "March"
    assert format_date(date(2025, 3, 12)) == "12 March 2025"


@pytest.mark.parametrize(
    ("day", "spoken"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (23, "23rd"), (31, "31st")],
)  # fmt: skip
def test_ordinal(day: int, spoken: str) -> None:
    assert ordinal(day) == spoken
    assert ordinal_day(spoken) == day


@pytest.mark.parametrize(("text", "day"), [("9", 9), (" 9th ", 9), ("0", None), ("32nd", None)])
def test_ordinal_day(text: str, day: int | None) -> None:
    assert ordinal_day(text) == day


# ------------------------------------------------------------------------- citations


@pytest.mark.parametrize(
    ("answer", "cited"),
    [
        ("The limit is £50,000 [1].", [1]),
        ("Both apply [1][2].", [1, 2]),
        ("See [1, 2, 3].", [1, 2, 3]),
        ("See [1,2].", [1, 2]),
        ("See [1; 4].", [1, 4]),
        ("See [ 3 ].", [3]),
        ("See [1-3].", [1, 2, 3]),
        ("See [2–4].", [2, 3, 4]),  # an en dash
        ("See [1, 3-4].", [1, 3, 4]),
        ("See [12].", [12]),
        ("First [2], then [1] and [2] again.", [2, 1]),
        ("See [2]; also [2] and [10;4]. Not [x] or [].", [2, 10, 4]),
        ("A note [a], a year [2025], a link [here](x).", []),
        ("A backwards range [3-1] cites nothing.", []),
        ("No citation at all.", []),
    ],
)
def test_cited_numbers(answer: str, cited: list[int]) -> None:
    assert cited_numbers(answer) == cited


# ---------------------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def smollm2() -> Iterator[Any]:
    """SmolLM2's own tokenizer (the bundled GGUF, vocabulary only)."""
    from llama_cpp import Llama

    from rma.llm import assets

    llama = Llama(
        model_path=str(assets.locate(assets.SMOLLM2_GGUF)), vocab_only=True, verbose=False
    )
    yield llama
    llama.close()


def _texts() -> list[str]:
    from rma.documents.sample_letters import sample_letters
    from rma.ocr import OcrReader
    from rma.rag.manuals import load_manual, split_sentences

    async def manuals() -> list[str]:
        out = []
        for path in sorted((ROOT / "manuals").iterdir()):
            if path.suffix in (".md", ".pdf"):
                manual = await load_manual(path.name, path.read_bytes(), OcrReader())
                out.extend(s for b in manual.blocks for s in split_sentences(b.text))
        return out

    notes = [p.read_text() for p in sorted((ROOT / "tests/notes/samples").glob("*.txt"))]
    lines = [line for n in notes for line in n.splitlines() if line.strip()]
    letters = [letter.text for letter in sample_letters(7)]
    return [*asyncio.run(manuals()), *notes, *lines, *letters]


def test_the_token_estimate_is_never_below_the_bundled_tokenizers(smollm2: Any) -> None:
    from tokenizers import Tokenizer

    from rma.llm import assets

    minilm = Tokenizer.from_file(str(assets.locate(assets.MINILM_TOKENIZER)))
    minilm.no_truncation()
    minilm.no_padding()
    texts = _texts()
    assert len(texts) > 150
    for text in texts:
        smol = len(smollm2.tokenize(text.encode(), add_bos=False))
        wordpiece = len(minilm.encode(text, add_special_tokens=False).ids)
        assert estimate_tokens(text) >= max(smol, wordpiece), text


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("a", 1), ("debt", 2), ("£50,000", 7), ("Appt 14/01", 8), ("a\n\nb", 3)],
)
def test_the_token_estimate_counts(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_days_named_relative_to_the_day_written() -> None:
    thursday = date(2025, 9, 4)

    def read(text: str) -> list[tuple[str, date]]:
        return [(d.text, d.value) for d in find_dates(text, thursday, relative=True)]

    assert read("by Friday the 12th") == [("Friday the 12th", date(2025, 9, 12))]
    assert read("ring today, pay tomorrow, send by fri") == [
        ("today", thursday),
        ("tomorrow", date(2025, 9, 5)),
        ("fri", date(2025, 9, 5)),
    ]
    assert read("by thu") == [("thu", date(2025, 9, 11))]  # the next one, not today
    assert read("by end of month; by end Feb; by 29th") == [
        ("end of month", date(2025, 9, 30)),
        ("end Feb", date(2026, 2, 28)),
        ("by 29th", date(2025, 9, 29)),
    ]
    # A weekday with its date is read once, as the date; without relative, nothing.
    assert read("full appt Mon 8/9") == [("8/9", date(2025, 9, 8))]
    assert find_dates("by fri, today", thursday) == []
    assert relative_dates("sat down on Sunday", thursday)[0].value == date(2025, 9, 7)
