"""What the browser tests do again and again: serve a copy of the demo book, sign in, move
between pages, pick from a select box, and publish one rules change as an analyst would."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .conftest import PASSWORDS, copy_db
from .live import TIMEOUT_MS, ServerDidNotStart, settle, streamlit_server


@contextlib.contextmanager
def demo_server(
    template: Path,
    factory: pytest.TempPathFactory,
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[tuple[str, Path]]:
    """A `streamlit run` of the app on its own copy of the demo book: yields (URL, store)."""
    db = copy_db(template, factory.mktemp(name) / "db")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        try:
            with streamlit_server(db, db.parent / "server.log", extra_args) as url:
                yield url, db
        except ServerDidNotStart as exc:
            pytest.fail(str(exc))


def sign_in(
    browser: Browser,
    url: str,
    username: str,
    path: str = "",
    height: int = 1300,
    **context: Any,
) -> Page:
    """A fresh browser context (``context``: more of Playwright's context options) signed in as
    ``username`` (with the test password), on ``path``."""
    page = browser.new_context(viewport={"width": 1400, "height": height}, **context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url + path)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebarNav").wait_for()
    settle(page)
    return page


def go(page: Page, link: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    settle(page)


def select(page: Page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option").filter(
        has_text=re.compile("^" + re.escape(option) + "$")
    ).first.click()
    settle(page)


def main_text(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def draft_data_centre_weight(page: Page) -> None:
    """On the Rules page, as an analyst: set cyber attacks' vulnerability of data centres to 0.2
    in the draft and preview the ratings it moves (the draft is left ready to publish)."""
    go(page, "Rules")
    page.get_by_text("Change one weight").click()
    settle(page)
    select(page, "Table", "Asset vulnerability (category x asset type)")
    select(page, "Row", "cyber_attack")
    select(page, "Column", "data_centre")
    page.get_by_label("New value").fill("0.2")
    page.get_by_role("button", name="Apply to the draft").click()
    page.get_by_text("The draft is valid: 1 change(s).").wait_for()
    settle(page)
    page.get_by_role("button", name="Preview the ratings under this draft").click()
    page.get_by_text("client rating(s) would move").wait_for()
    settle(page)


def publish_rules(page: Page, note: str) -> None:
    page.get_by_label("Publication note (what changed and why)").fill(note)
    page.get_by_role("button", name="Publish these rules").click()
    page.get_by_text(re.compile(r"Published rules version \d+")).wait_for()
