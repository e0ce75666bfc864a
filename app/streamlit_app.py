"""The Streamlit front end: sign in, then the pages the user's role may see.

    streamlit run app/streamlit_app.py -- --db data/resilience.duckdb

(or set RESILIENCE_DB). Pages call the engine's facade and render what comes back; who the user
is and what they may see always comes from the database (``app.session``), never from a widget or
the URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app import data, exports
from app.session import (
    AppUser,
    SignInOutcome,
    SsoRefused,
    cancel_second_factor,
    change_password,
    current_user,
    notice,
    pending_second_factor,
    second_factor,
    sign_in,
    sign_out,
    sso_configured,
    sso_sign_in,
    sso_sign_out,
    sso_state,
    sync_cookie,
)
from app.timeline import alerts_badge
from app.ui import plain
from engine.auth import Role
from engine.context import Context
from engine.errors import ResilienceError

HERE = Path(__file__).parent


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    roles: tuple[Role, ...]


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "views/portfolio.py",
        "Portfolio",
        ":material/leaderboard:",
        ("account_manager", "analyst", "admin"),
    ),
    PageSpec(
        "views/client.py",
        "Client",
        ":material/apartment:",
        ("client", "account_manager", "analyst", "admin"),
    ),
    PageSpec(
        "views/clients.py",
        "Clients",
        ":material/group_add:",
        ("account_manager", "admin"),
    ),
    PageSpec(
        "views/upload.py",
        "Upload",
        ":material/upload_file:",
        ("client", "account_manager", "admin"),
    ),
    PageSpec(
        "views/scenarios.py",
        "Scenarios",
        ":material/storm:",
        ("account_manager", "analyst", "admin"),
    ),
    PageSpec(
        "views/alerts.py",
        "Alerts",
        ":material/notifications:",
        ("client", "account_manager", "admin"),
    ),
    PageSpec("views/register.py", "Threat register", ":material/menu_book:", ("analyst", "admin")),
    PageSpec("views/rules.py", "Rules", ":material/tune:", ("analyst", "admin")),
    PageSpec("views/brief.py", "New brief", ":material/article:", ("analyst", "admin")),
    PageSpec("views/audit.py", "Audit log", ":material/history:", ("admin",)),
    PageSpec(
        "views/glossary.py",
        "Glossary",
        ":material/help:",
        ("client", "account_manager", "analyst", "admin"),
    ),
)


def pages_for(role: str) -> list[PageSpec]:
    """The pages a role may open, in menu order (nothing else is ever registered)."""
    return [p for p in PAGES if role in p.roles]


def login_page() -> None:
    _, middle, _ = st.columns([1, 1.4, 1])
    with middle:
        st.title("Operational resilience")
        ctx = data.context()
        refused = sso_state(ctx)
        if isinstance(refused, SsoRefused):
            # st.logout() sends the browser away at once, so the reason is shown first and the
            # person ends the sign-on themselves; until then nothing but this is shown
            st.error(f"Single sign-on refused: {plain(refused.reason)}.")
            st.caption("Ask your administrator to fix your account, or sign in another way.")
            if st.button("Back to sign-in", key="sso_back", type="primary"):
                sso_sign_out()
            return
        message = notice()
        if message:
            st.info(message)
        if pending_second_factor() is not None:
            second_factor_form(ctx)
            return
        st.caption("Sign in to see your ratings, exposures and reports.")
        with st.form("login", clear_on_submit=False):
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            outcome = sign_in(ctx, username, password)
            if outcome.status == "refused":
                st.error("Unknown username or wrong password.")
            elif outcome.status == "wait":
                st.error(_wait_message(outcome))
            else:
                st.rerun()
        if sso_configured() and st.button(
            "Sign in with single sign-on", key="sso_login", icon=":material/key:"
        ):
            sso_sign_in()


def _wait_message(outcome: SignInOutcome) -> str:
    return f"Too many failed attempts; try again in {max(1, round(outcome.wait_s)):.0f} seconds."


def second_factor_form(ctx: Context) -> None:
    st.caption("Enter the 6-digit code your authenticator app shows for this account.")
    with st.form("second_factor", clear_on_submit=True):
        code = st.text_input("Authenticator code", autocomplete="one-time-code", max_chars=8)
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted:
        outcome = second_factor(ctx, code)
        if outcome.status == "refused":
            st.error("That code is not right (or was used already); enter the current one.")
        elif outcome.status == "wait":
            st.error(_wait_message(outcome))
        else:
            st.rerun()
    if st.button("Start again", key="second_factor_cancel"):
        cancel_second_factor()
        st.rerun()


def change_password_page() -> None:
    """The only page for someone still on a public demo password: choose a new one."""
    ctx = data.context()
    user = current_user(ctx)
    if user is None:
        st.rerun()
        return
    _, middle, _ = st.columns([1, 1.4, 1])
    with middle:
        st.title("Choose a new password")
        st.warning(
            f"{plain(user.username)} still has its public demo password (it is printed in the "
            "README), so anyone could sign in as you. Choose a new one to continue."
        )
        with st.form("change_password", clear_on_submit=True):
            new = st.text_input("New password", type="password", autocomplete="new-password")
            again = st.text_input(
                "New password again", type="password", autocomplete="new-password"
            )
            submitted = st.form_submit_button("Change the password", type="primary")
        if submitted:
            problem = change_password(ctx, user, new, again)
            if problem:
                st.error(plain(problem))
            else:
                st.rerun()


def sidebar(user: AppUser) -> None:
    with st.sidebar:
        st.markdown(f"**{plain(user.username)}** · {user.label}")
        if user.client_id:
            st.caption(f"Client: {plain(user.client_id)}")
        if user.sso:
            st.caption("Signed in with single sign-on")
        alerts_badge(user)
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            if user.sso:
                sso_sign_out()
            else:
                sign_out()
                st.rerun()


def harden() -> None:
    """No tracebacks for users (they could carry data), no developer toolbar, and no built-in
    CSV export of tables (it would write client text as live spreadsheet formulas; exports go
    through the engine, which neutralises them). RESILIENCE_DEBUG=1 shows error details."""
    st.set_option("client.toolbarMode", "viewer")
    st.set_option("client.disableDataExport", True)
    if os.environ.get("RESILIENCE_DEBUG") != "1":
        st.set_option("client.showErrorDetails", "none")


def main() -> None:
    harden()
    st.set_page_config(
        # a local icon: a Material icon name makes the browser fetch it from Google's font CDN
        page_title="Operational resilience",
        page_icon=str(HERE / "static" / "favicon.png"),
        layout="wide",
    )
    try:
        ctx = data.context()
    except ResilienceError as exc:
        st.error(f"The database cannot be opened: {plain(str(exc))}")
        st.stop()
    exports.warm_up()  # once per server: the report renderer loads in the background
    user = current_user(ctx)
    if user is not None and user.must_change_password:
        # nothing else opens until the public demo password is replaced, at any address
        nav = st.navigation(
            [
                st.Page(
                    change_password_page,
                    title="Choose a new password",
                    icon=":material/password:",
                    url_path="password",
                    default=True,
                )
            ]
            + [
                st.Page(
                    change_password_page, title="Choose a new password", url_path=Path(p.file).stem
                )
                for p in PAGES
            ],
            position="hidden",
        )
        sidebar(user)
    elif user is None:
        # the sign-in form answers at every page's address, so a deep link survives signing in
        # (the page itself is registered only after sign-in, and only for roles that may see it)
        nav = st.navigation(
            [
                st.Page(
                    login_page,
                    title="Sign in",
                    icon=":material/login:",
                    url_path="login",
                    default=True,
                )
            ]
            + [st.Page(login_page, title="Sign in", url_path=Path(p.file).stem) for p in PAGES],
            position="hidden",
        )
    else:
        allowed = pages_for(user.role)
        nav = st.navigation(
            [
                st.Page(
                    str(HERE / p.file),
                    title=p.title,
                    icon=p.icon,
                    url_path=Path(p.file).stem,
                    default=i == 0,
                )
                for i, p in enumerate(allowed)
            ]
        )
        sidebar(user)
    sync_cookie(ctx)
    nav.run()


if __name__ == "__main__":  # Streamlit runs the script as __main__; an upload sandbox child
    main()  # re-imports it as __mp_main__ and must not start the app
