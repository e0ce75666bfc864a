"""The signed-in user: one typed object in the session, re-checked against the database on
every rerun.

The session holds only a ``SignedIn`` object under one key. Its role, client and scope are never
taken from it: each run reloads the user from the database (``engine.auth.active_user``), so a
disabled user is signed out on their next click, and nothing a browser sends (widget values,
query parameters) can change who they are or what they see.

Single sign-on is optional: when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's
``st.login``, OpenID Connect), people may also sign in through the identity provider. Streamlit
verifies the ID token and keeps its claims in a signed cookie (``st.user``); each run maps them
again with ``engine.auth.user_from_claims`` (role, client and book from the claims, checked against
the database), so an SSO user is re-checked exactly like a local one. Claims that do not make a
user are refused with the reason; nothing is shown until the person signs out of SSO.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from engine.auth import (
    ClaimsRefused,
    Role,
    User,
    active_user,
    authenticate,
    scope_for,
    user_from_claims,
)
from engine.context import Context
from engine.store import Scope

log = logging.getLogger(__name__)

SESSION_KEY = "resilience_session"
ROLE_LABELS: dict[str, str] = {
    "client": "Client",
    "account_manager": "Account manager",
    "analyst": "Analyst",
    "admin": "Administrator",
}

# Sign-in throttle, per username, for the whole process: after MAX_FAILURES wrong passwords in a
# row, further attempts are refused for LOCKOUT_S seconds.
MAX_FAILURES = 5
LOCKOUT_S = 60.0
_failures: dict[str, tuple[int, float]] = {}
_failures_lock = threading.Lock()

# Single sign-on: the [auth] keys st.login needs for its one (default) provider, and how long a
# sign-on counts before the person must sign on again (Streamlit's identity cookie lasts 30 days;
# a role the provider takes away must not last that long).
SSO_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
SSO_MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class SignedIn:
    """What the session remembers: who signed in and when (nothing else)."""

    username: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class AppUser:
    """The user as the database knows them now, with the scope every facade call takes."""

    username: str
    role: Role
    scope: Scope
    client_id: str | None = None
    sso: bool = False  # signed in through the identity provider (sign out with st.logout)

    @property
    def label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def can(self, *roles: Role) -> bool:
        return self.role in roles


def _app_user(user: User, *, sso: bool = False) -> AppUser:
    return AppUser(
        username=user.username,
        role=user.role,
        scope=scope_for(user),
        client_id=user.client_id,
        sso=sso,
    )


@dataclass(frozen=True)
class SsoRefused:
    """The identity provider signed someone in, but their claims do not make a user here."""

    reason: str


def sso_configured() -> bool:
    """True when secrets.toml has an ``[auth]`` section with everything ``st.login()`` needs."""
    try:
        if not st.secrets.load_if_toml_exists():
            return False
        auth = st.secrets.get("auth")
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return False
    if not isinstance(auth, Mapping):
        return False
    missing = [k for k in SSO_KEYS if not auth.get(k)]
    if missing:
        log.warning("[auth] in secrets.toml lacks %s: single sign-on is off", ", ".join(missing))
        return False
    try:  # st.login needs Authlib and its HTTP client; without them, say so instead of crashing
        import authlib.integrations.starlette_client  # noqa: F401
    except ImportError as exc:
        log.error("[auth] is configured but single sign-on cannot work: %s", exc)
        return False
    return True


def _sso_claims() -> dict[str, Any] | None:
    """The verified ID-token claims of this session's sign-on, or None when there is none."""
    if not sso_configured():
        return None
    claims = dict(st.user.to_dict())
    if claims.get("is_logged_in") is not True:
        return None
    return claims


def sso_state(ctx: Context) -> AppUser | SsoRefused | None:
    """Who single sign-on says this is (checked against the database now), why they are refused,
    or None when nobody signed on."""
    claims = _sso_claims()
    if claims is None:
        return None
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return SsoRefused("the identity provider's token has no issue time; sign in again")
    if time.time() - float(issued) > SSO_MAX_AGE_S:
        return SsoRefused(
            f"your single sign-on is older than {SSO_MAX_AGE_S // 3600} hours; sign in again"
        )
    try:
        user = user_from_claims(ctx, claims)
    except ClaimsRefused as exc:
        log.info("single sign-on refused for sub %r: %s", claims.get("sub"), exc)
        return SsoRefused(str(exc))
    return _app_user(user, sso=True)


def sso_sign_in() -> None:
    """Send the browser to the identity provider (it comes back signed in, as a new session)."""
    st.login()


def sso_sign_out() -> None:
    """End the sign-on: Streamlit clears its identity cookie and redirects the browser."""
    st.session_state.pop(SESSION_KEY, None)
    st.logout()


def locked_out(username: str) -> float:
    """Seconds until ``username`` may try again (0 when it may)."""
    with _failures_lock:
        count, last = _failures.get(username, (0, 0.0))
    if count < MAX_FAILURES:
        return 0.0
    return max(0.0, LOCKOUT_S - (time.time() - last))


def _note_failure(username: str) -> None:
    with _failures_lock:
        count, last = _failures.get(username, (0, 0.0))
        if count >= MAX_FAILURES and time.time() - last >= LOCKOUT_S:
            count = 0
        _failures[username] = (count + 1, time.time())


def sign_in(ctx: Context, username: str, password: str) -> AppUser | None:
    """Check the password; on success remember the user in this session."""
    username = username.strip().lower()
    if locked_out(username) > 0:
        return None
    user = authenticate(ctx, username, password)
    if user is None:
        _note_failure(username)
        return None
    with _failures_lock:
        _failures.pop(username, None)
    st.session_state[SESSION_KEY] = SignedIn(user.username)
    return _app_user(user)


def sign_out() -> None:
    st.session_state.pop(SESSION_KEY, None)


def current_user(ctx: Context) -> AppUser | None:
    """The signed-in user, reloaded from the database (or mapped again from the sign-on's
    claims), or None."""
    signed = st.session_state.get(SESSION_KEY)
    if not isinstance(signed, SignedIn):
        if signed is not None:
            sign_out()
        sso = sso_state(ctx)
        return sso if isinstance(sso, AppUser) else None
    user = active_user(ctx, signed.username)
    if user is None:
        sign_out()
        return None
    return _app_user(user)


def require(ctx: Context, *roles: Role) -> AppUser:
    """The user when their role may open this page; otherwise stop the page (defence in depth:
    the navigation already hides pages a role may not see)."""
    user = current_user(ctx)
    if user is None:
        st.warning("Please sign in.")
        st.stop()
        raise AssertionError("unreachable")
    if roles and user.role not in roles:
        st.error("This page is not available to you.")
        st.stop()
    return user
