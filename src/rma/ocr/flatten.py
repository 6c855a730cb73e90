"""A page photographed from an angle, found on the desk under it and flattened.

A phone held at an angle makes the page a trapezium: its lines slope differently at its
top and bottom, its far side is smaller, and Tesseract splits and drops lines. Where the
page's edges can be seen against what it lies on, the four corners are found and the page
is drawn square again (a perspective transform), as a scanner app does. Words read on the
flattened page are mapped back onto the photo, so their boxes mark the photo as uploaded.

The desk is what the photo's border shows: its colour is taken from the border, and the
page is what that colour does not reach from the border. A dark band printed across the
top of a letter is inside the page (another colour than the desk), so it is not taken for
desk. Two pages side by side are found by the strip of desk between them. A scan, or a
photo its page fills, is levelled instead if it is crooked (:func:`deskew`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter

# Corners are found on a copy this long on its longest side.
FIND_SIDE = 600
# The border ring sampled for the desk's colour, as a share of the shorter side.
BORDER_SHARE = 0.02
# A pixel is desk-coloured within this distance of the desk's chromaticity (r, g, b as
# shares of their sum) and no brighter than the desk's brightest part allows.
DESK_CHROMA = 0.05
# The page found must fill this share of the quadrilateral through its corners (else it is
# not one flat page: two pages, a folded page, a hand over it) ...
MIN_FILL = 0.96
# ... cover at least this share of the photo ...
MIN_PAGE_SHARE = 0.3
# ... and have a corner at least this share of the photo's side from where a flat, square
# page would put it (else there is nothing to flatten).
MIN_CORNER_SHIFT = 0.01

# A page's lines are levelled when they slope more than this many degrees ...
MIN_SKEW = 0.4
# ... up to this many (a page further round is turned by its orientation instead).
MAX_SKEW = 5.0
# The skew is measured on a copy this long on its longest side.
SKEW_SIDE = 1000
# Down the gap between two pages side by side, less than this share of each column is page.
GUTTER_PAGE_SHARE = 0.02

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass
class Flattened:
    """The page drawn square, and a map from its points to the photo's."""

    image: PILImage.Image
    to_photo: Callable[[float, float], Point]


def flatten_pages(image: PILImage.Image) -> list[Flattened]:
    """Each page in ``image`` drawn square (see the module's description): one page, or
    two photographed side by side; none if no page edge is seen against a desk, or the one
    page is already square to the photo."""
    found = page_corners(image)
    if found is None:
        return []
    return [_flatten(image, corners) for corners in found]


def deskew(image: PILImage.Image) -> Flattened | None:
    """``image`` turned so its lines of text are level (a page scanned or photographed
    crooked), with the map back; None if it is level within ``MIN_SKEW`` degrees.

    The angle is the one whose rows of ink are most sharply apart (the variance of the
    change from one row's ink to the next's, on a small black-and-white copy), searched
    every half degree up to ``MAX_SKEW`` and then every tenth around the best.
    """
    import math

    angle = skew_angle(image)
    if abs(angle) < MIN_SKEW:
        return None
    width, height = image.size
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    out_width = width * abs(cos) + height * abs(sin)
    out_height = width * abs(sin) + height * abs(cos)

    def to_photo(x: float, y: float) -> Point:
        dx, dy = x - out_width / 2, y - out_height / 2
        return width / 2 + cos * dx - sin * dy, height / 2 + sin * dx + cos * dy

    square = ((0, 0), (out_width, 0), (out_width, out_height), (0, out_height))
    tl, tr, br, bl = (to_photo(x, y) for x, y in square)
    return _flatten(image, (tl, tr, br, bl))


def skew_angle(image: PILImage.Image) -> float:
    """Degrees to turn ``image`` counter-clockwise to make its lines of text level."""
    import numpy as np

    scale = SKEW_SIDE / max(image.size)
    grey = image.convert("L").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        PILImage.Resampling.BOX,
    )
    levels = np.asarray(grey, dtype=np.float32)
    ink = PILImage.fromarray(((levels < _otsu(levels)) * 255).astype(np.uint8))

    def sharpness(angle: float) -> float:
        turned = ink.rotate(angle, resample=PILImage.Resampling.NEAREST, expand=True)
        rows = np.asarray(turned, dtype=np.float32).sum(axis=1)
        return float(np.var(np.diff(rows)))

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=sharpness)
    return round(float(fine), 1)


def _flatten(image: PILImage.Image, corners: Quad) -> Flattened:
    tl, tr, br, bl = corners
    width = round(max(_distance(tl, tr), _distance(bl, br)))
    height = round(max(_distance(tl, bl), _distance(tr, br)))
    square = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    coeffs = _perspective(square, list(corners))
    flat = image.transform(
        (width, height),
        PILImage.Transform.PERSPECTIVE,
        coeffs,
        PILImage.Resampling.BICUBIC,
        fillcolor=(255, 255, 255) if image.mode == "RGB" else 255,
    )

    def to_photo(x: float, y: float) -> Point:
        a, b, c, d, e, f, g, h = coeffs
        scale = g * x + h * y + 1
        return (a * x + b * y + c) / scale, (d * x + e * y + f) / scale

    return Flattened(flat, to_photo)


def page_corners(image: PILImage.Image) -> list[Quad] | None:
    """The corners of each page in ``image`` (top left, top right, bottom right, bottom
    left), left to right, or None (see :func:`flatten_pages`)."""
    scale = FIND_SIDE / max(image.size)
    page = _page_mask(image, scale)
    if page is None:
        return None
    # Two pages side by side: an empty band of desk down the middle between them.
    width = page.shape[1]
    empty = page.mean(axis=0) < GUTTER_PAGE_SHARE
    runs, start = [], None
    for x in range(int(0.3 * width), int(0.7 * width)):
        if empty[x] and start is None:
            start = x
        elif not empty[x] and start is not None:
            runs.append((start, x))
            start = None
    if not runs:
        quad = _quad(page)
        if quad is None:
            return None
        corners = _to_image(quad, 0, scale)
        return [corners] if _off_square(corners, image.size) else None
    left_end, right_start = max(runs, key=lambda r: r[1] - r[0])
    quads = []
    for half, offset in ((page[:, :left_end], 0), (page[:, right_start:], right_start)):
        quad = _quad(half) if half.mean() >= MIN_PAGE_SHARE else None
        if quad is None:
            return None
        quads.append(_to_image(quad, offset, scale))
    return quads


def _page_mask(image: PILImage.Image, scale: float):  # type: ignore[no-untyped-def]
    """Where the page is on a small copy of ``image`` (a boolean array): what the desk's
    colour does not reach from the border; None if the page reaches the border itself or
    covers too little of the photo."""
    import numpy as np

    small = image.convert("RGB").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        PILImage.Resampling.BOX,
    )
    rgb = np.asarray(small, dtype=np.float32)
    grey = rgb.mean(axis=2)
    ring = max(2, round(BORDER_SHARE * min(grey.shape)))
    border = np.ones(grey.shape, dtype=bool)
    border[ring:-ring, ring:-ring] = False
    paper_level = _otsu(grey)
    if np.median(grey[border]) >= paper_level:
        return None  # the page reaches the photo's border: a scan, or a photo of it alone
    chroma = rgb / np.maximum(rgb.sum(axis=2, keepdims=True), 1.0)
    desk_chroma = np.median(chroma[border], axis=0)
    desk = (grey < paper_level) & (np.abs(chroma - desk_chroma).max(axis=2) < DESK_CHROMA)
    # Grain on the desk leaves specks of not-desk: closed over before the fill.
    mask = PILImage.fromarray((desk * 255).astype(np.uint8))
    mask = mask.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.MinFilter(3))
    padded = PILImage.new("L", (mask.width + 2, mask.height + 2), 255)
    padded.paste(mask, (1, 1))
    ImageDraw.floodfill(padded, (0, 0), 128)
    page = np.asarray(padded)[1:-1, 1:-1] != 128
    return page if page.mean() >= MIN_PAGE_SHARE else None


def _quad(page) -> list[tuple[int, int]] | None:  # type: ignore[no-untyped-def]
    """The corners of the one page in a mask, if the mask is one four-cornered page."""
    import numpy as np

    ys, xs = np.nonzero(page)
    if not len(xs):
        return None
    total, diff = xs + ys, xs - ys
    found = [
        (int(xs[total.argmin()]), int(ys[total.argmin()])),
        (int(xs[diff.argmax()]), int(ys[diff.argmax()])),
        (int(xs[total.argmax()]), int(ys[total.argmax()])),
        (int(xs[diff.argmin()]), int(ys[diff.argmin()])),
    ]
    if page.sum() < MIN_FILL * _area(found):
        return None
    return found


def _to_image(quad: list[tuple[int, int]], offset: int, scale: float) -> Quad:
    tl, tr, br, bl = (((x + offset + 0.5) / scale, (y + 0.5) / scale) for x, y in quad)
    return tl, tr, br, bl


def _off_square(corners: Quad, size: tuple[int, int]) -> bool:
    """Whether a corner is further from where a square page would put it than
    ``MIN_CORNER_SHIFT`` of the photo (else there is nothing to flatten)."""
    width, height = size
    left, top = min(x for x, _ in corners), min(y for _, y in corners)
    right, bottom = max(x for x, _ in corners), max(y for _, y in corners)
    square = [(left, top), (right, top), (right, bottom), (left, bottom)]
    shift = max(
        max(abs(x - sx) / width, abs(y - sy) / height)
        for (x, y), (sx, sy) in zip(corners, square, strict=True)
    )
    return shift >= MIN_CORNER_SHIFT


def _otsu(grey: Any) -> float:
    """The grey level that best splits the pixels in two (Otsu's method)."""
    import numpy as np

    hist, _ = np.histogram(grey, bins=256, range=(0, 256))
    share = hist / max(1, hist.sum())
    below = np.cumsum(share)
    mean_below = np.cumsum(share * np.arange(256))
    spread = (mean_below[-1] * below - mean_below) ** 2 / np.maximum(below * (1 - below), 1e-9)
    return float(np.argmax(spread))


def _area(points: list[tuple[int, int]]) -> float:
    """The area inside a polygon (the shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def _distance(a: Point, b: Point) -> float:
    return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)


def _perspective(out: list[Point], into: list[Point]) -> tuple[float, ...]:
    """The eight coefficients of the perspective transform taking each point of ``out``
    to the point of ``into`` (what Pillow's ``PERSPECTIVE`` transform asks for)."""
    import numpy as np

    rows, values = [], []
    for (x, y), (u, v) in zip(out, into, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    solved = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(values, dtype=np.float64))
    return tuple(float(c) for c in solved)
