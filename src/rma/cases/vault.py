"""Client files encrypted at rest: AES-256-GCM, the key's id in every file, keys that rotate.

``RMA_ENCRYPTION_KEY`` holds one or more keys as ``ID:KEY`` pairs, comma-separated (KEY:
32 random bytes in base64; ``rma keys generate`` prints one). The first key encrypts new
files; every key listed decrypts. To rotate: put a new key first and keep the old ones
after it, run ``rma keys rotate`` (it re-encrypts every file under the first key), then
remove the old keys.

A file is ``RMAV1``, the key id's length and the id, a 12-byte random nonce, then the
ciphertext with its tag. The file's location (its path under the vault) is authenticated
with it, so a file copied to another case or name does not decrypt. Files are written to
a temporary name, flushed and renamed into place: a crash leaves the old file or the new
one, never half of either.

The vault's methods block (file I/O and cryptography): async callers use
``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rma.config import Settings
from rma.errors import ConfigError, StoredDataError

MAGIC = b"RMAV1"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
# Where a file may live: a case's key, then a file key and what it holds.
_LOCATION = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}\.(file|text)$")
_CASE_KEY = re.compile(r"^[0-9a-f]{32}$")


class Keyring:
    """The encryption keys by id; ``current`` encrypts, all decrypt."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self.keys = keys
        self.current = current

    @classmethod
    def parse(cls, text: str, where: str = "RMA_ENCRYPTION_KEY") -> Keyring:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for number, pair in enumerate((p.strip() for p in text.split(",") if p.strip()), 1):
            key_id, sep, encoded = pair.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise ConfigError(
                    f"{where}: key {number} is not ID:KEY (an id of letters, digits, . _ -; "
                    "`rma keys generate` prints one)"
                )
            try:
                raw = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4),
                                       altchars=b"-_", validate=True)  # fmt: skip
            except (binascii.Error, ValueError):
                raise ConfigError(f"{where}: key {key_id!r} is not base64") from None
            if len(raw) != KEY_BYTES:
                raise ConfigError(
                    f"{where}: key {key_id!r} is {len(raw)} bytes; AES-256 needs {KEY_BYTES}"
                )
            if key_id in keys:
                raise ConfigError(f"{where}: key id {key_id!r} is given twice")
            keys[key_id] = raw
            order.append(key_id)
        if not keys:
            raise ConfigError(
                f"{where} is empty: client files are stored encrypted and need a key "
                "(`rma keys generate` prints one)"
            )
        return cls(keys, order[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        return cls.parse(settings.rma_encryption_key.get_secret_value())


def generate_key(key_id: str | None = None) -> str:
    """A new ``ID:KEY`` pair (the id defaults to today's date)."""
    key_id = key_id or date.today().strftime("%Y%m%d")
    if not _KEY_ID.match(key_id):
        raise ConfigError(f"{key_id!r} is not a key id (letters, digits, . _ -, at most 40)")
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


@dataclass
class Rotation:
    """What ``rotate`` did: files rewritten under the current key, already under it, and
    files it could not read (with why)."""

    key_id: str
    rewritten: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)


class Vault:
    """Encrypted files under ``root``, one folder per case."""

    def __init__(self, root: Path, keyring: Keyring) -> None:
        self.root = root
        self.keyring = keyring

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(Path(settings.rma_data_dir) / "cases", Keyring.from_settings(settings))

    @staticmethod
    def location(case_key: str, file_key: str, what: str = "file") -> str:
        return check_location(f"{case_key}/{file_key}.{what}")

    def _path(self, location: str) -> Path:
        return self.root / check_location(location)

    # ------------------------------------------------------------------ one file

    def write(self, location: str, data: bytes) -> str:
        """Encrypt ``data`` under the current key into ``location``; returns the key id."""
        key_id = self.keyring.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keyring.keys[key_id]).encrypt(nonce, data, location.encode())
        header = MAGIC + bytes([len(key_id)]) + key_id.encode() + nonce
        path = self._path(location)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = path.with_name(path.name + ".new")
        with open(staging, "wb", opener=_private) as handle:
            handle.write(header + sealed)
            handle.flush()
            os.fsync(handle.fileno())
        staging.replace(path)
        return key_id

    def read(self, location: str) -> bytes:
        key_id, nonce, sealed = self._open(location)
        key = self.keyring.keys.get(key_id)
        if key is None:
            raise ConfigError(
                f"a client file is encrypted with key {key_id!r}, which RMA_ENCRYPTION_KEY "
                "does not hold: add it back (after the current key) to read the file"
            )
        try:
            return AESGCM(key).decrypt(nonce, sealed, location.encode())
        except InvalidTag:
            raise StoredDataError(
                f"the client file {location} does not decrypt: it was altered, damaged or moved"
            ) from None

    def key_of(self, location: str) -> str:
        return self._open(location)[0]

    def _open(self, location: str) -> tuple[str, bytes, bytes]:
        path = self._path(location)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise StoredDataError(f"the client file {location} is missing") from None
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
            raise StoredDataError(f"{location} is not a file this vault wrote")
        length = blob[len(MAGIC)]
        start = len(MAGIC) + 1
        key_id = blob[start : start + length].decode("ascii", "replace")
        nonce = blob[start + length : start + length + NONCE_BYTES]
        return key_id, nonce, blob[start + length + NONCE_BYTES :]

    def remove(self, location: str) -> int:
        """Delete one file; returns its size (0 if it was not there)."""
        path = self._path(location)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    # ------------------------------------------------------------------ every file

    def locations(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*")):
            location = path.relative_to(self.root).as_posix()
            if _LOCATION.match(location):
                yield location

    def remove_case(self, case_key: str) -> tuple[int, int]:
        """Delete a case's folder and everything in it: (files, bytes)."""
        if not _CASE_KEY.match(case_key):
            raise ValueError(f"{case_key!r} is not a case key")
        folder = self.root / case_key
        if not folder.is_dir():
            return 0, 0
        files = [p for p in folder.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        shutil.rmtree(folder)
        return len(files), size

    def census(self) -> Counter[str]:
        """How many files each key encrypts."""
        return Counter(self.key_of(location) for location in self.locations())

    def rotate(self) -> Rotation:
        """Re-encrypt every file not under the current key (each one atomically)."""
        report = Rotation(self.keyring.current)
        for location in self.locations():
            try:
                if self.key_of(location) == self.keyring.current:
                    report.current += 1
                    continue
                self.write(location, self.read(location))
                report.rewritten += 1
            except (ConfigError, StoredDataError) as exc:
                report.failed.append(str(exc))
        return report


def check_location(location: str) -> str:
    if not _LOCATION.match(location):
        raise ValueError(f"{location!r} is not a vault location")
    return location


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
