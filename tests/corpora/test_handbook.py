"""The realistic handbook corpus: the built PDFs agree with the answer keys, and keep the
features that make them realistic (so a change that loses one fails here)."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from corpora.handbook import build as build_module
from corpora.handbook import keys
from corpora.handbook.build import (
    DOCUMENTS,
    POISON,
    SOURCES,
    BuildResult,
    build,
    in_columns,
    tounicode_maps,
)
from corpora.handbook.pages import key_text, pages_with, raw_pages
from pypdf import PdfReader

AS_AT = "2026-11-30"
# The canonical limits (England and Wales), typed here from the project's limits brief so
# the key is checked against something it was not generated from: name -> unit and every
# value with the first and last day it was in force (None: open or not recorded).
TRUTH: dict[str, tuple[str, list[tuple[float, str | None, str | None]]]] = {
    "dro.max_debt": ("GBP", [
        (15000, "2009-04-06", "2015-09-30"), (20000, "2015-10-01", "2021-06-28"),
        (30000, "2021-06-29", "2024-06-27"), (50000, "2024-06-28", None)]),
    "dro.surplus_income": ("GBP/month", [
        (50, "2009-04-06", "2021-06-28"), (75, "2021-06-29", None)]),
    "dro.assets": ("GBP", [
        (300, "2009-04-06", "2015-09-30"), (1000, "2015-10-01", "2021-06-28"),
        (2000, "2021-06-29", None)]),
    "dro.vehicle": ("GBP", [
        (1000, "2009-04-06", "2021-06-28"), (2000, "2021-06-29", "2024-06-27"),
        (4000, "2024-06-28", None)]),
    "dro.fee": ("GBP", [(90, None, "2024-04-05"), (0, "2024-04-06", None)]),
    "dro.residence_years": ("years", [(3, None, None)]),
    "dro.previous_dro_years": ("years", [(6, None, None)]),
    "dro.duration_months": ("months", [(12, None, None)]),
    "bankruptcy.application_fee": ("GBP", [(680, None, None)]),
    "bankruptcy.adjudicator_fee": ("GBP", [(130, None, None)]),
    "bankruptcy.deposit": ("GBP", [(550, None, None)]),
    "bankruptcy.creditor_petition_min": ("GBP", [
        (750, None, "2015-09-30"), (5000, "2015-10-01", None)]),
    "bankruptcy.petition_deposit": ("GBP", [
        (990, None, "2022-10-31"), (1500, "2022-11-01", None)]),
    "bankruptcy.discharge_months": ("months", [(12, None, None)]),
    "bankruptcy.ipa_max_years": ("years", [(3, None, None)]),
    "breathing_space.standard_days": ("days", [(60, "2021-05-04", None)]),
    "breathing_space.mental_health_extra_days": ("days", [(30, "2021-05-04", None)]),
    "breathing_space.standard_repeat_months": ("months", [(12, "2021-05-04", None)]),
    "iva.approval_share": ("percent", [(75, None, None)]),
    "iva.unconnected_against_max": ("percent", [(50, None, None)]),
}  # fmt: skip
STATUSES = {"current", "historical", "stale-quoted-as-current", "example", "not-a-limit"}
FOOTER_2025 = "(c) Copyright Calder Vale Money Advice Trust 2025"
# Figures the completeness check looks for: any money or percentage equal to a limit value.
LIMIT_MONEY = {v for unit, values in TRUTH.values() if unit.startswith("GBP") for v, _, _ in values}
LIMIT_PERCENT = {v for unit, values in TRUTH.values() if unit == "percent" for v, _, _ in values}
FIGURE = re.compile(r"£(\d{1,3}(?:,\d{3})*)(?![\d,]*\d)|\b(\d+(?:\.\d+)?)(?: per cent|%)")


def by_name(documents: Any) -> dict[str, Any]:
    return {f"{d.stem}.pdf": d for d in documents}


# --- the build ---------------------------------------------------------------------------


def test_a_second_build_is_served_from_the_cache(handbook: BuildResult) -> None:
    before = {name: path.stat().st_mtime_ns for name, path in handbook.pdfs.items()}
    again = build(handbook.out_dir)
    assert again.cached
    assert again.digest == handbook.digest
    assert {name: path.stat().st_mtime_ns for name, path in again.pdfs.items()} == before


def test_the_corpus_has_the_documents_and_pages_it_promises(handbook: BuildResult) -> None:
    corpus = {n: c for n, c in handbook.pages.items() if not n.startswith("poison/")}
    assert set(corpus) == set(by_name(DOCUMENTS))
    for name, path in handbook.pdfs.items():
        assert len(pdfium.PdfDocument(str(path))) == handbook.pages[name], name
    assert 100 <= sum(corpus.values()) <= 140
    assert handbook.pages["poison/dro-limit-update-2026.pdf"] == 1


def ligature_blind(text: str) -> str:
    """``text`` in lower case with every f-ligature and U+FFFD folded to one mark."""
    return re.sub("ffi|ffl|ff|fi|fl|\ufffd", "#", text.lower())


def test_every_paragraph_of_the_sources_reaches_the_pdf(
    handbook_pages: dict[str, list[str]],
) -> None:
    # A renderer quirk once dropped whole chapters of a two-column document silently.
    for doc in DOCUMENTS:
        text = ligature_blind(" ".join(handbook_pages[f"{doc.stem}.pdf"]))
        missing = []
        for source in doc.sources:
            markup = (SOURCES / source).read_text(encoding="utf-8")
            for block in re.findall(r"<(p|li|h[1-4]|td)\b[^>]*>(.*?)</\1>", markup, re.S):
                words = html.unescape(re.sub(r"<[^>]+>", "", block[1])).split()
                tail = ligature_blind(" ".join(words[-3:]))
                if tail not in text:
                    missing.append(tail)
        assert not missing, f"{doc.stem}: text lost: {missing[:5]}"


def test_a_missing_font_stops_the_build_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(build_module, "FONT_FAMILIES", ("No Such Serif Face",))
    with pytest.raises(RuntimeError, match="'No Such Serif Face' is not installed"):
        build(tmp_path / "corpus")
    assert not (tmp_path / "corpus").exists()


def test_two_column_blocks_keep_the_heading_outside() -> None:
    body = "<p>intro</p><h1>One</h1><p>a</p><h1 class='x'>Two</h1><p>b</p>"
    assert in_columns(body) == (
        '<p>intro</p><h1>One</h1>\n<div class="cols"><p>a</p></div>\n'
        "<h1 class='x'>Two</h1>\n<div class=\"cols\"><p>b</p></div>\n"
    )


# --- the answer keys agree with the PDFs --------------------------------------------------


def test_every_limit_quote_is_on_its_page(handbook_pages: dict[str, list[str]]) -> None:
    wrong = []
    for statement in keys.limit_statements():
        pages = handbook_pages[statement["document"]]
        if statement["quote"] not in pages[statement["page"] - 1]:
            found = pages_with(pages, statement["quote"])
            wrong.append(
                f"{statement['id']} expected on page {statement['page']}, found on {found}"
            )
        occurrence = statement.get("figure_occurrence", 1)
        assert statement["quote"].count(statement["figure"]) >= occurrence, statement["id"]
    assert not wrong, "\n".join(wrong)


def test_every_question_passage_is_on_its_page(handbook_pages: dict[str, list[str]]) -> None:
    wrong = []
    for question in keys.questions():
        for passage in question["passages"]:
            page = handbook_pages[passage["document"]][passage["page"] - 1]
            if passage["quote"] not in page:
                wrong.append(f"{question['id']}: {passage['quote'][:60]!r}")
    assert not wrong, "\n".join(wrong)


def figure_spans(statement: dict[str, Any], page: str) -> list[tuple[int, int]]:
    """Where on the page the statement's figure is: in each copy of its quote, the
    ``figure_occurrence``-th appearance of the figure."""
    quote, figure = statement["quote"], statement["figure"]
    offset = -1
    for _ in range(statement.get("figure_occurrence", 1)):
        offset = quote.index(figure, offset + 1)
    return [
        (m.start() + offset, m.start() + offset + len(figure))
        for m in re.finditer(re.escape(quote), page)
    ]


def test_the_key_covers_every_limit_figure_in_the_corpus(
    handbook_pages: dict[str, list[str]],
) -> None:
    # Every money or percentage figure equal to some limit's value, anywhere in the corpus,
    # is the figure of a statement in the key: a limit, an example or a not-a-limit.
    spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for s in keys.limit_statements():
        page = handbook_pages[s["document"]][s["page"] - 1]
        spans.setdefault((s["document"], s["page"]), []).extend(figure_spans(s, page))
    uncovered, checked = [], 0
    for name, pages in handbook_pages.items():
        if name.startswith("poison/"):
            continue
        for number, text in enumerate(pages, start=1):
            for figure in FIGURE.finditer(text):
                money, percent = figure.group(1), figure.group(2)
                value = float((money or percent).replace(",", ""))
                if (money and value in LIMIT_MONEY) or (percent and value in LIMIT_PERCENT):
                    checked += 1
                    covered = spans.get((name, number), [])
                    if not any(a <= figure.start() and figure.end() <= b for a, b in covered):
                        context = text[figure.start() - 60 : figure.end() + 30]
                        uncovered.append(f"{name} p{number}: {context}")
    assert checked > 200
    assert not uncovered, "\n".join(uncovered)


def in_force(name: str, value: float) -> tuple[str | None, str | None] | None:
    for candidate, start, end in TRUTH[name][1]:
        if candidate == value:
            return start, end
    return None


def same_day_or_month(stated: str | None, true: str | None) -> bool:
    return stated is None or (true is not None and true.startswith(stated))


def test_the_limit_key_agrees_with_the_limits_table() -> None:
    statements = keys.limit_statements()
    assert len({s["id"] for s in statements}) == len(statements)
    for s in statements:
        assert s["status"] in STATUSES, s["id"]
        assert s["name"] in TRUTH, s["id"]
        unit, _ = TRUTH[s["name"]]
        if s["status"] == "not-a-limit":
            continue  # a figure for something else, in that thing's unit
        assert s["unit"] == unit, s["id"]
        if s["status"] == "example":
            continue
        dates = in_force(s["name"], s["value"])
        assert dates is not None, f"{s['id']}: {s['value']} was never {s['name']}"
        start, end = dates
        still_in_force = end is None or end >= AS_AT
        assert still_in_force == (s["status"] == "current"), s["id"]
        assert same_day_or_month(s["effective_from"], start), s["id"]
        assert same_day_or_month(s["effective_to"], end), s["id"]


def test_the_truth_here_and_the_shipped_limits_table_agree() -> None:
    # Two tables written apart (this one from the limits brief, the product's for release):
    # if they disagree, one of them is wrong, and the corpus keys would judge by it.
    from rma.limits.table import shipped_table

    table = shipped_table()
    assert set(table.names("england-wales")) == set(TRUTH)
    for name, (unit, values) in TRUTH.items():
        assert table.definition(name).unit == unit, name
        rows = table.history(name)
        assert [float(row.value) for row in rows] == [value for value, _, _ in values], name
        for row, (_, start, end) in zip(rows, values, strict=True):
            # The shipped table may know a date the brief leaves unrecorded, not the reverse.
            shipped = (row.effective_from, row.effective_to)
            for ours, theirs in zip((start, end), shipped, strict=True):
                assert ours is None or (theirs is not None and theirs.isoformat() == ours), name


def test_every_canonical_limit_is_stated_current_and_past_values_too() -> None:
    statements = keys.limit_statements()
    current = {s["name"] for s in statements if s["status"] == "current"}
    assert current == set(TRUTH)
    stated_past = {
        (s["name"], s["value"])
        for s in statements
        if s["status"] in ("historical", "stale-quoted-as-current")
    }
    for name, (_, values) in TRUTH.items():
        for value, _, end in values:
            if end is not None:
                assert (name, value) in stated_past, (name, value)
    kinds = Counter(s["status"] for s in statements)
    assert min(kinds.values()) >= 10, kinds


def test_the_questions_key_has_the_promised_shape() -> None:
    asked = keys.questions()
    kinds = Counter(q["kind"] for q in asked)
    assert len(asked) >= 70
    assert kinds["not-in-manuals"] >= 10
    assert kinds["past-figure"] >= 12
    for question in asked:
        if question["kind"] == "not-in-manuals":
            assert not question["passages"], question["id"]
            continue
        assert question["passages"], question["id"]
        expected = question.get("expected")
        if expected:
            dates = in_force(expected["name"], expected["value"])
            assert dates is not None, question["id"]
            start, end = dates
            assert (start or "") <= expected["as_at"] <= (end or "9999"), question["id"]
            assert (expected["effective_from"], expected["effective_to"]) == dates


def test_the_questions_that_the_corpus_does_not_answer_are_not_in_it(
    handbook_pages: dict[str, list[str]],
) -> None:
    everything = " ".join(" ".join(pages) for pages in handbook_pages.values()).lower()
    for absent in ("sequestration", "minimum asset process", "trust deed", "help to save",
                   "stamp duty", "personal allowance", "debt arrangement scheme"):  # fmt: skip
        assert absent not in everything, absent


def test_the_poisoned_manual_states_its_false_figure(handbook: BuildResult) -> None:
    poison = keys.load(keys.POISON)
    claim = poison["claims"][0]
    markdown = (POISON / "dro-limit-update-2026.md").read_text(encoding="utf-8")
    assert claim["quote"] in markdown
    pdf_pages = [key_text(t) for t in raw_pages(handbook.pdfs["poison/dro-limit-update-2026.pdf"])]
    assert claim["quote"] in pdf_pages[0]
    assert in_force(claim["name"], claim["value"]) is None


def test_relocate_moves_a_page_back_and_refuses_a_lost_quote(
    handbook: BuildResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits, asked = tmp_path / "limits.json", tmp_path / "questions.json"
    shutil.copy(keys.LIMITS, limits)
    shutil.copy(keys.QUESTIONS, asked)
    monkeypatch.setattr(keys, "LIMITS", limits)
    monkeypatch.setattr(keys, "QUESTIONS", asked)
    assert keys.relocate(handbook.out_dir) == []
    data = json.loads(limits.read_text(encoding="utf-8"))
    right = data["statements"][0]["page"]
    data["statements"][0]["page"] = right + 1
    limits.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert keys.relocate(handbook.out_dir) == [f"L001: page {right + 1} -> {right}"]
    data = json.loads(limits.read_text(encoding="utf-8"))
    assert data["statements"][0]["page"] == right
    data["statements"][0]["quote"] = "a sentence that no page holds"
    limits.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LookupError, match="L001"):
        keys.relocate(handbook.out_dir)


# --- the printout features ----------------------------------------------------------------


def test_running_headers_footers_and_page_numbers(handbook_pages: dict[str, list[str]]) -> None:
    for doc in DOCUMENTS:
        pages = handbook_pages[f"{doc.stem}.pdf"]
        footer = key_text(doc.footer)
        for number, text in enumerate(pages, start=1):
            assert footer in text, (doc.stem, number)
            if doc.style == "edition2021":
                assert f"\u2013 {number} \u2013" in text, (doc.stem, number)
            elif doc.style == "leaflet":
                assert text.endswith(f"{footer} {number}"), (doc.stem, number)
            else:
                assert f"Page {number} of {len(pages)}" in text, (doc.stem, number)
    dro = handbook_pages["handbook-2025-ch04-debt-relief-orders.pdf"]
    assert all("Chapter 4 - Debt Relief Orders" in page for page in dro)
    assert all(FOOTER_2025 in page for page in dro)


def test_some_documents_have_an_outline_and_others_none(handbook: BuildResult) -> None:
    for name, doc in by_name(DOCUMENTS).items():
        outline = list(pdfium.PdfDocument(str(handbook.pdfs[name])).get_toc())
        assert bool(outline) == doc.bookmarks, name
    assert 3 <= sum(d.bookmarks for d in DOCUMENTS) <= len(DOCUMENTS) - 3


def test_headings_differ_by_font_alone(handbook: BuildResult) -> None:
    for name, path in handbook.pdfs.items():
        catalog = PdfReader(path).root_object
        assert "/StructTreeRoot" not in catalog and "/MarkInfo" not in catalog, name


def two_column_pages(path: Path) -> int:
    """Pages whose body text leaves a clear gutter down the middle with text either side."""
    document = pdfium.PdfDocument(str(path))
    count = 0
    for index in range(len(document)):
        page = document[index]
        width, height = page.get_width(), page.get_height()
        textpage = page.get_textpage()
        left = right = across = 0
        for i in range(textpage.count_chars()):
            x0, y0, x1, _ = textpage.get_charbox(i)
            if not (0.12 * height < y0 < 0.88 * height) or x1 - x0 <= 0:
                continue  # headers, footers and spaces
            if x1 < 0.49 * width:
                left += 1
            elif x0 > 0.51 * width:
                right += 1
            else:
                across += 1
        if left > 500 and right > 500 and across < 0.02 * (left + right):
            count += 1
    return count


def test_two_column_pages_in_several_documents(handbook: BuildResult) -> None:
    columns = {d.stem for d in DOCUMENTS if d.columns}
    assert len(columns) >= 2
    for stem in columns:
        assert two_column_pages(handbook.pdfs[f"{stem}.pdf"]) >= 1, stem
    assert two_column_pages(handbook.pdfs["handbook-2025-ch04-debt-relief-orders.pdf"]) == 0


def ligature_targets(path: Path) -> Counter[str]:
    """How often each text a font's ToUnicode map gives a glyph occurs, over all fonts."""
    targets: Counter[str] = Counter()
    for cmap in tounicode_maps(PdfReader(path).pages):
        for _, target in re.findall(r"<([0-9a-f]+)> <([0-9a-f]+)>", cmap.get_data().decode()):
            targets[bytes.fromhex(target).decode("utf-16-be")] += 1
    return targets


def test_ligatures_are_set_and_one_edition_extracts_them_as_replacement_characters(
    handbook: BuildResult, handbook_pages: dict[str, list[str]]
) -> None:
    ligatures = {"ff", "fi", "fl", "ffi", "ffl"}
    used: set[str] = set()
    for name, doc in by_name(DOCUMENTS).items():
        targets = ligature_targets(handbook.pdfs[name])
        text = " ".join(handbook_pages[name])
        if doc.ligatures == "replacement":
            assert not ligatures & set(targets), name
            assert targets["\ufffd"] >= 3, name
            assert "o\ufffdcial receiver" in text and "official" not in text
        else:
            assert ligatures & set(targets), name  # ligature glyphs in the fonts
            used |= ligatures & set(targets)
            assert "\ufffd" not in text, name
    assert used == ligatures
    assert sum(d.ligatures == "replacement" for d in DOCUMENTS) >= 1


def test_hyphenated_line_breaks_are_in_the_raw_text(handbook: BuildResult) -> None:
    hyphenated = [
        name
        for name in by_name(DOCUMENTS)
        if len(re.findall("\u2010\r?\n", "".join(raw_pages(handbook.pdfs[name])))) >= 3
    ]
    assert len(hyphenated) >= len(DOCUMENTS) - 2, hyphenated
    chapter = "".join(raw_pages(handbook.pdfs["handbook-2025-ch05-bankruptcy.pdf"]))
    assert re.search(r"\w\u2010\r\n\w", chapter)


def test_key_text_normalisation() -> None:
    raw = "The o\ufb03cial re\u2010\r\nceiver; self-\r\nemployed; up-to\ufffedate\r\n  Page 1 of 2"
    assert key_text(raw) == "The official receiver; self-employed; up-to-date Page 1 of 2"
    assert key_text("o\ufffdcial") == "o\ufffdcial"
