"""OCR engines: Tesseract (offline, always available) and vision models via the router.

A vision failure falls back to Tesseract, and the page says so in ``warnings``.
Tesseract runs in a document worker (:mod:`rma.ocr.workers`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import get_args

from PIL import Image as PILImage

from rma.config import OcrProvider
from rma.errors import AllBackendsFailed, BackendError, ConfigError, InputError, RMAError
from rma.llm.router import ProviderRouter
from rma.llm.types import Image
from rma.ocr.images import OCR_MAX_SIDE, VISION_MAX_SIDE, cap_size, to_png
from rma.ocr.pages import PageText
from rma.ocr.tesseract import read_page
from rma.ocr.workers import workers

log = logging.getLogger("rma.ocr")

OCR_PROMPT = (
    "Transcribe all text in this image exactly as written, line by line. "
    "Keep numbers, amounts, dates and references exactly. Output only the text."
)
# Vision models report no confidence; this marks their text as unscored but usable.
VISION_CONFIDENCE = 0.8


class OcrReader:
    """Reads page images with the configured engine (``tesseract``, ``vllm`` or ``ollama``)."""

    def __init__(
        self,
        provider: str = "tesseract",
        router: ProviderRouter | None = None,
        *,
        psm: int = 3,
    ):
        """``psm``: Tesseract's page segmentation (see :mod:`rma.ocr.tesseract`)."""
        if provider not in get_args(OcrProvider):
            choices = ", ".join(get_args(OcrProvider))
            raise ConfigError(f"OCR_PROVIDER={provider!r}: use one of {choices}")
        if provider != "tesseract" and router is None:
            raise ConfigError(f"OCR_PROVIDER={provider} needs the provider router")
        self.provider = provider
        self.router = router
        self.psm = psm

    async def read(self, image: PILImage.Image, number: int) -> PageText:
        """Text of one page image (numbered from 1), by vision model or Tesseract.

        The image is size-capped first; a vision failure falls back to Tesseract with a
        warning; a page Tesseract reads poorly is checked for being turned and re-read.
        """
        image = await asyncio.to_thread(_prepare, image)
        warnings: list[str] = []
        if self.provider != "tesseract":
            assert self.router is not None
            try:
                png = await asyncio.to_thread(lambda: to_png(cap_size(image, VISION_MAX_SIDE)))
                shown = Image(png, "image/png")
                result = await self.router.vision(OCR_PROMPT, [shown], max_tokens=2048)
                if result.text.strip():
                    return PageText(
                        number,
                        result.text.strip(),
                        "vision",
                        VISION_CONFIDENCE,
                        provenance=result.provenance.model_dump(),
                    )
                warnings.append(
                    f"page {number}: the vision model returned no text; read with Tesseract instead"
                )
            except (AllBackendsFailed, BackendError, InputError) as exc:
                log.warning("vision OCR failed", extra={"error": type(exc).__name__})
                warnings.append(
                    f"page {number}: vision OCR failed ({type(exc).__name__}); "
                    "read with Tesseract instead"
                )
            except RMAError as exc:
                warnings.append(
                    f"page {number}: vision OCR unavailable ({exc}); read with Tesseract instead"
                )
        # In a document worker: its memory limit holds Tesseract too; the workers' number
        # bounds how many pages are read at once.
        page = await workers().run(read_page, image, self.psm)
        read, turned, unreadable = page.read, page.turned, page.unreadable
        if turned:
            warnings.append(f"page {number} was turned {turned} degrees to read it upright")
        if unreadable:
            warnings.append(f"page {number} has marks on it but no text could be read from them")
        return PageText(
            number,
            read.text,
            "tesseract",
            round(read.confidence, 3),
            warnings,
            words=read.words,
            size=(float(read.size[0]), float(read.size[1])),
            unreadable=unreadable,
            turned=turned,
        )


def _prepare(image: PILImage.Image) -> PILImage.Image:
    """RGB or grey, no larger than Tesseract can use."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return cap_size(image, OCR_MAX_SIDE)
