"""Signing in and out, sessions, CSRF and API tokens over real HTTP (uvicorn on a free
port), on SQLite and PostgreSQL; and the services' gate: service credentials only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from sqlalchemy import update

from rma.accounts.models import ApiToken, UserSession
from rma.accounts.sessions import digest
from rma.accounts.web import Accounts
from tests.accounts.conftest import OPERATOR, Organisation, make_organisation, settings_for
from tests.support.accounts import PASSWORD, adviser_app
from tests.support.serve import serving

COOKIE = "__Host-rma_session"


@pytest.fixture
def server(database_url: str, accounts: Accounts) -> Iterator[str]:
    with serving(adviser_app(settings_for(database_url))) as base:
        yield base


@pytest.fixture
async def web(
    server: str, accounts: Accounts
) -> AsyncIterator[tuple[httpx.AsyncClient, Organisation]]:
    org = await make_organisation(accounts)
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client, org


def session_cookie(response: httpx.Response) -> tuple[str, SimpleCookie]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    return jar[COOKIE].value, jar


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD,
                cookie: str | None = None) -> httpx.Response:  # fmt: skip
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    return await client.post(
        "/auth/login", json={"email": email, "password": password}, headers=headers
    )


def with_session(cookie: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return headers


async def test_sign_in_sets_a_secure_httponly_samesite_cookie(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    anonymous = await client.get("/auth/me")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    signed = await login(client, "Ann@Advice.example")
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["name"], body["role"], body["via"]) == ("ann@advice.example", "adviser", "session")
    assert len(body["csrf_token"]) == 64 and "cases.read" in body["may"]
    assert "users.manage" not in body["may"]
    value, jar = session_cookie(signed)
    morsel = jar[COOKIE]
    assert morsel["httponly"] and morsel["secure"] and morsel["path"] == "/"
    assert morsel["samesite"].lower() == "lax" and not morsel["domain"]
    assert len(value) >= 43
    me = await client.get("/auth/me", headers=with_session(value))
    assert me.status_code == 200 and me.json()["name"] == "ann@advice.example"
    # The database holds the id's hash, never the id.
    async with org.database.session() as session:
        assert await session.get(UserSession, value) is None
        assert await session.get(UserSession, digest(value)) is not None


async def test_signing_in_again_makes_a_new_session_and_ends_the_old(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    first, _ = session_cookie(await login(client, "ann@advice.example"))
    again = await login(client, "ann@advice.example", cookie=first)
    second, _ = session_cookie(again)
    assert second != first
    assert (await client.get("/auth/me", headers=with_session(first))).status_code == 401
    assert (await client.get("/auth/me", headers=with_session(second))).status_code == 200


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    signed = await login(client, "bo@advice.example")
    cookie, csrf = session_cookie(signed)[0], signed.json()["csrf_token"]
    refused = await client.post("/auth/logout", headers=with_session(cookie))
    assert refused.status_code == 403 and "CSRF token" in refused.json()["detail"]
    wrong = await client.post("/auth/logout", headers=with_session(cookie, "0" * 64))
    assert wrong.status_code == 403
    out = await client.post("/auth/logout", headers=with_session(cookie, csrf))
    assert out.status_code == 204
    assert 'rma_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert (await client.get("/auth/me", headers=with_session(cookie))).status_code == 401


async def test_a_form_carries_the_csrf_token_in_a_field_and_other_sites_are_refused(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    signed = await login(client, "bo@advice.example")
    cookie, csrf = session_cookie(signed)[0], signed.json()["csrf_token"]
    host = client.base_url.netloc.decode()
    foreign = await client.post(
        "/auth/logout", data={"csrf_token": csrf},
        headers={**with_session(cookie), "Origin": "https://evil.example"},
    )  # fmt: skip
    assert foreign.status_code == 403 and "another site" in foreign.json()["detail"]
    form = await client.post(
        "/auth/logout", data={"csrf_token": csrf},
        headers={**with_session(cookie), "Origin": f"http://{host}"},
    )  # fmt: skip
    assert form.status_code == 204


async def test_idle_and_absolute_session_ends(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    for column in ("last_seen_at", "expires_at"):
        cookie = session_cookie(await login(client, "cy@advice.example"))[0]
        assert (await client.get("/auth/me", headers=with_session(cookie))).status_code == 200
        past = datetime.now(UTC) - timedelta(hours=13)
        async with org.database.session() as session:
            await session.execute(
                update(UserSession)
                .where(UserSession.id_hash == digest(cookie))
                .values({column: past})
            )
            await session.commit()
        ended = await client.get("/auth/me", headers=with_session(cookie))
        assert ended.status_code == 401, column


async def test_disabling_a_user_ends_their_session_at_once(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    ann = session_cookie(await login(client, "ann@advice.example"))[0]
    kim_signed = await login(client, "kim@advice.example")
    kim, csrf = session_cookie(kim_signed)[0], kim_signed.json()["csrf_token"]
    disabled = await client.patch(
        f"/admin/users/{org.ann.id}", json={"active": False}, headers=with_session(kim, csrf)
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await client.get("/auth/me", headers=with_session(ann))).status_code == 401
    assert (await login(client, "ann@advice.example")).status_code == 401


async def test_personal_tokens_work_until_revoked_or_expired(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    signed = await login(client, "sam@advice.example")
    cookie, csrf = session_cookie(signed)[0], signed.json()["csrf_token"]
    made = await client.post(
        "/auth/tokens",
        json={"name": "nightly report", "days": 7},
        headers=with_session(cookie, csrf),
    )
    assert made.status_code == 201, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    bearer = {"Authorization": f"Bearer {secret}"}
    me = await client.get("/auth/me", headers=bearer)
    assert me.status_code == 200 and (me.json()["name"], me.json()["via"]) == (
        "sam@advice.example", "token",
    )  # fmt: skip
    # A bearer token carries no ambient credential: no CSRF token needed.
    second = await client.post("/auth/tokens", json={"name": "second"}, headers=bearer)
    assert second.status_code == 201
    listed = await client.get("/auth/tokens", headers=bearer)
    assert [t["name"] for t in listed.json()] == ["nightly report", "second"]
    assert all(secret not in str(t) for t in listed.json())
    # Revoked: refused on the very next request.
    revoked = await client.delete(f"/auth/tokens/{token_id}", headers=with_session(cookie, csrf))
    assert revoked.status_code == 204
    gone = await client.get("/auth/me", headers=bearer)
    assert gone.status_code == 401 and "not valid" in gone.json()["detail"]
    # Expired: refused once its time has passed.
    other = {"Authorization": f"Bearer {second.json()['token']}"}
    assert (await client.get("/auth/me", headers=other)).status_code == 200
    async with org.database.session() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == second.json()["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await client.get("/auth/me", headers=other)).status_code == 401
    # Somebody else's token is not theirs to revoke.
    ann = session_cookie(annsigned := await login(client, "ann@advice.example"))[0]
    stolen = await client.delete(
        f"/auth/tokens/{second.json()['id']}",
        headers=with_session(ann, annsigned.json()["csrf_token"]),
    )
    assert stolen.status_code == 404


async def test_the_lockout_over_http(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    statuses = [
        (await login(client, "bo@advice.example", "not the right password")).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    locked = await login(client, "bo@advice.example")
    assert locked.status_code == 429 and "locked until" in locked.json()["detail"]
    assert 800 < int(locked.headers["retry-after"]) <= 900


async def test_each_request_is_audited_with_its_request_id(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    signed = await login(client, "kim@advice.example")
    cookie = session_cookie(signed)[0]
    users = await client.get(
        "/admin/users", headers={**with_session(cookie), "X-Request-ID": "req-42"}
    )
    assert users.status_code == 200 and len(users.json()["users"]) == 5
    denied = await client.get("/limits", headers={"X-Request-ID": "req-43"})
    assert denied.status_code == 401
    entries = {e["request_id"]: e for e in await org.accounts.audit.entries()}
    listed = entries["req-42"]
    assert (listed["action"], listed["actor"], listed["outcome"]) == (
        "users.list", "kim@advice.example", "ok",
    )  # fmt: skip
    assert entries["req-42"]["detail"] == {"method": "GET", "route": "/admin/users", "status": 200}
    assert (entries["req-43"]["actor_kind"], entries["req-43"]["outcome"]) == (
        "anonymous", "unauthenticated",
    )  # fmt: skip


async def test_limits_are_approved_over_http_by_another_supervisor_or_admin(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    ann = await login(client, "ann@advice.example")
    sam = await login(client, "sam@advice.example")
    as_ann = with_session(session_cookie(ann)[0], ann.json()["csrf_token"])
    as_sam = with_session(session_cookie(sam)[0], sam.json()["csrf_token"])
    proposal = {
        "name": "dro.max_debt", "value": "60000", "effective_from": "2027-04-01",
        "evidence": "an order", "reason": "the order raises it",
    }  # fmt: skip
    made = await client.post("/limits/changes", json=proposal, headers=as_ann)
    assert made.status_code == 201, made.text
    change = made.json()["id"]
    refused = await client.post(f"/limits/changes/{change}/approve", json={}, headers=as_ann)
    assert refused.status_code == 403 and "adviser may not approve" in refused.json()["detail"]
    approved = await client.post(f"/limits/changes/{change}/approve", json={}, headers=as_sam)
    assert approved.status_code == 200 and approved.json()["decided_by"] == "sam@advice.example"
    now = await client.get("/limits", params={"as_at": "2027-05-01"}, headers=as_ann)
    values = {v["name"]: v["value"] for v in now.json()["limits"]}
    assert values["dro.max_debt"] == "60000"
    own = await client.post("/limits/changes", json={**proposal, "name": "dro.vehicle",
                                                     "value": "5000"}, headers=as_sam)  # fmt: skip
    self_approved = await client.post(
        f"/limits/changes/{own.json()['id']}/approve", json={}, headers=as_sam
    )
    assert self_approved.status_code == 403 and "themselves" in self_approved.json()["detail"]


async def test_insecure_cookies_only_on_localhost(database_url: str, accounts: Accounts) -> None:
    await make_organisation(accounts)
    app = adviser_app(settings_for(database_url, RMA_SESSION_COOKIE_SECURE="false"))
    with serving(app) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            local = await login(client, "ann@advice.example")
            assert local.status_code == 200
            assert "rma_session=" in local.headers["set-cookie"]
            assert (
                "Secure" not in local.headers["set-cookie"]
                and "__Host-" not in local.headers["set-cookie"]
            )
            remote = await client.post(
                "/auth/login", json={"email": "ann@advice.example", "password": PASSWORD},
                headers={"Host": "advice.example"},
            )  # fmt: skip
            assert remote.status_code == 403 and "localhost only" in remote.json()["detail"]
    assert OPERATOR.kind == "operator"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def tokens_for(org: Organisation, *people: str) -> dict[str, dict[str, str]]:
    found = {}
    for name in people:
        actor = getattr(org, name)
        made = await org.accounts.tokens.create_personal(OPERATOR, actor.id, "tests")
        found[name] = bearer(made.secret)
    return found


async def test_cases_are_opened_listed_and_assigned_within_the_team(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    as_ = await tokens_for(org, "ann", "bo", "cy", "sam")
    opened = await client.post("/cases", json={"client": {"name": "A Client"}}, headers=as_["ann"])
    assert opened.status_code == 201, opened.text
    case = opened.json()["id"]
    assert (opened.json()["adviser_id"], opened.json()["team_id"]) == (org.ann.id, org.ann.team_id)
    listed = {
        who: [c["id"] for c in (await client.get("/cases", headers=as_[who])).json()["cases"]]
        for who in ("ann", "bo", "cy", "sam")
    }
    assert listed == {"ann": [case], "bo": [case], "cy": [], "sam": [case]}
    assert (await client.get(f"/cases/{case}", headers=as_["cy"])).status_code == 403
    # Ann may hand the case to Bo (same team), not to Cy, and not to Cy's team.
    to_cy = await client.patch(f"/cases/{case}", json={"adviser_id": org.cy.id}, headers=as_["ann"])
    assert to_cy.status_code == 403
    to_south = await client.patch(
        f"/cases/{case}", json={"team_id": org.cy.team_id}, headers=as_["ann"]
    )
    assert to_south.status_code == 403
    to_bo = await client.patch(f"/cases/{case}", json={"adviser_id": org.bo.id}, headers=as_["ann"])
    assert to_bo.status_code == 200 and to_bo.json()["adviser_id"] == org.bo.id
    # Nobody opens a case for another team but a supervisor.
    for_south = {"client": {"name": "B Client"}, "team_id": org.cy.team_id}
    assert (await client.post("/cases", json=for_south, headers=as_["ann"])).status_code == 403
    assert (await client.post("/cases", json=for_south, headers=as_["sam"])).status_code == 201
    entries = await org.accounts.audit.entries(action="cases.create")
    assert [e["outcome"] for e in entries] == ["ok", "denied", "ok"]
    assert entries[0]["case_id"] == case and entries[0]["object_id"] == str(case)


async def test_a_letter_is_blocked_over_http_until_a_supervisor_approves_it(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    as_ = await tokens_for(org, "ann", "sam")
    case = await org.case(org.ann)
    letter = await org.letter(case, org.ann, "Dear client, our advice.")
    base = f"/cases/{case}/letters/{letter}"
    blocked = await client.post(f"{base}/release", headers=as_["ann"])
    assert (
        blocked.status_code == 409 and "after a supervisor approves it" in blocked.json()["detail"]
    )
    assert (await client.post(f"{base}/submit", headers=as_["ann"])).status_code == 200
    assert (await client.post(f"{base}/release", headers=as_["ann"])).status_code == 409
    self_approve = await client.post(f"{base}/approve", json={}, headers=as_["ann"])
    assert self_approve.status_code == 403
    approved = await client.post(f"{base}/approve", json={"note": "fine"}, headers=as_["sam"])
    assert approved.status_code == 200 and approved.json()["decided_by"] == "sam@advice.example"
    released = await client.post(f"{base}/release", headers=as_["ann"])
    assert released.status_code == 200
    assert released.json() == {
        "letter_id": letter,
        "status": "sent",
        "body": "Dear client, our advice.",
    }
    history = await client.get(f"{base}/approvals", headers=as_["ann"])
    assert [(d["decision"], d["status_after"]) for d in history.json()] == [
        ("approved", "approved")
    ]


async def test_a_returned_letter_is_corrected_and_approved_again(web) -> None:  # type: ignore[no-untyped-def]
    client, org = web
    as_ = await tokens_for(org, "ann", "sam", "cy")
    case = await org.case(org.ann)
    letter = await org.letter(case, org.ann, "Dear client, our advice.")
    base = f"/cases/{case}/letters/{letter}"

    async def edit(who: str, text: str) -> httpx.Response:
        return await client.patch(base, json={"body": text}, headers=as_[who])

    assert (await client.post(f"{base}/submit", headers=as_["ann"])).status_code == 200
    with_supervisor = await edit("ann", "Dear client, changed behind the supervisor's back.")
    assert with_supervisor.status_code == 409 and "return it" in with_supervisor.json()["detail"]
    note = {"note": "add the council tax deadline"}
    assert (await client.post(f"{base}/return", json=note, headers=as_["sam"])).status_code == 200
    assert (await edit("cy", "Dear client, from another team.")).status_code == 403
    assert (await edit("ann", "   ")).status_code == 422
    corrected = await edit("ann", "Dear client, pay the council tax by 1 March.")
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["status"], corrected.json()["edited_by"]) == (
        "draft", "ann@advice.example",
    )  # fmt: skip
    # Whoever changed it last may not approve it, even a supervisor.
    by_sam = await edit("sam", "Dear client, pay the council tax by 1 March, please.")
    assert by_sam.status_code == 200 and by_sam.json()["edited_by"] == "sam@advice.example"
    assert (await client.post(f"{base}/release", headers=as_["ann"])).status_code == 409
    assert (await client.post(f"{base}/submit", headers=as_["ann"])).status_code == 200
    own_edit = await client.post(f"{base}/approve", json={}, headers=as_["sam"])
    assert own_edit.status_code == 403 and "themselves" in own_edit.json()["detail"]
    assert (await edit("ann", "Dear client, pay by 1 March.")).status_code == 409
    # Another supervisor approves Sam's text: approved, it is not edited; it goes out, and
    # stays as it went.
    max_ = await org.accounts.directory.create_user(
        OPERATOR, email="max@advice.example", display_name="Max", role="supervisor",
        password=PASSWORD,
    )  # fmt: skip
    token = await org.accounts.tokens.create_personal(OPERATOR, max_.id, "tests")
    approved = await client.post(f"{base}/approve", json={}, headers=bearer(token.secret))
    assert approved.status_code == 200
    after = await edit("ann", "Dear client, one more thing.")
    assert after.status_code == 409 and "an approved letter is not edited" in after.json()["detail"]
    released = await client.post(f"{base}/release", headers=as_["ann"])
    assert released.json()["body"] == "Dear client, pay the council tax by 1 March, please."
    sent = await edit("ann", "Dear client, too late.")
    assert sent.status_code == 409 and "gone to the client" in sent.json()["detail"]
    edits = await org.accounts.audit.entries(case_id=case, action="cases.update")
    assert [(e["object_type"], e["object_id"], e["outcome"]) for e in edits] == [
        ("letter", str(letter), outcome)
        for outcome in (
            "conflict",
            "denied",
            "rejected",
            "ok",
            "ok",
            "conflict",
            "conflict",
            "conflict",
        )
    ]


async def test_reading_a_clients_document_is_an_audit_entry(web) -> None:  # type: ignore[no-untyped-def]
    from rma.documents.sample_letters import render_png, sample_letters

    client, org = web
    as_ = await tokens_for(org, "ann", "cy")
    case = await org.case(org.ann)
    image = render_png(sample_letters()[0])
    uploaded = await client.post(
        f"/cases/{case}/documents", files={"file": ("letter.png", image, "image/png")},
        headers=as_["ann"],
    )  # fmt: skip
    assert uploaded.status_code == 202, uploaded.text
    document = uploaded.json()["id"]
    got = await client.get(f"/cases/{case}/documents/{document}/file", headers=as_["ann"])
    assert got.status_code == 200 and got.content == image
    stolen = await client.get(f"/cases/{case}/documents/{document}/file", headers=as_["cy"])
    assert stolen.status_code == 403
    reads = await org.accounts.audit.entries(case_id=case)
    found = [(e["action"], e["actor"], e["outcome"], e["object_id"]) for e in reads]
    assert ("document.file", "ann@advice.example", "ok", str(document)) in found
    assert ("cases.read", "cy@advice.example", "denied", str(document)) in found
    assert all("letter.png" not in str(e) for e in reads)  # not even the file's name
