"""Accounts on a real database (SQLite and PostgreSQL): settings with cheap Argon2
parameters (the production ones are measured in docs/security.md, not paid per test),
an organisation of two teams, and cases and letters to act on."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rma.accounts.permissions import Actor
from rma.accounts.web import Accounts
from rma.cases.models import Case, Client, Letter
from rma.config import Settings, load_settings
from rma.db import Database, database_urls, ensure_current
from tests.support.accounts import FAST_ARGON2, PASSWORD

OPERATOR = Actor("operator:tests", kind="operator", via="cli")


def settings_for(database_url: str, **extra: object) -> Settings:
    return load_settings(**{"RMA_DATABASE_URL": database_url, **FAST_ARGON2, **extra})


@dataclass
class Organisation:
    """Two teams: Ann and Bo advise in North, Cy in South; Sam supervises; Kim is admin."""

    accounts: Accounts
    ann: Actor
    bo: Actor
    cy: Actor
    sam: Actor
    kim: Actor

    @property
    def database(self) -> Database:
        return self.accounts.database

    async def case(self, adviser: Actor) -> int:
        """A case of ``adviser`` (and their team), with a client; its id."""
        now = datetime.now(UTC)
        async with self.database.session() as session:
            client = Client(name="Test Client", created_at=now, updated_at=now)
            session.add(client)
            await session.flush()
            case = Case(
                reference=f"T-{secrets.token_hex(4)}", key=secrets.token_hex(16),
                client_id=client.id, adviser_id=adviser.id, team_id=adviser.team_id,
                status="open", opened_on=date.today(), created_by=adviser.name,
                created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(case)
            await session.commit()
            return case.id

    async def letter(self, case_id: int, author: Actor, body: str = "Dear client") -> int:
        async with self.database.session() as session:
            letter = Letter(
                case_id=case_id, kind="confirmation_of_advice", status="draft", body=body,
                details={}, created_by=author.name, created_at=datetime.now(UTC),
            )  # fmt: skip
            session.add(letter)
            await session.commit()
            return letter.id


async def make_organisation(accounts: Accounts) -> Organisation:
    directory = accounts.directory
    people = {}
    for key, role, team in (
        ("ann", "adviser", "North"),
        ("bo", "adviser", "North"),
        ("cy", "adviser", "South"),
        ("sam", "supervisor", None),
        ("kim", "admin", None),
    ):
        user = await directory.create_user(
            OPERATOR, email=f"{key}@advice.example", display_name=key.title(), role=role,
            password=PASSWORD, team=team,
        )  # fmt: skip
        people[key] = Actor(user.email, user.role, user.id, user.team_id, "person", "test")
    return Organisation(accounts, **people)


@pytest.fixture
async def accounts(database_url: str, clean_env: Path) -> AsyncIterator[Accounts]:
    settings = settings_for(database_url)
    urls = database_urls(settings)
    await asyncio.to_thread(ensure_current, urls)
    database = Database(urls)
    yield Accounts.build(settings, database)
    await database.aclose()


@pytest.fixture
async def org(accounts: Accounts) -> Organisation:
    return await make_organisation(accounts)
