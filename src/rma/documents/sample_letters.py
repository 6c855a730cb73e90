"""Synthetic client letters with known fields, for tests and the OCR evaluation.

Each :class:`SampleLetter` is plain text plus the fields an adviser would pull from it.
``render_png`` draws it as a page image (clean, skewed, turned, noisy, faded or small,
like a phone photo or a poor scan); ``render_pdf`` writes it with a real text layer, or as a
scanned page (an image only). Names, references and amounts are invented.

    python -m rma.documents.sample_letters --out samples/documents
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from rma.text import format_date, format_money

Condition = Literal["clean", "skewed", "turned", "noisy", "faded", "small"]
CONDITIONS: tuple[Condition, ...] = ("clean", "skewed", "turned", "noisy", "faded", "small")
PAGE_DPI = 200
A4_INCHES = (8.27, 11.69)


@dataclass
class SampleLetter:
    """A letter's text (one string per line) and the fields it states."""

    name: str
    doc_type: str
    lines: list[str]
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _money(value: float) -> str:
    return format_money(Decimal(str(value)), pence=True)


def _ref(rng: random.Random, prefix: str, digits: int) -> str:
    return prefix + "".join(rng.choice("0123456789") for _ in range(digits))


def _letter_date(rng: random.Random) -> date:
    return date(2025, 1, 6) + timedelta(days=rng.randrange(0, 300))


def creditor_letter(rng: random.Random) -> SampleLetter:
    creditor = rng.choice(["Northgate Bank plc", "Harbour Credit Cards Ltd", "Pennine Loans Ltd"])
    account = _ref(rng, "", 8)
    balance = rng.randrange(80_000, 900_000) / 100
    arrears = round(balance * rng.uniform(0.05, 0.2), 2)
    sent = _letter_date(rng)
    deadline = sent + timedelta(days=14)
    lines = [
        creditor,
        "Customer Services, PO Box 4410, Leeds LS1 9ZZ",
        "",
        "Ms J Sample",
        "12 Example Road",
        "Sheffield S1 2AB",
        "",
        f"Date: {sent:%d/%m/%Y}",
        f"Account number: {account}",
        "",
        "Your account is in arrears",
        "",
        "Dear Ms Sample,",
        f"We have not received your last payments. Your account is {_money(arrears)} in",
        "arrears and we need you to contact us.",
        f"Outstanding balance: {_money(balance)}",
        f"Arrears: {_money(arrears)}",
        f"Please pay the arrears or call us by {format_date(deadline)} to discuss a plan.",
        "If you are struggling, free debt advice is available.",
        "",
        "Yours sincerely,",
        "Collections Team",
    ]
    fields = {
        "creditor": creditor,
        "account_reference": account,
        "balance": f"{balance:.2f}",
        "arrears": f"{arrears:.2f}",
        "letter_date": sent.isoformat(),
        "deadline": deadline.isoformat(),
    }
    return SampleLetter("creditor-letter", "creditor_letter", lines, fields)


def debt_collection_letter(rng: random.Random) -> SampleLetter:
    agency = rng.choice(["Redwood Recoveries Ltd", "Lowland Collections Ltd"])
    original = rng.choice(["Harbour Credit Cards Ltd", "Brightphone Mobile"])
    account = _ref(rng, "RR-", 7)
    balance = rng.randrange(20_000, 400_000) / 100
    sent = _letter_date(rng)
    deadline = sent + timedelta(days=21)
    lines = [
        agency,
        "Recoveries Department, 3 Mill Lane, Bolton BL1 1AA",
        "",
        f"Date: {format_date(sent)}",
        f"Our reference: {account}",
        f"Original creditor: {original}",
        "",
        "Notice of debt collection",
        "",
        f"We have been instructed by {original} to collect this debt on their behalf.",
        f"The balance outstanding is {_money(balance)}.",
        f"Please pay in full or agree a repayment plan by {format_date(deadline)}.",
        "This is a debt collection letter from a collection agency.",
        "",
        "Yours faithfully,",
        agency,
    ]
    fields = {
        "creditor": original,
        "account_reference": account,
        "balance": f"{balance:.2f}",
        "letter_date": sent.isoformat(),
        "deadline": deadline.isoformat(),
    }
    return SampleLetter("debt-collection-letter", "debt_collection_letter", lines, fields)


def default_notice(rng: random.Random) -> SampleLetter:
    creditor = rng.choice(["Pennine Loans Ltd", "Northgate Bank plc"])
    account = _ref(rng, "PL", 9)
    arrears = rng.randrange(15_000, 120_000) / 100
    balance = round(arrears * rng.uniform(4, 12), 2)
    sent = _letter_date(rng)
    deadline = sent + timedelta(days=rng.choice([14, 16, 21]))
    lines = [
        creditor,
        "",
        "DEFAULT NOTICE",
        "served under section 87(1) of the Consumer Credit Act 1974",
        "",
        f"Date of notice: {sent:%d %b %Y}",
        f"Agreement number: {account}",
        "",
        "You have failed to make the payments required by your agreement.",
        f"Amount required to remedy the breach (arrears): {_money(arrears)}",
        f"Total balance outstanding: {_money(balance)}",
        f"You must pay the arrears on or before {format_date(deadline)}.",
        "If you do not take the action required by that date, further action may be",
        "taken against you and your credit file will show a default.",
    ]
    fields = {
        "creditor": creditor,
        "account_reference": account,
        "balance": f"{balance:.2f}",
        "arrears": f"{arrears:.2f}",
        "letter_date": sent.isoformat(),
        "deadline": deadline.isoformat(),
    }
    return SampleLetter("default-notice", "default_notice", lines, fields)


def council_tax_reminder(rng: random.Random) -> SampleLetter:
    council = rng.choice(["Riverside Borough Council", "Westmoor District Council"])
    account = _ref(rng, "", 9)
    balance = rng.randrange(40_000, 220_000) / 100
    arrears = round(balance / 10 * rng.choice([1, 2, 3]), 2)
    sent = _letter_date(rng)
    deadline = sent + timedelta(days=7)
    lines = [
        council,
        "Council Tax Section, Town Hall",
        "",
        f"Date: {sent:%d.%m.%Y}",
        f"Council Tax account reference: {account}",
        "Property band: C",
        "",
        "COUNCIL TAX REMINDER NOTICE",
        "",
        f"Your instalments are overdue. Amount now due (arrears): {_money(arrears)}",
        f"Annual council tax balance: {_money(balance)}",
        f"Pay the amount due within 7 days, by {format_date(deadline)}.",
        "If you do not pay you will lose the right to pay by instalments.",
    ]
    fields = {
        "creditor": council,
        "account_reference": account,
        "balance": f"{balance:.2f}",
        "arrears": f"{arrears:.2f}",
        "letter_date": sent.isoformat(),
        "deadline": deadline.isoformat(),
    }
    return SampleLetter("council-tax-reminder", "council_tax_bill", lines, fields)


def county_court_claim(rng: random.Random) -> SampleLetter:
    claimant = rng.choice(["Harbour Credit Cards Ltd", "Redwood Recoveries Ltd"])
    claim = "K" + _ref(rng, "", 2) + "QZ" + _ref(rng, "", 3)
    amount = rng.randrange(100_000, 800_000) / 100
    issued = _letter_date(rng)
    lines = [
        "Claim Form (N1)",
        "In the County Court Business Centre",
        "",
        f"Claim number: {claim}",
        f"Issue date: {format_date(issued)}",
        "",
        f"Claimant: {claimant}",
        "Defendant: Ms J Sample",
        "",
        "Brief details of claim: money owed under a credit card agreement.",
        f"Amount claimed: {_money(amount)}",
        "You must respond within 14 days of service of this claim form.",
    ]
    fields = {
        "creditor": claimant,
        "claim_number": claim,
        "balance": f"{amount:.2f}",
        "letter_date": issued.isoformat(),
    }
    return SampleLetter("county-court-claim", "county_court_claim", lines, fields)


def enforcement_notice(rng: random.Random) -> SampleLetter:
    firm = rng.choice(["Marches Enforcement Ltd", "Kestrel Enforcement Agents"])
    council = rng.choice(["Riverside Borough Council", "Westmoor District Council"])
    ref = _ref(rng, "EN", 8)
    balance = rng.randrange(30_000, 150_000) / 100
    sent = _letter_date(rng)
    deadline = sent + timedelta(days=8)
    lines = [
        firm,
        "",
        "NOTICE OF ENFORCEMENT",
        "Taking Control of Goods Regulations 2013",
        "",
        f"Date: {format_date(sent)}",
        f"Our reference: {ref}",
        f"Creditor: {council}",
        "",
        "An enforcement agent has been instructed to recover the debt below.",
        f"Total amount outstanding: {_money(balance)}",
        f"Pay by {format_date(deadline)} to avoid a visit to take control of goods.",
    ]
    fields = {
        "creditor": council,
        "account_reference": ref,
        "balance": f"{balance:.2f}",
        "letter_date": sent.isoformat(),
        "deadline": deadline.isoformat(),
    }
    return SampleLetter("enforcement-notice", "enforcement_agent_notice", lines, fields)


TEMPLATES = (
    creditor_letter,
    debt_collection_letter,
    default_notice,
    council_tax_reminder,
    county_court_claim,
    enforcement_notice,
)


def sample_letters(seed: int = 7) -> list[SampleLetter]:
    """One letter of each kind, reproducible from ``seed``."""
    rng = random.Random(seed)
    return [make(rng) for make in TEMPLATES]


# ----------------------------------------------------------------------- rendering


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:  # no DejaVu on this system: Pillow's built-in font still renders
        return ImageFont.load_default(size)


def render_png(letter: SampleLetter, condition: Condition = "clean", seed: int = 0) -> bytes:
    """The letter as an A4 page image in the given condition, PNG-encoded."""
    image = render_image(letter, condition, seed)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def render_image(
    letter: SampleLetter, condition: Condition = "clean", seed: int = 0
) -> Image.Image:
    rng = random.Random(seed)
    width, height = (round(A4_INCHES[0] * PAGE_DPI), round(A4_INCHES[1] * PAGE_DPI))
    paper, ink = (255, 255, 255), (0, 0, 0)
    if condition == "faded":
        paper, ink = (222, 218, 206), (168, 168, 176)
    page = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(page)
    font = _font(round(11 / 72 * PAGE_DPI))
    margin, y, step = round(0.9 * PAGE_DPI), round(0.9 * PAGE_DPI), round(17 / 72 * PAGE_DPI)
    for line in letter.lines:
        if line:
            draw.text((margin, y), line, fill=ink, font=font)
        y += step
    if condition == "skewed":
        page = page.rotate(rng.choice([-2.5, 2.0, 3.0]), expand=True, fillcolor=paper)
    elif condition == "turned":
        page = page.rotate(rng.choice([90, 180, 270]), expand=True)
    elif condition == "noisy":
        page = page.rotate(1.2, expand=True, fillcolor=paper).filter(ImageFilter.GaussianBlur(1.4))
        noise = Image.effect_noise(page.size, 60).convert("RGB")
        page = Image.blend(page, noise, 0.35)
    elif condition == "small":
        # A distant phone photo: about 90 dpi.
        page = page.resize(
            (page.width * 45 // 100, page.height * 45 // 100), Image.Resampling.LANCZOS
        )
    return page


def render_pdf(pages: list[tuple[SampleLetter, bool]]) -> bytes:
    """A PDF with one page per letter: a text layer when the flag is true, else a scan.

    Needs reportlab (a development dependency).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = _font(10)
    face = "Helvetica"
    if isinstance(font, ImageFont.FreeTypeFont):
        pdfmetrics.registerFont(TTFont("DejaVuSans", font.path))
        face = "DejaVuSans"
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    width, height = A4
    for letter, text_layer in pages:
        if text_layer:
            pdf.setFont(face, 11)
            y = height - 65
            for line in letter.lines:
                pdf.drawString(65, y, line)
                y -= 17
        else:
            scan = render_image(letter, "clean").convert("L")
            pdf.drawImage(ImageReader(scan), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def write_samples(out: Path, seed: int = 7) -> int:
    """Every sample letter into ``out``: a PNG per page condition and a PDF. Returns the
    number of files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for letter in sample_letters(seed):
        for condition in CONDITIONS:
            (out / f"{letter.name}-{condition}.png").write_bytes(
                render_png(letter, condition, seed)
            )
            written += 1
        (out / f"{letter.name}.pdf").write_bytes(render_pdf([(letter, True)]))
        written += 1
    return written
