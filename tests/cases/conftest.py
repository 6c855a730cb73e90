"""A case store on each database (SQLite and a real PostgreSQL), with its encrypted files
in a temporary folder, and sample client documents made the way the doc-processor's own
tests make them."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rma.accounts.permissions import Actor
from rma.cases.models import CaseDocument
from rma.cases.proposals import DocumentReading, FieldRead, PageRead
from rma.cases.store import CaseStore, Upload
from rma.cases.vault import Keyring, Vault, generate_key
from rma.config import load_settings
from rma.db import Database, database_urls, migrate
from rma.documents.sample_letters import SampleLetter, render_image, sample_letters
from rma.documents.validation import UploadLimits, check_upload

ADVISER = Actor("Ann Adviser", "adviser")


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(generate_key("test-1"))


@pytest.fixture
async def store(database_url: str, tmp_path: Path, keyring: Keyring) -> AsyncIterator[CaseStore]:
    urls = database_urls(load_settings(RMA_DATABASE_URL=database_url))
    migrate.upgrade(urls)
    database = Database(urls)
    try:
        yield CaseStore(database, Vault(tmp_path / "cases", keyring))
    finally:
        await database.aclose()


@pytest.fixture(scope="session")
def letters() -> dict[str, SampleLetter]:
    return {letter.name: letter for letter in sample_letters()}


LIMITS = UploadLimits(max_bytes=2_000_000)


async def add(store: CaseStore, case_id: int, data: bytes, name: str) -> CaseDocument:
    """An upload checked as the app checks it, then stored."""
    checked = check_upload(data, name, LIMITS)
    upload = Upload(checked.filename, checked.mime, checked.pages)
    return await store.add_document(case_id, ADVISER, data, upload)


def png(letter: SampleLetter) -> bytes:
    buffer = io.BytesIO()
    render_image(letter, "clean").save(buffer, format="PNG")
    return buffer.getvalue()


def reading_of(letter: SampleLetter, **changed: str) -> DocumentReading:
    """What the doc-processor returns for ``letter`` when it reads every field right (the
    end-to-end tests use the real doc-processor; these test what the store does with it)."""
    fields = {**letter.fields, **changed}
    lines = letter.lines

    def quote(value: str) -> str:
        digits = value.replace(".", "")
        return next((ln for ln in lines if value in ln or digits in ln.replace(",", "")), value)

    return DocumentReading(
        doc_type=letter.doc_type,
        pages=(PageRead(1, letter.text, "ocr", 0.93),),
        fields=tuple(
            FieldRead(name, value, 1, quote(value), 0.9, True, "code")
            for name, value in fields.items()
        ),
    )
