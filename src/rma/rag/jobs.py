"""Bulk ingestion as a job: a list of files, each one's outcome, and progress you can poll.

A job is saved (``RMA_DATA_DIR/rag/jobs/<id>.json``, replaced whole on every change)
after each file, so a process that stops part-way leaves a record of what is done. A job
found unfinished (a service restarted, ``rma ingest`` killed) resumes from its first
file not done; files already done are not read again, and one half-written when the
process stopped is repaired by the store's start-up check and ingested again. Because
ingestion is idempotent by content hash, resuming never duplicates a manual.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from rma.errors import NotFound
from rma.rag.library import IngestResult, ManualLibrary, Outcome, manual_files

JobState = Literal["queued", "running", "done", "failed"]


class JobFile(BaseModel):
    """One file of a job and what became of it."""

    name: str
    path: str = Field(exclude=True)  # where the process reads it; never sent to clients
    status: Literal["pending", "done"] = "pending"
    outcome: Outcome | None = None
    chunks: int = 0
    pages: int = 0
    ocr_pages: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class IngestJob(BaseModel):
    """A bulk ingestion (``POST /ingest-jobs``, ``rma ingest``) and its progress."""

    id: str
    state: JobState = "queued"
    source: str = Field(description="What is being ingested (a folder's name).")
    remove_missing: bool = False
    created_at: str
    updated_at: str
    resumed: int = Field(default=0, description="How many times the job was resumed after a stop.")
    error: str = ""
    files: list[JobFile]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def done(self) -> int:
        return sum(1 for f in self.files if f.status == "done")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return len(self.files)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages_done(self) -> int:
        return sum(f.pages for f in self.files if f.status == "done")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f.outcome == "failed")

    def results(self) -> list[IngestResult]:
        return [
            IngestResult(
                document_id="",
                filename=f.name,
                outcome=f.outcome,
                chunks=f.chunks,
                pages=f.pages,
                ocr_pages=f.ocr_pages,
                warnings=f.warnings,
            )
            for f in self.files
            if f.outcome is not None
        ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobBook:
    """The saved jobs of one data directory. Blocking file I/O: small JSON files."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "rag" / "jobs"

    def create(self, paths: list[Path], source: str, *, remove_missing: bool = False) -> IngestJob:
        now = _now()
        job = IngestJob(
            id=uuid.uuid4().hex[:12],
            source=source,
            remove_missing=remove_missing,
            created_at=now,
            updated_at=now,
            files=[JobFile(name=p.name, path=str(p.resolve())) for p in paths],
        )
        self.save(job)
        return job

    def save(self, job: IngestJob) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        job.updated_at = _now()
        data = job.model_dump(mode="json")
        for saved, file in zip(data["files"], job.files, strict=True):
            saved["path"] = file.path  # kept on disk, left out of API responses
        target = self.folder / f"{job.id}.json"
        staging = target.with_suffix(".json.new")
        staging.write_text(json.dumps(data), encoding="utf-8")
        staging.replace(target)

    def get(self, job_id: str) -> IngestJob:
        if not job_id.isalnum():
            raise NotFound(f"no ingest job {job_id!r}")
        try:
            text = (self.folder / f"{job_id}.json").read_text(encoding="utf-8")
        except OSError:
            raise NotFound(f"no ingest job {job_id!r}") from None
        return IngestJob.model_validate_json(text)

    def all(self) -> list[IngestJob]:
        if not self.folder.is_dir():
            return []
        jobs = [self.get(p.stem) for p in self.folder.glob("*.json")]
        return sorted(jobs, key=lambda j: j.created_at)

    def unfinished(self) -> list[IngestJob]:
        return [j for j in self.all() if j.state in ("queued", "running")]

    def matching(self, paths: list[Path]) -> IngestJob | None:
        """The newest unfinished job over exactly these files, to resume."""
        wanted = [str(p.resolve()) for p in paths]
        for job in reversed(self.unfinished()):
            if [f.path for f in job.files] == wanted:
                return job
        return None


def folder_job(book: JobBook, folder: Path, *, remove_missing: bool) -> IngestJob:
    """A new job over the supported files directly in ``folder``."""
    return book.create(manual_files(folder), folder.name, remove_missing=remove_missing)


async def run_job(
    library: ManualLibrary,
    book: JobBook,
    job: IngestJob,
    *,
    origin: str = "manuals",
    progress: Callable[[IngestJob, JobFile], object] | None = None,
) -> IngestJob:
    """Ingest the job's files not yet done, saving the job after each one."""
    if job.state == "running":
        job.resumed += 1
    job.state = "running"
    await asyncio.to_thread(book.save, job)
    pending = [f for f in job.files if f.status != "done"]
    by_path = {f.path: f for f in pending}

    def record(path: Path, result: IngestResult) -> None:
        file = by_path[str(path)]
        file.status = "done"
        file.outcome = result.outcome
        file.chunks = result.chunks
        file.pages = result.pages
        file.ocr_pages = result.ocr_pages
        file.warnings = result.warnings
        book.save(job)
        if progress is not None:
            progress(job, file)

    try:
        await library.ingest_paths([Path(f.path) for f in pending], origin, progress=record)
        if job.remove_missing:
            await library.remove_missing({f.name for f in job.files})
        job.state = "done"
    except Exception as exc:
        job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        await asyncio.to_thread(book.save, job)
    return job
