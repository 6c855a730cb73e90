"""An adviser's day on one case, over real HTTP on the embedded model: a photographed
creditor letter uploaded to the case is read by the doc-processor, its figures proposed,
confirmed by the adviser (and only then counted), eligibility judged on them, the case
searched, and a Confirmation of Advice written by the notes service."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest

from rma.accounts.audit import AuditLog
from rma.db import Database
from rma.documents.sample_letters import SampleLetter, sample_letters
from tests.app.conftest import App, png


@pytest.fixture(scope="module")
def letters() -> dict[str, SampleLetter]:
    return {letter.name: letter for letter in sample_letters()}


def pence(value: str) -> int:
    return int(Decimal(value) * 100)


def test_a_creditor_letter_becomes_a_confirmed_debt(
    app: App, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]  # the answer key: the fields the letter states
    case = app.new_case("Jo Sample")
    case_id = case["id"]
    uploaded = app.upload(case_id, "letter.png", png(letter), "image/png")
    assert uploaded["status"] == "received"
    read = app.read(case_id, uploaded["id"])
    assert read["status"] == "processed", read
    assert read["doc_type"] == letter.doc_type and read["indexed_passages"], read
    fields = {f["name"]: f for f in read["fields"]}
    for name in ("balance", "arrears", "account_reference"):
        assert fields[name]["value"] == letter.fields[name], (name, fields[name])
        assert fields[name]["page"] == 1 and fields[name]["quote"]

    [proposal] = read["debts"]
    assert proposal["status"] == "proposed" and proposal["source"] == "document"
    assert proposal["balance_pence"] == pence(letter.fields["balance"])
    assert proposal["reference"] == letter.fields["account_reference"]
    # Nothing read from a document counts before an adviser confirms it.
    debts = app.ok("GET", f"/cases/{case_id}/debts")
    assert debts["debts"] == [] and debts["totals"]["balance_pence"] == 0
    dro = app.ok("GET", f"/cases/{case_id}/eligibility")["schemes"][0]
    debt_limit = next(c for c in dro["criteria"] if c["key"] == "dro.max_debt")
    # Counted as a possibility only: under the limit even if confirmed, and said so.
    assert debt_limit["client_value"].startswith("£0 to £")
    assert debt_limit["outcome"] == "pass"
    assert any("proposed debt" in m for m in debt_limit["missing"])

    creditor = letter.fields["creditor"]
    confirmed = app.ok(
        "POST", f"/cases/{case_id}/debts/{proposal['id']}/confirm",
        json={"corrections": {"kind": "credit_card", "creditor": creditor},
              "note": "checked against the letter"},
    )  # fmt: skip
    assert confirmed["status"] == "confirmed" and confirmed["creditor"] == creditor
    balance = confirmed["sources"]["balance"]
    assert balance["source"] == "document" and balance["document_field"]["page"] == 1
    assert confirmed["sources"]["kind"]["source"] == "adviser"
    debts = app.ok("GET", f"/cases/{case_id}/debts")
    assert [d["id"] for d in debts["debts"]] == [proposal["id"]]
    assert debts["totals"]["balance_pence"] == pence(letter.fields["balance"])

    app.ok("PUT", f"/cases/{case_id}/circumstances", json={
        "lived_in_england_wales": True, "previous_dro": False, "bankrupt": False,
        "in_iva": False, "pending_petition": False, "assets_complete": True,
    })  # fmt: skip
    for direction, category, amount in (("income", "benefits", 90_000),
                                        ("spending", "home_and_contents", 87_000)):  # fmt: skip
        app.ok("POST", f"/cases/{case_id}/budget/lines", json={
            "direction": direction, "category": category, "amount_pence": amount})  # fmt: skip
    result = app.ok("GET", f"/cases/{case_id}/eligibility", params={"as_at": "2024-07-01"})
    dro = next(s for s in result["schemes"] if s["scheme"] == "dro")
    assert dro["outcome"] == "pass", dro
    debt_limit = next(c for c in dro["criteria"] if c["key"] == "dro.max_debt")
    assert debt_limit["limit"]["display"] == "£50,000"
    assert debt_limit["limit"]["effective_from"] == "2024-06-28"

    reference = letter.fields["account_reference"]
    answer = app.ok("POST", f"/cases/{case_id}/search",
                    json={"question": f"What is the arrears on account {reference}?"})  # fmt: skip
    assert answer["sources"], answer
    assert {s["case_document_id"] for s in answer["sources"]} == {uploaded["id"]}
    assert all(s["page"] == 1 for s in answer["sources"])

    notes = (
        f"Saw Jo today. Owes {creditor} {letter.fields['balance']} on a credit card, "
        "arrears building. Also owes Pennine Water £310. Client to send 3 months bank "
        "statements by 14/08. We will write to the creditor to ask for 30 days hold."
    )
    written = app.ok("POST", f"/cases/{case_id}/letters",
                     json={"notes": notes, "adviser_name": "Ann Adviser"})  # fmt: skip
    assert written["status"] == "draft" and "Jo Sample" in written["body"]
    assert written["note_id"] is not None
    # Debts the notes name that the case lacks are proposed, never added as confirmed.
    assert all(d["status"] == "proposed" and d["source"] == "notes"
               for d in written["proposed_debts"])  # fmt: skip
    assert [x["id"] for x in app.ok("GET", f"/cases/{case_id}/letters")["letters"]] == [
        written["id"]
    ]


def test_a_pdf_letters_page_is_drawn_with_its_fields_marked_on_it(
    sqlite_app: App, letters: dict[str, SampleLetter]
) -> None:
    import io

    from PIL import Image

    from rma.documents.sample_letters import render_pdf

    app = sqlite_app
    letter = letters["creditor-letter"]
    case_id = app.new_case("Jo Sample")["id"]
    pdf = render_pdf([(letter, True)])
    uploaded = app.upload(case_id, "letter.pdf", pdf, "application/pdf")
    read = app.read(case_id, uploaded["id"])
    assert read["status"] == "processed", read
    balance = next(f for f in read["fields"] if f["name"] == "balance")
    width, height = balance["place"]["size"]  # the page in points
    assert balance["place"]["boxes"] and abs(width / height - 210 / 297) < 0.01

    url = f"/ui/cases/{case_id}/documents/{uploaded['id']}"
    drawn = app.call("GET", f"{url}/pages/1")
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(drawn.content))
    assert abs(image.width / image.height - width / height) < 0.01
    assert app.call("GET", f"{url}/pages/2").status_code == 404
    html = app.call("GET", url).text
    assert f'<image href="{url}/pages/1"' in html
    assert len(re.findall(r'<g id="place-\d+" class="place">', html)) >= 3
    # drawing the page is a read of the file, recorded as such
    assert ("document.file", "ok") in asyncio.run(audited(app, case_id))


async def audited(app: App, case_id: int) -> list[tuple[str, str]]:
    database = Database.from_settings(app.settings)
    try:
        entries = await AuditLog(database).entries(case_id=case_id)
        return [(str(e["action"]), str(e["outcome"])) for e in entries]
    finally:
        await database.aclose()


def test_a_scanned_pdfs_pages_are_told_one_by_one_while_it_is_read(
    sqlite_app: App, letters: dict[str, SampleLetter]
) -> None:
    import time

    from rma.documents.sample_letters import render_pdf

    app = sqlite_app
    case_id = app.new_case("Jo Sample")["id"]
    names = ("creditor-letter", "default-notice", "county-court-claim")
    scans = [(letters[name], False) for name in names]
    uploaded = app.upload(case_id, "pile.pdf", render_pdf(scans), "application/pdf")
    url = f"/cases/{case_id}/documents/{uploaded['id']}/status"
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = app.ok("GET", url)
        seen.append(found)
        if found["done"]:
            break
        time.sleep(0.1)
    assert seen[-1]["status"] == "processed", seen[-1]
    during = [s for s in seen if s["status"] == "processing" and s["page_status"]]
    assert during, [s["message"] for s in seen]
    for found in during:  # told page by page, before the document is done
        assert 0 < found["pages_read"] <= 3 and found["pages"] == 3
        assert str(found["message"]).startswith("reading 3 pages: ")
        for page in found["page_status"]:
            assert re.fullmatch(r"page [123] of 3 read \(tesseract, \d+ %\)", page["message"])
    assert len(seen[-1]["page_status"]) == 3
