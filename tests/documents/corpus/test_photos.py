"""Photographed variants: each is labelled, damaged as its label says, reproducible, and a
file the doc-processor accepts."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from rma.documents.corpus import VARIANTS, Corpus, render, variants_for
from rma.documents.corpus.pdf import render_pdf
from rma.documents.corpus.photo import PHOTOGRAPHED, rasterise
from rma.documents.validation import check_upload


def pages_of(data: bytes) -> list[Image.Image]:
    if data.startswith(b"%PDF"):
        return rasterise(data)
    return [Image.open(io.BytesIO(data)).convert("RGB")]


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


@pytest.fixture(scope="module")
def letter(corpus: Corpus):  # type: ignore[no-untyped-def]
    return next(
        d for d in corpus.documents if d.page_count == 1 and d.doc_type == "creditor_letter"
    )


@pytest.mark.parametrize("variant", [v for v in PHOTOGRAPHED if v != "two_up"])
def test_each_variant_is_labelled_and_accepted(letter, variant: str) -> None:  # type: ignore[no-untyped-def]
    file = render(letter, variant, seed=1)
    label = file.label()
    assert label["variant"] == variant and label["what"] == VARIANTS[variant]
    assert label["document"] == letter.id and label["page_map"] == [1]
    upload = check_upload(file.data, file.filename)  # type by content agrees with the name
    assert upload.pages == 1
    assert not file.data.startswith(b"%PDF")  # a photo, not a PDF with text


def test_damage_is_what_the_label_says(letter) -> None:  # type: ignore[no-untyped-def]
    clean = rasterise(render_pdf(letter))[0]
    ink = grey(clean) < 128
    skewed = render(letter, "skew", seed=1)
    turned = pages_of(skewed.data)[0]
    assert turned.size != clean.size  # turned with expand: the canvas grew
    assert 1.5 <= abs(skewed.params["degrees"]) <= 4.0

    faded = render(letter, "low_contrast", seed=1)
    f = grey(pages_of(faded.data)[0])
    assert f.min() >= faded.params["ink_level"] - 1 and f.max() <= faded.params["paper_level"] + 1

    dark = render(letter, "uneven_light", seed=1)
    d = grey(pages_of(dark.data)[0])
    paper = d[~ink]
    # One side of the page is darker than the other by about the shadow's strength.
    spread = (np.percentile(paper, 95) - np.percentile(paper, 5)) / 255
    assert spread >= dark.params["shadow_strength"] * 0.5

    grainy = render(letter, "noise", seed=1)
    g = grey(pages_of(grainy.data)[0])[~ink]
    assert g.std() >= grainy.params["noise_sigma"] * 0.5

    small = render(letter, "jpeg", seed=1)
    image = pages_of(small.data)[0]
    assert image.width == round(clean.width * small.params["scale"])
    assert len(small.data) < len(render(letter, "scan", seed=1).data)

    desk = render(letter, "perspective", seed=1)
    photo = pages_of(desk.data)[0]
    assert photo.width > clean.width  # the desk shows around the page
    corner = np.asarray(photo)[5, 5]
    assert abs(int(corner[0]) - 96) < 30 and corner[0] > corner[2]  # desk brown, not paper


def test_variants_are_reproducible_per_seed(letter) -> None:  # type: ignore[no-untyped-def]
    for variant in ("phone", "skew", "noise"):
        first, again = render(letter, variant, seed=5), render(letter, variant, seed=5)
        assert first.data == again.data and first.params == again.params
        assert render(letter, variant, seed=6).params != first.params


def test_two_pages_in_one_photo(corpus: Corpus) -> None:
    doc = next(d for d in corpus.documents if d.page_count == 2 and not d.parts)
    file = render(doc, "two_up", seed=1)
    assert file.page_map == (1, 1)
    image = pages_of(file.data)[0]
    assert image.width > image.height  # two portrait pages side by side
    assert check_upload(file.data, file.filename).pages == 1
    with pytest.raises(ValueError, match="two-page"):
        render(next(d for d in corpus.documents if d.page_count == 1), "two_up")


def test_multi_page_photos_are_an_image_only_pdf(corpus: Corpus) -> None:
    doc = next(d for d in corpus.documents if d.page_count == 3)
    file = render(doc, "phone", seed=1)
    assert file.filename.endswith(".pdf") and file.page_map == (1, 2, 3)
    pdf = pdfium.PdfDocument(file.data)
    try:
        assert len(pdf) == 3
        assert all(not page.get_textpage().get_text_bounded().strip() for page in pdf)
    finally:
        pdf.close()
    assert len(file.params["pages"]) == 3


def test_the_standard_run_photographs_every_document(corpus: Corpus) -> None:
    chosen = [variants_for(d, i) for i, d in enumerate(corpus.documents)]
    assert all(v[0] == "pdf" and len(v) == 2 and v[1] in PHOTOGRAPHED for v in chosen)
    used = {v[1] for v in chosen}
    assert used == set(PHOTOGRAPHED), f"never used: {set(PHOTOGRAPHED) - used}"
