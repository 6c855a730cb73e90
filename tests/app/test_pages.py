"""The adviser app's pages over real HTTP, without a browser: what an anonymous visitor
gets, the security headers, the CSRF token every form needs, cookies, ids only in URLs,
no inline script or style anywhere (scripts only as static files), another team's case
refused (a 403 page, audited), and what each role is shown. The services are not running:
nothing here calls them.

The journeys in a real browser are in tests/app/browser.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from docx import Document

from rma.accounts.audit import AuditLog
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.app.pages.render import SECURITY_HEADERS
from rma.cases.store import CaseStore
from rma.db import Database
from tests.app.conftest import App, running_app
from tests.support.accounts import PASSWORD

OPERATOR = Actor("operator:tests", kind="operator", via="cli")
CLIENT = "Philippa Quennell-Smyth"  # a name that must never reach a URL


@pytest.fixture
def app(tmp_path: Path, clean_env: Path) -> Iterator[App]:
    database = f"sqlite:///{tmp_path / 'rma.db'}"
    with running_app(database, tmp_path / "app", None, RMA_SESSION_COOKIE_SECURE="false") as found:
        asyncio.run(add_people(found))
        yield found


async def add_people(app: App) -> None:
    """An adviser of another team, and an admin."""
    database = Database.from_settings(app.settings)
    try:
        directory = Directory(database, app.settings)
        for email, role, team in (("other@advice.example", "adviser", "South"),
                                  ("admin@advice.example", "admin", None)):  # fmt: skip
            await directory.create_user(
                OPERATOR, email=email, display_name=email, role=role, password=PASSWORD, team=team
            )
    finally:
        await database.aclose()


def browser(app: App) -> httpx.Client:
    # localhost: sign-in without Secure cookies is for a local address only
    return httpx.Client(base_url=app.url.replace("127.0.0.1", "localhost"), timeout=60)


def signed_in(app: App, role: str) -> tuple[httpx.Client, str]:
    """A client signed in through the sign-in form, and the CSRF token its pages carry."""
    client = browser(app)
    email = {"adviser": "adviser", "supervisor": "supervisor", "other": "other",
             "admin": "admin"}[role] + "@advice.example"  # fmt: skip
    response = client.post("/ui/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/"
    return client, csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{16,})"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def open_case(client: httpx.Client, csrf: str, name: str = CLIENT) -> int:
    response = client.post("/ui/cases", data={"client_name": name, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/ui/cases/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_anonymous_visitor_gets_the_sign_in_page_with_the_security_headers(app: App) -> None:
    client = browser(app)
    response = client.get("/")
    assert response.status_code == 401
    assert '<form method="post" action="/ui/sign-in"' in response.text
    assert 'name="password" type="password"' in response.text
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Any page, not only the front door; and the JSON API answers JSON, with the headers.
    assert client.get("/ui/limits").status_code == 401
    api = client.get("/cases")
    assert api.status_code == 401 and api.json()["error"] == "Unauthenticated"
    assert api.headers["X-Frame-Options"] == "DENY"


def test_signing_in_sets_an_http_only_same_site_cookie_and_wrong_passwords_say_so(
    app: App,
) -> None:
    client = browser(app)
    wrong = client.post(
        "/ui/sign-in", data={"email": "adviser@advice.example", "password": "not it"}
    )
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert 'role="alert"' in wrong.text and 'value="adviser@advice.example"' in wrong.text
    right = client.post(
        "/ui/sign-in", data={"email": "adviser@advice.example", "password": PASSWORD}
    )
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and "adviser@advice.example" in dashboard.text
    signed_out = client.post("/ui/sign-out", data={"csrf_token": csrf_of(dashboard.text)})
    assert signed_out.status_code == 303
    assert client.get("/").status_code == 401


def test_with_secure_cookies_the_session_cookie_is_secure_and_host_only(
    tmp_path: Path, clean_env: Path
) -> None:
    with running_app(f"sqlite:///{tmp_path / 'rma.db'}", tmp_path / "app", None) as app:
        response = httpx.post(
            app.url + "/ui/sign-in",
            data={"email": "adviser@advice.example", "password": PASSWORD},
        )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-rma_session=")
    assert "; secure" in cookie.lower() and "httponly" in cookie.lower()


def test_every_form_post_needs_the_session_csrf_token(app: App) -> None:
    client, csrf = signed_in(app, "adviser")
    for token in (None, "0" * 64):
        data = {"client_name": "Jo"} | ({"csrf_token": token} if token else {})
        refused = client.post("/ui/cases", data=data)
        assert refused.status_code == 403 and "CSRF token" in refused.text
    case_id = open_case(client, csrf)
    upload = f"/ui/cases/{case_id}/documents"
    files = {"file": ("letter.txt", b"Dear client", "text/plain")}
    assert client.post(upload, files=files).status_code == 403
    # Another person's token does not do either.
    _, theirs = signed_in(app, "supervisor")
    assert (
        client.post("/ui/cases", data={"client_name": "Jo", "csrf_token": theirs}).status_code
        == 403
    )
    cases = client.get("/").text
    assert cases.count(f'href="/ui/cases/{case_id}"') == 1  # only the one case was opened


def test_urls_carry_ids_only_and_pages_hold_no_inline_script_or_style(app: App) -> None:
    client, csrf = signed_in(app, "adviser")
    case_id = open_case(client, csrf)
    pages = ["/", f"/ui/cases/{case_id}", "/ui/limits", "/ui/ask"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert CLIENT in client.get(f"/ui/cases/{case_id}").text
        urls = re.findall(r'(?:href|action|src)="([^"]*)"', html)
        assert urls and not [u for u in urls if "Quennell" in u or "Philippa" in u], path
        # scripts only as files of the app's static folder, never inline
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.IGNORECASE | re.S)
        assert html.lower().count("<script") == len(scripts), path
        for attributes, body in scripts:
            assert re.fullmatch(r' src="/ui/static/[a-z]+\.js" defer', attributes), path
            assert not body.strip(), path
        assert not re.search(r"\sstyle=|\son[a-z]+=", html, re.IGNORECASE), path
        assert response.headers["Cache-Control"] == "no-store"
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


def test_an_adviser_of_another_team_is_refused_the_case_and_the_refusal_is_audited(
    app: App,
) -> None:
    owner, csrf = signed_in(app, "adviser")
    case_id = open_case(owner, csrf)
    other, _ = signed_in(app, "other")
    refused = other.get(f"/ui/cases/{case_id}")
    assert refused.status_code == 403
    assert "You may not open this" in refused.text and CLIENT not in refused.text
    assert f"case {case_id} is not yours or your team" in text_of(refused.text)
    assert f'href="/ui/cases/{case_id}"' not in other.get("/").text

    async def denied() -> list[dict[str, object]]:
        database = Database.from_settings(app.settings)
        try:
            return await AuditLog(database).entries(case_id=case_id, action="cases.read")
        finally:
            await database.aclose()

    entries = asyncio.run(denied())
    assert [(e["actor"], e["outcome"]) for e in entries if e["outcome"] == "denied"] == [
        ("other@advice.example", "denied")
    ]
    # The adviser of the case reads it (and that read is recorded as allowed).
    assert owner.get(f"/ui/cases/{case_id}").status_code == 200


def test_each_role_sees_the_links_and_pages_it_may_use(app: App) -> None:
    adviser, _ = signed_in(app, "adviser")
    page = adviser.get("/").text
    assert "Open a new case" in page and "Letters waiting for approval" not in page
    assert 'href="/ui/admin/users"' not in page
    assert adviser.get("/ui/admin/audit").status_code == 403
    supervisor, _ = signed_in(app, "supervisor")
    assert "Letters waiting for approval" in supervisor.get("/").text
    admin, _ = signed_in(app, "admin")
    page = admin.get("/").text
    assert "does not open clients" in page and 'href="/ui/admin/audit"' in page
    audit = admin.get("/ui/admin/audit")
    assert audit.status_code == 200 and "session.login" in audit.text
    users = admin.get("/ui/admin/users").text
    assert "other@advice.example" in users and "Add a user" in users
    assert admin.get("/ui/cases/1").status_code in (403, 404)


def test_bad_form_input_is_a_page_that_says_what_is_wrong(app: App) -> None:
    client, csrf = signed_in(app, "adviser")
    case_id = open_case(client, csrf)
    response = client.post(
        f"/ui/cases/{case_id}/budget",
        data={"csrf_token": csrf, "direction": "income", "category": "benefits",
              "amount": "about a grand"},
    )  # fmt: skip
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]
    assert "is not a sum of money" in text_of(response.text)
    missing = client.post(f"/ui/cases/{case_id}/budget", data={"csrf_token": csrf})
    assert missing.status_code == 422 and "amount" in text_of(missing.text)
    added = client.post(
        f"/ui/cases/{case_id}/budget",
        data={"csrf_token": csrf, "direction": "income", "category": "benefits",
              "amount": "£1,234.50", "frequency": "monthly"},
    )  # fmt: skip
    assert added.status_code == 303
    assert "£1,234.50" in client.get(f"/ui/cases/{case_id}").text


def test_a_letter_goes_from_draft_to_approved_to_a_word_download_through_the_pages(
    app: App,
) -> None:
    """The letter's way out with a letter put on the case directly (the browser journey
    has the notes service write it with the bundled model)."""
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    body = "Dear Philippa,\n\nThank you for meeting us.\n\n- Northgate Bank: £2,400\n- Council"

    async def put_letter() -> int:
        database = Database.from_settings(app.settings)
        try:
            found = await CaseStore(database, None).add_letter(
                case_id, Actor("adviser@advice.example", "adviser"), body=body, details={},
                note_id=None,
            )  # fmt: skip
            return found.id
        finally:
            await database.aclose()

    letter_id = asyncio.run(put_letter())
    base = f"/ui/cases/{case_id}/letters/{letter_id}"
    page = adviser.get(f"/ui/cases/{case_id}").text
    assert f"Submit letter {letter_id} for approval" in page and "Download letter" not in page
    early = adviser.post(f"{base}/download", data={"csrf_token": csrf})
    assert early.status_code == 409 and "only after a supervisor approves it" in text_of(early.text)
    assert adviser.post(f"{base}/submit", data={"csrf_token": csrf}).status_code == 303
    assert "Waiting for a supervisor" in adviser.get(f"/ui/cases/{case_id}").text
    # The adviser cannot approve; the supervisor finds it waiting and approves it.
    assert adviser.post(f"{base}/approve", data={"csrf_token": csrf}).status_code == 403
    supervisor, their_csrf = signed_in(app, "supervisor")
    assert f'href="/ui/cases/{case_id}#letter-{letter_id}"' in supervisor.get("/").text
    approved = supervisor.post(f"{base}/approve", data={"csrf_token": their_csrf})
    assert approved.status_code == 303
    assert "Letters waiting" in supervisor.get("/").text
    assert f"#letter-{letter_id}" not in supervisor.get("/").text
    download = adviser.post(f"{base}/download", data={"csrf_token": csrf})
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="letter-{case_id}-{letter_id}.docx"'
    )
    words = [p.text for p in Document(io.BytesIO(download.content)).paragraphs]
    assert words[:2] == ["Dear Philippa,", "Thank you for meeting us."]
    assert "Northgate Bank: £2,400" in words and "Council" in words
    assert 'class="status status-sent">sent<' in adviser.get(f"/ui/cases/{case_id}").text
