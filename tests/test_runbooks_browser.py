"""The HTML site in a real headless Chromium, served from a local HTTP server: the index
shows who is on call, the search box filters, a page fits a phone's width.

Chromium and its driver come from Debian (`.ci/chromium` installs them); nothing is downloaded.
Without them the test fails and says so: a browser test that skips silently guards nothing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import REPO_ROOT, run

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AT = "2026-11-16T12:00Z"
"""In the past, so the pages also show their out-of-date warning."""

pytestmark = pytest.mark.slow


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("site")
    result = run("runbooks", "render", "--out", str(site), "--at", AT, "--no-git", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"this test needs headless Chromium, and {' and '.join(missing)} is missing: "
            "run .ci/chromium (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    # an explicit driver path: selenium never looks for (or downloads) a driver itself
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _visible_titles(browser: WebDriver) -> list[str]:
    from selenium.webdriver.common.by import By

    items = browser.find_elements(By.CSS_SELECTOR, "#runbook-list li")
    return [item.find_element(By.TAG_NAME, "a").text for item in items if item.is_displayed()]


def _type(browser: WebDriver, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys(text)


def test_the_index_shows_who_is_on_call(browser: WebDriver, site_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 1000)
    browser.get(site_url + "index.html")
    assert browser.title == "Who owns what, who is on call · Acme Data on call"
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Acme Data: who owns what, who is on call" in text
    assert "Rendered Mon 16 Nov 2026 12:00 UTC." in text
    oncall = browser.find_element(By.ID, "oncall").text
    for team in ("Data Engineering", "Data Platform", "MLOps", "BI Services"):
        assert team in oncall
    assert "Daniel Okafor" in oncall  # data-eng's primary in the week of 16 November
    assert "Late or missing investor reports" in text  # what the team handles
    # the page was rendered in the past and its answers have changed since: it says so
    assert browser.find_element(By.ID, "stale").is_displayed()
    shot = tmp_path / "index.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") >= 1000  # width of the image
    assert len(data) > 50_000  # a rendered page, not a blank one


def test_typing_in_the_search_box_filters_the_list(browser: WebDriver, site_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site_url + "index.html")
    assert len(_visible_titles(browser)) == 24
    _type(browser, "okafor")
    assert _visible_titles(browser) == ["Unit-level Profit for Experiments", "Aggregate Profit for Investors"]
    assert browser.find_element(By.ID, "search-count").text == "2 of 24 runbooks match."
    results = browser.find_element(By.ID, "search-results")
    assert results.is_displayed() and "Aggregate Profit for Investors" in results.text
    _type(browser, "lucia raw")  # accents do not matter; every word must match
    assert _visible_titles(browser) == ["Raw ingestion"]
    _type(browser, "no such runbook")
    assert _visible_titles(browser) == []
    assert "No runbook matches." in results.text


def test_search_from_a_page_and_enter_opens_the_first_match(browser: WebDriver, site_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site_url + "pipelines/aggregate_profit_investors.html")
    _type(browser, "kafka")
    browser.find_element(By.ID, "search").send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda driver: driver.current_url.endswith("/services/kafka-streaming.html"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Kafka streaming"


@pytest.mark.parametrize("page", ["index.html", "pipelines/aggregate_profit_investors.html", "services/kafka-streaming.html"])
def test_pages_fit_a_phone(browser: WebDriver, site_url: str, tmp_path: Path, page: str) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    try:
        browser.get(site_url + page)
        # nothing wider than the screen, tables included: on a phone their rows become labelled blocks
        widest = browser.execute_script(
            "return Math.max(document.documentElement.scrollWidth,"
            " ...Array.from(document.querySelectorAll('table')).map(t => t.getBoundingClientRect().right))"
            " - window.innerWidth"
        )
        assert widest <= 0, f"{page} is {widest}px wider than the phone"
        # a phone number is dialled as a whole: it never wraps onto a second line
        broken = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href^=\"tel:\"]'))"
            ".filter(a => a.getClientRects().length > 1).map(a => a.textContent)"
        )
        assert broken == [], f"{page}: phone numbers wrap: {broken}"
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "Tomasz Wiśniewski" in text if "services" in page else "Daniel Okafor" in text
        assert browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.set_window_size(1280, 1000)
