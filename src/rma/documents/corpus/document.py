"""A generated document: its pages as layout blocks, its house style, and its answer key.

Generators build a document with a :class:`Sheet`: every value that goes into the key is
written through :meth:`Sheet.put`, which returns the text to print and records the
value, the page it is printed on and the printed text. The key is therefore the
generator's own inputs, never read back from the rendered page. Page breaks are
explicit, so a value's page is known when it is written; the renderer refuses a page
that overflows rather than moving text to another page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Align = Literal["left", "right", "center"]
TextStyle = Literal["body", "bold", "small", "heading", "title", "mono"]


@dataclass(frozen=True)
class Text:
    """A line, or a paragraph wrapped to the page width."""

    text: str
    style: TextStyle = "body"
    align: Align = "left"
    indent: float = 0.0


@dataclass(frozen=True)
class Gap:
    points: float = 8.0


@dataclass(frozen=True)
class Rule:
    """A thin horizontal line across the text width."""


@dataclass(frozen=True)
class Pair:
    """Two columns side by side: an address on the left, a reference box on the right."""

    left: tuple[str, ...]
    right: tuple[str, ...]
    boxed: bool = False


@dataclass(frozen=True)
class Grid:
    """Label and value lines with the values aligned: "Account number   12345678"."""

    rows: tuple[tuple[str, str], ...]
    boxed: bool = False
    bold_values: bool = False


@dataclass(frozen=True)
class Table:
    """A table: header row, body rows, each column's share of the width and alignment."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    align: tuple[Align, ...]
    ruled: bool = True
    shaded: bool = False
    style: TextStyle = "body"


@dataclass(frozen=True)
class Box:
    """Lines inside a border, e.g. the amount to pay."""

    lines: tuple[str, ...]
    style: TextStyle = "bold"


Block = Text | Gap | Rule | Pair | Grid | Table | Box


@dataclass(frozen=True)
class HouseStyle:
    """How a sender's papers look: font, size, margins, letterhead, colour."""

    font: Literal["helvetica", "times", "courier", "dejavu-sans", "dejavu-serif"]
    size: float
    margin: float
    letterhead: Literal["plain", "band", "centred", "logo", "none"]
    accent: tuple[float, float, float]
    page_numbers: bool = True


@dataclass(frozen=True)
class Letterhead:
    name: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyField:
    """One value in the answer key: normalised, the page it is on, the text printed."""

    value: Any
    page: int
    printed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "page": self.page, "printed": list(self.printed)}


@dataclass(frozen=True)
class Transaction:
    """One row of a statement's table; amounts in pence, ``balance`` None where not printed."""

    date: str
    description: str
    money_out: int | None
    money_in: int | None
    balance: int | None
    page: int
    printed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "description": self.description,
            "out": self.money_out,
            "in": self.money_in,
            "balance": self.balance,
            "page": self.page,
            "printed": list(self.printed),
        }


KeyValue = KeyField | list[KeyField]


@dataclass
class CorpusDocument:
    """A labelled document; a bundle's ``parts`` are the documents in it, in page order."""

    id: str
    doc_type: str
    style: HouseStyle
    pages: list[list[Block]]
    letterhead: Letterhead | None = None
    footer: tuple[str, ...] = ()
    fields: dict[str, KeyValue] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    parts: list[BundlePart] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        if self.parts:
            return sum(p.document.page_count for p in self.parts)
        return len(self.pages)

    def key(self) -> dict[str, Any]:
        """The answer key as JSON-ready data."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.doc_type,
            "pages": self.page_count,
            "labels": self.labels,
        }
        if self.parts:
            out["parts"] = [
                {"first_page": p.first_page, "last_page": p.last_page, **p.document.key()}
                for p in self.parts
            ]
            return out
        out["fields"] = {
            name: [item.as_dict() for item in v] if isinstance(v, list) else v.as_dict()
            for name, v in self.fields.items()
        }
        if self.transactions:
            out["transactions"] = [t.as_dict() for t in self.transactions]
        return out


@dataclass
class BundlePart:
    first_page: int
    last_page: int
    document: CorpusDocument


class KeyConflict(ValueError):
    """A generator wrote one field twice with different values: a bug in the generator."""


class Sheet:
    """Builds a :class:`CorpusDocument` page by page, recording the key as it writes."""

    def __init__(
        self,
        doc_id: str,
        doc_type: str,
        style: HouseStyle,
        letterhead: Letterhead | None = None,
        footer: tuple[str, ...] = (),
    ) -> None:
        self.doc = CorpusDocument(doc_id, doc_type, style, [[]], letterhead, footer)

    @property
    def page(self) -> int:
        return len(self.doc.pages)

    def add(self, *blocks: Block) -> None:
        self.doc.pages[-1].extend(blocks)

    def line(self, text: str, style: TextStyle = "body", align: Align = "left") -> None:
        self.add(Text(text, style, align))

    def gap(self, points: float = 8.0) -> None:
        self.add(Gap(points))

    def new_page(self) -> None:
        self.doc.pages.append([])

    def put(self, name: str, value: Any, printed: str, *also: str) -> str:
        """Record ``name`` = ``value`` as printed on this page; returns ``printed``.

        ``also`` are further strings on the same page that state the value (a date's
        weekday is not part of it; a range's two ends are).
        """
        known = self.doc.fields.get(name)
        if isinstance(known, KeyField):
            if known.value != value:
                raise KeyConflict(f"{self.doc.id}: {name} written as {known.value} and {value}")
            return printed
        self.doc.fields[name] = KeyField(value, self.page, (printed, *also))
        return printed

    def implied(self, name: str, value: Any) -> None:
        """Record a value the page implies but does not print (a statement's unprinted
        totals, whether its sums add up): the key holds it, printed as nothing."""
        self.doc.fields[name] = KeyField(value, self.page, ())

    def put_item(self, name: str, value: dict[str, Any], *printed: str) -> None:
        """Add one item to the list field ``name`` (an income line, an element...)."""
        items = self.doc.fields.setdefault(name, [])
        assert isinstance(items, list)
        items.append(KeyField(value, self.page, printed))

    def transaction(self, row: Transaction) -> None:
        self.doc.transactions.append(row)

    def label(self, text: str) -> None:
        """A hard case or planted fault this document carries, named in the key."""
        self.doc.labels.append(text)

    def done(self) -> CorpusDocument:
        return self.doc
