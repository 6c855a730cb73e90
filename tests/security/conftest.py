"""The three services as they are deployed, on the embedded default (SmolLM2 through
llama.cpp in-process, MiniLM ONNX, embedded Chroma, SQLite), each its own process with
its own data and temporary folders, keys required: what the bad-input suite and the
schema fuzzer attack over real HTTP, and what they measure (memory, temporary files)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import LOGS
from tests.support.servers import (
    ServerProcess,
    free_port,
    process_tree,
    rma_service,
    rss_bytes,
    temp_bytes,
)

KEY = "security-suite-key-" + "7f3a9c" * 4
# Another caller, for the rate limit: its requests never slow the fuzzer's.
OTHER_KEY = "security-suite-other-" + "5e1b2d" * 4
RATE_LIMIT = "40/second"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Schemathesis's pytest plugin names each operation's subtest by rewriting the
    test's ``_nodeid``, which pytest 9 no longer has (its ``nodeid`` is a property): give
    the fuzz tests the attribute it reads and writes, for its reports only."""
    for item in items:
        if item.path.name == "test_fuzz.py":
            item._nodeid = item.nodeid  # type: ignore[attr-defined]


@dataclass
class Service:
    name: str
    base: str
    process: ServerProcess
    tmp: Path

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    def client(self, key: str = KEY, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": key}, timeout=timeout)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    root = tmp_path_factory.mktemp("embedded-services")
    manuals = root / "manuals"
    manuals.mkdir()
    started: dict[str, Service] = {}
    try:
        for name in ("notes", "docs", "rag"):
            tmp = root / f"tmp-{name}"
            tmp.mkdir()
            env = {
                "LLM_PROVIDER": "local",
                "EMBED_PROVIDER": "local",
                "OCR_PROVIDER": "tesseract",
                "RMA_SERVICE_AUTH": "tokens",
                "RMA_API_KEYS": f"{KEY},{OTHER_KEY}",
                "RMA_RATE_LIMIT": RATE_LIMIT,
                "RMA_DATA_DIR": str(root / f"data-{name}"),
                "MANUALS_PATH": str(manuals),
                "TMPDIR": str(tmp),
                "RMA_LOG_LEVEL": "WARNING",
            }
            port = free_port()
            process = rma_service(name, port, LOGS / f"security-{name}.log", env)
            started[name] = Service(name, process.base, process, tmp)
            process.start()
        yield started
    finally:
        for service in started.values():
            service.process.stop()


@dataclass
class Watch:
    """Samples a service while a request runs: its own memory, its document workers'
    memory and its temporary files, every 10 ms; the growth of each over the start."""

    service: Service
    base_rss: int = 0
    base_temp: int = 0
    peak_rss: int = 0
    peak_workers: int = 0
    peak_temp: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        pids = process_tree(self.service.pid)
        self.peak_rss = max(self.peak_rss, rss_bytes(pids[0]))
        self.peak_workers = max(self.peak_workers, *(rss_bytes(p) for p in pids[1:]), 0)
        temp = sum(temp_bytes(p, self.service.tmp) for p in pids)
        self.peak_temp = max(self.peak_temp, temp)

    def __enter__(self) -> Watch:
        pids = process_tree(self.service.pid)
        self.base_rss = rss_bytes(pids[0])
        self.base_temp = sum(temp_bytes(p, self.service.tmp) for p in pids)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.01)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def memory_growth(self) -> int:
        return max(0, self.peak_rss - self.base_rss)

    @property
    def temp_growth(self) -> int:
        return max(0, self.peak_temp - self.base_temp)
