"""Build the sample PDF manuals from their Markdown sources in ``pdf-sources/``.

    python manuals/build_pdfs.py

Each ``#``/``##`` heading becomes a bold line and each paragraph a wrapped block, so the
PDF has a real text layer. Sections listed in ``SCANNED_SECTIONS`` are drawn as a picture
of text on a page of their own, with no text layer, the way a scanned page arrives; the
ingester has to read that page with OCR.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "pdf-sources"
# document stem -> headings whose section is rendered as an image-only page
SCANNED_SECTIONS = {"breathing-space": {"Mental health crisis breathing space"}}
# documents where every second-level section starts a new page (so citations name pages)
PAGE_PER_SECTION = {"bankruptcy"}

PAGE_W, PAGE_H = A4
MARGIN = 60
BODY_SIZE = 11
LEADING = 15
# Fixed metadata so rebuilding gives byte-identical files (ingestion is idempotent by hash).
FIXED_DATE = "D:20250101000000+00'00'"


def blocks(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: kind is "h1", "h2" or "p"; paragraphs joined onto one line."""
    out: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(("p", " ".join(para)))
            para.clear()

    for line in markdown.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            flush()
            out.append(("h1" if len(heading.group(1)) == 1 else "h2", heading.group(2).strip()))
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
    flush()
    return out


def wrap(text: str, width: float, measure) -> list[str]:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if measure(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def scanned_image(section: list[tuple[str, str]]) -> Image.Image:
    """The section drawn as pixels at 150 dpi: what a scanner would produce."""
    dpi = 150
    width, height = int(PAGE_W / 72 * dpi), int(PAGE_H / 72 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    body = ImageFont.load_default(size=26)
    bold = ImageFont.load_default(size=32)
    margin = int(MARGIN / 72 * dpi)
    y = margin
    for kind, text in section:
        font = body if kind == "p" else bold
        for line in wrap(text, width - 2 * margin, lambda s, f=font: draw.textlength(s, font=f)):
            draw.text((margin, y), line, font=font, fill=0)
            y += int(font.size * 1.45)
        y += int(body.size * 0.8)
    return image


def build(source: Path, target: Path) -> None:
    parts = blocks(source.read_text(encoding="utf-8"))
    scanned = SCANNED_SECTIONS.get(source.stem, set())
    canvas = Canvas(str(target), pagesize=A4, invariant=1)
    canvas.setTitle(parts[0][1] if parts else source.stem)
    canvas.setAuthor("RMA sample manuals")
    canvas.setCreator("manuals/build_pdfs.py")
    y = PAGE_H - MARGIN

    def new_page() -> None:
        nonlocal y
        canvas.showPage()
        y = PAGE_H - MARGIN

    i = 0
    while i < len(parts):
        kind, text = parts[i]
        if kind != "p" and text in scanned:
            section = [parts[i]]
            i += 1
            while i < len(parts) and parts[i][0] == "p":
                section.append(parts[i])
                i += 1
            if y < PAGE_H - MARGIN:
                new_page()
            png = io.BytesIO()
            scanned_image(section).save(png, format="PNG")
            canvas.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, PAGE_W, PAGE_H)
            new_page()
            continue
        font, size = (
            ("Helvetica-Bold", 16 if kind == "h1" else 13)
            if kind != "p"
            else (
                "Helvetica",
                BODY_SIZE,
            )
        )
        lines = wrap(
            text, PAGE_W - 2 * MARGIN, lambda s, f=font, z=size: canvas.stringWidth(s, f, z)
        )
        needed = len(lines) * LEADING + (LEADING if kind != "p" else 0)
        fresh = kind == "h2" and source.stem in PAGE_PER_SECTION and y < PAGE_H - MARGIN
        if fresh or y - needed < MARGIN:
            new_page()
        if kind != "p":
            y -= LEADING / 2
        canvas.setFont(font, size)
        for line in lines:
            canvas.drawString(MARGIN, y, line)
            y -= LEADING if kind == "p" else size + 6
        y -= LEADING / 2
        i += 1
    canvas.save()


def main() -> None:
    for source in sorted(SOURCES.glob("*.md")):
        target = HERE / f"{source.stem}.pdf"
        build(source, target)
        print(f"wrote {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
