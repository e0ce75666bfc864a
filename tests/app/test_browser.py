"""The main flows in a real headless Chromium against `streamlit run` (marked ``browser``).

Chromium is Debian's (/usr/bin/chromium); the tests skip, saying so, when it is not installed.
Each test module starts one server on a free port with its own copy of the demo database; the
tests do not depend on each other's changes. Screenshots of every page go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import APP, OTHER_CLIENTS
from .live import CHROMIUM, TIMEOUT_MS, settle
from .test_editors import BAD_ROW_CSV

pytestmark = pytest.mark.browser

REPO = APP.parents[1]
SHOTS = REPO / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium "
        "(apt-get install -y chromium); it is not installed",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, FilePayload, Page  # noqa: E402

from .browsing import demo_server, go, main_text, sign_in  # noqa: E402


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(demo_template, tmp_path_factory, "browser") as (url, _):
        yield url


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# -- (c) a client cannot reach another client's data --------------------------------------------


def test_client_cannot_reach_other_clients(browser: Browser, server: str) -> None:
    # by query parameter
    page = sign_in(browser, server, "meridian", "/client?client=nordhavn-container-lines")
    assert page.get_by_role("heading", name="Meridian Basin Petroleum plc").is_visible()
    assert "client=nordhavn" not in page.url
    html = page.content()
    for other in OTHER_CLIENTS:
        assert other not in html, other
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert links.count() == 4  # Client, Upload, Alerts and the Glossary
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "Client" in nav and "Upload" in nav and "Alerts" in nav
    for hidden in ("Portfolio", "Scenarios", "Threat register", "Rules"):
        assert hidden not in nav
    page.context.close()
    # by page: every page a client may not open falls back to its own client page
    for path in (
        "/portfolio",
        "/rules",
        "/register",
        "/scenarios",
        "/portfolio?client=hudson-crescent-bancorp",
    ):
        page = sign_in(browser, server, "meridian", path)
        text = main_text(page)
        assert "Meridian Basin Petroleum plc" in text, path
        for heading in ("Portfolio", "Scoring rules", "Threat register", "Scenarios"):
            assert not page.get_by_role("heading", name=heading, exact=True).count(), path
        html = page.content()
        for other in OTHER_CLIENTS:
            assert other not in html, (path, other)
        page.context.close()
    # by session: a second tab is a new session, signed in by the cookie as the same client
    # (never as anyone else), so another client's address still shows only its own data
    page = sign_in(browser, server, "meridian")
    page.wait_for_timeout(1000)  # the session cookie is stored by the page's script
    tab = page.context.new_page()
    tab.goto(server + "/client?client=nordhavn-container-lines")
    tab.get_by_role("heading", name="Meridian Basin Petroleum plc").wait_for()
    settle(tab)
    assert "Nordhavn" not in tab.content() and "client=nordhavn" not in tab.url
    tab.close()
    # a browser without the cookie must sign in; nothing shows before that
    fresh = browser.new_context().new_page()
    fresh.goto(server + "/client?client=nordhavn-container-lines")
    fresh.get_by_role("textbox", name="Username").wait_for()
    assert "Meridian" not in fresh.content() and "Nordhavn" not in fresh.content()
    fresh.context.close()
    # and in the signed-in tab the upload page offers no other client either
    go(page, "Upload")
    assert not page.get_by_test_id("stSelectbox").count()
    assert "For Meridian Basin Petroleum plc" in main_text(page)
    page.context.close()


# -- screenshots of every page -------------------------------------------------------------------


def test_screenshots_of_every_page(browser: Browser, server: str) -> None:
    page = browser.new_context(viewport={"width": 1400, "height": 800}).new_page()
    page.goto(server)
    page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT_MS)
    settle(page)
    shot(page, "login")
    page.context.close()
    page = sign_in(browser, server, "am", height=1500)
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    page.get_by_test_id("stDeckGlJsonChart").first.wait_for()
    settle(page)
    shot(page, "portfolio")
    go(page, "Scenarios")
    assert page.get_by_text("Change a band").is_visible()
    shot(page, "scenarios")
    page.context.close()
    page = sign_in(browser, server, "meridian", height=1700)
    page.get_by_test_id("stDeckGlJsonChart").first.wait_for()
    settle(page)
    shot(page, "client")
    page.context.close()
    page = sign_in(browser, server, "analyst", height=1500)
    go(page, "Threat register")
    assert page.get_by_text("Evidence in the brief").is_visible()
    shot(page, "register")
    page.context.close()


# -- (a) a client uploads a file with a bad row -------------------------------------------------


def test_client_uploads_a_file_with_a_bad_row(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, "meridian", height=1500)
    go(page, "Upload")
    page.locator('input[type="file"]').set_input_files(
        files=[FilePayload(name="sites.csv", mimeType="text/csv", buffer=BAD_ROW_CSV)]
    )
    page.get_by_text("Validation report").wait_for()
    settle(page)
    text = main_text(page)
    assert "row 3, column lat: '95.5' is above 90" in text
    assert re.search(r"Rejected\s+1", text), text
    shot(page, "upload")
    page.get_by_text("Load the valid row and leave out the 1 rejected row").click()
    settle(page)
    page.get_by_role("button", name="Go").click()
    page.get_by_text("Loaded 1 row as exposure version 2.").wait_for()
    settle(page)
    text = main_text(page)
    assert re.search(r"New score\s+\d+\.\d", text), text
    assert "9 removed" in text and "1 added" in text
    go(page, "Client")
    assert "exposure version 2" in main_text(page)
    page.context.close()


# -- (b) an analyst changes a weight; the account manager sees the new rating: in
# test_browser_alerts_exports.py, where the same publish also alerts the account manager --------
