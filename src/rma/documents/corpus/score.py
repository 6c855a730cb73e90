"""Scores the real document pipeline on the labelled set, against the answer key.

Each (document, variant) file goes through :class:`DocumentProcessor` as an upload
would; the result is read into a :class:`Prediction` and compared with the key, field by
field, in the key's normal forms (pence, ISO dates, names ignoring case and punctuation).
Reported: type accuracy with a confusion matrix, per-type field accuracy, values passed
as verified that are wrong (the figure that must be 0: an adviser is told to trust
them), whether planted sums faults were flagged, statement rows read, and how bundles
were split. The scorer judges; it asserts nothing about today's quality.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from rma.documents.corpus.build import Corpus
from rma.documents.corpus.document import CorpusDocument, KeyField
from rma.documents.corpus.photo import RenderedFile, render, variants_for
from rma.documents.schema import (
    ALL_TYPES,
    BUNDLE,
    NOT_A_CLIENT_DOCUMENT,
    SCHEMA,
    FieldSpec,
    Kind,
    Part,
    spec,
)
from rma.errors import RMAError

if TYPE_CHECKING:
    from rma.documents.pipeline import DocumentPart, DocumentProcessor, ProcessedDocument

Outcome = Literal["right", "missing", "wrong", "extra", "unscored"]
NOT_SPLIT = "(not split)"
FAILED = "(failed)"


# ------------------------------------------------------------------ predictions


@dataclass
class PredictedField:
    """A value the pipeline returned: money as pounds ('1234.56') or int pence, dates ISO,
    lists as lists of dicts with the schema's part names."""

    value: Any
    verified: bool
    page: int | None = None


@dataclass
class PredictedPart:
    first_page: int
    last_page: int
    prediction: Prediction


@dataclass
class Prediction:
    """What the pipeline said about one file, in the key's vocabulary.

    ``transactions`` None: the pipeline does not read tables; ``parts`` None: it did not
    split the file (one document from first page to last).
    """

    doc_type: str
    fields: dict[str, PredictedField] = field(default_factory=dict)
    transactions: list[dict[str, Any]] | None = None
    parts: list[PredictedPart] | None = None


# Today's pipeline returns one generic set of names (creditor, balance, letter_date...)
# whatever the type; each is read as the field it stands for in the key's type (so a
# wrong type is not counted again against every field). A type's own names come first;
# these only fill what is missing. Delete an entry when the pipeline returns the names.
TODAY_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "default_notice": {"deadline": ("remedy_date",)},
    "council_tax_bill": {"creditor": ("council",), "arrears": ("amount",), "balance": ("amount",)},
    "county_court_claim": {
        "creditor": ("claimant",),
        "balance": ("amount",),
        "letter_date": ("issue_date",),
        "deadline": ("response_deadline",),
    },
    "ccj": {
        "creditor": ("claimant",),
        "balance": ("amount",),
        "letter_date": ("judgment_date",),
        "deadline": ("payment_due_date",),
    },
    "utility_bill": {"creditor": ("supplier",)},
    "bank_statement": {"creditor": ("bank",), "balance": ("closing_balance",)},
}


def prediction_from(result: ProcessedDocument) -> Prediction:
    """The pipeline's result as a prediction: the first document's type, fields and
    table; with several documents found, each one as a part."""
    parts = [_part(d) for d in result.documents]
    first = parts[0].prediction
    if len(parts) > 1:
        first.parts = parts
    return first


def _part(document: DocumentPart) -> PredictedPart:
    fields = {
        name: PredictedField(found.value, found.verified, found.page)
        for name, found in document.fields.fields.items()
    }
    rows = None
    if document.table is not None:
        rows = [
            {
                "date": t.date,
                "description": t.description,
                "out": t.money_out,
                "in": t.money_in,
                "balance": t.balance,
            }
            for t in document.table.rows
        ]
    prediction = Prediction(document.classification.doc_type.value, fields, rows)
    return PredictedPart(document.first_page, document.last_page, prediction)


def in_key_names(fields: dict[str, PredictedField], doc_type: str) -> dict[str, PredictedField]:
    """The predicted fields under ``doc_type``'s names (see ``TODAY_NAMES``)."""
    aliases = TODAY_NAMES.get(doc_type, {})
    out = {name: f for name, f in fields.items() if spec(doc_type, name) is not None}
    for name, found in fields.items():
        for target in aliases.get(name, ()):
            out.setdefault(target, found)
        if name not in out and name not in aliases:
            out[name] = found
    return out


# ------------------------------------------------------------------ comparison


def _text(value: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(value).casefold().replace("&", " and ")).strip()


def _pence(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int((Decimal(str(value).strip()) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return None


def normal(kind: Kind, value: Any, parts: tuple[Part, ...] = ()) -> Any:
    """A value in the form keys are compared in; None if it cannot be read as ``kind``.

    Predictions must already be normalised (the pipeline's contract): money as pounds
    '1234.56' or int pence, dates ISO. Nothing here parses what a page says.
    """
    if value is None:
        return None
    if kind is Kind.MONEY:
        return _pence(value)
    if kind is Kind.DATE:
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            return None
    if kind is Kind.REFERENCE:
        return re.sub(r"[^A-Z0-9]", "", str(value).upper()) or None
    if kind is Kind.FLAG:
        if isinstance(value, bool):
            return value
        return {"true": True, "yes": True, "false": False, "no": False}.get(
            str(value).strip().lower()
        )
    if kind is Kind.LIST:
        if not isinstance(value, list):
            return None
        items = []
        for item in value:
            if not isinstance(item, dict):
                return None
            items.append(tuple(normal(p.kind, item.get(p.name)) for p in parts))
        return Counter(items)
    return _text(value) or None


def same(spec: FieldSpec, expected: Any, got: Any) -> bool:
    want = normal(spec.kind, expected, spec.parts)
    return want is not None and want == normal(spec.kind, got, spec.parts)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# ------------------------------------------------------------------ results


@dataclass
class FieldResult:
    document: str
    variant: str
    doc_type: str
    field: str
    outcome: Outcome
    expected: Any
    got: Any
    verified: bool
    page_right: bool | None = None

    @property
    def verified_wrong(self) -> bool:
        return self.verified and self.outcome in ("wrong", "extra")


@dataclass
class ItemResult:
    """One file scored: its type, fields, statement rows and (for a bundle) its split."""

    document: str
    variant: str
    doc_type: str
    predicted_type: str
    fields: list[FieldResult]
    seconds: float = 0.0
    rows_expected: int = 0
    rows_right: int = 0
    split_right: bool | None = None
    parts: list[ItemResult] = field(default_factory=list)
    error: str = ""


def _key_value(key: KeyField | list[KeyField]) -> Any:
    if isinstance(key, list):
        return [item.value for item in key]
    return key.value


def _key_page(key: KeyField | list[KeyField]) -> int | None:
    if isinstance(key, list):
        return key[0].page if key else None
    return key.page


def score_document(
    doc: CorpusDocument, variant: str, prediction: Prediction, page_map: Sequence[int]
) -> ItemResult:
    """One (non-bundle) document against its key. ``page_map`` maps its pages to the file's."""
    results: list[FieldResult] = []
    schema = SCHEMA[doc.doc_type]
    predicted = in_key_names(prediction.fields, doc.doc_type)
    for wanted in schema:
        key = doc.fields.get(wanted.name)
        expected = _key_value(key) if key is not None else None
        got = predicted.get(wanted.name)
        value = got.value if got is not None else None
        verified = bool(got and got.verified)
        if not _is_empty(expected):
            if got is None or _is_empty(value):
                outcome: Outcome = "missing"
            elif same(wanted, expected, value):
                outcome = "right"
            else:
                outcome = "wrong"
        elif got is not None and not _is_empty(value):
            outcome = "extra"
        else:
            continue
        page_right = None
        if outcome == "right" and got is not None and got.page is not None and key is not None:
            page = _key_page(key)
            page_right = page is not None and page_map[page - 1] == got.page
        results.append(
            FieldResult(
                doc.id,
                variant,
                doc.doc_type,
                wanted.name,
                outcome,
                expected,
                value,
                verified,
                page_right,
            )
        )
    known = {f.name for f in schema}
    for name, got in predicted.items():
        if name in known or _is_empty(got.value):
            continue
        # Any value on a paper that is not a client's is wrong; on others, a name the key
        # does not define cannot be judged.
        outcome = "extra" if doc.doc_type == NOT_A_CLIENT_DOCUMENT else "unscored"
        results.append(
            FieldResult(doc.id, variant, doc.doc_type, name, outcome, None, got.value, got.verified)
        )
    item = ItemResult(doc.id, variant, doc.doc_type, prediction.doc_type, results)
    if doc.transactions:
        item.rows_expected = len(doc.transactions)
        item.rows_right = _rows_right(doc, prediction.transactions or [])
    return item


def _row(values: dict[str, Any]) -> tuple[Any, ...]:
    return (
        normal(Kind.DATE, values.get("date")),
        _text(values.get("description", "")),
        _pence(values["out"]) if values.get("out") is not None else None,
        _pence(values["in"]) if values.get("in") is not None else None,
        _pence(values["balance"]) if values.get("balance") is not None else None,
    )


def _rows_right(doc: CorpusDocument, predicted: list[dict[str, Any]]) -> int:
    wanted = Counter(_row(t.as_dict()) for t in doc.transactions)
    got = Counter(_row(row) for row in predicted)
    return sum((wanted & got).values())


def score_bundle(
    doc: CorpusDocument, variant: str, prediction: Prediction, page_map: Sequence[int]
) -> ItemResult:
    """A bundle: the split (each part's page range) and each part found, scored."""
    pages = doc.page_count
    file_pages = max(page_map) if page_map else pages
    parts = prediction.parts
    if parts is None:
        parts = [PredictedPart(1, file_pages, prediction)]
    by_range = {(p.first_page, p.last_page): p for p in parts}
    wanted = [(page_map[p.first_page - 1], page_map[p.last_page - 1]) for p in doc.parts]
    item = ItemResult(doc.id, variant, BUNDLE, prediction.doc_type, [])
    item.split_right = [(p.first_page, p.last_page) for p in parts] == wanted
    for part, span in zip(doc.parts, wanted, strict=True):
        part_map = page_map[part.first_page - 1 : part.last_page]
        found = by_range.get(span)
        if found is None:
            missing = Prediction(NOT_SPLIT)
            scored = score_document(part.document, variant, missing, part_map)
        else:
            scored = score_document(part.document, variant, found.prediction, part_map)
        item.parts.append(scored)
    return item


def score(doc: CorpusDocument, file: RenderedFile, prediction: Prediction) -> ItemResult:
    """One file of one document against its key."""
    if doc.parts:
        return score_bundle(doc, file.variant, prediction, file.page_map)
    return score_document(doc, file.variant, prediction, file.page_map)


# ------------------------------------------------------------------ the run


def plan(
    corpus: Corpus, variants: str | Sequence[str] = "standard"
) -> list[tuple[CorpusDocument, str]]:
    """Which files to score: ``standard`` (each document's PDF and one photographed
    variant), ``pdf``, ``all`` (every variant that applies), or a list of variant names."""
    from rma.documents.corpus.photo import PHOTOGRAPHED

    out: list[tuple[CorpusDocument, str]] = []
    for index, doc in enumerate(corpus.documents):
        if variants == "standard":
            chosen: Iterable[str] = variants_for(doc, index)
        elif variants == "pdf":
            chosen = ("pdf",)
        else:
            names = ("pdf", *PHOTOGRAPHED) if variants == "all" else tuple(variants)
            chosen = [v for v in names if v != "two_up" or (doc.page_count == 2 and not doc.parts)]
        out.extend((doc, v) for v in chosen)
    return out


@dataclass
class Scoreboard:
    items: list[ItemResult] = field(default_factory=list)
    render_seconds: float = 0.0

    def singles(self) -> Iterator[ItemResult]:
        return (i for i in self.items if i.doc_type != BUNDLE)

    def bundles(self) -> Iterator[ItemResult]:
        return (i for i in self.items if i.doc_type == BUNDLE)

    def field_results(self, with_bundle_parts: bool = False) -> Iterator[FieldResult]:
        for item in self.items:
            yield from item.fields
            if with_bundle_parts:
                for part in item.parts:
                    yield from part.fields

    def verified_wrong(self) -> list[FieldResult]:
        return [f for f in self.field_results(with_bundle_parts=True) if f.verified_wrong]


async def evaluate(
    processor: DocumentProcessor,
    corpus: Corpus,
    files: Sequence[tuple[CorpusDocument, str]],
    *,
    progress: Callable[[ItemResult], None] | None = None,
) -> Scoreboard:
    """Render each file, run it through the pipeline, score it. One file at a time: the
    pipeline already uses the cores for OCR, and pdfium must not render in two threads."""
    board = Scoreboard()
    for doc, variant in files:
        started = time.monotonic()
        file = await asyncio.to_thread(render, doc, variant, corpus.seed)
        board.render_seconds += time.monotonic() - started
        started = time.monotonic()
        try:
            result = await processor.process(file.data, file.filename)
            prediction = prediction_from(result)
            error = ""
        except RMAError as exc:  # scored as a miss, and said
            prediction, error = Prediction(FAILED), f"{type(exc).__name__}: {exc}"
        item = score(doc, file, prediction)
        item.seconds = time.monotonic() - started
        item.error = error
        board.items.append(item)
        if progress is not None:
            progress(item)
    return board


# ------------------------------------------------------------------ report


def _pct(right: int, total: int) -> str:
    return f"{right}/{total} ({right / total:.1%})" if total else "-"


def confusion_matrix(items: Iterable[ItemResult]) -> str:
    """Rows: the key's type; columns: the pipeline's. Only types that occur are shown."""
    counts = Counter((i.doc_type, i.predicted_type) for i in items)
    rows = [t for t in ALL_TYPES if any(k[0] == t for k in counts)]
    extra = sorted({p for _, p in counts} - set(ALL_TYPES))
    cols = [t for t in ALL_TYPES if any(k[1] == t for k in counts)] + extra
    short = {t: f"c{n}" for n, t in enumerate(cols, 1)}
    out = [
        "| key \\ pipeline | " + " | ".join(short[c] for c in cols) + " | right |",
        "|---" * (len(cols) + 2) + "|",
    ]
    for t in rows:
        total = sum(counts[(t, c)] for c in cols)
        cells = [str(counts[(t, c)] or "") for c in cols]
        out.append(f"| {t} | " + " | ".join(cells) + f" | {_pct(counts[(t, t)], total)} |")
    out.append("")
    out.append("Columns: " + ", ".join(f"{short[c]} = {c}" for c in cols))
    return "\n".join(out)


def _field_row(name: str, results: list[FieldResult], documents: int) -> str:
    c = Counter(f.outcome for f in results)
    expected = c["right"] + c["missing"] + c["wrong"]
    wrong_verified = sum(f.verified_wrong for f in results if f.outcome == "wrong")
    extra_verified = sum(f.verified_wrong for f in results if f.outcome == "extra")
    on_page = sum(1 for f in results if f.page_right)
    return (
        f"| {name} | {documents} | {_pct(c['right'], expected)} | {c['missing']} | {c['wrong']} "
        f"| {wrong_verified} | {c['extra']} | {extra_verified} | {on_page} | {c['unscored']} |"
    )


FIELD_HEADER = (
    "| | files | fields right | missing | wrong | of which verified | values not on the page "
    "| of which verified | right on the right page | unscored names |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def report(board: Scoreboard) -> str:
    """The whole score as Markdown."""
    singles = list(board.singles())
    out: list[str] = []
    type_right = sum(i.predicted_type == i.doc_type for i in singles)
    vw = board.verified_wrong()
    fields = [f for i in singles for f in i.fields]
    c = Counter(f.outcome for f in fields)
    out.append(
        f"- files scored: {len(board.items)} ({len(singles)} single documents, "
        f"{len(board.items) - len(singles)} bundles)"
    )
    out.append(f"- type right: {_pct(type_right, len(singles))}")
    out.append(f"- fields right: {_pct(c['right'], c['right'] + c['missing'] + c['wrong'])}")
    out.append(f"- verified but wrong: {len(vw)}")
    failed = [i for i in board.items if i.error]
    if failed:
        out.append(f"- files the pipeline refused: {len(failed)} ({failed[0].error})")
    out.append("")
    out.append("### Document type\n")
    out.append(confusion_matrix(singles))
    out.append("")
    out.append("### Fields by document type\n")
    out.append(FIELD_HEADER)
    for t in ALL_TYPES:
        of_type = [i for i in singles if i.doc_type == t]
        if of_type:
            out.append(_field_row(t, [f for i in of_type for f in i.fields], len(of_type)))
    out.append(_field_row("**all**", fields, len(singles)))
    out.append("")
    out.append("### By variant\n")
    out.append("| variant | files | type right | fields right | verified but wrong | s/file |")
    out.append("|---|---|---|---|---|---|")
    for variant in dict.fromkeys(i.variant for i in board.items):
        items = [i for i in singles if i.variant == variant]
        if not items:
            continue
        vf = [f for i in items for f in i.fields]
        vc = Counter(f.outcome for f in vf)
        seconds = sum(i.seconds for i in items) / len(items)
        typed = sum(i.predicted_type == i.doc_type for i in items)
        out.append(
            f"| {variant} | {len(items)} | {_pct(typed, len(items))} "
            f"| {_pct(vc['right'], vc['right'] + vc['missing'] + vc['wrong'])} "
            f"| {sum(f.verified_wrong for f in vf)} | {seconds:.1f} |"
        )
    out.append("")
    out.append("### Statements\n")
    out.append(_sums_line(fields))
    rows = sum(i.rows_expected for i in singles)
    out.append(
        f"- statement rows read (date, description, out, in, balance all right): "
        f"{_pct(sum(i.rows_right for i in singles), rows)}"
    )
    out.append("")
    out.append("### Bundles\n")
    out.append(_bundle_lines(list(board.bundles())))
    if vw:
        out.append("")
        out.append("### Verified but wrong\n")
        out.append("| file | variant | field | key | pipeline |")
        out.append("|---|---|---|---|---|")
        for f in vw[:40]:
            out.append(f"| {f.document} | {f.variant} | {f.field} | {f.expected!r} | {f.got!r} |")
        if len(vw) > 40:
            out.append(f"| ... {len(vw) - 40} more | | | | |")
    return "\n".join(out)


def _sums_line(fields: list[FieldResult]) -> str:
    sums = [f for f in fields if f.field == "sums_add_up"]
    planted = [f for f in sums if f.expected is False]
    clean = [f for f in sums if f.expected is True]
    caught = sum(f.outcome == "right" for f in planted)
    false_alarms = sum(normal(Kind.FLAG, f.got) is False for f in clean)
    silent = sum(f.outcome == "missing" for f in sums)
    return (
        f"- sums check: planted faults flagged {_pct(caught, len(planted))}; statements that "
        f"add up flagged anyway {false_alarms} of {len(clean)}; no answer given {silent} of "
        f"{len(sums)}"
    )


def _bundle_lines(bundles: list[ItemResult]) -> str:
    if not bundles:
        return "- no bundles scored"
    parts = [p for b in bundles for p in b.parts]
    pf = Counter(f.outcome for p in parts for f in p.fields)
    return "\n".join(
        (
            f"- split right (every document's page range): "
            f"{_pct(sum(bool(b.split_right) for b in bundles), len(bundles))}",
            f"- documents in bundles found and typed right: "
            f"{_pct(sum(p.predicted_type == p.doc_type for p in parts), len(parts))}",
            f"- their fields right: {_pct(pf['right'], pf['right'] + pf['missing'] + pf['wrong'])}",
        )
    )
