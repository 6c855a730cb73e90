"""Fixtures for the Ask the Manuals tests: the sample manuals, stores on embedded Chroma
and on a real Chroma server, and a library with the manuals ingested."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.ocr import OcrReader
from rma.rag.library import ManualLibrary
from rma.rag.manuals import ManualChunk, chunk_manual, document_id_for, load_manual
from rma.rag.store import ManualStore
from tests.conftest import LOGS, ROOT
from tests.support.servers import ServerProcess, free_port

MANUALS = ROOT / "manuals"


def manual_files() -> list[Path]:
    return sorted(p for p in MANUALS.iterdir() if p.suffix in (".md", ".pdf"))


@pytest.fixture(scope="session")
def manual_chunks() -> list[ManualChunk]:
    """Every sample manual loaded and chunked (no store, no embeddings)."""

    async def load() -> list[ManualChunk]:
        chunks: list[ManualChunk] = []
        for path in manual_files():
            manual = await load_manual(path.name, path.read_bytes(), OcrReader())
            chunks.extend(chunk_manual(manual, document_id_for(manual.name)))
        return chunks

    return asyncio.run(load())


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real Chroma server (``chroma run``) on a free port."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    proc = ServerProcess(
        argv=[str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
              "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        health_path="/api/v2/heartbeat",
        log=LOGS / "chroma-server.log",
    )  # fmt: skip
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(params=["embedded", "server"])
def store_settings(
    request: pytest.FixtureRequest, clean_env: Path, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    """Settings for an empty store: embedded under RMA_DATA_DIR, or on the Chroma server
    (each test gets its own collection there, so tests do not see each other's chunks)."""
    if request.param == "server":
        server: ServerProcess = request.getfixturevalue("chroma_server")
        monkeypatch.setenv("CHROMADB_HOST", "127.0.0.1")
        monkeypatch.setenv("CHROMADB_PORT", str(server.port))
    return load_settings()


@pytest.fixture
async def router(clean_env: Path) -> ProviderRouter:  # type: ignore[misc]
    router = build_router(load_settings())
    yield router
    await router.aclose()


async def open_library(settings, router: ProviderRouter, collection: str) -> ManualLibrary:  # type: ignore[no-untyped-def]
    store = await asyncio.to_thread(ManualStore.open, settings, collection)
    library = ManualLibrary(store, router, Path(settings.rma_data_dir))
    await library.load_indexes()
    return library


def copy_manuals(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in manual_files():
        shutil.copy(path, target / path.name)
    return target


@contextmanager
def rag_over_http(folder: Path, **env: str) -> Iterator[str]:
    """The RAG service over real HTTP in a clean environment plus ``env``, the sample
    manuals ingested; for a module's tests to share (yields the base URL)."""
    from rma.rag.api import create
    from tests.conftest import clean_environment
    from tests.support.serve import serving

    with pytest.MonkeyPatch.context() as patch:
        clean_environment(patch, folder)
        patch.setenv("MANUALS_PATH", str(copy_manuals(folder / "manuals")))
        for name, value in env.items():
            patch.setenv(name, value)
        with serving(create()) as url:
            httpx.post(f"{url}/ingest-all-manuals", timeout=300).raise_for_status()
            yield url
