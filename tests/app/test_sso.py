"""Single sign-on (``st.login``, OpenID Connect): claims to users, the app's sign-in page, and the
whole flow in a real headless Chromium against a mock provider on 127.0.0.1 (``mock_oidc``).

The browser tests (marked ``browser``) skip, saying so, when Debian's /usr/bin/chromium is not
installed; the claim-mapping and AppTest tests always run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from streamlit.testing.v1 import AppTest

from engine.auth import (
    DEMO_CLIENT,
    ClaimsRefused,
    User,
    scope_for,
    set_disabled,
    user_from_claims,
)
from engine.context import EVERYONE, Context
from engine.store import Scope

from .conftest import APP, OTHER_CLIENTS, PASSWORDS, copy_db, new_app, page_text
from .live import (
    CHROMIUM,
    TIMEOUT_MS,
    ServerDidNotStart,
    free_port,
    settle,
    streamlit_server,
)
from .mock_oidc import CLIENT_ID, CLIENT_SECRET, MockOIDCProvider

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = APP.parents[1]
DEMO_BOOK = [
    "andes-verde-agro",
    "aurelian-airways",
    "cedar-souk-retail",
    "gulfbridge-logistics",
    "hudson-crescent-bancorp",
    "meridian-basin-petroleum",
    "nordhavn-container-lines",
    "obermain-industriewerke",
    "setouchi-refining",
    "zagros-link-telecom",
]
SSO_BUTTON = "Sign in with single sign-on"
REFUSED = "Single sign-on refused"


@pytest.fixture
def ctx(demo_template: Path, tmp_path: Path) -> Iterator[Context]:
    c = Context(copy_db(demo_template, tmp_path / "db"))
    yield c
    c.close()


def test_single_sign_on_libraries_are_installed() -> None:
    """st.login needs Authlib (pinned in pyproject.toml) and the HTTP client its Starlette
    integration imports."""
    import authlib
    import authlib.integrations.starlette_client

    assert tuple(int(p) for p in authlib.__version__.split(".")[:2]) >= (1, 3)


def test_the_demo_book_is_what_these_tests_name(ctx: Context) -> None:
    assert [c.client_id for c in ctx.clients(scope=EVERYONE)] == DEMO_BOOK


# -- claims -> user (engine.auth.user_from_claims) -----------------------------------------------


def test_claims_make_users_of_every_role(ctx: Context) -> None:
    am = user_from_claims(
        ctx,
        {
            "sub": "1",
            "preferred_username": "Jane.Doe@Example.com",
            "resilience_role": "account_manager",
            "resilience_book": ["zagros-link-telecom", "aurelian-airways", "zagros-link-telecom"],
        },
    )
    assert am == User(
        "jane.doe@example.com", "account_manager", None, ("aurelian-airways", "zagros-link-telecom")
    )
    assert scope_for(am) == Scope.of("aurelian-airways", "zagros-link-telecom")

    client = user_from_claims(
        ctx,
        {
            "email": "ops@meridian.example",
            "resilience_role": "client",
            "resilience_client": DEMO_CLIENT,
        },
    )
    assert client == User("ops@meridian.example", "client", DEMO_CLIENT)
    assert scope_for(client) == Scope.of(DEMO_CLIENT)

    for role in ("analyst", "admin"):
        u = user_from_claims(ctx, {"preferred_username": f"sso-{role}", "resilience_role": role})
        assert u == User(f"sso-{role}", role)
        assert scope_for(u) == Scope.everything()

    # a one-client book sent as plain text, and an empty book (sees nothing) are accepted
    one = user_from_claims(
        ctx,
        {
            "preferred_username": "am1",
            "resilience_role": "account_manager",
            "resilience_book": "obermain-industriewerke",
        },
    )
    assert one.book == ("obermain-industriewerke",)
    none = user_from_claims(
        ctx,
        {"preferred_username": "am0", "resilience_role": "account_manager", "resilience_book": []},
    )
    assert none.book == () and scope_for(none) == Scope.of()
    # claims that grant nothing here are ignored
    extra = user_from_claims(
        ctx,
        {
            "preferred_username": "ana",
            "resilience_role": "analyst",
            "groups": ["admin"],
            "role": "admin",
            "resilience_client": "",
        },
    )
    assert extra.role == "analyst" and extra.client_id is None


BAD_CLAIMS: list[tuple[dict[str, Any], str]] = [
    ({"preferred_username": "x1"}, "assigned no role"),
    ({"preferred_username": "x1", "resilience_role": ""}, "assigned no role"),
    ({"preferred_username": "x1", "resilience_role": "superuser"}, "role 'superuser' is not known"),
    ({"preferred_username": "x1", "resilience_role": "Admin"}, "role 'Admin' is not known"),
    ({"preferred_username": "x1", "resilience_role": ["admin"]}, r"role \['admin'\] is not known"),
    ({"preferred_username": "x1", "resilience_role": "client"}, "needs the resilience_client"),
    (
        {"preferred_username": "x1", "resilience_role": "client", "resilience_client": "atlantis"},
        "client 'atlantis' .resilience_client. is not in the book",
    ),
    (
        {
            "preferred_username": "x1",
            "resilience_role": "client",
            "resilience_client": DEMO_CLIENT,
            "resilience_book": ["zagros-link-telecom"],
        },
        "a client user has no book",
    ),
    (
        {"preferred_username": "x1", "resilience_role": "client", "resilience_client": 7},
        "resilience_client claim must be text",
    ),
    (
        {"preferred_username": "x1", "resilience_role": "account_manager"},
        "needs the resilience_book claim",
    ),
    (
        {
            "preferred_username": "x1",
            "resilience_role": "account_manager",
            "resilience_book": ["zagros-link-telecom", "atlantis", "lemuria"],
        },
        r"client 'atlantis' .resilience_book. is not in the book \(and 1 more\)",
    ),
    (
        {"preferred_username": "x1", "resilience_role": "account_manager", "resilience_book": [1]},
        "must be a list of client ids",
    ),
    (
        {
            "preferred_username": "x1",
            "resilience_role": "account_manager",
            "resilience_book": [],
            "resilience_client": DEMO_CLIENT,
        },
        "belongs to no client",
    ),
    (
        {
            "preferred_username": "x1",
            "resilience_role": "analyst",
            "resilience_client": DEMO_CLIENT,
        },
        "belongs to no client",
    ),
    (
        {"preferred_username": "x1", "resilience_role": "admin", "resilience_book": DEMO_BOOK},
        "sees the whole book",
    ),
    ({"sub": "42", "resilience_role": "admin"}, "no user name"),
    ({"email": "  ", "resilience_role": "admin"}, "no user name"),
    (
        {"preferred_username": "<script>", "resilience_role": "admin"},
        "is not a usable sign-in name",
    ),
    ({"preferred_username": "x" * 200, "resilience_role": "admin"}, r"'xxxxx.*\.\.\. is not"),
]


@pytest.mark.parametrize(("claims", "message"), BAD_CLAIMS)
def test_claims_that_make_no_user_are_refused(
    ctx: Context, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClaimsRefused, match=message):
        user_from_claims(ctx, claims)


def test_a_disabled_local_user_stays_disabled(ctx: Context) -> None:
    claims = {
        "preferred_username": "AM",
        "resilience_role": "account_manager",
        "resilience_book": DEMO_BOOK,
    }
    assert user_from_claims(ctx, claims).username == "am"
    set_disabled(ctx, "am")
    with pytest.raises(ClaimsRefused, match="user 'am' is disabled here"):
        user_from_claims(ctx, claims)
    # the role always comes from the claims, not from a local user of the same name
    set_disabled(ctx, "am", False)
    assert user_from_claims(
        ctx, claims | {"resilience_role": "analyst", "resilience_book": []}
    ) == (User("am", "analyst"))


def test_claims_must_be_a_mapping(ctx: Context) -> None:
    with pytest.raises(ClaimsRefused, match="no claims"):
        user_from_claims(ctx, ["resilience_role", "admin"])  # type: ignore[arg-type]


# -- the app with single sign-on configured (AppTest) ---------------------------------------------

AUTH_SECRETS = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-0123456789abcdef",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def sso_app(claims: dict[str, Any] | None) -> AppTest:
    """The app with [auth] configured; ``claims`` are what st.user holds after the provider
    signed the person in (None: nobody signed on)."""
    at = new_app()
    at.secrets["auth"] = dict(AUTH_SECRETS)
    at.user = (
        {"is_logged_in": False}
        if claims is None
        else {
            "is_logged_in": True,
            "iss": "http://127.0.0.1:9",
            "sub": "abc",
            "iat": int(time.time()),
            **claims,
        }
    )
    return at.run()


def button_labels(at: AppTest) -> list[str]:
    return [str(b.label) for b in at.button]


def test_without_auth_the_sign_in_page_is_local_only(app_db: Path) -> None:
    at = new_app().run()
    assert not at.exception, at.exception
    assert SSO_BUTTON not in button_labels(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_with_auth_the_sign_in_page_offers_single_sign_on(app_db: Path) -> None:
    at = sso_app(None)
    assert not at.exception, at.exception
    assert SSO_BUTTON in button_labels(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert REFUSED not in page_text(at)


@pytest.mark.parametrize("keep", ["redirect_uri", "cookie_secret", "client_secret"])
def test_an_incomplete_auth_section_leaves_single_sign_on_off(app_db: Path, keep: str) -> None:
    at = new_app()
    at.secrets["auth"] = {k: v for k, v in AUTH_SECRETS.items() if k != keep}
    at.run()
    assert not at.exception, at.exception
    assert SSO_BUTTON not in button_labels(at)


def test_local_sign_in_still_works_with_auth_configured(app_db: Path) -> None:
    at = sso_app(None)
    at.text_input[0].input("analyst")
    at.text_input[1].input(PASSWORDS["analyst"])
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert "**analyst** · Analyst" in page_text(at)
    assert "Signed in with single sign-on" not in page_text(at)


def test_an_sso_account_manager_sees_their_book(app_db: Path) -> None:
    at = sso_app(
        {
            "preferred_username": "jane@example.com",
            "resilience_role": "account_manager",
            "resilience_book": ["hudson-crescent-bancorp", "zagros-link-telecom"],
        }
    )
    assert not at.exception, at.exception
    text = page_text(at)
    assert "Portfolio" in text and "Signed in with single sign-on" in text
    assert "Hudson Crescent Bancorp" in text and "Zagros" in text
    for other in ("Meridian", "Nordhavn", "Setouchi"):
        assert other not in text, other
    assert "Sign out" in button_labels(at)


def test_an_sso_client_sees_only_its_own_client(app_db: Path) -> None:
    at = sso_app(
        {
            "preferred_username": "ops@meridian",
            "resilience_role": "client",
            "resilience_client": DEMO_CLIENT,
        }
    )
    assert not at.exception, at.exception
    text = page_text(at)
    assert "Meridian Basin Petroleum plc" in text
    for other in OTHER_CLIENTS:
        assert other not in text, other


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"preferred_username": "eve", "resilience_role": "root"}, "role 'root' is not known"),
        (
            {"preferred_username": "eve", "resilience_role": "client", "resilience_client": "x-co"},
            "client 'x-co' (resilience_client) is not in the book",
        ),
        (
            {"preferred_username": "eve", "resilience_role": "admin", "iat": 1},
            "older than 12 hours",
        ),
    ],
)
def test_refused_claims_show_why_and_sign_nobody_in(
    app_db: Path, claims: dict[str, Any], message: str
) -> None:
    at = sso_app(claims)
    assert not at.exception, at.exception
    assert len(at.error) == 1
    shown = str(at.error[0].value).replace("\\", "")
    assert shown.startswith(REFUSED) and message in shown, shown
    assert not at.text_input  # no form, no page: only the reason and the way out
    assert button_labels(at) == ["Back to sign-in"]
    assert "Portfolio" not in page_text(at)
    at.button[0].click()
    at.run()  # st.logout(): Streamlit forgets the sign-on (and clears the cookie in a browser)
    assert at.user.get("is_logged_in") is False
    at.run()  # (a browser reloads the app here)
    assert REFUSED not in page_text(at)
    assert SSO_BUTTON in button_labels(at)


def test_disabling_the_local_user_ends_an_sso_session(app_db: Path, app_ctx: Context) -> None:
    at = sso_app({"preferred_username": "analyst", "resilience_role": "analyst"})
    assert "**analyst** · Analyst" in page_text(at)
    set_disabled(app_ctx, "analyst")
    at.run()
    assert not at.exception, at.exception
    assert "user 'analyst' is disabled here" in str(at.error[0].value).replace("\\", "")
    assert "Analyst" not in page_text(at) and "Portfolio" not in page_text(at)


# -- the whole flow in a browser, against the mock provider ----------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium "
    "(apt-get install -y chromium); it is not installed",
)


@pytest.fixture(scope="module")
def provider() -> Iterator[MockOIDCProvider]:
    with MockOIDCProvider() as p:
        yield p


@pytest.fixture(scope="module")
def sso_server(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory, provider: MockOIDCProvider
) -> Iterator[str]:
    """`streamlit run` with its own demo database and a secrets.toml that points at the mock
    provider (given with --secrets.files, so the repository's own config still applies)."""
    work = tmp_path_factory.mktemp("sso")
    db = copy_db(demo_template, work / "db")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = work / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        'cookie_secret = "sso-test-cookie-secret-0123456789abcdef"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )
    try:
        with streamlit_server(
            db, work / "server.log", ["--secrets.files", str(secrets)], port=port
        ) as served:
            yield served
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


def sso_sign_in(browser: Browser, url: str) -> Page:
    """A fresh browser (no cookies) clicks the single sign-on button and comes back."""
    page = browser.new_context(viewport={"width": 1400, "height": 1300}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    # st.login: the app -> /auth/login -> the provider -> /oauth2callback -> the app, all redirects
    with page.expect_navigation(url=re.compile(re.escape(url) + r"/?(\?.*)?$")):
        page.get_by_role("button", name=SSO_BUTTON).click()
    page.wait_for_selector(
        '[data-testid="stSidebarNav"], [data-testid="stAlertContentError"], '
        f'button:has-text("{SSO_BUTTON}")'
    )
    settle(page)
    return page


def nav_text(page: Page) -> str:
    return page.get_by_test_id("stSidebarNav").inner_text()


@pytest.fixture
def as_identity(
    provider: MockOIDCProvider, browser: Browser, sso_server: str
) -> Iterator[Callable[[dict[str, Any]], Page]]:
    pages: list[Page] = []

    def sign(identity: dict[str, Any]) -> Page:
        provider.identity = identity
        page = sso_sign_in(browser, sso_server)
        pages.append(page)
        return page

    yield sign
    provider.forge = False
    for page in pages:
        page.context.close()


@pytest.mark.browser
@needs_chromium
def test_sso_account_manager_signs_in_and_out(
    as_identity: Callable[[dict[str, Any]], Page], provider: MockOIDCProvider, sso_server: str
) -> None:
    before = len(provider.authorize_calls)
    page = as_identity(
        {
            "sub": "am-1",
            "preferred_username": "jane@example.com",
            "name": "Jane Doe",
            "resilience_role": "account_manager",
            "resilience_book": DEMO_BOOK,
        }
    )
    call = provider.authorize_calls[before]
    assert call["client_id"] == CLIENT_ID and call["nonce"] and call["state"]
    assert call["redirect_uri"] == f"{sso_server}/oauth2callback"
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    side = page.get_by_test_id("stSidebar").inner_text()
    assert "jane@example.com" in side and "Account manager" in side
    assert "Signed in with single sign-on" in side
    nav = nav_text(page)
    for title in ("Portfolio", "Client", "Upload", "Scenarios"):
        assert title in nav
    assert "Threat register" not in nav and "Rules" not in nav
    # a new tab in the same browser is signed in too (Streamlit's identity cookie)
    tab = page.context.new_page()
    tab.goto(sso_server + "/client?client=zagros-link-telecom")
    tab.get_by_test_id("stSidebarNav").wait_for()
    settle(tab)
    assert "Zagros" in tab.get_by_test_id("stMain").inner_text()
    tab.close()
    # sign out: st.logout() clears the cookie and ends the session at the provider too
    logouts = len(provider.logout_calls)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name=SSO_BUTTON).wait_for()
    settle(page)
    assert len(provider.logout_calls) == logouts + 1
    assert provider.logout_calls[-1]["client_id"] == CLIENT_ID
    page.goto(sso_server + "/portfolio")
    page.get_by_role("button", name=SSO_BUTTON).wait_for()
    settle(page)
    assert not page.get_by_test_id("stSidebarNav").count()
    assert "Hudson Crescent" not in page.content()


@pytest.mark.browser
@needs_chromium
def test_sso_client_sees_only_its_client(
    as_identity: Callable[[dict[str, Any]], Page], sso_server: str
) -> None:
    page = as_identity(
        {
            "sub": "client-1",
            "email": "ops@meridian.example",
            "resilience_role": "client",
            "resilience_client": DEMO_CLIENT,
        }
    )
    assert page.get_by_role("heading", name="Meridian Basin Petroleum plc").is_visible()
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert links.count() == 4  # Client, Upload, Alerts and the Glossary
    nav = nav_text(page)
    assert "Client" in nav and "Upload" in nav and "Alerts" in nav
    for hidden in ("Portfolio", "Scenarios", "Threat register", "Rules"):
        assert hidden not in nav
    html = page.content()
    for other in OTHER_CLIENTS:
        assert other not in html, other
    # asking for another client by URL changes nothing
    page.goto(sso_server + "/portfolio?client=nordhavn-container-lines")
    page.get_by_role("heading", name="Meridian Basin Petroleum plc").wait_for()
    settle(page)
    assert "Nordhavn" not in page.content()


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (
            {"sub": "eve-1", "preferred_username": "eve", "resilience_role": "superuser"},
            "role 'superuser' is not known",
        ),
        (
            {
                "sub": "eve-2",
                "preferred_username": "eve",
                "resilience_role": "client",
                "resilience_client": "atlantis-shipping",
            },
            "client 'atlantis-shipping' (resilience_client) is not in the book",
        ),
        ({"sub": "eve-3", "preferred_username": "eve"}, "assigned no role"),
    ],
)
def test_sso_identity_that_makes_no_user_is_refused(
    as_identity: Callable[[dict[str, Any]], Page],
    sso_server: str,
    identity: dict[str, Any],
    message: str,
) -> None:
    page = as_identity(identity)
    error = page.get_by_test_id("stAlertContentError").inner_text()
    assert error.startswith(REFUSED) and message in error, error
    assert not page.get_by_test_id("stSidebarNav").count()
    assert not page.get_by_role("textbox", name="Username").count()
    assert "Meridian" not in page.content() and "Portfolio" not in page.content()
    # going elsewhere by URL shows the same refusal, nothing else
    page.goto(sso_server + "/portfolio")
    page.get_by_test_id("stAlertContentError").wait_for()
    settle(page)
    assert not page.get_by_test_id("stSidebarNav").count()
    # the way out ends the sign-on (st.logout) and leaves the ordinary sign-in page
    page.get_by_role("button", name="Back to sign-in").click()
    page.get_by_role("button", name=SSO_BUTTON).wait_for()
    settle(page)
    page.reload()
    page.get_by_role("button", name=SSO_BUTTON).wait_for()
    settle(page)
    assert REFUSED not in page.content()
    assert page.get_by_role("textbox", name="Username").is_visible()


@pytest.mark.browser
@needs_chromium
def test_sso_token_with_a_bad_signature_signs_nobody_in(
    as_identity: Callable[[dict[str, Any]], Page], provider: MockOIDCProvider
) -> None:
    provider.forge = True
    page = as_identity(
        {"sub": "mallory", "preferred_username": "mallory", "resilience_role": "admin"}
    )
    page.get_by_role("button", name=SSO_BUTTON).wait_for()
    assert not page.get_by_test_id("stSidebarNav").count()
    assert "mallory" not in page.content()
