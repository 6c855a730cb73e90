"""The pages in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver (named by path: Selenium Manager never looks for, or downloads, a
driver). One adviser app for the session, on SQLite, calling the three real services on
the embedded default (the session's ``services``, shared with the other app tests), and
one browser. axe-core (the copy the ``axe-playwright-python`` package ships; only its
script is used) checks each page for WCAG 2.2 A and AA problems.

With ``RMA_UI_SCREENSHOTS=1`` the journeys save a screenshot of each page into docs/ui/.
Under CI a missing Chromium, chromedriver or axe-core fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest

from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.db import Database
from tests.app.conftest import App, Services, running_app
from tests.conftest import IN_CI, ROOT
from tests.support.accounts import PASSWORD

CHROMIUM = os.environ.get("RMA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RMA_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = os.environ.get("RMA_UI_SCREENSHOTS", "") == "1"
SHOTS = ROOT / "docs" / "ui"
# Impacts that fail a page (axe also reports "moderate" and "minor").
BLOCKING = ("serious", "critical")
SLOW = 1900  # seconds: the bundled model writes a letter in minutes on a shared CPU
PEOPLE = {
    "adviser": "adviser@advice.example",
    "supervisor": "supervisor@advice.example",
    "other": "other-team@advice.example",
    "admin": "admin@advice.example",
}


def _need(what: str) -> None:
    if IN_CI:
        pytest.fail(f"CI runs the browser tests: {what}")
    pytest.skip(what)


def axe_source() -> str:
    try:
        found = distribution("axe-playwright-python").locate_file(
            "axe_playwright_python/axe.min.js"
        )
    except PackageNotFoundError:
        _need("axe-core is missing: pip install --no-deps -r requirements/test-assets.txt")
        raise
    return Path(str(found)).read_text(encoding="utf-8")


@dataclass
class Web:
    """The app the browser talks to, and who can sign in to it."""

    app: App
    url: str
    people: dict[str, str] = field(default_factory=lambda: dict(PEOPLE))


@pytest.fixture(scope="session")
def web(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    root = tmp_path_factory.mktemp("web")
    # Secure cookies, as in production: Chromium keeps them for http://localhost.
    with running_app(f"sqlite:///{root / 'rma.db'}", root / "app", services) as app:
        asyncio.run(_other_team(app))
        yield Web(app, app.url.replace("127.0.0.1", "localhost"))


async def _other_team(app: App) -> None:
    database = Database.from_settings(app.settings)
    try:
        directory = Directory(database, app.settings)
        operator = Actor("operator:tests", kind="operator", via="cli")
        await directory.create_user(
            operator, email=PEOPLE["other"], display_name="Other Team", role="adviser",
            password=PASSWORD, team="South",
        )  # fmt: skip
        await directory.create_user(
            operator, email=PEOPLE["admin"], display_name="Admin", role="admin",
            password=PASSWORD,
        )  # fmt: skip
    finally:
        await database.aclose()


@pytest.fixture(scope="session")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        _need("install Debian's chromium and chromium-driver (scripts/test does)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need("install selenium (the dev extra)")
        raise
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never reach the network
    downloads = tmp_path_factory.mktemp("downloads")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900", "--lang=en-GB",
                     "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Waiting for a page the bundled model writes takes minutes: longer than Selenium's
    # own 120 s limit on a command, and than the page-load timeout's default.
    driver.command_executor.client_config.timeout = SLOW
    driver.set_page_load_timeout(SLOW)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """What a person does in the browser, in the words of the page: go to a page, fill a
    labelled field, press a button, read the page; and the checks made on every page."""

    def __init__(self, driver: Any, web: Web, axe: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.web, self.axe, self.by = driver, web, axe, By
        self.checked: dict[str, list[str]] = {}

    def go(self, path: str) -> None:
        self.driver.get(self.web.url + path)

    @property
    def path(self) -> str:
        return str(self.driver.current_url).removeprefix(self.web.url)

    def find(self, css: str) -> Any:
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(self.by.CSS_SELECTOR, css))

    def text(self, css: str = "main") -> str:
        return " ".join(str(self.find(css).text).split())

    def fill(self, field_id: str, value: str) -> None:
        element = self.find(f"#{field_id}")
        element.clear()
        element.send_keys(value)

    def choose(self, field_id: str, value: str) -> None:
        from selenium.webdriver.support.select import Select

        Select(self.find(f"#{field_id}")).select_by_value(value)

    def press(self, label: str, within: str = "main") -> None:
        """Press the button that says ``label`` and wait for the page it leads to."""
        self._leave_by(
            self.driver.find_element(
                self.by.XPATH, f"//{within}//button[normalize-space()={_xpath_text(label)}]"
            )
        )

    def follow(self, css: str) -> None:
        """Follow the link ``css`` finds and wait for the page it leads to."""
        self._leave_by(self.find(css))

    def _leave_by(self, element: Any) -> None:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        # The page being left is marked; the next page, a new document, has no mark. (Asking
        # whether the old <html> element went stale races the navigation: chromedriver can
        # answer "node does not belong to the document" instead of "stale".) While the
        # browser is between pages a script may fail to run: that is asked again.
        self.driver.execute_script("window.rmaLeaving = true;")
        element.click()
        arrived = "return window.rmaLeaving === undefined && document.readyState === 'complete';"
        WebDriverWait(self.driver, SLOW, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script(arrived)
        )

    def sign_in(self, who: str) -> None:
        self.go("/ui/sign-in")
        self.fill("email", self.web.people[who])
        self.fill("password", PASSWORD)
        self.press("Sign in")
        assert self.path == "/", self.text()

    def sign_out(self) -> None:
        self.press("Sign out", within="header")
        assert self.path == "/ui/sign-in"

    def check(self, name: str) -> None:
        """axe-core finds no serious or critical problem on this page; with
        RMA_UI_SCREENSHOTS=1 the page is saved as docs/ui/``name``.png."""
        self.driver.execute_script(self.axe)
        found = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
            "'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
            ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length, "
            "v.nodes.slice(0, 3).map(n => n.target.join(' '))])))"
            ".catch(e => done([['axe-error', 'critical', 0, [String(e)]]]));"
        )
        blocking = [v for v in found if v[1] in BLOCKING]
        assert not blocking, f"{name}: {blocking}"
        self.checked[name] = [v[0] for v in found]
        if SCREENSHOTS:
            self.screenshot(name)

    def screenshot(self, name: str) -> None:
        import base64

        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (SHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _xpath_text(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"


@pytest.fixture
def browser(chrome: Any, web: Web) -> Browser:
    """The session's browser, signed out, at the normal width."""
    chrome.get(web.url + "/health")  # cookies are deleted for the page's own site
    chrome.delete_all_cookies()
    chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    chrome.set_window_size(1280, 900)
    chrome.set_script_timeout(120)
    return Browser(chrome, web, axe_source())
