"""Passwords: Argon2id hashes (argon2-cffi), checked in a worker thread, rehashed at
sign-in when the configured parameters have changed.

The parameters come from settings (``RMA_ARGON2_TIME_COST``, ``RMA_ARGON2_MEMORY_KIB``,
``RMA_ARGON2_PARALLELISM``); each hash records its own, so old hashes keep verifying
after a change and are upgraded one sign-in at a time. Hashing is deliberately slow
(64 MiB and tenths of a second with the defaults: ``rma bench accounts``), so it never
runs on the event loop.

What it refuses: passwords shorter than ``PASSWORD_MIN_CHARS`` (the length is what makes
a password strong; no rules about digits or symbols), longer than
``PASSWORD_MAX_CHARS`` (hashing a megabyte is a denial of service), or equal to the
account's email.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rma import constants as C
from rma.config import Settings
from rma.errors import InputError


@dataclass(frozen=True)
class Checked:
    ok: bool
    # A new hash to store: the password was right but hashed with older parameters.
    rehashed: str | None = None


class Passwords:
    """Hash and check passwords with the configured Argon2id parameters."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.rma_argon2_time_cost,
            memory_cost=settings.rma_argon2_memory_kib,
            parallelism=settings.rma_argon2_parallelism,
        )
        self._decoy: str | None = None

    @property
    def decoy(self) -> str:
        """Checked against when the account does not exist or has no password, so that
        an unknown email takes as long to refuse as a wrong password."""
        if self._decoy is None:
            self._decoy = self.hasher.hash("not a password anyone has")
        return self._decoy

    def hash(self, password: str, *, email: str = "") -> str:
        check_strength(password, email)
        return self.hasher.hash(password)

    async def hash_async(self, password: str, *, email: str = "") -> str:
        check_strength(password, email)
        return await asyncio.to_thread(self.hasher.hash, password)

    def check(self, stored: str | None, password: str) -> Checked:
        """Whether ``password`` matches ``stored`` (None: no password set, never matches,
        after the same work as a real check)."""
        if len(password) > C.PASSWORD_MAX_CHARS:
            return Checked(False)
        try:
            self.hasher.verify(stored or self.decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Checked(False)
        if stored is None:
            return Checked(False)
        if self.hasher.check_needs_rehash(stored):
            return Checked(True, self.hasher.hash(password))
        return Checked(True)

    async def check_async(self, stored: str | None, password: str) -> Checked:
        return await asyncio.to_thread(self.check, stored, password)


def check_strength(password: str, email: str = "") -> None:
    if len(password) < C.PASSWORD_MIN_CHARS:
        raise InputError(f"a password needs at least {C.PASSWORD_MIN_CHARS} characters")
    if len(password) > C.PASSWORD_MAX_CHARS:
        raise InputError(f"a password may have at most {C.PASSWORD_MAX_CHARS} characters")
    if not password.strip():
        raise InputError("a password cannot be only spaces")
    if email and password.strip().casefold() == email.strip().casefold():
        raise InputError("a password cannot be the account's email")
