"""Page images made safe and readable: pixel limits, EXIF orientation, size caps, turning.

Decoding is where an image file costs memory, so sizes are checked from the header
before any pixel is decoded, and Pillow's own decompression-bomb guard is set to the
same limit as a second line.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageFilter, ImageOps, UnidentifiedImageError

from rma.errors import InputError, InputTooLarge

log = logging.getLogger("rma.ocr")

# 50 megapixels: more than any phone photo or 600-dpi A4 scan (35 MP); decoded RGB ~150 MB.
MAX_IMAGE_PIXELS = 50_000_000
# Pillow warns above its limit and refuses above twice it; ours is checked first anyway.
PILImage.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# Longest side Tesseract gets: 300 dpi A4 is 3508 px; more detail only costs time.
OCR_MAX_SIDE = 3600
# A smaller page is enlarged to this long side before OCR (about 280 dpi for A4): the
# small print of a statement's table, photographed at 200 dpi or sent as a shrunken
# JPEG, is too few pixels high for Tesseract otherwise.
OCR_MIN_SIDE = 3300
# Below this edge step (grey levels, see sharpen_if_blurred) a page is out of focus.
BLURRED_EDGE = 72
# An area whose own tone (its median grey, letters and all) is darker than this is a
# dark band printed with light letters (a letterhead's banner)...
DARK_AREA = 80
# ...unless more of the image than this is dark: then the photo itself is dark.
DARK_AREA_MOST = 0.4
# A dark band spans at least this share of the page's width (a logo does not).
DARK_BAND_WIDTH = 0.3
# Longest side sent to a vision model: their encoders downscale further anyway.
VISION_MAX_SIDE = 1600
# Tesseract OSD "orientation_conf" below this is a guess, not a finding.
MIN_ORIENTATION_CONFIDENCE = 2.0


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, read without decoding pixels."""

    format: str
    width: int
    height: int
    frames: int


def inspect_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageInfo:
    """Format, size and frame count from the header; refuses sizes over ``max_pixels``."""
    image = _open(data)
    try:
        width, height = image.size
        if width * height > max_pixels:
            raise InputTooLarge(
                f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
                f"the limit is {max_pixels / 1e6:.0f} MP"
            )
        frames = getattr(image, "n_frames", 1)
        return ImageInfo(image.format or "", width, height, frames)
    finally:
        image.close()


def load_page(data: bytes, index: int = 0, max_pixels: int = MAX_IMAGE_PIXELS) -> PILImage.Image:
    """Decode one frame (a TIFF page; 0 for other formats), upright per EXIF, as RGB.

    Opens the data afresh each time, so pages can be decoded one at a time on any thread.
    """
    image = _open(data)
    try:
        image.seek(index)
        if image.size[0] * image.size[1] > max_pixels:
            raise InputTooLarge(f"page {index + 1} of the image is over the pixel limit")
        try:
            image.load()
            frame = ImageOps.exif_transpose(image)
        except PILImage.DecompressionBombError as exc:
            raise InputTooLarge(f"the image is too large to decode safely ({exc})") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(f"the image could not be decoded ({exc})") from None
        return _to_rgb(frame)
    finally:
        image.close()


def cap_size(image: PILImage.Image, max_side: int) -> PILImage.Image:
    """A copy no longer than ``max_side`` on either side (the same image if already so)."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, PILImage.Resampling.LANCZOS)


def detect_turn(image: PILImage.Image) -> int:
    """Degrees (0, 90, 180, 270) to rotate counter-clockwise to make the text upright.

    Uses Tesseract's orientation and script detection; 0 when it is unsure.
    """
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:
        return 0  # too little text to tell
    if float(osd.get("orientation_conf", 0)) < MIN_ORIENTATION_CONFIDENCE:
        return 0
    # OSD's "rotate" is clockwise degrees that fix the page; PIL rotates counter-clockwise.
    return (360 - int(osd.get("rotate", 0))) % 360


def even_out(image: PILImage.Image) -> PILImage.Image:
    """A grey copy with the paper made evenly white: the page divided by its own
    background (a shadow across a phone photo, a faded print, a dark desk around the
    page), then enlarged to ``OCR_MIN_SIDE`` if smaller.

    Tesseract binarises with one threshold for the page, so the shadowed side of a photo
    goes black and its words are lost; divided by the background, ink is dark and paper
    white everywhere.
    """
    import numpy as np

    grey = image.convert("L")
    scale = ocr_scale(grey.size)
    if scale != 1:
        size = (round(grey.width * scale), round(grey.height * scale))
        grey = grey.resize(size, PILImage.Resampling.LANCZOS)
    grey = _light_bands(grey)
    # The background is the page without its ink: the brightest nearby pixel, found on a
    # small copy (a letter is a few pixels wide there) and smoothed back up to size.
    small = grey.resize(
        (max(1, grey.width // 8), max(1, grey.height // 8)), PILImage.Resampling.BILINEAR
    )
    background = (
        small.filter(ImageFilter.MaxFilter(7))
        .filter(ImageFilter.GaussianBlur(2))
        .resize(grey.size, PILImage.Resampling.BILINEAR)
    )
    ink = np.asarray(grey, dtype=np.float32)
    paper = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    flat = ink / paper * 255
    # Faded ink is darkened, at most twice over: a blank page's grain must stay faint.
    darkest = min(float(np.percentile(flat, 1)), 128.0)
    stretched = (flat - darkest) / max(1.0, 255 - darkest) * 255
    return PILImage.fromarray(np.clip(stretched, 0, 255).astype(np.uint8))


def _light_bands(grey: PILImage.Image) -> PILImage.Image:
    """``grey`` with its dark bands printed with light letters (a bank's name in white on
    its colour across the top) turned dark on light, as the rest of the page is: evened
    out as they are, their letters would be taken for the paper and lost. A band spans
    much of the page's width; a logo beside a name is left as it is."""
    import numpy as np

    small = grey.resize(
        (max(1, grey.width // 8), max(1, grey.height // 8)), PILImage.Resampling.BILINEAR
    )
    tone = small.filter(ImageFilter.MedianFilter(15))
    dark = np.asarray(tone) < DARK_AREA
    if dark.mean() > DARK_AREA_MOST:
        return grey
    bands = dark.mean(axis=1) >= DARK_BAND_WIDTH  # the rows of the small copy in a band
    if not bands.any():
        return grey
    across = PILImage.fromarray(np.repeat(bands[:, None], 2, axis=1).astype(np.uint8) * 255)
    in_band = np.asarray(across.resize(grey.size, PILImage.Resampling.BILINEAR)) > 127
    dark_here = np.asarray(tone.resize(grey.size, PILImage.Resampling.BILINEAR)) < DARK_AREA
    pixels = np.asarray(grey)
    inverted = np.where(in_band & dark_here, 255 - pixels, pixels)
    return PILImage.fromarray(inverted.astype(np.uint8))


def sharpen_if_blurred(image: PILImage.Image) -> PILImage.Image:
    """An evened-out page (see :func:`even_out`) sharpened if it is out of focus, else the
    same page.

    Tesseract's page analysis drops blurred text as if it were a picture. A page is
    blurred when even its sharpest edges are soft: the steepest step between neighbouring
    pixels (the 99.5th percentile) is under ``BLURRED_EDGE`` grey levels where a focused
    page's letters step by 85 or more.
    """
    import numpy as np

    steps = np.abs(np.diff(np.asarray(image, dtype=np.int16), axis=1))
    if float(np.percentile(steps, 99.5)) >= BLURRED_EDGE:
        return image
    return image.filter(ImageFilter.UnsharpMask(radius=4, percent=150, threshold=2))


def ocr_scale(size: tuple[int, int]) -> float:
    """How much :func:`even_out` enlarges a page of ``size`` (1 if not at all)."""
    longest = max(size)
    return OCR_MIN_SIDE / longest if longest < OCR_MIN_SIDE else 1.0


def clean_for_ocr(image: PILImage.Image) -> PILImage.Image:
    """A grey copy with speckle noise removed (grainy photos defeat Tesseract's binariser).

    No contrast stretch: on grainy pages it makes the noise as dark as the text.
    """
    return image.convert("L").filter(ImageFilter.MedianFilter(3))


def to_png(image: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _open(data: bytes) -> PILImage.Image:
    try:
        return PILImage.open(io.BytesIO(data))
    except PILImage.DecompressionBombError as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(pixels.group(1)) / 1e6:.0f} MP" if pixels else "too many pixels"
        raise InputTooLarge(
            f"the image has {size}; the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the file is not a readable image ({exc})") from None


def _to_rgb(image: PILImage.Image) -> PILImage.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P"):
        # Transparent areas become paper-white, not black.
        rgba = image.convert("RGBA")
        page = PILImage.new("RGB", rgba.size, (255, 255, 255))
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    if image.mode == "I;16" or image.mode.startswith("I"):
        return image.point(lambda v: v / 256).convert("RGB")  # 16-bit scans
    return image.convert("RGB")
