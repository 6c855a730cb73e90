"""Uploads checked before anything is decoded: size, type by content, pages and pixels.

The type comes from the file's first bytes, never from its name or the declared content
type; the name only has to agree with the content. Each refusal is a typed error that
the service turns into a 4xx with a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from rma.errors import InputError, InputTooLarge, UnsupportedMediaType
from rma.ocr.images import MAX_IMAGE_PIXELS, inspect_image
from rma.ocr.pdf import pdf_page_count

FileKind = Literal["pdf", "png", "jpeg", "tiff", "webp"]
ACCEPTED = "PDF, PNG, JPEG, TIFF or WebP"
MIME_TYPES: dict[FileKind, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "webp": "image/webp",
}
EXTENSIONS: dict[str, FileKind] = {
    ".pdf": "pdf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
}
# The PDF header may sit anywhere in the first kilobyte (ISO 32000-1, 7.5.2 note).
PDF_HEADER_WINDOW = 1024


@dataclass(frozen=True)
class UploadLimits:
    """How much one document may cost: bytes, pages (PDF or TIFF) and pixels per page."""

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 50
    max_pixels: int = MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check, with what the checks learned."""

    kind: FileKind
    filename: str
    size: int
    pages: int

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.kind]


def sniff(data: bytes) -> FileKind | None:
    """The file type from its magic bytes, or None if it is none we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "pdf"
    return None


def describe_content(data: bytes) -> str:
    """A plain-words guess at what an unsupported file is, for the error message."""
    head = data[:512]
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (a Word or Excel file is one)"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "a HEIC photo (export it as JPEG)"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith(b"BM"):
        return "a BMP image"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Microsoft Office file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "not a recognised document or image"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return "plain text"
    return "not a recognised document or image"


def check_upload(
    data: bytes, filename: str = "", limits: UploadLimits | None = None
) -> CheckedUpload:
    """Check an upload end to end; raises InputError, InputTooLarge or UnsupportedMediaType.

    It parses an untrusted file (the PDF's page tree, the image header): the service calls
    it in a document worker (:mod:`rma.ocr.workers`). A PDF is scanned first, so one
    that decodes to more than ``MAX_DECODED_BYTES`` is refused before pdfium reads it.
    """
    limits = limits or UploadLimits()
    name = PurePath(filename).name if filename else ""
    if not data:
        raise InputError("the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise InputTooLarge(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB"
        )
    kind = sniff(data)
    suffix = PurePath(name).suffix.lower()
    if kind is None:
        named = f"the file is named {suffix} but its content is" if suffix else "the content is"
        raise UnsupportedMediaType(f"{named} {describe_content(data)}; upload a {ACCEPTED} file")
    if suffix and EXTENSIONS.get(suffix) != kind:
        raise UnsupportedMediaType(
            f"the file is named {suffix} but its content is a {kind.upper()} file; "
            "rename it or upload the intended file"
        )
    if kind == "pdf":
        pages = pdf_page_count(data)
        if pages == 0:
            raise InputError("the PDF has no pages")
    else:
        info = inspect_image(data, max_pixels=limits.max_pixels)
        pages = info.frames
    if pages > limits.max_pages:
        raise InputTooLarge(f"the document has {pages} pages; the limit is {limits.max_pages}")
    return CheckedUpload(kind, name, len(data), pages)
