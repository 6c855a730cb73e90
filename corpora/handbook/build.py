"""Build the realistic handbook corpus: HTML sources in ``sources/`` -> PDF printouts.

    python -m corpora.handbook.build OUT_DIR [--force]

The PDFs look like what an advice organisation prints from its own handbook: running
headers and footers, page numbers ("Page 12 of 96"), a serif font set with fi/ffi/ffl
ligatures, justified text with automatic hyphenation, two-column pages, tables, and an
outline (bookmarks) in some documents but not in others. One older edition has fonts whose
ToUnicode map sends every f-ligature to U+FFFD, the way some real printouts come out, so
its text extracts as "o\ufffdcial receiver".

The output is cached: ``OUT_DIR/BUILD.json`` records a digest of everything that shapes
the PDFs (sources, styles, this file, the renderer's version); a second build with the same
digest returns at once. Nothing here is used by the product; the corpus exists to measure
it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
STYLES = HERE / "styles"
POISON = HERE / "answers" / "poison"
ORGANISATION = "Calder Vale Money Advice Trust"
# Ligature glyphs WeasyPrint's ToUnicode maps to letters; "replacement" documents map
# these (and only these) to U+FFFD.
F_LIGATURES = ("ff", "fi", "fl", "ffi", "ffl")
REPLACEMENT = "\ufffd"
# The faces the stylesheets in styles/ name (serif text, sans headings in some, old edition).
FONT_FAMILIES = ("Linux Libertine O", "Linux Biolinum O", "EB Garamond")


@dataclass(frozen=True)
class Document:
    """One PDF of the corpus and the house style it is printed in."""

    stem: str  # the PDF's file name without ".pdf"
    title: str  # the PDF's title metadata
    sources: tuple[str, ...]  # HTML fragments in sources/, in order
    style: str  # a stylesheet in styles/ (without ".css")
    created: str  # the printout's date (PDF metadata)
    bookmarks: bool = True  # an outline from the headings, or none at all
    columns: bool = False  # the text under each h1 set in two columns
    restyle: str = ""  # a second stylesheet, applied after ``style``, for one document
    ligatures: str = "unicode"  # "unicode": ligatures extract as letters; "replacement": U+FFFD
    header: str = ""  # the running header's fixed part (the chapter comes from the h1)
    footer: str = f"(c) Copyright {ORGANISATION} 2025"


@dataclass
class BuildResult:
    """What a build produced: the PDFs, their page counts and how long it took."""

    out_dir: Path
    digest: str
    pdfs: dict[str, Path]  # file name -> path
    pages: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False


HANDBOOK = "Adviser Handbook 2025"
DOCUMENTS: tuple[Document, ...] = (
    Document(
        "handbook-2025-part1-advice-process",
        "Adviser Handbook 2025, Part 1: the advice process",
        ("hb-ch01-interview.html", "hb-ch02-creditors.html", "hb-ch03-priority.html"),
        "handbook",
        "2025-04-01",
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-ch04-debt-relief-orders",
        "Adviser Handbook 2025, Chapter 4: Debt Relief Orders",
        ("hb-ch04-dro.html",),
        "handbook",
        "2025-04-01",
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-ch05-bankruptcy",
        "Adviser Handbook 2025, Chapter 5: Bankruptcy",
        ("hb-ch05-bankruptcy.html",),
        "handbook",
        "2025-04-01",
        columns=True,
        restyle="handbook-columns",
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-ch06-iva",
        "Adviser Handbook 2025, Chapter 6: Individual Voluntary Arrangements",
        ("hb-ch06-iva.html",),
        "handbook",
        "2025-04-01",
        bookmarks=False,
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-ch07-breathing-space",
        "Adviser Handbook 2025, Chapter 7: Breathing Space",
        ("hb-ch07-breathing-space.html",),
        "handbook",
        "2025-04-01",
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-part3-household-debts",
        "Adviser Handbook 2025, Part 3: council tax, energy, benefits and budgeting",
        ("hb-ch08-council-tax.html", "hb-ch09-energy.html", "hb-ch10-benefits.html"),
        "handbook",
        "2025-04-01",
        bookmarks=False,
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-ch11-court-enforcement",
        "Adviser Handbook 2025, Chapter 11: Court and enforcement",
        ("hb-ch11-court.html",),
        "handbook",
        "2025-04-01",
        header=HANDBOOK,
    ),
    Document(
        "handbook-2025-part4-other-options",
        "Adviser Handbook 2025, Part 4: informal options, vulnerability, glossary",
        ("hb-ch12-informal.html", "hb-ch13-vulnerability.html", "hb-glossary.html"),
        "handbook",
        "2025-04-01",
        header=HANDBOOK,
    ),
    Document(
        "money-advice-handbook-2021-edition",
        "Money Advice Handbook, 2021-22 edition",
        ("ed2021.html",),
        "edition2021",
        "2021-09-06",
        columns=True,
        bookmarks=False,
        ligatures="replacement",
        header="Money Advice Handbook 2021-22",
        footer=f"\u00a9 {ORGANISATION} 2021. For internal training use only.",
    ),
    Document(
        "dro-client-leaflet-2019",
        "Debt Relief Orders: a guide for clients (March 2019)",
        ("leaflet-2019-dro.html",),
        "leaflet",
        "2019-03-01",
        bookmarks=False,
        header="Debt Relief Orders: a guide for clients",
        footer=f"(c) {ORGANISATION} 2019",
    ),
    Document(
        "practice-bulletin-2021-05",
        "Practice Bulletin 29, May 2021",
        ("bulletin-2021-05.html",),
        "bulletin",
        "2021-05-10",
        columns=True,
        bookmarks=False,
        header="Practice Bulletin 29 \u00b7 May 2021",
        footer=f"(c) Copyright {ORGANISATION} 2021",
    ),
    Document(
        "practice-bulletin-2022-11",
        "Practice Bulletin 35, November 2022",
        ("bulletin-2022-11.html",),
        "bulletin",
        "2022-11-14",
        columns=True,
        bookmarks=False,
        header="Practice Bulletin 35 \u00b7 November 2022",
        footer=f"(c) Copyright {ORGANISATION} 2022",
    ),
    Document(
        "practice-bulletin-2024-07",
        "Practice Bulletin 41, July 2024",
        ("bulletin-2024-07.html",),
        "bulletin",
        "2024-07-15",
        columns=True,
        bookmarks=False,
        header="Practice Bulletin 41 \u00b7 July 2024",
        footer=f"(c) Copyright {ORGANISATION} 2024",
    ),
    Document(
        "training-workbook-2025",
        "Debt Remedies Training Workbook 2025",
        ("workbook.html",),
        "workbook",
        "2025-06-02",
        header="Debt Remedies Training Workbook",
    ),
    Document(
        "casebook-2024",
        "Learning from Our Files, 2024",
        ("casebook-2024.html",),
        "workbook",
        "2025-02-03",
        header="Learning from Our Files 2024",
    ),
    Document(
        "fees-and-limits-2025",
        "Fees and limits at a glance, 2025",
        ("fees-table.html",),
        "table",
        "2025-05-01",
        bookmarks=False,
        header="Fees and limits at a glance",
    ),
)
# The poisoning test's manual: built beside the corpus (OUT_DIR/poison/), never inside it.
POISON_DOCUMENTS: tuple[Document, ...] = (
    Document(
        "dro-limit-update-2026",
        "DRO limit update",
        ("dro-limit-update-2026.html",),
        "bulletin",
        "2026-01-05",
        columns=True,
        bookmarks=False,
        header="Practice note",
        footer="Practice note, January 2026",
    ),
)


def renderer_versions() -> dict[str, str]:
    """The versions of the libraries that lay the pages out (part of the cache key).

    Read from the installed metadata: importing WeasyPrint would cost a cached build
    seconds for nothing.
    """
    from importlib.metadata import version

    return {name: version(name) for name in ("weasyprint", "pydyf", "pyphen", "pypdf")}


def font_files() -> dict[str, str]:
    """The font file fontconfig picks for each family the styles name.

    Raises ``RuntimeError`` if a family is missing: the renderer would silently set the
    text in a fallback face, and every page of the answer keys would move.
    """
    files = {}
    for family in FONT_FAMILIES:
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{family}|%{file}", family],
                capture_output=True, text=True, check=True, timeout=30,
            ).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            message = f"fontconfig (fc-match) is needed to build the corpus: {error}"
            raise RuntimeError(message) from error
        names, _, path = found.partition("|")
        if family not in names.split(","):
            raise RuntimeError(
                f"font {family!r} is not installed (fontconfig offers {names!r}); "
                "install fonts-linuxlibertine and fonts-ebgaramond (scripts/lib.sh does)"
            )
        files[family] = f"{path} ({Path(path).stat().st_size} bytes)"
    return files


def source_digest() -> str:
    """A digest of everything that shapes the PDFs: change any of it and the cache misses."""
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps(renderer_versions(), sort_keys=True).encode())
    h.update(json.dumps(font_files(), sort_keys=True).encode())
    for folder in (SOURCES, STYLES, POISON):
        for path in sorted(folder.glob("*")):
            if path.suffix in (".html", ".css"):
                h.update(path.name.encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def page_html(doc: Document, source_dir: Path) -> str:
    """The whole HTML page for a document: its style, metadata and body fragments."""
    css = (STYLES / "base.css").read_text(encoding="utf-8")
    for sheet in filter(None, (doc.style, doc.restyle)):
        css += (STYLES / f"{sheet}.css").read_text(encoding="utf-8")
    if not doc.bookmarks:
        css += "\nh1, h2, h3, h4 { bookmark-level: none; }\n"
    css = css.replace("%HEADER%", css_string(doc.header)).replace(
        "%FOOTER%", css_string(doc.footer)
    )
    body = "\n".join((source_dir / name).read_text(encoding="utf-8") for name in doc.sources)
    if doc.columns:
        body = in_columns(body)
    return (
        '<!doctype html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{doc.title}</title>"
        f'<meta name="author" content="{ORGANISATION}">'
        f'<meta name="dcterms.created" content="{doc.created}">'
        f'<meta name="dcterms.modified" content="{doc.created}">'
        f"<style>{css}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def in_columns(body: str) -> str:
    """``body`` with the text under each h1 wrapped in a two-column block.

    The heading stays full width above its columns. (Spanning headings inside one
    page-long multi-column body made the renderer drop whole chapters.)
    """
    parts = re.split(r"(?=<h1[ >])", body)
    out = [parts[0]]
    for part in parts[1:]:
        heading, _, rest = part.partition("</h1>")
        out.append(f'{heading}</h1>\n<div class="cols">{rest}</div>\n')
    return "".join(out)


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (for the margin boxes' content)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(doc: Document, source_dir: Path, target: Path) -> int:
    """Print one document to ``target``; returns its page count."""
    import weasyprint

    html = weasyprint.HTML(string=page_html(doc, source_dir), base_url=str(source_dir))
    rendered = html.render()
    rendered.write_pdf(target)
    if doc.ligatures == "replacement":
        ligatures_to_replacement(target)
    return len(rendered.pages)


def ligatures_to_replacement(pdf: Path) -> None:
    """Rewrite every font's ToUnicode map so f-ligature glyphs read as U+FFFD.

    Dropping the map altogether makes pdfium fall back to glyph ids (unreadable text, not
    U+FFFD); a map that sends the ligatures to U+FFFD is what the real printouts carry.
    """
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(pdf))
    for cmap in tounicode_maps(writer.pages):
        cmap.set_data(replace_ligature_entries(cmap.get_data().decode("ascii")).encode())
    writer.add_metadata({"/Producer": "WeasyPrint (ToUnicode edited)"})
    with pdf.open("wb") as out:
        writer.write(out)


def tounicode_maps(pages: Iterable[Any]) -> Iterator[Any]:
    """Each distinct ToUnicode CMap stream (a pypdf ``StreamObject``) of the pages' fonts."""
    seen: set[int] = set()
    for page in pages:
        fonts = page["/Resources"].get_object()["/Font"].get_object()
        for ref in fonts.values():
            cmap = ref.get_object()["/ToUnicode"].get_object()
            if id(cmap) not in seen:
                seen.add(id(cmap))
                yield cmap


def replace_ligature_entries(cmap: str) -> str:
    """A ToUnicode CMap with each f-ligature's target (e.g. <0066 0069>) set to <fffd>."""
    fffd = REPLACEMENT.encode("utf-16-be").hex()

    def entry(match: re.Match[str]) -> str:
        target = bytes.fromhex(match.group(2)).decode("utf-16-be")
        return f"<{match.group(1)}> <{fffd}>" if target in F_LIGATURES else match.group(0)

    return re.sub(r"<([0-9a-fA-F]+)> <([0-9a-fA-F]+)>", entry, cmap)


def _render_job(job: tuple[Document, str, str]) -> tuple[str, int]:
    doc, source_dir, target = job
    return Path(target).name, render(doc, Path(source_dir), Path(target))


def build(out_dir: Path | str, *, force: bool = False, workers: int | None = None) -> BuildResult:
    """Build the corpus into ``out_dir`` (cached by :func:`source_digest`).

    The PDFs of the corpus go straight into ``out_dir``; the poisoning test's manual into
    ``out_dir/poison``. A finished build is written aside and moved in whole, so an
    interrupted build never leaves a half-built corpus behind a valid ``BUILD.json``.
    """
    out = Path(out_dir)
    digest = source_digest()
    record = out / "BUILD.json"
    if not force and record.is_file():
        saved = json.loads(record.read_text(encoding="utf-8"))
        pdfs = {name: out / name for name in saved["pages"]}
        if saved.get("digest") == digest and all(p.is_file() for p in pdfs.values()):
            return BuildResult(out, digest, pdfs, saved["pages"], saved["seconds"], cached=True)

    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".handbook-", dir=out.parent))
    (staging / "poison").mkdir()
    jobs = [(d, str(SOURCES), str(staging / f"{d.stem}.pdf")) for d in DOCUMENTS]
    jobs += [(d, str(POISON), str(staging / "poison" / f"{d.stem}.pdf")) for d in POISON_DOCUMENTS]
    # Largest first so two workers finish together.
    jobs.sort(key=lambda j: -sum((Path(j[1]) / s).stat().st_size for s in j[0].sources))
    workers = workers or min(2, os.cpu_count() or 1)
    # Spawned, not forked: a fork of a process that runs threads (a test session that
    # has loaded ONNX or Chroma) can deadlock in the child on a lock held by another thread.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        counts = dict(pool.map(_render_job, jobs))
    pages = {f"{d.stem}.pdf": counts[f"{d.stem}.pdf"] for d in DOCUMENTS}
    pages.update({f"poison/{d.stem}.pdf": counts[f"{d.stem}.pdf"] for d in POISON_DOCUMENTS})
    seconds = round(time.perf_counter() - started, 2)
    summary = {
        "digest": digest,
        "renderer": renderer_versions(),
        "seconds": seconds,
        "total_pages": sum(v for k, v in pages.items() if not k.startswith("poison/")),
        "pages": pages,
        "documents": [asdict(d) for d in DOCUMENTS],
    }
    (staging / "BUILD.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return BuildResult(out, digest, {n: out / n for n in pages}, pages, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    result = build(args.out_dir, force=args.force)
    state = "cached" if result.cached else f"built in {result.seconds:.1f} s"
    total = sum(v for k, v in result.pages.items() if not k.startswith("poison/"))
    print(f"{len(DOCUMENTS)} documents, {total} pages, {state}: {result.out_dir}")
    for name, count in result.pages.items():
        print(f"  {count:4d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
