"""The three services take service credentials only (a service token, or a key of
RMA_API_KEYS), over real HTTP; a person's token or session is sent to the adviser app."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from rma.accounts.web import Accounts
from rma.notes.api import create as notes_app
from tests.accounts.conftest import OPERATOR, make_organisation, settings_for
from tests.conftest import ROOT
from tests.support.serve import serving

LEGACY_KEY = "an-older-shared-key-" + "0" * 16


@pytest.fixture
def notes(database_url: str, accounts: Accounts) -> Iterator[str]:
    settings = settings_for(
        database_url, RMA_SERVICE_AUTH="tokens", RMA_API_KEYS=f"other-key-{'1' * 32},{LEGACY_KEY}"
    )
    with serving(notes_app(settings=settings)) as base:
        yield base


async def test_the_notes_service_takes_service_credentials_only(
    notes: str, accounts: Accounts
) -> None:
    org = await make_organisation(accounts)
    app_account = await accounts.directory.create_service_account(OPERATOR, "adviser-app")
    service = await accounts.tokens.create_service(OPERATOR, app_account, "the app")
    assert org.ann.id is not None
    personal = await accounts.tokens.create_personal(org.ann, org.ann.id, "script")
    # A route the gate guards; the notes service answers 404 for an unknown letter.
    path = "/convert/0123456789abcdef"
    async with httpx.AsyncClient(base_url=notes, timeout=30) as client:
        assert (await client.get("/health")).status_code == 200  # probes stay open
        nothing = await client.delete(path)
        assert (
            nothing.status_code == 401 and "service token is required" in nothing.json()["detail"]
        )
        assert nothing.headers["www-authenticate"] == "Bearer"
        person = await client.delete(path, headers={"Authorization": f"Bearer {personal.secret}"})
        assert person.status_code == 403
        assert "people sign in at the adviser app" in person.json()["detail"]
        session = await client.delete(path, headers={"Cookie": "__Host-rma_session=abc"})
        assert session.status_code == 401
        for headers in (
            {"Authorization": f"Bearer {service.secret}"},
            {"X-API-Key": service.secret},
            {"X-API-Key": LEGACY_KEY},
            {"Authorization": f"Bearer {LEGACY_KEY}"},
        ):
            admitted = await client.delete(path, headers=headers)
            assert admitted.status_code == 404, (headers, admitted.text)
        assert (await client.delete(path, headers={"X-API-Key": "a guess"})).status_code == 401
        await accounts.tokens.revoke(OPERATOR, service.id)
        revoked = await client.delete(path, headers={"Authorization": f"Bearer {service.secret}"})
        assert revoked.status_code == 401


def test_serve_refuses_an_open_service_on_a_public_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "rma.cli", "serve", "notes", "--host", "0.0.0.0"],
        env={"RMA_SERVICE_AUTH": "off", "RMA_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
             "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "RMA_SERVICE_AUTH=off lets anyone call the notes service" in done.stderr


async def test_the_rate_limit_counts_per_service_account(
    database_url: str, accounts: Accounts
) -> None:
    """The edge's rate limit is keyed on the caller the gate admits: two tokens of one
    service account share its limit; another account, or a key, has its own."""
    app_account = await accounts.directory.create_service_account(OPERATOR, "adviser-app")
    one = await accounts.tokens.create_service(OPERATOR, app_account, "one")
    two = await accounts.tokens.create_service(OPERATOR, app_account, "two")
    other_account = await accounts.directory.create_service_account(OPERATOR, "reports")
    other = await accounts.tokens.create_service(OPERATOR, other_account, "three")
    settings = settings_for(
        database_url, RMA_SERVICE_AUTH="tokens", RMA_API_KEYS=LEGACY_KEY, RMA_RATE_LIMIT="2/minute"
    )
    path = "/convert/0123456789abcdef"
    with serving(notes_app(settings=settings)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def status(secret: str) -> int:
                answer = await client.delete(path, headers={"Authorization": f"Bearer {secret}"})
                return answer.status_code

            assert [await status(one.secret), await status(two.secret)] == [404, 404]
            limited = await client.delete(path, headers={"X-API-Key": one.secret})
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
            assert await status(two.secret) == 429  # the same account
            assert await status(other.secret) == 404  # another account
            assert await status(LEGACY_KEY) == 404  # a key is its own caller
