"""Bad uploads: each a clear 4xx over real HTTP, nothing crashes, memory stays bounded."""

from __future__ import annotations

import io
import resource

import httpx
import pypdfium2 as pdfium
import pytest
from PIL import Image

from rma.documents.validation import UploadLimits, check_upload
from rma.errors import InputError, InputTooLarge, UnsupportedMediaType
from tests.security.files import huge_png


def post(
    base: str, name: str, data: bytes, mime: str = "application/octet-stream"
) -> httpx.Response:
    return httpx.post(f"{base}/process", files={"file": (name, data, mime)}, timeout=60)


def pdf_with_pages(count: int) -> bytes:
    doc = pdfium.PdfDocument.new()
    for _ in range(count):
        doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    doc.close()
    return buf.getvalue()


def password_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, encrypt="client-secret")
    pdf.drawString(72, 720, "Account number: 12345678")
    pdf.save()
    return buf.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_empty_file_is_422(docs_url: str) -> None:
    response = post(docs_url, "letter.pdf", b"")
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]


def test_text_file_renamed_pdf_is_415(docs_url: str) -> None:
    response = post(docs_url, "letter.pdf", b"Dear client,\nYou owe us money.\n", "application/pdf")
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "named .pdf" in detail and "plain text" in detail


def test_wrong_extension_is_415(docs_url: str, creditor_png: bytes) -> None:
    png_named_pdf = post(docs_url, "letter.pdf", creditor_png)
    assert png_named_pdf.status_code == 415
    assert "PNG" in png_named_pdf.json()["detail"]
    word_file = post(docs_url, "letter.docx", b"PK\x03\x04" + b"\x00" * 200)
    assert word_file.status_code == 415
    assert "ZIP" in word_file.json()["detail"]


def test_password_protected_pdf_is_422(docs_url: str) -> None:
    response = post(docs_url, "statement.pdf", password_pdf())
    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_thousand_page_pdf_is_413(docs_url: str) -> None:
    response = post(docs_url, "bundle.pdf", pdf_with_pages(1000))
    assert response.status_code == 413
    assert "1000 pages" in response.json()["detail"]


def test_decompression_bomb_png_is_413_without_decoding(docs_url: str) -> None:
    bomb = huge_png(20_000, 20_000)
    assert len(bomb) < 2_000_000  # small upload; 400 MP once decoded
    before = peak_rss_mb()
    response = post(docs_url, "photo.png", bomb, "image/png")
    assert response.status_code == 413
    assert "400 MP" in response.json()["detail"]
    # Decoding it even as 8-bit grey would take 400 MB; the peak must not move near that.
    assert peak_rss_mb() - before < 150


def test_image_over_the_limit_named_by_its_size(docs_url: str) -> None:
    response = post(docs_url, "photo.png", huge_png(9_000, 6_000), "image/png")
    assert response.status_code == 413
    assert "9000x6000" in response.json()["detail"]


def test_truncated_image_is_422_not_500(docs_url: str, creditor_png: bytes) -> None:
    response = post(docs_url, "letter.png", creditor_png[: len(creditor_png) // 3])
    assert response.status_code == 422
    assert "decoded" in response.json()["detail"]


def test_form_without_a_file_field_is_422(docs_url: str) -> None:
    response = httpx.post(f"{docs_url}/process", data={"note": "no file"})
    assert response.status_code == 422
    not_multipart = httpx.post(f"{docs_url}/process", content=b"%PDF-1.4")
    assert not_multipart.status_code == 422


def test_oversized_upload_is_413_before_processing(docs_url: str) -> None:
    response = post(docs_url, "scan.pdf", b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024))
    assert response.status_code == 413


def test_limits_are_checked_in_order() -> None:
    with pytest.raises(InputTooLarge):
        check_upload(b"%PDF-1.4" + b"0" * 100, "a.pdf", UploadLimits(max_bytes=50))
    with pytest.raises(UnsupportedMediaType):
        check_upload(b"GIF89a" + b"0" * 100, "a.gif")
    with pytest.raises(InputError, match="not a readable PDF"):
        check_upload(b"%PDF-1.4 but nothing else", "a.pdf")
    tiff = io.BytesIO()
    frames = [Image.new("L", (50, 50), 255) for _ in range(3)]
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    assert check_upload(tiff.getvalue(), "scan.tif").pages == 3
    with pytest.raises(InputTooLarge, match="3 pages"):
        check_upload(tiff.getvalue(), "scan.tif", UploadLimits(max_pages=2))
