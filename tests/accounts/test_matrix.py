"""The permission matrix: every route of every app, taken from the FastAPI routers (so a
route added without a rule fails here), called over HTTP by every kind of caller, and
the answer checked against the permission table: allowed (anything but 401 and 403) or
denied (401 for nobody, 403 for the wrong role, team or kind of credential).

Callers: nobody, an adviser on their own team's case, an adviser of another team, a
supervisor, an admin, and a service account. The adviser app is called with people's
tokens (the session path is the same dependency, tested in test_http); the three
services with the same credentials, where only the service token may pass.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rma.accounts.permissions import PERMISSIONS
from rma.accounts.web import Accounts, RouteInfo, app_routes, check_rules, permit
from rma.config import Settings
from rma.db import Database, database_urls, ensure_current
from rma.errors import ConfigError
from rma.limits.changes import LimitRegister, Proposal
from rma.service.edge import OPEN_PATHS
from tests.accounts.conftest import OPERATOR, Organisation, make_organisation, settings_for
from tests.support.accounts import adviser_app

STEPS = itertools.count()
CALLERS = ("anonymous", "adviser", "adviser_other_team", "supervisor", "admin", "service")


@dataclass
class World:
    org: Organisation
    headers: dict[str, dict[str, str]]  # caller -> its credential
    spare_token: int  # Bo's: no caller's own


@pytest.fixture
async def world(tmp_path: Path, clean_env: Path) -> AsyncIterator[tuple[World, Settings]]:
    settings = settings_for(f"sqlite:///{tmp_path / 'matrix.db'}", RMA_SERVICE_AUTH="tokens")
    urls = database_urls(settings)
    await asyncio.to_thread(ensure_current, urls)
    database = Database(urls)
    accounts = Accounts.build(settings, database)
    org = await make_organisation(accounts)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for caller, actor in (
        ("adviser", org.ann), ("adviser_other_team", org.cy), ("supervisor", org.sam),
        ("admin", org.kim),
    ):  # fmt: skip
        assert actor.id is not None
        token = await accounts.tokens.create_personal(OPERATOR, actor.id, "matrix")
        headers[caller] = {"Authorization": f"Bearer {token.secret}"}
    app_account = await accounts.directory.create_service_account(OPERATOR, "adviser-app")
    service = await accounts.tokens.create_service(OPERATOR, app_account, "matrix")
    headers["service"] = {"Authorization": f"Bearer {service.secret}"}
    assert org.bo.id is not None
    spare = await accounts.tokens.create_personal(OPERATOR, org.bo.id, "spare")
    yield World(org, headers, spare.id), settings
    await database.aclose()


def expected(action: str, caller: str) -> bool:
    """What the permission table says (the adviser's case is their team's; the other
    team's adviser is on the same case)."""
    rule = PERMISSIONS[action]
    column = "adviser" if caller == "adviser_other_team" else caller
    if column not in rule.grants:
        return False
    return not (caller == "adviser_other_team" and rule.case)


async def fill(route: RouteInfo, world: World) -> str:
    """The route's path with fresh objects behind its parameters: a case of Ann's team,
    a letter Ann wrote and submitted, a limit change Ann proposed, Bo's account and
    token."""
    org = world.org
    case = await org.case(org.ann)
    letter = await org.letter(case, org.ann)
    await org.accounts.letters.submit(org.ann, letter)
    register = LimitRegister(org.database)
    step = next(STEPS)  # each proposal its own date and value, so approving one leaves room
    change = await register.propose(
        Proposal("dro.vehicle", Decimal(6000 + step), "an order", "raised",
                 effective_from=date(2030, 1, 1) + timedelta(days=step)),
        org.ann,
    )  # fmt: skip
    values = {
        "case_id": case, "letter_id": letter, "change_id": change.id, "user_id": org.bo.id,
        "token_id": world.spare_token, "setting_id": "letters_need_approval",
        # Rows that need not exist: the permission is checked (on the case) before the
        # route looks for them, so an allowed caller gets 404 and a refused one 403.
        "document_id": 999_999, "debt_id": 999_999, "line_id": 999_999, "asset_id": 999_999,
        "manual_id": "no-such-manual", "chunk_id": "no-such-manual:0123456789abcdef:1",
        "page": 1, "number": 1,
    }  # fmt: skip
    path = route.path
    for name in route.params:
        assert name in values, f"the matrix has no value for {{{name}}} in {route.path}"
        path = path.replace(f"{{{name}}}", str(values[name]))
    return path


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, headers=headers, **body).status_code


def routes_of(app: FastAPI) -> list[tuple[RouteInfo, str]]:
    return [
        (route, method)
        for route in app_routes(app)
        if route.path not in OPEN_PATHS
        for method in sorted(route.methods)
        if method != "HEAD"
    ]


async def test_every_route_of_the_adviser_app_answers_as_the_table_says(world) -> None:  # type: ignore[no-untyped-def]
    state, settings = world
    app = adviser_app(settings)
    routes = routes_of(app)
    assert len(routes) >= 20
    wrong = []
    with TestClient(app) as client:
        for route, method in routes:
            action = route.action
            assert action is not None, f"{method} {route.path} has no permission rule"
            for caller in CALLERS:
                path = await fill(route, state)
                status = call(client, method, path, state.headers[caller])
                allowed = status not in (401, 403)
                if allowed != expected(action, caller):
                    wrong.append(f"{method} {route.path} ({action}) as {caller}: {status}")
                if not allowed and caller == "anonymous":
                    assert status == 401, (method, route.path)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("service", ["notes", "docs", "rag"])
async def test_every_route_of_each_service_takes_the_service_token_only(
    world, service: str
) -> None:  # type: ignore[no-untyped-def]
    import importlib

    state, settings = world
    module = {"notes": "rma.notes.api", "docs": "rma.documents.api", "rag": "rma.rag.api"}[service]
    app = importlib.import_module(module).create(settings=settings)
    routes = routes_of(app)
    assert routes
    wrong = []
    with TestClient(app) as client:
        for route, method in routes:
            path = route.path
            for name in route.params:
                path = path.replace(f"{{{name}}}", "0123456789abcdef")
            for caller in CALLERS:
                status = call(client, method, path, state.headers[caller])
                allowed = status not in (401, 403)
                if allowed != (caller == "service"):
                    wrong.append(f"{service} {method} {route.path} as {caller}: {status}")
    assert not wrong, "\n".join(wrong)


# An answer key for the routes that matter most, written from the brief, not from the
# table: a route wired to the wrong action fails here even if the table is right.
PEOPLE = {"adviser", "adviser_other_team", "supervisor", "admin"}
ROUTE_KEY: dict[tuple[str, str], set[str]] = {
    ("POST", "/auth/login"): {"anonymous", *PEOPLE},
    ("GET", "/auth/me"): PEOPLE,
    ("POST", "/admin/users"): {"admin"},
    ("PATCH", "/admin/users/{user_id}"): {"admin"},
    ("POST", "/admin/users/{user_id}/password"): {"admin"},
    ("PUT", "/admin/settings/{setting_id}"): {"admin"},
    ("GET", "/admin/audit"): {"admin"},
    ("GET", "/admin/audit/export"): {"admin"},
    ("GET", "/admin/audit/verify"): {"admin"},
    ("POST", "/cases/{case_id}/letters/{letter_id}/submit"): {"adviser", "supervisor"},
    ("POST", "/cases/{case_id}/letters/{letter_id}/approve"): {"supervisor"},
    ("POST", "/cases/{case_id}/letters/{letter_id}/return"): {"supervisor"},
    ("GET", "/cases/{case_id}/letters/{letter_id}/approvals"): {"adviser", "supervisor"},
    ("POST", "/limits/changes"): PEOPLE,
    ("POST", "/limits/changes/{change_id}/approve"): {"supervisor", "admin"},
    ("POST", "/limits/changes/{change_id}/reject"): {"supervisor", "admin"},
    ("POST", "/cases/{case_id}/letters/{letter_id}/release"): {"adviser", "supervisor"},
    # the adviser app's own routes
    ("POST", "/cases"): {"adviser", "adviser_other_team", "supervisor"},
    ("GET", "/cases"): {"adviser", "adviser_other_team", "supervisor"},
    ("GET", "/cases/{case_id}"): {"adviser", "supervisor"},
    ("PATCH", "/cases/{case_id}"): {"adviser", "supervisor"},
    ("DELETE", "/cases/{case_id}"): {"supervisor"},
    ("GET", "/cases/{case_id}/documents/{document_id}/file"): {"adviser", "supervisor"},
    ("GET", "/ui/cases/{case_id}/documents/{document_id}/pages/{number}"): {
        "adviser",
        "supervisor",
    },
    ("POST", "/cases/{case_id}/documents"): {"adviser", "supervisor"},
    ("POST", "/cases/{case_id}/search"): {"adviser", "supervisor"},
    ("POST", "/eligibility"): {"adviser", "adviser_other_team", "supervisor"},
    ("GET", "/manuals"): PEOPLE,
    ("POST", "/manuals/ask"): PEOPLE,
    ("POST", "/manuals"): {"admin"},
    ("DELETE", "/manuals/{manual_id}"): {"admin"},
    # the manuals' pages: everyone signed in reads them and asks; an admin manages them
    ("POST", "/ui/ask/stream"): PEOPLE,
    ("GET", "/ui/manuals/passages/{chunk_id}"): PEOPLE,
    ("GET", "/ui/manuals/{manual_id}/pages/{page}"): PEOPLE,
    ("GET", "/ui/admin/manuals"): {"admin"},
    ("POST", "/ui/admin/manuals"): {"admin"},
    ("GET", "/ui/admin/manuals/{manual_id}/delete"): {"admin"},
    ("POST", "/ui/admin/manuals/{manual_id}/delete"): {"admin"},
}


def test_the_key_routes_are_wired_to_the_rules_the_brief_asks_for(tmp_path: Path) -> None:
    app = adviser_app(settings_for(f"sqlite:///{tmp_path / 'x.db'}"))
    found = {(m, r.path): r for r, m in routes_of(app)}
    for (method, path), callers in ROUTE_KEY.items():
        route = found.get((method, path))
        assert route is not None and route.action is not None, (method, path)
        table_says = {c for c in CALLERS if expected(route.action, c)}
        assert table_says == callers, (method, path, route.action)


def test_an_app_with_a_route_without_a_rule_does_not_start(tmp_path: Path) -> None:
    app = adviser_app(settings_for(f"sqlite:///{tmp_path / 'x.db'}"))

    @app.get("/cases/{case_id}/secret")
    async def secret(case_id: int) -> dict[str, int]:
        return {"case": case_id}

    with pytest.raises(ConfigError, match=r"GET /cases/\{case_id\}/secret"):
        check_rules(app)
    with pytest.raises(ConfigError, match="no such action"):
        permit("cases.sell")


def test_the_matrix_covers_every_action_a_route_names(tmp_path: Path) -> None:
    app = adviser_app(settings_for(f"sqlite:///{tmp_path / 'x.db'}"))
    named = {r.action for r, _ in routes_of(app)}
    assert named <= set(PERMISSIONS)
