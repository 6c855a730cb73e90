"""Reading uploaded documents in the background: doc-processor, then the case's index.

An upload returns at once (``status: received``); a few documents are read at a time per
app process. A document is ``processing`` until its fields are kept, its debt proposed and
its text indexed for the case's search, then ``processed``; if the doc-processor cannot
read it, ``failed`` with the reason (read it again with ``POST .../read``). Documents left
unread by a stopped app are picked up again when it starts.
"""

from __future__ import annotations

import asyncio
import logging

from rma import constants as C
from rma.app.services import CaseSearch, DocProcessor
from rma.cases.store import CaseStore
from rma.errors import NotFound, RMAError

log = logging.getLogger("rma.app")


class DocumentReader:
    def __init__(
        self,
        store: CaseStore,
        docs: DocProcessor,
        search: CaseSearch,
        at_once: int = C.DOCUMENTS_PROCESSED_AT_ONCE,
    ) -> None:
        self.store = store
        self.docs = docs
        self.search = search
        self._slots = asyncio.Semaphore(at_once)
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, document_id: int) -> None:
        task = asyncio.create_task(self._read(document_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> int:
        """Schedule every document not read yet; how many."""
        waiting = await self.store.unfinished_documents()
        for document_id in waiting:
            self.schedule(document_id)
        return len(waiting)

    async def idle(self) -> None:
        """Wait until every scheduled document is read (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _read(self, document_id: int) -> None:
        async with self._slots:
            try:
                await self._read_one(document_id)
            except NotFound:
                return  # deleted while it waited
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never lose a document in "processing"
                failure = {"document_id": document_id, "error": type(exc).__name__}
                log.error("document reading failed", extra=failure)
                await self.store.fail_reading(document_id, "reading failed: an internal error")

    async def _read_one(self, document_id: int) -> None:
        work = await self.store.start_reading(document_id)
        if work is None:
            return  # another app process is reading it
        try:
            reading = await self.docs.read(work.data, work.file_name, work.media_type)
        except RMAError as exc:
            await self.store.fail_reading(document_id, str(exc))
            return
        indexed: int | None = None
        warning = ""
        try:
            indexed = await self.search.index(
                work.case_key, work.document_key, work.file_name, reading.pages
            )
        except RMAError as exc:
            warning = f"not searchable yet: {exc}"
        await self.store.finish_reading(document_id, reading, indexed, warning)
        log.info("document read", extra={"document_id": document_id, "pages": len(reading.pages)})
