"""The files a client actually sends: the PDF itself, a flat scan, or phone photos with
the damage phone photos have (an angle, a shadow, grain, blur, fading, heavy JPEG
compression, two pages in one shot). Every variant is labelled with what was done and
how much, and says which page of the file holds each page of the document.

Pages are rasterised from the document's own PDF (pdfium), then damaged with Pillow and
numpy, seeded, so a (document, variant, seed) names one exact file.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from rma.documents.corpus.document import CorpusDocument
from rma.documents.corpus.pdf import render_pdf

# Pages are photographed at this resolution before damage (a 12 MP phone shot of an A4
# page resolves about this much of it).
PHOTO_DPI = 200
TABLE = (96, 78, 62)  # the desk under a photographed page

VARIANTS: dict[str, str] = {
    "pdf": "the PDF with its text layer",
    "scan": "a clean flatbed scan in grey, no text layer",
    "skew": "a scan fed in crooked: turned 1.5-4 degrees",
    "perspective": "a phone photo from an angle: the page a trapezium on a desk",
    "uneven_light": "a phone photo with a shadow falling across the page",
    "noise": "a grainy low-light photo: sensor noise and slight softness",
    "blur": "an out-of-focus photo",
    "low_contrast": "a faded print: grey ink on grey paper",
    "jpeg": "a small, heavily compressed JPEG (as messaging apps send)",
    "phone": "all at once: angle, shadow, grain and JPEG compression",
    "two_up": "two pages photographed side by side in one image",
}
PHOTOGRAPHED = tuple(v for v in VARIANTS if v != "pdf")
# The damage each document gets besides its PDF, in turn down the set.
CYCLE = (
    "phone",
    "skew",
    "perspective",
    "uneven_light",
    "noise",
    "blur",
    "low_contrast",
    "jpeg",
    "scan",
)


@dataclass
class RenderedFile:
    """One file of one document in one variant, ready for the pipeline."""

    document_id: str
    variant: str
    filename: str
    data: bytes
    # page_map[i] is the file page (from 1) holding document page i + 1.
    page_map: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> dict[str, Any]:
        return {
            "document": self.document_id,
            "variant": self.variant,
            "what": VARIANTS[self.variant],
            "file": self.filename,
            "page_map": list(self.page_map),
            "params": self.params,
        }


def variants_for(doc: CorpusDocument, index: int) -> tuple[str, ...]:
    """The variants the standard run uses for a document: its PDF and one photographed."""
    if doc.parts:
        return ("pdf", "scan")
    if doc.page_count == 2 and index % 2 == 0:
        return ("pdf", "two_up")
    return ("pdf", CYCLE[index % len(CYCLE)])


def render(doc: CorpusDocument, variant: str, seed: int = 0) -> RenderedFile:
    """The document as one file in ``variant`` (see ``VARIANTS``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    pdf = render_pdf(doc)
    pages = doc.page_count
    if variant == "pdf":
        return RenderedFile(doc.id, variant, f"{doc.id}.pdf", pdf, tuple(range(1, pages + 1)))
    rng = random.Random(f"{seed}/{doc.id}/{variant}")
    images = rasterise(pdf)
    if variant == "two_up":
        if pages != 2:
            raise ValueError(f"{doc.id}: two_up needs a two-page document, not {pages} pages")
        image, params = two_up(images[0], images[1], rng)
        return RenderedFile(
            doc.id, variant, f"{doc.id}-two_up.jpg", _jpeg(image, 80), (1, 1), params
        )
    damaged = [DAMAGE[variant](image, rng) for image in images]
    params = damaged[0][1] if pages == 1 else {"pages": [p for _, p in damaged]}
    out = [image for image, _ in damaged]
    lossy = variant in ("perspective", "uneven_light", "noise", "blur", "jpeg", "phone")
    quality = int(params.get("quality", 85)) if pages == 1 else 85
    if pages == 1:
        if lossy:
            return RenderedFile(
                doc.id, variant, f"{doc.id}-{variant}.jpg", _jpeg(out[0], quality), (1,), params
            )
        return RenderedFile(doc.id, variant, f"{doc.id}-{variant}.png", _png(out[0]), (1,), params)
    return RenderedFile(
        doc.id,
        variant,
        f"{doc.id}-{variant}.pdf",
        _image_pdf(out),
        tuple(range(1, pages + 1)),
        params,
    )


def rasterise(pdf: bytes, dpi: int = PHOTO_DPI) -> list[Image.Image]:
    """Every page of a PDF as an RGB image (pdfium; call it from one thread at a time)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in doc]
    finally:
        doc.close()


# ------------------------------------------------------------------ damage


def _arr(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def _img(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.randrange(2**32))


def scan(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    return image.convert("L").convert("RGB"), {}


def skew(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    degrees = round(rng.choice((-1, 1)) * rng.uniform(1.5, 4.0), 2)
    turned = image.convert("L").rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=228
    )
    return turned.convert("RGB"), {"degrees": degrees}


def _perspective_coeffs(
    src: Sequence[tuple[float, float]], dst: Sequence[tuple[float, float]]
) -> list[float]:
    """The 8 coefficients PIL's PERSPECTIVE transform needs to map ``dst`` back to ``src``."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for point in src for c in point], dtype=np.float64)
    return [float(c) for c in np.linalg.solve(a, b)]


def on_desk(
    image: Image.Image, rng: random.Random, tilt: float
) -> tuple[Image.Image, dict[str, Any]]:
    """The page lying on a desk, photographed from an angle: corners moved by up to ``tilt``
    of the page size."""
    w, h = image.size
    border = int(0.07 * max(w, h))
    canvas = Image.new("RGB", (w + 2 * border, h + 2 * border), TABLE)
    canvas.paste(image, (border, border))
    corners = [
        (border, border),
        (border + w, border),
        (border + w, border + h),
        (border, border + h),
    ]
    moved = [
        (x + rng.uniform(-tilt, tilt) * w, y + rng.uniform(-tilt, tilt) * h) for x, y in corners
    ]
    coeffs = _perspective_coeffs(corners, moved)
    out = canvas.transform(
        canvas.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=TABLE
    )
    shift = [
        (round(mx - x), round(my - y)) for (x, y), (mx, my) in zip(corners, moved, strict=True)
    ]
    return out, {"corner_shift_px": shift}


def perspective(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    out, params = on_desk(image, rng, 0.06)
    return out, {**params, "quality": 85}


def uneven_light(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    strength = round(rng.uniform(0.35, 0.55), 2)
    angle = rng.uniform(0, 2 * np.pi)
    # The shadow varies smoothly, so it is computed small and scaled up (fast on big pages).
    h, w = 64, 64 * image.width // image.height
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (xs / w - 0.5) * np.cos(angle) + (ys / h - 0.5) * np.sin(angle)
    shade = 1 - strength * np.clip(along + 0.5, 0, 1) ** 1.5
    warm = np.array([1.0, 0.96, 0.88], dtype=np.float32)  # indoor light
    light = _img(255 * shade[..., None] * warm).resize(image.size, Image.Resampling.BILINEAR)
    lit = ImageChops.multiply(image.convert("RGB"), light)
    return lit, {
        "shadow_strength": strength,
        "direction_degrees": round(float(np.degrees(angle))),
        "quality": 85,
    }


def noise(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    sigma = round(rng.uniform(14, 22), 1)
    soft = image.filter(ImageFilter.GaussianBlur(0.7))
    arr = _arr(soft) + _np_rng(rng).normal(0, sigma, (soft.height, soft.width, 1)).astype(
        np.float32
    )
    return _img(arr), {"noise_sigma": sigma, "quality": 85}


def blur(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    radius = round(rng.uniform(1.3, 2.0), 2)
    return image.filter(ImageFilter.GaussianBlur(radius)), {"blur_radius": radius, "quality": 88}


def low_contrast(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    ink, paper = rng.randint(105, 135), rng.randint(196, 215)
    grey = _arr(image.convert("L"))
    arr = ink + grey / 255 * (paper - ink)
    return _img(arr).convert("RGB"), {"ink_level": ink, "paper_level": paper}


def jpeg(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    scale = round(rng.uniform(0.55, 0.65), 2)
    small = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
    )
    return small, {"scale": scale, "quality": rng.randint(18, 26)}


def phone(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    out, angle = on_desk(image, rng, 0.035)
    out, light = uneven_light(out, rng)
    sigma = round(rng.uniform(6, 10), 1)
    arr = _arr(out) + _np_rng(rng).normal(0, sigma, (out.height, out.width, 1)).astype(np.float32)
    quality = rng.randint(60, 75)
    return _img(arr), {**angle, **light, "noise_sigma": sigma, "quality": quality}


def two_up(
    left: Image.Image, right: Image.Image, rng: random.Random
) -> tuple[Image.Image, dict[str, Any]]:
    """Two pages side by side on a desk, each slightly turned, in one photo."""
    w, h = left.size
    gap, border = int(0.04 * w), int(0.05 * w)
    canvas = Image.new("RGB", (2 * w + gap + 2 * border, h + 2 * border), TABLE)
    turns = []
    for i, page in enumerate((left, right)):
        degrees = round(rng.uniform(-1.5, 1.5), 2)
        turns.append(degrees)
        turned = page.rotate(
            degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=TABLE
        )
        canvas.paste(turned, (border + i * (w + gap), border))
    canvas, light = uneven_light(canvas, rng)
    return canvas, {"page_degrees": turns, **light, "quality": 80}


DAMAGE: dict[str, Callable[[Image.Image, random.Random], tuple[Image.Image, dict[str, Any]]]] = {
    "scan": scan,
    "skew": skew,
    "perspective": perspective,
    "uneven_light": uneven_light,
    "noise": noise,
    "blur": blur,
    "low_contrast": low_contrast,
    "jpeg": jpeg,
    "phone": phone,
}


# ------------------------------------------------------------------ encoding


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    (image.convert("L") if _is_grey(image) else image).save(buf, format="PNG")
    return buf.getvalue()


def _is_grey(image: Image.Image) -> bool:
    r, g, b = image.split()
    return r.tobytes() == g.tobytes() == b.tobytes()


def _image_pdf(images: list[Image.Image]) -> bytes:
    """A PDF of page images only (a scanning app's output), no text layer, at PHOTO_DPI."""
    buf = io.BytesIO()
    first, *rest = images
    first.save(buf, format="PDF", save_all=True, append_images=rest, resolution=PHOTO_DPI)
    return buf.getvalue()
