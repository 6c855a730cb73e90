"""An adviser's day in a real browser, on the embedded default: sign in, open a case,
upload a photographed creditor letter, confirm the figures read from it, see the debt and
the DRO result with its citations, paste notes, get the letter, have a supervisor approve
it, download it as Word. And: an adviser of another team cannot open the case. And: the
keyboard alone signs in and opens a case; the pages work 320 px wide. And: an admin
uploads a manual, an adviser asks and sees the answer stream in, then opens a cited page
with the passage highlighted, and the admin deletes the manual.

The answer key is the sample letter's own fields (what the letter states) and the facts
file's DRO debt limit (£50,000 since 28 June 2024), not what the app computes.
"""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

from rma import constants as C
from rma.accounts.audit import AuditLog
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.cases.schema import ClientDetails, NewCase
from rma.cases.store import CaseStore
from rma.db import Database
from rma.documents.sample_letters import SampleLetter, sample_letters
from rma.text import format_money
from tests.app.browser.conftest import SLOW, Browser, Web
from tests.app.conftest import png
from tests.conftest import ROOT

NOTES = (
    "Client Jo Sample attended. Debts: Northgate Bank credit card about £2,400. "
    "Discussed a Debt Relief Order. Client to send three months of payslips within 14 days. "
    "We will write to Northgate Bank to ask them to hold action for 30 days."
)


@pytest.fixture(scope="module")
def letter() -> SampleLetter:
    return next(x for x in sample_letters() if x.name == "creditor-letter")


def money(value: str) -> str:
    return format_money(Decimal(value))


def drop_and_follow(browser: Browser, upload: Path, timeout: float = 600) -> int:
    """Drop ``upload`` on the case page's drop zone (the file handed to the page through
    its file field, as a person's drag would hand it over), see the upload's progress and
    then the reading page by page, until the page says it is done; the document's id."""
    browser.find("#file").send_keys(str(upload))
    dropped = browser.driver.execute_script(
        "const files = new DataTransfer();"
        "files.items.add(document.getElementById('file').files[0]);"
        "return document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', "
        "{dataTransfer: files, bubbles: true, cancelable: true}));"
    )
    assert dropped is False  # the page's script took the drop (and cancelled the default)
    assert browser.path.startswith("/ui/cases/")  # no page load: the script sends it
    _wait_for(browser, lambda: browser.find("#upload-progress").get_attribute("value") == "100")
    _wait_for(browser, lambda: browser.find(".upload-panel").get_attribute("data-done"), timeout)
    status = browser.text("#upload-status")
    assert "read: 1 of 1 page" in status, status
    pages = [e.text for e in browser.all("#upload-pages li")]
    assert len(pages) == 1 and pages[0].startswith("page 1 of 1"), pages
    return int(browser.find(".upload-panel").get_attribute("data-done"))


# A sentence the adviser adds to the letter, and a sum the notes do not have.
ADDED = "Please ring us if anything changes before then."
INVENTED = "£123,456"


def edit_the_letter(browser: Browser, case_id: int, letter_id: int) -> None:
    """Edit the draft before it is submitted: a sum the notes do not have is caught by
    the checks run again on the edited text, then taken out; both wordings are versions."""
    from selenium.webdriver.common.keys import Keys

    browser.follow(f"a[href='/ui/cases/{case_id}/letters/{letter_id}/edit']")
    assert browser.path == f"/ui/cases/{case_id}/letters/{letter_id}/edit"
    assert "Not edited yet" in browser.text()
    written = browser.find("#letter-body").get_attribute("value")
    box = browser.find("#letter-body")
    box.send_keys(Keys.CONTROL, Keys.END)
    box.send_keys(f"\n{ADDED} It will cost you {INVENTED}.")
    browser.press("Save the letter")
    checks = browser.text("#checks")
    assert f"the amount {INVENTED} in the letter is not in the notes" in checks, checks
    assert "Version 2: adviser@advice.example" in browser.text()
    browser.check("letter")
    box = browser.find("#letter-body")
    box.clear()
    box.send_keys(f"{written}\n{ADDED}")
    browser.press("Save the letter")
    assert INVENTED not in browser.text("#checks")
    assert "Version 3: adviser@advice.example" in browser.text()
    assert ADDED in browser.find("#letter-body").get_attribute("value")
    # Usable on a phone's width too.
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        width = browser.driver.execute_script("return document.documentElement.scrollWidth")
        viewport = browser.driver.execute_script("return document.documentElement.clientWidth")
        assert width <= viewport, (width, viewport)
        browser.check("narrow-letter")
    finally:
        browser.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def new_case(browser: Browser, name: str) -> int:
    browser.fill("client_name", name)
    browser.press("Open case")
    case_id = int(browser.path.rsplit("/", 1)[-1])
    assert browser.path == f"/ui/cases/{case_id}" and name not in browser.driver.current_url
    return case_id


def test_an_adviser_turns_a_creditor_letter_into_a_debt_and_a_letter_a_supervisor_approves(
    browser: Browser, letter: SampleLetter, tmp_path: Path
) -> None:
    browser.go("/")
    assert browser.text("h1") == "Sign in"  # an anonymous visitor
    browser.check("sign-in")
    browser.sign_in("adviser")
    case_id = new_case(browser, "Jo Sample")
    assert browser.text("h1").endswith("Jo Sample")
    assert "No confirmed debts yet." in browser.text("#debts")

    upload = tmp_path / "creditor-letter.png"
    upload.write_bytes(png(letter))
    document_id = drop_and_follow(browser, upload)
    assert "creditor-letter.png" in browser.text("#document-list")  # refreshed in place
    assert "processed" in browser.text("#document-list")
    browser.follow(f"#upload-status a[href='/ui/cases/{case_id}/documents/{document_id}']")
    assert browser.path == f"/ui/cases/{case_id}/documents/{document_id}"
    assert browser.text("dl.facts dd").startswith("processed"), browser.text()
    fields = {
        row.find_element(browser.by.CSS_SELECTOR, "th").text: row
        for row in browser.all("main table tbody tr")
    }
    for name in ("balance", "arrears", "account reference"):
        cells = fields[name].find_elements(browser.by.CSS_SELECTOR, "td")
        assert cells[1].text == letter.fields[name.replace(" ", "_")], name
        assert cells[2].text == "1" and cells[3].text  # the page and the quote
        # its line marked on the page image, numbered as in the table
        mark = cells[0].find_element(browser.by.CSS_SELECTOR, "a").get_attribute("href")
        assert mark and "#place-" in mark, name
        group = mark.rsplit("#", 1)[1]
        number = browser.driver.execute_script(
            f"return document.getElementById('{group}').querySelector('text').textContent"
        )
        assert number == cells[0].text, name
    # Following a field's number marks its line more strongly on the page.
    link = fields["balance"].find_element(browser.by.CSS_SELECTOR, "td a")
    group = link.get_attribute("href").rsplit("#", 1)[1]
    opacity = (f"return getComputedStyle(document.getElementById('{group}')"
               ".querySelector('rect')).fillOpacity")  # fmt: skip
    assert browser.driver.execute_script(opacity) == "0.35"
    from selenium.webdriver.common.keys import Keys

    link.send_keys(Keys.ENTER)
    _wait_for(browser, lambda: browser.driver.execute_script(opacity) == "0.6")
    browser.check("document")

    # Confirm, correcting what the adviser knows better: the creditor's name and the kind.
    creditor = letter.fields["creditor"]
    browser.fill(next(e.get_attribute("id") for e in browser.all("input[name=creditor]")), creditor)
    browser.choose(next(e.get_attribute("id") for e in browser.all("select[name=kind]")),
                   "credit_card")  # fmt: skip
    browser.press("Confirm debt")
    assert browser.path == f"/ui/cases/{case_id}#debts" or browser.path == f"/ui/cases/{case_id}"
    row = browser.text("#debts tbody tr")
    balance = money(letter.fields["balance"])
    assert creditor in row and balance in row and "credit card" in row and "document" in row
    assert balance in browser.text("#debts tfoot")

    # Eligibility: the DRO, each criterion with the client's figure and the cited limit.
    dro = browser.text("#scheme-dro")
    assert "Debt Relief Order" in dro
    debt_row = next(
        r.text for r in browser.all("#scheme-dro tbody tr") if "debts" in r.text.lower()
    )
    assert balance in debt_row and "£50,000" in debt_row and "2024-06-28" in debt_row
    citations = [c.text for c in browser.all("#scheme-dro cite") if c.text]
    assert any("Insolvency Proceedings (Monetary Limits)" in c for c in citations), citations
    assert browser.all("#scheme-dro .outcome")
    browser.check("case")

    browser.fill("notes", NOTES)
    browser.press("Write the letter")  # the notes service, on the bundled model
    letter_box = browser.all("article.letter")[-1]
    letter_id = int(letter_box.get_attribute("id").removeprefix("letter-"))
    assert "draft" in browser.text(f"#letter-{letter_id} h3")
    assert "Jo Sample" in browser.text(f"#letter-{letter_id} pre")
    edit_the_letter(browser, case_id, letter_id)
    browser.press(f"Submit letter {letter_id} for approval")
    assert browser.path.startswith(f"/ui/cases/{case_id}")
    assert "submitted" in browser.text(f"#letter-{letter_id} h3")
    assert "Waiting for a supervisor" in browser.text(f"#letter-{letter_id}")
    browser.sign_out()

    browser.sign_in("supervisor")
    assert f"Letter {letter_id}" in browser.text("main")
    browser.check("dashboard")
    browser.go(f"/ui/cases/{case_id}")
    browser.press(f"Approve letter {letter_id}")
    assert "approved" in browser.text(f"#letter-{letter_id} h3")
    browser.sign_out()

    browser.sign_in("adviser")
    browser.go(f"/ui/cases/{case_id}")
    button = browser.driver.find_element(
        browser.by.XPATH, f"//button[normalize-space()='Download letter {letter_id} as Word']"
    )
    button.click()
    saved = browser.driver.downloads / f"letter-{case_id}-{letter_id}.docx"
    deadline = time.monotonic() + 60
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert saved.exists(), list(browser.driver.downloads.iterdir())
    words = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "Jo Sample" in words and ADDED in words  # the edited wording went out


def test_an_adviser_cannot_open_another_teams_case(browser: Browser, web: Web) -> None:
    browser.sign_in("adviser")
    case_id = new_case(browser, "Sam Private")
    browser.sign_out()
    browser.sign_in("other")
    assert "Sam Private" not in browser.text()
    browser.go(f"/ui/cases/{case_id}")
    assert browser.text("h1") == "You may not open this"
    assert f"case {case_id} is not yours or your team's" in browser.text()
    assert "Sam Private" not in browser.driver.page_source
    browser.check("forbidden")

    async def refusals() -> list[str]:
        database = Database.from_settings(web.app.settings)
        try:
            entries = await AuditLog(database).entries(case_id=case_id, action="cases.read")
        finally:
            await database.aclose()
        return [str(e["actor"]) for e in entries if e["outcome"] == "denied"]

    assert asyncio.run(refusals()) == [web.people["other"]]


def test_the_keyboard_alone_signs_in_and_opens_a_case(browser: Browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.sign_in("adviser")
    case_id = new_case(browser, "Kim Keys")
    browser.sign_out()
    keys = ActionChains(browser.driver)

    def tab_to(predicate: str, most: int = 40) -> None:
        for _ in range(most):
            keys.send_keys(Keys.TAB).perform()
            active = browser.driver.switch_to.active_element
            if browser.driver.execute_script(f"return arguments[0].matches({predicate!r})", active):
                return
        raise AssertionError(f"no tab stop matches {predicate}")

    browser.go("/")
    keys.send_keys(Keys.TAB).perform()
    skip = browser.driver.switch_to.active_element
    assert skip.text == "Skip to main content"  # the first tab stop
    tab_to("#email")
    keys.send_keys(browser.web.people["adviser"]).perform()
    tab_to("#password")
    from tests.support.accounts import PASSWORD

    keys.send_keys(PASSWORD).send_keys(Keys.ENTER).perform()
    _wait_for(browser, lambda: browser.path == "/")
    tab_to(f"a[href='/ui/cases/{case_id}']", most=200)
    outline = browser.driver.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle"
    )
    assert outline != "none"  # focus is visible
    keys.send_keys(Keys.ENTER).perform()
    _wait_for(browser, lambda: browser.path == f"/ui/cases/{case_id}")
    assert browser.text("h1").endswith("Kim Keys")


def test_the_pages_are_usable_at_320_pixels_wide(browser: Browser, web: Web) -> None:
    # More cases than a dashboard page holds, so the dashboard shows its pages too.
    asyncio.run(more_cases(web, C.CASES_PER_PAGE + 1))
    browser.sign_in("adviser")
    case_id = new_case(browser, "Nat Narrow")
    browser.go("/?page=2")
    assert "(page 2 of" in browser.text() and "Previous page" in browser.text()
    # A phone's width (a desktop window cannot be made this narrow): 320 CSS pixels.
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    for path in ("/", f"/ui/cases/{case_id}", "/ui/limits", "/ui/ask"):
        browser.go(path)
        width = browser.driver.execute_script("return document.documentElement.scrollWidth")
        viewport = browser.driver.execute_script("return document.documentElement.clientWidth")
        assert width <= viewport, (path, width, viewport)  # nothing wider than the screen
        browser.check("narrow-" + (path.strip("/").split("/")[1] if path != "/" else "dashboard"))


def test_the_other_pages_pass_the_accessibility_checks(browser: Browser) -> None:
    browser.sign_in("supervisor")
    browser.go("/ui/limits")
    assert "£50,000" in browser.text("#limit-dro\\.max_debt") and "2024-06-28" in browser.text(
        "#limit-dro\\.max_debt"
    )
    browser.check("limits")
    browser.go("/ui/admin/users")
    assert "other-team@advice.example" in browser.text()
    browser.sign_out()
    browser.sign_in("admin")
    browser.go("/ui/admin/users")
    assert "Add a user" in browser.text()
    browser.check("users")
    browser.go("/ui/admin/audit")
    assert "session.login" in browser.text("tbody")
    browser.check("audit")


def test_an_admin_uploads_a_manual_and_an_adviser_opens_the_page_an_answer_cites(
    browser: Browser,
) -> None:
    manual = ROOT / "manuals" / "bankruptcy.pdf"
    browser.sign_in("admin")
    browser.go("/ui/admin/manuals")
    browser.driver.execute_script("window.samePage = true")
    browser.find("#manual-file").send_keys(str(manual))
    browser.find("#manual-upload button").click()
    _wait_for(browser, lambda: browser.all("#ingest-result"), timeout=600)
    assert browser.driver.execute_script("return window.samePage") is True  # sent by script
    assert re.search(r"bankruptcy\.pdf: (added|unchanged)", browser.text("#ingest-result"))
    assert "bankruptcy.pdf" in browser.text("tbody")
    browser.check("manuals")
    browser.sign_out()

    browser.sign_in("adviser")
    browser.go("/ui/ask")
    browser.driver.execute_script(
        "window.seen = {draft: false, text: ''};"
        "new MutationObserver(() => {"
        "  const d = document.querySelector('.answer.draft .answer-text');"
        "  if (d) { window.seen.draft = true; window.seen.text = d.textContent; }"
        "}).observe(document.getElementById('answer-area'),"
        "  {childList: true, subtree: true, characterData: true});"
    )
    browser.fill("question", "How much does it cost to apply for your own bankruptcy?")
    browser.find("#ask-form button").click()
    _wait_for(
        browser,
        lambda: browser.text("#ask-status") == "Answer ready." or browser.all(".notice.error"),
        timeout=SLOW,
    )
    assert browser.text("#ask-status") == "Answer ready.", browser.text()
    seen = browser.driver.execute_script("return window.seen")
    assert seen["draft"]  # the answer showed while it was being written ...
    assert not browser.all(".answer.draft")  # ... and the final answer replaced it
    answer = browser.text("#answer-section")
    if "Not checked." in answer and seen["text"].strip():
        assert seen["text"].strip() not in browser.text("#answer-section .answer-text")
    assert "(cited)" in answer or "Not in the manuals." in answer
    browser.check("ask")

    link = browser.find('a.open-passage[href*="bankruptcy-pdf"]')
    href = link.get_attribute("href")
    browser.follow('a.open-passage[href*="bankruptcy-pdf"]')
    assert browser.driver.current_url == href
    assert browser.all("svg.page-svg rect.highlight")  # the passage's lines
    image = browser.find("svg.page-svg image").get_attribute("href")
    loaded = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done([r.status, r.headers.get('Content-Type')]));",
        image,
    )
    assert loaded == [200, "image/png"]
    browser.check("manual-page")
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.driver.refresh()
    width = browser.driver.execute_script("return document.documentElement.scrollWidth")
    viewport = browser.driver.execute_script("return document.documentElement.clientWidth")
    assert width <= viewport
    browser.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.sign_out()

    browser.sign_in("admin")  # leave the session's manuals as they were
    browser.go("/ui/admin/manuals")
    browser.follow('a[href$="/delete"][href*="bankruptcy-pdf"]')
    assert browser.path.endswith("/delete")
    browser.press("Delete this manual")
    assert "bankruptcy.pdf" not in browser.text("tbody")


async def more_cases(web: Web, count: int) -> None:
    """``count`` cases opened by the adviser straight through the case store."""
    database = Database.from_settings(web.app.settings)
    try:
        directory = Directory(database, web.app.settings)
        adviser = next(u for u in await directory.users() if u.email == web.people["adviser"])
        actor = Actor(adviser.email, "adviser", adviser.id, adviser.team_id)
        store = CaseStore(database, None)
        for n in range(count):
            client = ClientDetails.model_validate({"name": f"Paged Client {n:02d}"})
            await store.create_case(actor, NewCase(client=client, adviser_id=adviser.id,
                                                   team_id=adviser.team_id))  # fmt: skip
    finally:
        await database.aclose()


def _wait_for(browser: Browser, condition: object, timeout: float = 60) -> None:
    """Ask ``condition`` until it holds. An element the page's script replaced between
    finding it and reading it (stale) or has not drawn yet is asked about again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(
        browser.driver,
        timeout,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(lambda _: condition())  # type: ignore[operator]
