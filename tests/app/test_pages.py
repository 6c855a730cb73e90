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
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from docx import Document

from rma.accounts.audit import AuditLog
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.app.pages.render import SECURITY_HEADERS
from rma.cases.proposals import DocumentReading, FieldRead, PageRead
from rma.cases.schema import NoteIn
from rma.cases.store import CaseStore, Upload
from rma.cases.vault import Vault
from rma.db import Database
from rma.documents.sample_letters import sample_letters
from tests.app.conftest import App, png, running_app
from tests.support.accounts import PASSWORD

OPERATOR = Actor("operator:tests", kind="operator", via="cli")
CLIENT = "Philippa Quennell-Smyth"  # a name that must never reach a URL
T = TypeVar("T")


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


# ---------------------------------------------------------------- what this part adds

OWNER = Actor("adviser@advice.example", "adviser")


async def on_the_store(app: App, work: Callable[[CaseStore], Awaitable[T]]) -> T:
    """``work`` done straight on the case store of ``app``'s database (with its vault)."""
    database = Database.from_settings(app.settings)
    try:
        return await work(CaseStore(database, Vault.from_settings(app.settings)))
    finally:
        await database.aclose()


def test_a_documents_reading_status_is_told_page_by_page_without_its_text(app: App) -> None:
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    pages = (PageRead(1, "Dear Philippa, SECRET-PAGE-TEXT", "text-layer", 1.0),
             PageRead(2, "Balance £1,234.56", "tesseract", 0.91),
             PageRead(3, "blurred words", "tesseract", 0.42))  # fmt: skip

    async def add(store: CaseStore) -> int:
        upload = Upload("letter.pdf", "application/pdf", 3)
        return (await store.add_document(case_id, OWNER, b"%PDF- a letter", upload)).id

    document_id = asyncio.run(on_the_store(app, add))
    url = f"/cases/{case_id}/documents/{document_id}/status"
    waiting = adviser.get(url).json()
    assert (waiting["status"], waiting["done"], waiting["message"]) == (
        "received",
        False,
        "waiting to be read (3 pages)",
    )
    assert waiting["page_status"] == []

    async def read(store: CaseStore) -> None:
        assert await store.start_reading(document_id) is not None
        assert adviser.get(url).json()["message"] == "reading 3 pages"
        await store.finish_reading(document_id, DocumentReading("other", pages, ()))

    asyncio.run(on_the_store(app, read))
    response = adviser.get(url)
    found = response.json()
    assert found["done"] and found["message"] == "read: 3 of 3 pages"
    assert [p["message"] for p in found["page_status"]] == [
        "page 1 of 3 read (text-layer, 100 %)",
        "page 2 of 3 read (tesseract, 91 %)",
        "page 3 of 3: OCR low confidence, 42 %: check it against the original",
    ]
    assert [p["low_confidence"] for p in found["page_status"]] == [False, False, True]
    assert "SECRET-PAGE-TEXT" not in response.text and "1,234" not in response.text
    # Another team's adviser may not follow it; the owner's read was a request like any.
    other, _ = signed_in(app, "other")
    assert other.get(url).status_code == 403
    assert adviser.get(f"/cases/{case_id}/documents/{document_id + 1}/status").status_code == 404


def test_a_photographed_documents_fields_are_marked_on_its_page_and_numbered(app: App) -> None:
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    size = (1200.0, 1600.0)
    fields = (
        FieldRead("balance", "1350.29", 1, "Total balance   £1,350.29", 0.93, True, "code",
                  boxes=((100, 400, 300, 430), (700, 400, 820, 430))),
        FieldRead("creditor", "Pennine Loans Ltd", 1, "Pennine Loans Ltd", 0.9, True, "code"),
        # boxes outside the page are dropped, not drawn
        FieldRead("arrears", "257.57", 1, "Arrears   £257.57", 0.9, True, "code",
                  boxes=((1300, 1700, 1400, 1750),)),
    )  # fmt: skip

    async def add(store: CaseStore) -> int:
        upload = Upload("letter.png", "image/png", 1)
        document = await store.add_document(case_id, OWNER, png(sample_letters()[0]), upload)
        assert await store.start_reading(document.id) is not None
        pages = (PageRead(1, "the letter", "tesseract", 0.9, size),)
        await store.finish_reading(document.id, DocumentReading("creditor_letter", pages, fields))
        return document.id

    document_id = asyncio.run(on_the_store(app, add))
    html = adviser.get(f"/ui/cases/{case_id}/documents/{document_id}").text
    assert 'viewBox="0 0 1200.0 1600.0"' in html
    marks = re.findall(r'<g id="place-(\d+)" class="place">(.*?)</g>', html, re.S)
    assert len(marks) == 1  # the balance only: the creditor has no boxes, the arrears none inside
    mark_id, mark = marks[0]
    assert len(re.findall(r'<rect class="highlight"', mark)) == 2
    assert re.search(r'<rect class="highlight" x="98(\.0)?" y="398(\.0)?" width="204(\.0)?"', mark)
    # the table's row links to its mark with the number the mark carries
    number = re.search(r'<text class="place-number"[^>]*>(\d+)</text>', mark)
    assert number and f'href="#place-{mark_id}"' in html
    assert re.search(rf'<a href="#place-{mark_id}"[^>]*>{number.group(1)}</a>', html)
    assert text_of(html).count("not found on the page") == 2
    api = adviser.get(f"/cases/{case_id}/documents/{document_id}").json()
    places = {f["name"]: f["place"] for f in api["fields"]}
    assert places == {
        "balance": {"size": [1200.0, 1600.0],
                    "boxes": [[100.0, 400.0, 300.0, 430.0], [700.0, 400.0, 820.0, 430.0]]},
        "creditor": None,
        "arrears": None,
    }  # fmt: skip


def test_a_failed_reading_says_why_in_its_status(app: App) -> None:
    """The services are not running here: the upload is read, and fails, for real."""
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    files = {"file": ("letter.png", png(next(iter(sample_letters()))), "image/png")}
    sent = adviser.post(f"/cases/{case_id}/documents", files=files,
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert sent.status_code == 202, sent.text
    url = f"/cases/{case_id}/documents/{sent.json()['id']}/status"
    deadline = time.monotonic() + 60
    while not (found := adviser.get(url).json())["done"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found["status"] == "failed"
    assert found["message"].startswith("could not be read: cannot reach the doc-processor")


def test_the_case_page_loads_the_upload_script_and_keeps_the_plain_form(app: App) -> None:
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    html = adviser.get(f"/ui/cases/{case_id}").text
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*data-upload="([^"]+)"', html)
    assert form and form.group(1) == f"/ui/cases/{case_id}/documents?csrf_token={csrf}"
    assert form.group(2) == f"/cases/{case_id}/documents"
    script = adviser.get("/ui/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "X-CSRF-Token" in script.text and "/status" in script.text
    # Without the script, the form itself uploads and leads to the document's page.
    files = {"file": ("letter.png", png(next(iter(sample_letters()))), "image/png")}
    plain = adviser.post(form.group(1), files=files)
    assert plain.status_code == 303
    assert re.fullmatch(rf"/ui/cases/{case_id}/documents/\d+", plain.headers["location"])


NOTES = (
    "Appointment 3 March 2026. Client Philippa Quennell-Smyth attended. Debts: Northgate "
    "Bank credit card £2,400. Client to send three months of payslips by 17 March 2026."
)
WRITTEN = (
    "3 March 2026\n\nDear Philippa Quennell-Smyth,\n\nConfirmation of your advice\n\n"
    "Thank you for talking to us today.\n\nYour debts\n- Northgate Bank: £2,400\n\n"
    "What you need to do\n- Send us three months of payslips by 17 March 2026.\n\n"
    "Best wishes,"
)
DETAILS = {
    "appointment_date": "2026-03-03",
    "debts": [{"creditor": "Northgate Bank", "amount": "2400.00"}],
    "warnings": [],
}


def put_letter(app: App, case_id: int) -> int:
    async def put(store: CaseStore) -> int:
        note = await store.add_note(case_id, OWNER, NoteIn(body=NOTES))
        letter = await store.add_letter(
            case_id, OWNER, body=WRITTEN, details=DETAILS, note_id=note.id
        )
        return letter.id

    return asyncio.run(on_the_store(app, put))


def test_an_edited_letter_is_a_new_version_and_the_letter_checks_run_on_it_again(
    app: App,
) -> None:
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    letter_id = put_letter(app, case_id)
    edit = f"/ui/cases/{case_id}/letters/{letter_id}/edit"
    assert f'href="{edit}"' in adviser.get(f"/ui/cases/{case_id}").text
    page = adviser.get(edit)
    assert page.status_code == 200 and "Not edited yet" in page.text
    assert "Save the letter" in page.text and "Northgate Bank: £2,400" in page.text

    # The adviser drops the debt, moves the deadline and adds a sum the notes do not have.
    careless = WRITTEN.replace("- Northgate Bank: £2,400\n", "").replace(
        "by 17 March 2026.", "soon, and pay £999."
    )
    saved = adviser.post(edit, data={"csrf_token": csrf, "body": careless.replace("\n", "\r\n")})
    assert saved.status_code == 303 and saved.headers["location"] == edit + "#checks"
    shown = text_of(adviser.get(edit).text)
    assert "the debt to Northgate Bank of £2,400 is not in the letter" in shown
    assert "the amount £999 in the letter is not in the notes" in shown
    assert "is due by 17 March 2026 in the notes, but the letter does not give that date" in shown
    assert (
        "Version 2: adviser@advice.example" in shown
        and "Version 1: adviser@advice.example" in shown
    )
    letter = adviser.get(f"/cases/{case_id}/letters/{letter_id}").json()
    assert letter["body"] == careless and letter["edited_by"] == "adviser@advice.example"
    codes = {w["code"] for w in letter["details"]["warnings"]}
    assert codes == {"dropped_debt", "invented_amount", "dropped_deadline"}
    versions = adviser.get(f"/cases/{case_id}/letters/{letter_id}/versions").json()["versions"]
    assert [(v["number"], v["body"]) for v in versions] == [(1, WRITTEN), (2, careless)]
    assert versions[0]["warnings"] == [] and len(versions[1]["warnings"]) == 3

    # Put right through the JSON API (the same edit): the warnings go.
    fixed = WRITTEN.replace("Thank you for talking", "Thanks again for talking")
    patched = adviser.patch(f"/cases/{case_id}/letters/{letter_id}", json={"body": fixed},
                            headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["details"]["warnings"] == []
    assert "No warnings" in adviser.get(edit).text
    assert (
        len(adviser.get(f"/cases/{case_id}/letters/{letter_id}/versions").json()["versions"]) == 3
    )


def test_an_approved_letter_refuses_an_edit_and_a_returned_one_takes_it(app: App) -> None:
    adviser, csrf = signed_in(app, "adviser")
    case_id = open_case(adviser, csrf)
    letter_id = put_letter(app, case_id)
    base = f"/ui/cases/{case_id}/letters/{letter_id}"
    supervisor, their_csrf = signed_in(app, "supervisor")
    assert adviser.post(f"{base}/submit", data={"csrf_token": csrf}).status_code == 303
    busy = adviser.post(f"{base}/edit", data={"csrf_token": csrf, "body": "Dear Philippa"})
    assert busy.status_code == 409 and "a supervisor has it for approval" in text_of(busy.text)
    returned = supervisor.post(f"{base}/return", data={"csrf_token": their_csrf,
                                                       "note": "say when"})  # fmt: skip
    assert returned.status_code == 303
    assert "Save the letter" in adviser.get(f"{base}/edit").text  # a draft again
    changed = WRITTEN.replace("today", "on 3 March 2026")
    assert (
        adviser.post(f"{base}/edit", data={"csrf_token": csrf, "body": changed}).status_code == 303
    )
    assert adviser.post(f"{base}/submit", data={"csrf_token": csrf}).status_code == 303
    assert supervisor.post(f"{base}/approve", data={"csrf_token": their_csrf}).status_code == 303
    page = adviser.get(f"{base}/edit").text
    assert "Save the letter" not in page and "an approved letter is not edited" in page
    refused = adviser.post(f"{base}/edit", data={"csrf_token": csrf, "body": "Dear Philippa"})
    assert refused.status_code == 409
    assert f"letter {letter_id} is approved: an approved letter is not edited" in text_of(
        refused.text
    )
    api = adviser.patch(f"/cases/{case_id}/letters/{letter_id}", json={"body": "Dear P"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert api.status_code == 409
    letter = adviser.get(f"/cases/{case_id}/letters/{letter_id}").json()
    assert (letter["status"], letter["body"]) == ("approved", changed)
    # Another team's adviser reaches neither the page nor the edit.
    other, other_csrf = signed_in(app, "other")
    assert other.get(f"{base}/edit").status_code == 403
    assert other.post(f"{base}/edit", data={"csrf_token": other_csrf,
                                            "body": "x"}).status_code == 403  # fmt: skip
    assert adviser.get(f"/ui/cases/{case_id}/letters/{letter_id + 1}/edit").status_code == 404


def test_the_limits_page_says_when_the_manuals_could_not_be_checked_for_conflicts(
    app: App,
) -> None:
    adviser, _ = signed_in(app, "adviser")
    page = adviser.get("/ui/limits")
    assert page.status_code == 200
    assert "The manuals could not be checked for conflicts just now" in text_of(page.text)
    assert "cannot reach the RAG service" in text_of(page.text)


def test_the_dashboard_pages_the_cases_newest_activity_first(app: App) -> None:
    adviser, csrf = signed_in(app, "adviser")
    first = open_case(adviser, csrf, "Client 01")
    for n in range(2, 31):
        open_case(adviser, csrf, f"Client {n:02d}")

    def listed(html: str) -> list[str]:
        return re.findall(r"<td>(Client \d\d)</td>", html)

    page_one = adviser.get("/").text
    assert listed(page_one) == [f"Client {n:02d}" for n in range(30, 5, -1)]
    assert "cases 1 to 25 of 30 (page 1 of 2)" in text_of(page_one)
    assert 'href="/?page=2"' in page_one and "(30)" in page_one
    page_two = adviser.get("/?page=2").text
    assert listed(page_two)[0] == "Client 05"  # the 26th newest
    assert listed(page_two) == ["Client 05", "Client 04", "Client 03", "Client 02", "Client 01"]
    assert "cases 26 to 30 of 30 (page 2 of 2)" in text_of(page_two)
    # Work on the oldest case brings it to the top.
    added = adviser.post(f"/cases/{first}/notes", json={"body": "Rang the client."},
                         headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert added.status_code == 201
    assert listed(adviser.get("/").text)[0] == "Client 01"
    assert "No cases on this page" in adviser.get("/?page=9").text
    assert adviser.get("/?page=0").status_code == 422
