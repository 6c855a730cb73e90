"""The adviser app over real HTTP, calling the three real services over real HTTP.

The services run as ``rma serve`` processes on the embedded default (the bundled
SmolLM2 through llama.cpp, MiniLM ONNX embeddings, embedded Chroma, Tesseract), each
requiring the service key, for the whole session; two sample manuals are ingested so the
manuals' endpoints have something to answer from. Each test gets its own app (on SQLite
or a real PostgreSQL) with its own encrypted files, pointed at those services, and two
people signed in with personal tokens: an adviser (the default caller) and a supervisor.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rma import constants as C
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.accounts.tokens import Tokens
from rma.app.api import create
from rma.cases.vault import generate_key
from rma.config import Settings, load_settings
from rma.db import Database, database_urls, migrate
from rma.documents.sample_letters import SampleLetter, render_image
from rma.stack.plan import EMBEDDED
from tests.conftest import LOGS, ROOT
from tests.support.accounts import FAST_ARGON2, PASSWORD
from tests.support.serve import serving
from tests.support.servers import ServerProcess, free_port

SERVICE_KEY = "service-key-for-tests-0123456789"
MANUALS = ("debt-relief-orders.md", "priority-debts.md")


@dataclass
class Services:
    notes: str
    docs: str
    rag: str
    rag_data: Path
    processes: list[ServerProcess]

    def rag_call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {C.API_KEY_HEADER: SERVICE_KEY}
        return httpx.request(method, self.rag + path, headers=headers, timeout=1900, **kwargs)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("services")
    database = f"sqlite:///{root / 'rma.db'}"
    started: list[ServerProcess] = []
    urls: dict[str, str] = {}
    try:
        for name in ("docs", "notes", "rag"):
            port = free_port()
            env = {
                **EMBEDDED,
                "RMA_API_KEYS": SERVICE_KEY,
                "RMA_SERVICE_AUTH": "tokens",
                "RMA_DATA_DIR": str(root / name),
                "RMA_DATABASE_URL": database,
                "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
                "RMA_LOG_LEVEL": "INFO",
                # The bundled model on a shared CPU can take minutes for one letter.
                "LLM_FIRST_TOKEN_TIMEOUT": "900",
                "LLM_TOTAL_TIMEOUT": "1800",
            }
            process = ServerProcess(
                argv=[sys.executable, "-m", "rma.cli", "serve", name, "--port", str(port)],
                port=port,
                health_path="/health",
                log=LOGS / f"app-tests-{name}.log",
                env=env,
                start_timeout=180,
            )
            process.start()
            started.append(process)
            urls[name] = process.base
        found = Services(urls["notes"], urls["docs"], urls["rag"], root / "rag", started)
        for manual in MANUALS:
            path = ROOT / "manuals" / manual
            files = {"file": (manual, path.read_bytes(), "text/markdown")}
            found.rag_call("POST", "/ingest", files=files).raise_for_status()
        yield found
    finally:
        for process in reversed(started):
            process.stop()


@dataclass
class App:
    url: str
    settings: Settings
    data: Path
    database_url: str
    app: Any
    tokens: dict[str, str]  # "adviser", "supervisor" -> a personal token

    def call(
        self, method: str, path: str, *, as_: str = "adviser", **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[as_]}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, timeout=1900, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    def read(self, case_id: int, document_id: int, timeout: float = 300) -> dict[str, Any]:
        """Wait until the document is read (processed or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.ok("GET", f"/cases/{case_id}/documents/{document_id}")
            if found["status"] in ("processed", "failed"):
                return dict(found)
            time.sleep(0.5)
        raise TimeoutError(f"document {document_id} not read in {timeout} s")

    def upload(self, case_id: int, name: str, data: bytes, media_type: str) -> dict[str, Any]:
        files = {"file": (name, data, media_type)}
        return dict(self.ok("POST", f"/cases/{case_id}/documents", files=files))

    def new_case(self, name: str = "Jo Client") -> dict[str, Any]:
        return dict(self.ok("POST", "/cases", json={"client": {"name": name}}))


def app_settings(
    database_url: str, data: Path, services: Services | None, **extra: Any
) -> Settings:
    urls = {}
    if services is not None:
        urls = {"RMA_NOTES_URL": services.notes, "RMA_DOCS_URL": services.docs,
                "RMA_RAG_URL": services.rag}  # fmt: skip
    else:  # nothing listens there: every call to a service fails as "unreachable"
        dead = f"http://127.0.0.1:{free_port()}"
        urls = {"RMA_NOTES_URL": dead, "RMA_DOCS_URL": dead, "RMA_RAG_URL": dead}
    return load_settings(
        RMA_DATABASE_URL=database_url,
        RMA_DATA_DIR=str(data),
        RMA_ENCRYPTION_KEY=generate_key("tests"),
        RMA_SERVICE_KEY=SERVICE_KEY,
        RMA_SERVICE_TIMEOUT="1900",
        **EMBEDDED,
        **FAST_ARGON2,
        **urls,
        **extra,
    )


def sign_in_people(settings: Settings) -> dict[str, str]:
    """An adviser and a supervisor of one team, each with a personal token."""
    operator = Actor("operator:tests", kind="operator", via="cli")

    async def make() -> dict[str, str]:
        database = Database.from_settings(settings)
        try:
            directory, tokens = Directory(database, settings), Tokens(database)
            found = {}
            for role in ("adviser", "supervisor"):
                user = await directory.create_user(
                    operator, email=f"{role}@advice.example", display_name=role.title(),
                    role=role, password=PASSWORD, team="North",
                )  # fmt: skip
                found[role] = (await tokens.create_personal(operator, user.id, "tests")).secret
            return found
        finally:
            await database.aclose()

    return asyncio.run(make())


@contextmanager
def running_app(
    database_url: str, data: Path, services: Services | None, **extra: Any
) -> Iterator[App]:
    settings = app_settings(database_url, data, services, **extra)
    migrate.upgrade(database_urls(settings))
    tokens = sign_in_people(settings)
    application = create(settings=settings)
    with serving(application) as url:
        yield App(url, settings, data, database_url, application, tokens)


@pytest.fixture
def app(database_url: str, services: Services, tmp_path: Path, clean_env: Path) -> Iterator[App]:
    """The app on each database, calling the services."""
    with running_app(database_url, tmp_path / "app", services) as found:
        yield found


@pytest.fixture
def sqlite_app(services: Services, tmp_path: Path, clean_env: Path) -> Iterator[App]:
    """The app on SQLite only (for what does not depend on the database)."""
    with running_app(f"sqlite:///{tmp_path / 'rma.db'}", tmp_path / "app", services) as found:
        yield found


def png(letter: SampleLetter) -> bytes:
    buffer = io.BytesIO()
    render_image(letter, "clean").save(buffer, format="PNG")
    return buffer.getvalue()
