"""Alerts and exports in a real headless Chromium against `streamlit run` (marked ``browser``).

The server runs with its own copy of the demo database and with RESILIENCE_SMTP_* pointing at a
local SMTP server this module starts (aiosmtpd on a loopback port), so an alert email is really
sent and received.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mailbox import Mailbox, mailbox

from .live import CHROMIUM, TIMEOUT_MS, settle

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium "
        "(apt-get install -y chromium); it is not installed",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page  # noqa: E402

from .browsing import (  # noqa: E402
    demo_server,
    draft_data_centre_weight,
    go,
    main_text,
    publish_rules,
    sign_in,
)
from .test_browser import shot  # noqa: E402


@pytest.fixture(scope="module")
def smtp() -> Iterator[Mailbox]:
    with mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def server(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory, smtp: Mailbox
) -> Iterator[str]:
    with demo_server(demo_template, tmp_path_factory, "browser-alerts", env=smtp.env()) as (url, _):
        yield url


def download(page: Page, label: str) -> bytes:
    button = page.get_by_role("button", name=label)
    button.wait_for()
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    body = info.value.path().read_bytes()
    settle(page)
    return body


def test_a_publish_that_moves_a_band_alerts_the_account_manager(
    browser: Browser, server: str, smtp: Mailbox
) -> None:
    # the account manager follows the bank and gives an address for alert emails
    am = sign_in(browser, server, "am", "/client?client=hudson-crescent-bancorp", height=1500)
    am.get_by_role("heading", name="Hudson Crescent Bancorp").wait_for()
    am.get_by_role("button", name="Follow", exact=True).click()
    am.get_by_text("You follow Hudson Crescent Bancorp: an alert on a band change.").wait_for()
    go(am, "Alerts")
    am.get_by_label("Send my alerts to").fill("am@example.com")
    am.get_by_role("button", name="Save the address").click()
    am.get_by_text("Alerts go to am@example.com.").wait_for()
    assert "Alert emails are sent through 127.0.0.1" in main_text(am)
    # an analyst publishes a rules change that takes the bank from band B to A
    page = sign_in(browser, server, "analyst", height=1500)
    draft_data_centre_weight(page)
    line = page.get_by_text(re.compile(r"^Hudson Crescent Bancorp: ")).inner_text()
    found = re.search(r"→ ([A-E]) (\d+\.\d)", line)
    assert found, line
    band, score = found.group(1), found.group(2)
    assert (band, score) == ("A", "91.6"), line
    shot(page, "rules")
    publish_rules(page, "data centres better defended than assumed")
    page.get_by_text(re.compile(r"Published rules version 2;")).wait_for()
    assert "1 follower(s) alerted; email through 127.0.0.1" in main_text(page)
    page.context.close()
    # the account manager sees it in the app the next time they look
    am.context.close()
    am = sign_in(browser, server, "am")
    assert "1 new alert" in am.get_by_test_id("stSidebar").inner_text()
    go(am, "Alerts")
    text = main_text(am)
    # (the page's Markdown draws "->" as an arrow)
    headline = "Hudson Crescent Bancorp: band B -> A, score 88.4 -> 91.6 (+3.2 points)"
    assert "New · " + headline.replace("->", "→") in text, text
    # the preview stored the draft as version 2 and the publish made that version current: the
    # cause names the version published before and the one published now, with the note
    assert "scoring rules version 1 → 2 (data centres better defended than assumed)" in text
    assert "email: sent to am@example.com" in text
    am.context.close()
    # and the email reached the SMTP server
    mails = [m for m in smtp.messages if m["To"] == "am@example.com"]
    assert len(mails) == 1
    assert mails[0]["Subject"] == f"Resilience alert: {headline}"
    body = mails[0].get_body().get_content()  # type: ignore[union-attr]
    assert "scoring rules version 2, published by analyst" in body
    assert "- scoring rules version 1 -> 2 (data centres better defended than assumed)" in body
    # the client's page shows the band and score the preview promised
    am = sign_in(browser, server, "am", "/client?client=hudson-crescent-bancorp")
    am.get_by_role("heading", name="Hudson Crescent Bancorp").wait_for()
    text = main_text(am)
    assert re.search(rf"Band\s+{band}\b", text), text
    assert re.search(rf"Score\s+{re.escape(score)}", text), text
    am.context.close()


def test_each_client_export_downloads_twice(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, "meridian", height=1500)
    checks = {
        "Download the report (PDF)": lambda b: b.startswith(b"%PDF"),
        "Download the report (HTML)": lambda b: (
            b"Meridian Basin Petroleum plc" in b
            and b.lstrip().lower().startswith(b"<!doctype html")
        ),
        "Download the workbook (XLSX)": lambda b: (
            "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(b)).namelist()
        ),
        "Download the items (CSV)": lambda b: b.count(b"\n") >= 10,
    }
    for label, ok in checks.items():
        first = download(page, label)
        second = download(page, label)  # the button is still there and works again
        assert ok(first), label
        assert second == first, label
    page.context.close()


def test_the_portfolio_report_downloads_twice(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, "am", height=1500)
    first = download(page, "Portfolio report (PDF)")
    second = download(page, "Portfolio report (PDF)")
    assert first.startswith(b"%PDF") and second == first
    page.context.close()
