"""Untrusted files are parsed in worker processes, each with a memory and a time limit.

A client's PDF, photo or Word file is parsed by C libraries (pdfium, Pillow's decoders,
lxml) and read by Tesseract. A crafted file (a content stream that inflates to gigabytes,
a decompression bomb, a parser bug) must cost that one request a 413 or 422, never the
service. So every parse and OCR of an uploaded file runs in one of a few long-lived worker
processes whose address space is capped (``RLIMIT_AS``, which Tesseract, started by a
worker, inherits), and every call has a deadline: the rest of its document's time budget
(:func:`document_budget`). A worker that runs out of memory answers 413 and is replaced;
one that dies or outruns the deadline is killed and replaced, and the request gets 422.

The workers are started once, as fresh interpreters that import only what reading a file
needs (not forked: the service has threads; not multiprocessing's spawn: that imports
the service's own modules again), and reused, so the common case pays only for moving
the bytes (``rma bench documents`` measures it). One
thread per worker carries its calls, so the event loop never waits, and calls beyond the
number of workers queue for the next free one.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from rma import constants as C
from rma.errors import InputError, InputTooLarge, RMAError

if TYPE_CHECKING:
    from rma.config import Settings

log = logging.getLogger("rma.ocr")

T = TypeVar("T")
# The time one document may take, from its first parse to its last page's OCR: when it
# ends (monotonic clock) and the seconds it was given.
_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "document_deadline", default=None
)
# What a worker imports before its first file, so that no document pays for it.
_WARM_MODULES = ("rma.ocr.pdf", "rma.ocr.tesseract", "pypdfium2", "docx", "numpy")


@dataclass(frozen=True)
class WorkerLimits:
    """How many workers, the address space each may use, and one document's seconds."""

    workers: int = C.DOCUMENT_WORKERS
    memory_mb: int = C.DOCUMENT_WORKER_MEMORY_MB
    seconds: float = C.DOCUMENT_SECONDS


class DocumentTimeout(InputError):
    """A document took longer to read than its budget."""


@contextlib.contextmanager
def document_budget(seconds: float | None = None) -> Iterator[None]:
    """Every worker call inside (and in tasks started inside) shares one deadline:
    ``seconds`` from now, by default the workers' ``seconds``. Nested budgets keep the
    outer, earlier deadline."""
    limit = seconds if seconds is not None else workers().limits.seconds
    outer = _deadline.get()
    deadline = (time.monotonic() + limit, limit)
    token = _deadline.set(deadline if outer is None or deadline < outer else outer)
    try:
        yield
    finally:
        _deadline.reset(token)


class DocumentWorkers:
    """A pool of worker processes for untrusted files (see the module)."""

    def __init__(self, limits: WorkerLimits | None = None) -> None:
        self.limits = limits or WorkerLimits()
        self.replaced = 0  # workers killed or lost and started afresh
        self._local = threading.local()
        self._processes: list[_Worker] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="rma-doc")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker, within the current document's deadline (or a fresh
        budget). ``fn`` must be a module-level function; the errors of ours it raises
        (:class:`InputError` ...) are raised here."""
        import asyncio

        deadline = _deadline.get()
        if deadline is None:
            deadline = (time.monotonic() + self.limits.seconds, self.limits.seconds)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, deadline)

    def warm(self) -> None:
        """Start every worker now and load what reading a file needs, so the first
        documents do not pay for it (a service calls this at start-up)."""
        for _ in range(self.limits.workers):
            self._executor.submit(self._call, _import, (_WARM_MODULES,), (math.inf, math.inf))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for worker in self._processes:
                worker.kill()
            self._processes.clear()

    # --------------------------------------------------------------- in the pool threads

    def _call(
        self, fn: Callable[..., T], args: tuple[Any, ...], deadline: tuple[float, float]
    ) -> T:
        ends, seconds = deadline
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise self._timeout(seconds)
        worker = self._worker()
        try:
            worker.conn.send((fn, args))
        except (BrokenPipeError, EOFError, OSError):
            worker = self._replace(worker)  # died while idle: one fresh try
            worker.conn.send((fn, args))
        if not worker.conn.poll(None if math.isinf(remaining) else remaining):
            self._replace(worker)
            raise self._timeout(seconds)
        try:
            outcome, value = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.process.poll()
            self._replace(worker)
            log.warning("document worker died", extra={"error": f"exit {code}"})
            raise InputError(
                "the document could not be read: reading it stopped the reader (a damaged or "
                "crafted file)"
            ) from None
        if outcome == "ok":
            return value  # type: ignore[no-any-return]
        if outcome == "memory":
            self._replace(worker)
            raise InputTooLarge(
                f"the document needs more than {self.limits.memory_mb} MB of memory to read; "
                "split it or send a smaller scan"
            )
        if outcome == "raise":
            raise value
        raise InputError(f"the document could not be read ({value})")

    def _timeout(self, seconds: float) -> DocumentTimeout:
        return DocumentTimeout(
            f"the document took longer than {seconds:g} s to read; split it or send fewer pages"
        )

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.alive():
            worker = self._replace(worker)
        return worker

    def _replace(self, old: _Worker | None) -> _Worker:
        with self._lock:
            if old is not None:
                old.kill()
                self._processes.remove(old)
                self.replaced += 1
            worker = _Worker.start(self.limits.memory_mb)
            self._processes.append(worker)
        self._local.worker = worker
        return worker


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection

    @classmethod
    def start(cls, memory_mb: int) -> _Worker:
        """A fresh interpreter that imports only this module (not the service's, as a
        multiprocessing child would), talking over an inherited socket."""
        ours, theirs = multiprocessing.Pipe()
        code = "from rma.ocr.workers import _serve_inherited; _serve_inherited()"
        # The caller's import path, in order, so a worker finds what its caller finds.
        path = os.pathsep.join(p for p in sys.path if p)
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), str(memory_mb)],
            pass_fds=[theirs.fileno()],
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        return cls(process, ours)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()


def _import(modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


def _serve_inherited() -> None:
    """A worker's entry point: the socket and the memory limit from its command line."""
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]))


def _serve(conn: Connection, memory_mb: int) -> None:
    """A worker's life: calls in, outcomes out, until the pipe closes or memory runs out."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no client data on disk
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            reply = ("memory", None)
        except RMAError as exc:  # ours, said on purpose: raised again in the service
            reply = ("raise", exc)
        except Exception as exc:  # the file's fault: it is the only thing that varies
            reply = ("error", type(exc).__name__)
        try:
            conn.send(reply)
        except MemoryError:
            reply = ("memory", None)
            conn.send(reply)
        except Exception as exc:  # an answer that cannot be sent back (not picklable)
            conn.send(("error", type(exc).__name__))
        if reply[0] == "memory":
            return  # a fresh worker rather than a fragmented heap


_pool: DocumentWorkers | None = None
_pool_lock = threading.Lock()


def workers() -> DocumentWorkers:
    """The process's document workers (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = DocumentWorkers()
        return _pool


def configure_workers(limits: WorkerLimits) -> DocumentWorkers:
    """Use ``limits`` from now on (a service's settings); a pool with other limits is
    closed and replaced."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.limits != limits:
            _pool.close()
            _pool = None
        if _pool is None:
            _pool = DocumentWorkers(limits)
        return _pool


def start_workers(settings: Settings) -> DocumentWorkers:
    """The workers as ``settings`` say (``RMA_DOCUMENT_*``), started and warm."""
    pool = configure_workers(
        WorkerLimits(
            settings.rma_document_workers,
            settings.rma_document_memory_mb,
            settings.rma_document_seconds,
        )
    )
    pool.warm()
    return pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None:
        _pool.close()
