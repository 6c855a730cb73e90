"""Ingestion and the store, on embedded Chroma and on a real Chroma server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from rma.errors import ConfigError, InputError
from rma.llm.router import ProviderRouter
from rma.rag.library import ManualLibrary
from tests.rag.conftest import copy_manuals, open_library

DRO = (
    "# Debt Relief Orders\n\n## Debt limit\n\n"
    "The debt limit is £50,000 or less from 28 June 2024.\n"
)


async def test_ingest_is_idempotent_and_replaces_changed_files(
    store_settings, router: ProviderRouter
) -> None:  # type: ignore[no-untyped-def]
    library = await open_library(store_settings, router, f"t-{uuid.uuid4().hex[:8]}")
    first = await library.ingest("dro.md", DRO.encode())
    assert first.outcome == "added"
    count = library.store.count()
    again = await library.ingest("dro.md", DRO.encode())
    assert again.outcome == "unchanged"
    assert library.store.count() == count

    changed = DRO + "\n## Fee\n\nThere is no application fee since 6 April 2024.\n"
    replaced = await library.ingest("dro.md", changed.encode())
    assert replaced.outcome == "replaced"
    rows = library.store.all_chunks()
    assert {c.document_id for _, c in rows} == {first.document_id}
    records = await library.documents()
    assert len(records) == 1 and records[0].chunks == len(rows) == replaced.chunks
    assert all(":" + records[0].sha256[:16] + ":" in row_id for row_id, _ in rows)
    assert library.keywords.search("application fee", 5)  # the index follows the store

    assert await library.delete(first.document_id)
    assert library.store.count() == 0
    assert await library.documents() == []
    assert library.keywords.search("application fee", 5) == []


async def test_a_corrupt_or_encrypted_pdf_leaves_nothing_behind(
    store_settings, router: ProviderRouter
) -> None:  # type: ignore[no-untyped-def]
    library = await open_library(store_settings, router, f"t-{uuid.uuid4().hex[:8]}")
    await library.ingest("dro.md", DRO.encode())
    before = library.store.count()
    with pytest.raises(InputError, match="not a readable PDF"):
        await library.ingest("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50)
    with pytest.raises(InputError, match="password"):
        await library.ingest("locked.pdf", _encrypted_pdf())
    assert library.store.count() == before
    assert [d.filename for d in await library.documents()] == ["dro.md"]


async def test_folder_sync_removes_deleted_manuals(
    store_settings, router: ProviderRouter, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    library = await open_library(store_settings, router, f"t-{uuid.uuid4().hex[:8]}")
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "dro.md").write_text(DRO)
    (folder / "iva.md").write_text("# IVA\n\n## Length\n\nAn IVA typically lasts 5 years.\n")
    results = await library.ingest_folder(folder)
    assert sorted(r.outcome for r in results) == ["added", "added"]
    (folder / "iva.md").unlink()
    results = await library.ingest_folder(folder)
    assert sorted(r.outcome for r in results) == ["removed", "unchanged"]
    assert [d.filename for d in await library.documents()] == ["dro.md"]
    assert _candidate_values(library, "dro.max_debt") >= {50000}


async def test_the_store_refuses_vectors_from_another_model(
    store_settings, router: ProviderRouter
) -> None:  # type: ignore[no-untyped-def]
    library = await open_library(store_settings, router, f"t-{uuid.uuid4().hex[:8]}")
    await library.ingest("dro.md", DRO.encode())
    with pytest.raises(ConfigError, match="cannot be compared"):
        library.store.claim_model("another-embedder", 768)


async def test_indexes_survive_a_restart(clean_env: Path, router: ProviderRouter) -> None:
    from rma.config import load_settings

    settings = load_settings()
    library = await open_library(settings, router, "rma_manuals")
    results = await library.ingest_folder(copy_manuals(clean_env / "manuals"))
    assert {r.outcome for r in results} == {"added"}
    reopened = await open_library(settings, router, "rma_manuals")
    assert reopened.keywords.ids == library.keywords.ids
    assert reopened.keywords.fingerprint == library.keywords.fingerprint
    assert reopened.limit_candidates == library.limit_candidates  # loaded, not read again
    assert _candidate_values(reopened, "dro.max_debt") >= {50000, 30000}


def _candidate_values(library: ManualLibrary, name: str) -> set[int]:
    """The values the library's manuals state for a limit (read at ingest, per document)."""
    _, found = library.candidates()
    return {int(c.value) for c in found if c.name == name}


def _encrypted_pdf() -> bytes:
    import io

    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    canvas.drawString(72, 720, "The debt limit is £50,000.")
    canvas.save()
    return buf.getvalue()


async def test_an_instance_notices_another_instances_ingest(
    store_settings, router: ProviderRouter, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from rma.config import load_settings

    collection = f"t-{uuid.uuid4().hex[:8]}"
    first = await open_library(store_settings, router, collection)
    other_settings = load_settings(RMA_DATA_DIR=str(tmp_path / "other-instance"))
    second = await open_library(other_settings, router, collection)
    second.change_check_seconds = 0.0
    await first.ingest("dro.md", DRO.encode())
    if store_settings.chromadb_host:
        # on a shared server the second instance sees the change and rebuilds its indexes
        assert await second.refresh_if_changed()
        assert second.keywords.search("debt limit", 5)
        assert _candidate_values(second, "dro.max_debt")
    assert not await first.refresh_if_changed()


def test_unused_index_slots_are_zeroed_and_used_ones_kept(tmp_path: Path) -> None:
    # hnswlib writes its length.bin at full capacity from an uncleared buffer, so slots
    # past the live elements can hold any text the process had on its heap. A write to
    # the store clears them; the slots in use keep the vector lengths.
    import chromadb

    from rma.rag.store import ManualStore, zero_unused_vector_slots

    client = chromadb.PersistentClient(path=str(tmp_path))
    collection = client.create_collection(
        "planted", configuration={"hnsw": {"space": "cosine", "sync_threshold": 2}}
    )
    vectors = [[float(i + 1), 1.0, 0.5, 2.0] for i in range(5)]
    collection.add(ids=[f"r{i}" for i in range(5)], embeddings=vectors)
    [header] = tmp_path.glob("*/header.bin")
    lengths = header.with_name("length.bin")
    live = int.from_bytes(header.read_bytes()[20:28], "little")
    assert live == 5, "the index must be on disk for this test to mean anything"
    used = lengths.read_bytes()[: live * 4]
    planted = b"client Sam Planted owes 4321"
    with lengths.open("r+b") as handle:  # what a dirty heap leaves there
        handle.seek(live * 4 + 8)
        handle.write(planted)

    store = ManualStore(client, "other", str(tmp_path))  # any write to the store scrubs
    store.delete_document("nothing-here")

    data = lengths.read_bytes()
    assert planted not in data and data[live * 4 :] == bytes(len(data) - live * 4)
    assert data[: live * 4] == used
    got = collection.get(ids=["r2"], include=["embeddings"])["embeddings"][0]
    assert [round(float(x), 4) for x in got] == vectors[2]
    assert zero_unused_vector_slots(tmp_path) == len(data) - live * 4  # idempotent, same span
