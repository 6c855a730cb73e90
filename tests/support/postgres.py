"""A real PostgreSQL server for the tests, from the operating system's packages.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port with its socket in
that folder, and one fresh database per test. PostgreSQL refuses to run as root, so when
the tests run as root the server runs as the ``postgres`` system user (``runuser``).
Durability settings are off: the data lives for one test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.servers import free_port


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str = "rma"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        run = subprocess.run
        run(
            self._as_owner([str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                            "--auth=trust", "--encoding=UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(
            self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                            str(self.root / "server.log"), "-o", options, "-w", "-t", "60",
                            "start"]),
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        subprocess.run(
            self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                            "-w", "stop"]),
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_postgres() -> PostgresServer | None:
    """A running server, or None when PostgreSQL is not installed."""
    bindir = postgres_bin()
    if bindir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="rma-postgres-"))
    server = PostgresServer(bindir, root, free_port())
    try:
        return server.start()
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r} {detail}") from None
