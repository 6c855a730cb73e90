"""Crash safety: ``rma ingest`` killed (SIGKILL) at many points of an ingest and of a
re-ingest of changed manuals; after each kill the next start finds every document
exactly once and whole, with the keyword index in step, and a last run completes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.rag.library import ManualLibrary
from tests.rag.conftest import copy_manuals

KILL_AFTER = [(0, 0.0), (0, 2.0), (1, 0.0), (2, 0.3), (4, 0.0), (6, 0.2)]


def _ingest_killed(folder: Path, files_done: int, delay: float) -> bool:
    """Start ``rma ingest folder``, kill it once ``files_done`` files are reported and
    ``delay`` seconds more have passed. False if it finished first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rma.cli", "ingest", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    done = 0
    while done < files_done:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            return False
        if line.split(" ", 1)[0] in ("added", "replaced", "unchanged", "failed"):
            done += 1
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


async def _check_whole(expected: set[str]) -> int:
    """Open the library (its start-up check repairs), then check each document is there
    at most once, whole, in one version, and indexed for keywords in that version."""
    settings = load_settings()
    router = build_router(settings)
    library = await ManualLibrary.open(settings, router)
    try:
        store = library.store
        records = store.documents()
        ids = [r.document_id for r in records]
        assert len(ids) == len(set(ids)), ids
        assert {r.filename for r in records} <= expected
        for record in records:
            rows = store.collection.get(where={"document_id": record.document_id}, include=[])
            versions = {i.split(":")[-2] for i in rows["ids"]}
            assert versions == {record.version}, (record.filename, versions)
            assert len(rows["ids"]) == record.chunks, record.filename
            indexes = sorted(c.index for _, c in store.document_chunks(record.document_id))
            assert indexes == list(range(record.chunks)), record.filename
        assert library.keywords.versions() == store.live()
        assert library.keywords.count() == store.count()
        return len(records)
    finally:
        await library.close()
        await router.aclose()


def test_killed_ingest_and_reingest_leave_each_manual_once_and_whole(clean_env: Path) -> None:
    folder = copy_manuals(clean_env / "manuals")
    names = {p.name for p in folder.iterdir()}
    for stage in ("ingest", "re-ingest"):
        if stage == "re-ingest":  # new versions of the text manuals: a replace each
            for path in folder.glob("*.md"):
                path.write_text(path.read_text() + "\n\n## Note\n\nReviewed again this year.\n")
        killed = 0
        for files_done, delay in KILL_AFTER:
            killed += _ingest_killed(folder, files_done, delay)
            asyncio.run(_check_whole(names))
        assert killed >= len(KILL_AFTER) - 2, f"{stage}: most runs should be killed part-way"
        finished = subprocess.run(
            [sys.executable, "-m", "rma.cli", "ingest", str(folder)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            check=False,
        )
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert asyncio.run(_check_whole(names)) == len(names)
