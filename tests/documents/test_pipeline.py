"""The pipeline with real Tesseract and pdfium on generated letters with known fields."""

from __future__ import annotations

import io

from PIL import Image

from rma.documents.pipeline import DocumentProcessor
from rma.documents.sample_letters import SampleLetter, render_image
from tests.documents.conftest import png_bytes

# A sample letter's general names as the type's own fields name them.
# (None: the type has no such field; a reminder's annual balance is not asked for.)
TYPE_NAMES = {"council_tax_bill": {"creditor": "council", "balance": None, "arrears": "amount"}}
# Names and references read by OCR come back right but unverified (nothing confirms them).
UNCHECKABLE = {"creditor", "council", "account_reference", "claim_number", "claimant"}


def assert_fields(result: dict, letter: SampleLetter) -> None:
    names = TYPE_NAMES.get(result["doc_type"], {})
    ocr = all(p["method"] != "text-layer" for p in result["pages"])
    for general, expected in letter.fields.items():
        name = names.get(general, general)
        if name is None:
            continue
        got = result["fields"].get(name)
        assert got is not None, f"{name} missing"
        assert got["value"] == expected, name
        if ocr and name in UNCHECKABLE:
            assert got["verified"] is False and "read by OCR" in got["note"], name
            assert any(w.startswith(f"{name}: ") for w in result["warnings"]), name
        else:
            assert got["verified"] is True, name
        assert got["page"] >= 1 and got["quote"], name


async def test_clean_letter_image(creditor_png: bytes, letters: dict[str, SampleLetter]) -> None:
    result = (
        (await DocumentProcessor(None).process(creditor_png, "letter.png"))
        .response()
        .model_dump(mode="json")
    )
    page = result["pages"][0]
    assert page["method"] == "tesseract" and page["confidence"] > 0.8
    assert result["doc_type"] == "creditor_letter"
    assert result["classification"]["method"] == "wording"
    assert_fields(result, letters["creditor-letter"])
    # The quote is the line on the page that states the value.
    assert "1,408.16" in result["fields"]["balance"]["quote"]
    assert result["markdown"].startswith("## Page 1 (tesseract, confidence")


async def test_upside_down_or_sideways_page_is_turned(letters: dict[str, SampleLetter]) -> None:
    letter = letters["default-notice"]
    image = render_image(letter, "clean").rotate(90, expand=True)
    result = (
        (await DocumentProcessor(None).process(png_bytes(image), "scan.png"))
        .response()
        .model_dump(mode="json")
    )
    assert any("turned" in w for w in result["warnings"])
    assert result["doc_type"] == "default_notice"
    assert_fields(result, letter)


async def test_phone_photo_is_put_upright_by_its_exif_orientation(
    letters: dict[str, SampleLetter],
) -> None:
    letter = letters["council-tax-reminder"]
    # Pixels stored sideways, with EXIF orientation 6 ("rotate 90 clockwise to view").
    sideways = render_image(letter, "clean").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    sideways.save(buf, format="JPEG", quality=90, exif=exif)
    result = (
        (await DocumentProcessor(None).process(buf.getvalue(), "photo.jpg"))
        .response()
        .model_dump(mode="json")
    )
    assert not any("turned" in w for w in result["warnings"])  # EXIF did it, not OSD
    assert result["pages"][0]["confidence"] > 0.8
    assert_fields(result, letter)


async def test_mixed_pdf_uses_text_layer_and_ocr(
    mixed_pdf: bytes, letters: dict[str, SampleLetter]
) -> None:
    result = (
        (await DocumentProcessor(None).process(mixed_pdf, "bundle.pdf"))
        .response()
        .model_dump(mode="json")
    )
    assert [p["method"] for p in result["pages"]] == ["text-layer", "tesseract"]
    assert result["pages"][0]["confidence"] == 1.0
    assert "DEFAULT NOTICE" in result["pages"][0]["text"]
    assert "Outstanding balance: £1,408.16" in result["pages"][1]["text"]
    assert "## Page 1 (text layer)" in result["markdown"]
    assert "## Page 2 (tesseract" in result["markdown"]
    # Fields come from the first page that states them.
    assert result["fields"]["balance"] == {
        **result["fields"]["balance"],
        "value": letters["default-notice"].fields["balance"],
        "page": 1,
    }
    assert result["doc_type"] == "default_notice"


async def test_multi_page_tiff(letters: dict[str, SampleLetter]) -> None:
    pages = [
        render_image(letters["enforcement-notice"], "clean").convert("L"),
        render_image(letters["county-court-claim"], "clean").convert("L"),
    ]
    buf = io.BytesIO()
    pages[0].save(
        buf, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw"
    )
    result = (
        (await DocumentProcessor(None).process(buf.getvalue(), "scan.tiff"))
        .response()
        .model_dump(mode="json")
    )
    assert [p["number"] for p in result["pages"]] == [1, 2]
    assert "NOTICE OF ENFORCEMENT" in result["pages"][0]["text"]
    assert "Claim number" in result["pages"][1]["text"]
    assert result["fields"]["claim_number"]["page"] == 2
    assert (
        result["fields"]["claim_number"]["value"]
        == letters["county-court-claim"].fields["claim_number"]
    )


async def test_faint_noisy_photo_is_flagged_not_dropped(letters: dict[str, SampleLetter]) -> None:
    blank = Image.effect_noise((1200, 1600), 90).convert("RGB")
    result = (
        (await DocumentProcessor(None).process(png_bytes(blank), "photo.png"))
        .response()
        .model_dump(mode="json")
    )
    assert len(result["pages"]) == 1
    assert any("page 1" in w for w in result["warnings"])
    assert result["doc_type"] == "other"
