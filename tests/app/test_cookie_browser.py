"""Sign-in that survives a reload, in a real Chromium: reload keeps the user signed in, a
tampered cookie shows the sign-in page, signing out ends it for good."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import copy_db
from .live import CHROMIUM, TIMEOUT_MS, ServerDidNotStart, settle, streamlit_server

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, BrowserContext, Page  # noqa: E402

from .browsing import demo_server, sign_in  # noqa: E402

COOKIE = "resilience_session"


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(demo_template, tmp_path_factory, "cookie") as (url, _):
        yield url


def signed_in(browser: Browser, url: str, user: str) -> Page:
    return sign_in(browser, url, user, "/client", height=1000)


def session_cookie(context: BrowserContext) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def wait_for_cookie(page: Page) -> dict:
    for _ in range(40):
        found = session_cookie(page.context)
        if found is not None:
            return dict(found)
        page.wait_for_timeout(250)
    raise AssertionError("no session cookie was stored")


def test_reload_keeps_the_user_signed_in(browser: Browser, server: str) -> None:
    page = signed_in(browser, server, "meridian")
    jar = wait_for_cookie(page)
    assert jar["sameSite"] == "Strict" and jar["path"] == "/"
    assert jar["value"].count(".") == 2  # payload.timestamp.signature
    page.reload()
    page.get_by_test_id("stSidebarNav").wait_for()
    settle(page)
    assert page.get_by_role("heading", name="Meridian Basin Petroleum plc").is_visible()
    assert not page.get_by_role("textbox", name="Password").count()
    page.context.close()


def test_a_tampered_cookie_shows_the_sign_in_page(browser: Browser, server: str) -> None:
    page = signed_in(browser, server, "am")
    jar = wait_for_cookie(page)
    value = jar["value"]
    # the payload names the user: try to become admin by editing it, keeping the signature
    head, _, rest = value.partition(".")
    forged = ("e" if head[0] != "e" else "f") + head[1:] + "." + rest
    page.context.clear_cookies()
    page.context.add_cookies([{"name": COOKIE, "value": forged, "url": server}])
    page.reload()
    page.get_by_role("textbox", name="Username").wait_for()
    settle(page)
    assert not page.get_by_test_id("stSidebarNav").count()
    assert "Portfolio" not in page.get_by_test_id("stMain").inner_text()
    page.wait_for_timeout(500)
    assert session_cookie(page.context) is None  # the bad cookie is cleared
    page.context.close()


def test_signing_out_clears_the_cookie_and_a_reload_stays_signed_out(
    browser: Browser, server: str
) -> None:
    page = signed_in(browser, server, "am")
    stolen = wait_for_cookie(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("textbox", name="Username").wait_for()
    settle(page)
    assert session_cookie(page.context) is None
    page.reload()
    page.get_by_role("textbox", name="Username").wait_for()
    settle(page)
    assert not page.get_by_test_id("stSidebarNav").count()
    # a copy of the cookie taken before signing out is revoked
    other = browser.new_context().new_page()
    other.set_default_timeout(TIMEOUT_MS)
    other.context.add_cookies([{"name": COOKIE, "value": stolen["value"], "url": server}])
    other.goto(server + "/portfolio")
    other.get_by_role("textbox", name="Username").wait_for()
    assert not other.get_by_test_id("stSidebarNav").count()
    other.context.close()
    page.context.close()


@pytest.fixture(scope="module")
def two_servers(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two app servers on one store (as a deployment behind a load balancer has)."""
    db = copy_db(demo_template, tmp_path_factory.mktemp("cookie2") / "db")
    try:
        with (
            streamlit_server(db, db.parent / "a.log", start_timeout_s=300) as a,
            streamlit_server(db, db.parent / "b.log", start_timeout_s=300) as b,
        ):
            yield a, b
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


def test_signing_out_on_one_server_revokes_the_token_on_the_other(
    browser: Browser, two_servers: tuple[str, str]
) -> None:
    a, b = two_servers
    page = signed_in(browser, a, "am")
    stolen = wait_for_cookie(page)

    def present_on_b() -> Page:
        other = browser.new_context().new_page()
        other.set_default_timeout(TIMEOUT_MS)
        other.context.add_cookies([{"name": COOKIE, "value": stolen["value"], "url": b}])
        other.goto(b + "/portfolio")
        other.get_by_role("textbox", name="Username").or_(
            other.get_by_test_id("stSidebarNav")
        ).first.wait_for()
        settle(other)
        return other

    before = present_on_b()  # the other server accepts the token while the sign-in lasts
    assert before.get_by_test_id("stSidebarNav").count()
    before.context.close()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("textbox", name="Username").wait_for()
    settle(page)
    after = present_on_b()  # signed out on server a: server b refuses the same token
    assert after.get_by_role("textbox", name="Username").count()
    assert not after.get_by_test_id("stSidebarNav").count()
    after.context.close()
    page.context.close()
