"""Reading uploaded documents in the background: doc-processor, then the case's index.

An upload returns at once (``status: received``); a few documents are read at a time per
app process. A document is ``processing`` until its fields are kept, its debt proposed and
its text indexed for the case's search, then ``processed``; if the doc-processor cannot
read it, ``failed`` with the reason (read it again with ``POST .../read``). Documents left
unread by a stopped app are picked up again when it starts. While a document is read,
each page is told as it is read (:meth:`DocumentReader.pages_read`, for its status).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

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
        # The pages read so far of each document being read here (method, confidence,
        # whether it had text; never its text), for the reading's status.
        self._pages: dict[int, list[dict[str, Any]]] = {}

    def pages_read(self, document_id: int) -> list[dict[str, Any]]:
        """The pages of a document read so far by this process, in page order (empty if
        it is not being read here)."""
        return sorted(self._pages.get(document_id, []), key=lambda p: int(p["number"]))

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
        self._pages[document_id] = []
        try:
            reading = await self.docs.read(
                work.data, work.file_name, work.media_type, self._pages[document_id].append
            )
        except RMAError as exc:
            await self.store.fail_reading(document_id, str(exc))
            return
        finally:
            self._pages.pop(document_id, None)
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
