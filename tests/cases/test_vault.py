"""Client files at rest: encrypted (the plaintext is nowhere on disk), bound to where they
live, unreadable when altered, and re-encrypted under a new key by rotation."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.cases.vault import Keyring, Vault, generate_key
from rma.cli import main
from rma.config import load_settings
from rma.errors import ConfigError, StoredDataError

SECRET = b"UNIQUE-CLIENT-TEXT-7f3a balance 1234.56"


def locations(n: int = 1) -> list[str]:
    case = uuid.uuid4().hex
    return [Vault.location(case, uuid.uuid4().hex) for _ in range(n)]


def on_disk(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_file_reads_back_and_its_plaintext_is_nowhere_on_disk(tmp_path: Path) -> None:
    vault = Vault(tmp_path, Keyring.parse(generate_key("k1")))
    [where] = locations()
    assert vault.write(where, SECRET) == "k1"
    assert vault.read(where) == SECRET
    assert on_disk(tmp_path, b"UNIQUE-CLIENT-TEXT") == []
    mode = stat.S_IMODE((tmp_path / where).stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_an_altered_or_moved_file_does_not_decrypt(tmp_path: Path) -> None:
    vault = Vault(tmp_path, Keyring.parse(generate_key("k1")))
    first, second = locations(2)
    vault.write(first, SECRET)
    path = tmp_path / first
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(StoredDataError, match="altered"):
        vault.read(first)
    vault.write(first, SECRET)
    (tmp_path / second).parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_path / first, tmp_path / second)  # the same bytes under another name
    with pytest.raises(StoredDataError, match="moved"):
        vault.read(second)


def test_rotation_moves_every_file_to_the_new_key(tmp_path: Path) -> None:
    old = generate_key("2025")
    old_vault = Vault(tmp_path, Keyring.parse(old))
    places = locations(3)
    for where in places:
        old_vault.write(where, SECRET + where.encode())
    new = generate_key("2026")
    both = Vault(tmp_path, Keyring.parse(f"{new},{old}"))
    assert both.census() == {"2025": 3}
    report = both.rotate()
    assert (report.rewritten, report.current, report.failed) == (3, 0, [])
    assert both.census() == {"2026": 3}
    assert both.rotate().rewritten == 0  # idempotent
    only_new = Vault(tmp_path, Keyring.parse(new))
    assert [only_new.read(w) for w in places] == [SECRET + w.encode() for w in places]
    with pytest.raises(ConfigError, match="2026"):
        Vault(tmp_path, Keyring.parse(old)).read(places[0])


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("", "empty"),
        ("nocolon", "not ID:KEY"),
        ("k1:not base64!", "not base64"),
        ("k1:c2hvcnQ=", "AES-256 needs 32"),
        (f"{generate_key('a')},{generate_key('a')}", "twice"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(setting: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Keyring.parse(setting)


def test_rma_keys_generate_status_and_rotate(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    generated = runner.invoke(main, ["keys", "generate", "--id", "first"])
    assert generated.exit_code == 0, generated.output
    first = generated.output.strip()
    monkeypatch.setenv("RMA_ENCRYPTION_KEY", first)
    vault = Vault.from_settings(load_settings())
    places = locations(2)
    for where in places:
        vault.write(where, SECRET)
    second = runner.invoke(main, ["keys", "generate", "--id", "second"]).output.strip()
    monkeypatch.setenv("RMA_ENCRYPTION_KEY", f"{second},{first}")
    status = runner.invoke(main, ["keys", "status"])
    assert "first: 2 file(s)" in status.output, status.output
    rotated = runner.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0 and "2 re-encrypted" in rotated.output, rotated.output
    # Rotating read every client file: the audit log says who, and how many.
    [entry] = [
        json.loads(line) for line in runner.invoke(main, ["audit", "export"]).stdout.splitlines()
    ]
    assert (entry["action"], entry["actor_kind"], entry["outcome"]) == (
        "keys.rotate",
        "operator",
        "ok",
    )
    assert entry["detail"] == {"key_id": "second", "rewritten": 2, "failed": 0}
    assert "second: 2 file(s)" in runner.invoke(main, ["keys", "status"]).output
