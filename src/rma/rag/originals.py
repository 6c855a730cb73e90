"""Each manual's original file, kept beside the store, so a citation can open the page.

The store holds a manual's passages; a reader checking a citation wants the printed page.
So the bytes of each ingested version are kept under the data directory, by document id
and version (``rag/originals/<document id>/<version><suffix>``), written before the store
swaps that version in and removed with every other version after it. Deleting a manual
deletes its folder; at start-up and whenever the store changes underneath
(:meth:`ManualOriginals.prune`), files of versions that are not live are removed, so a
crash between the two writes, or another instance's delete, leaves nothing behind.

It keeps files only: it never reads or parses them (the routes do that in a document
worker), and a name on disk is never taken from an upload (ids and versions only).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath

from rma.errors import InputError

# Document ids are slugs with a hash, versions hex (rma.rag.manuals, rma.rag.store).
_SAFE = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")
_STAGING = ".new"


class ManualOriginals:
    """The originals folder of one store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keep(self, document_id: str, version: str, filename: str, data: bytes) -> Path:
        """Write one version's bytes (atomically: staged, then renamed)."""
        path = self._path(document_id, version, filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + _STAGING)
        staging.write_bytes(data)
        staging.replace(path)
        return path

    def find(self, document_id: str, version: str) -> Path | None:
        """The kept file of that version, or None."""
        folder = self._document_folder(document_id)
        _check(version)
        if not folder.is_dir():
            return None
        return next((p for p in folder.iterdir() if p.name.split(".")[0] == version
                     and not p.name.endswith(_STAGING)), None)  # fmt: skip

    def keep_only(self, document_id: str, version: str) -> None:
        """Remove every other version of the document (after its swap)."""
        folder = self._document_folder(document_id)
        _check(version)
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.split(".")[0] != version:
                    path.unlink(missing_ok=True)

    def remove(self, document_id: str) -> None:
        """Remove every kept version of the document."""
        shutil.rmtree(self._document_folder(document_id), ignore_errors=True)

    def prune(self, live: dict[str, str]) -> list[str]:
        """Remove the files of documents and versions that are not live (``live``: id ->
        version); the ids of the documents whose files went."""
        if not self.folder.is_dir():
            return []
        pruned = []
        for folder in self.folder.iterdir():
            version = live.get(folder.name)
            if version is None:
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    folder.unlink(missing_ok=True)
                pruned.append(folder.name)
                continue
            stale = [p for p in folder.iterdir() if p.name.split(".")[0] != version]
            for path in stale:
                path.unlink(missing_ok=True)
            if stale:
                pruned.append(folder.name)
        return pruned

    def _document_folder(self, document_id: str) -> Path:
        _check(document_id)
        return self.folder / document_id

    def _path(self, document_id: str, version: str, filename: str) -> Path:
        _check(version)
        suffix = PurePosixPath(filename.lower()).suffix
        suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,9}", suffix) else ""
        return self._document_folder(document_id) / f"{version}{suffix}"


def _check(name: str) -> None:
    if not _SAFE.match(name):
        raise InputError("not a document id or version")
