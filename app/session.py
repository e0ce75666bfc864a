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

Signing in locally: the password, then (when the user turned it on) an authenticator code;
``engine.throttle`` slows guessing per source address and per account without locking out an
owner who signed in from that address or session before. A user still on a public demo password
must choose a new one before any page opens. A session idle for ``IDLE_TIMEOUT_S`` (30 minutes;
``RESILIENCE_IDLE_MINUTES``) is signed out.

A local sign-in survives a browser reload through a signed, expiring cookie (``app.cookie``): a
new session whose cookie holds a valid token for an active user starts signed in as that user;
the token lapses after the same idle time, and signing out clears and revokes it.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from app import cookie
from engine.auth import (
    DEMO_PASSWORDS,
    ClaimsRefused,
    Role,
    User,
    active_user,
    authenticate,
    has_totp,
    scope_for,
    set_password,
    user_from_claims,
    verify_totp,
)
from engine.auth.sessions import revoke_session, session_revoked
from engine.context import Context
from engine.errors import ResilienceError
from engine.store import Scope
from engine.throttle import THROTTLE

log = logging.getLogger(__name__)

SESSION_KEY = "resilience_session"
ROLE_LABELS: dict[str, str] = {
    "client": "Client",
    "account_manager": "Account manager",
    "analyst": "Analyst",
    "admin": "Administrator",
}

SECOND_FACTOR_KEY = "resilience_second_factor"
NOTICE_KEY = "resilience_sign_in_notice"
COOKIE_CLEAR_KEY = "resilience_cookie_clear"  # the browser's cookie is to be cleared
SIGNED_OUT_KEY = "resilience_signed_out"  # this session signed out: ignore the cookie it came with
SECOND_FACTOR_S = 300.0  # the code must follow the password within five minutes


def _idle_timeout_s() -> float:
    try:
        minutes = float(os.environ.get("RESILIENCE_IDLE_MINUTES", "30"))
    except ValueError:
        minutes = 30.0
    return max(minutes, 0.05) * 60


IDLE_TIMEOUT_S = _idle_timeout_s()

# Single sign-on: the [auth] keys st.login needs for its one (default) provider, and how long a
# sign-on counts before the person must sign on again (Streamlit's identity cookie lasts 30 days;
# a role the provider takes away must not last that long).
SSO_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
SSO_MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class SignedIn:
    """What the session remembers: who signed in, when, when they last did anything, and whether
    they must replace a public demo password before anything else (nothing more)."""

    username: str
    at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    must_change_password: bool = False
    sid: str = field(default_factory=cookie.new_sid)  # this sign-in, as its cookie names it
    token_at: float = 0.0  # when the cookie's token was last issued (0: not yet)


@dataclass(frozen=True)
class PendingSecondFactor:
    """The password was right; the authenticator code is still to come."""

    username: str
    must_change_password: bool = False
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SignInOutcome:
    """What a sign-in step came to: signed in, a code is needed, refused, or wait."""

    status: Literal["signed_in", "second_factor", "refused", "wait", "expired"]
    wait_s: float = 0.0


@dataclass(frozen=True)
class AppUser:
    """The user as the database knows them now, with the scope every facade call takes."""

    username: str
    role: Role
    scope: Scope
    client_id: str | None = None
    sso: bool = False  # signed in through the identity provider (sign out with st.logout)
    must_change_password: bool = False  # still on a public demo password: only the change page

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


def source() -> str:
    """Where this session's requests come from, for the per-source limit.

    The browser's address; when the app is reached through the reverse proxy on this machine
    (README, Deployment) the connection is from loopback, so the ``X-Real-IP`` the proxy sets
    (replacing any the browser sent) is used instead. Direct local use is "local".
    """
    for candidate in (st.context.ip_address, st.context.headers.get("X-Real-IP")):
        if isinstance(candidate, str):
            with contextlib.suppress(ValueError):
                return f"ip:{ipaddress.ip_address(candidate.strip())}"
    return "local"


def over_https(
    forwarded_proto: str | None, ip_address: str | None, *, tls_served: bool, configured: str
) -> bool:
    """Whether this session's page came over HTTPS, as the server knows it: Streamlit serves
    TLS itself (``server.sslCertFile``), ``RESILIENCE_COOKIE_SECURE`` says so (``configured``:
    1/true/yes), or the connection comes from the reverse proxy on this machine (loopback: the
    address Streamlit reports is None) and that proxy says ``X-Forwarded-Proto: https``. A
    header from any other address is ignored: a browser could send it."""
    if tls_served or configured.strip().lower() in {"1", "true", "yes"}:
        return True
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return ip_address is None and proto == "https"


def _over_https() -> bool:
    return over_https(
        st.context.headers.get("X-Forwarded-Proto"),
        st.context.ip_address,
        tls_served=bool(st.get_option("server.sslCertFile")),
        configured=os.environ.get("RESILIENCE_COOKIE_SECURE", ""),
    )


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    run = get_script_run_ctx()
    return f"session:{run.session_id}" if run is not None else "session:none"


def _is_demo_password(password: str) -> bool:
    """Whether ``password`` is one of the public demo passwords (whoever's account it opens)."""
    given = password.encode()
    return any(hmac.compare_digest(d.encode(), given) for d in DEMO_PASSWORDS.values())


def sign_in_wait(username: str) -> float:
    """Seconds before this session may try ``username`` (0 when it may)."""
    return THROTTLE.wait(username.strip().lower(), source(), _session_id())


def _complete(username: str, must_change: bool) -> None:
    THROTTLE.succeeded(username, source(), _session_id())
    st.session_state.pop(SECOND_FACTOR_KEY, None)
    st.session_state.pop(SIGNED_OUT_KEY, None)
    st.session_state[SESSION_KEY] = SignedIn(username, must_change_password=must_change)


def sign_in(ctx: Context, username: str, password: str) -> SignInOutcome:
    """Check the password (unless the limits say wait); on success either remember the user in
    this session or, when they have a second factor, ask for its code next."""
    username = username.strip().lower()
    wait = sign_in_wait(username)
    if wait > 0:
        return SignInOutcome("wait", wait)
    user = authenticate(ctx, username, password)
    if user is None:
        THROTTLE.failed(username, source())
        return SignInOutcome("refused")
    must_change = _is_demo_password(password)
    if has_totp(ctx, user.username):
        st.session_state[SECOND_FACTOR_KEY] = PendingSecondFactor(user.username, must_change)
        return SignInOutcome("second_factor")
    _complete(user.username, must_change)
    return SignInOutcome("signed_in")


def pending_second_factor() -> PendingSecondFactor | None:
    pending = st.session_state.get(SECOND_FACTOR_KEY)
    if not isinstance(pending, PendingSecondFactor):
        return None
    if time.time() - pending.at > SECOND_FACTOR_S:
        st.session_state.pop(SECOND_FACTOR_KEY, None)
        return None
    return pending


def second_factor(ctx: Context, code: str) -> SignInOutcome:
    """Check the authenticator code that follows a right password."""
    pending = pending_second_factor()
    if pending is None:
        return SignInOutcome("expired")
    wait = sign_in_wait(pending.username)
    if wait > 0:
        return SignInOutcome("wait", wait)
    if active_user(ctx, pending.username) is None or not verify_totp(ctx, pending.username, code):
        THROTTLE.failed(pending.username, source())
        return SignInOutcome("refused")
    _complete(pending.username, pending.must_change_password)
    return SignInOutcome("signed_in")


def cancel_second_factor() -> None:
    st.session_state.pop(SECOND_FACTOR_KEY, None)


def change_password(ctx: Context, user: AppUser, new: str, again: str) -> str | None:
    """Replace the signed-in user's password; None when done, else what is wrong."""
    if new != again:
        return "The two passwords differ."
    try:
        set_password(ctx, user.username, new, by=user.username)
    except ResilienceError as exc:
        return str(exc)[:1].upper() + str(exc)[1:] + "."
    signed = st.session_state.get(SESSION_KEY)
    if isinstance(signed, SignedIn):
        # the old token says a demo password must be replaced: issue a new one now
        st.session_state[SESSION_KEY] = replace(signed, must_change_password=False, token_at=0.0)
    return None


def sign_out() -> None:
    """End the local sign-in: forget it here, revoke its cookie token, clear the cookie."""
    signed = st.session_state.pop(SESSION_KEY, None)
    if isinstance(signed, SignedIn):
        cookie.revoke(signed.sid)  # this process, at once
        from app import data  # the store of this server (imported here: data imports no page)

        try:  # every process of the store (engine/auth/sessions.py)
            revoke_session(data.context(), signed.sid, signed.username, IDLE_TIMEOUT_S)
        except ResilienceError:
            log.exception("the sign-out of %s was not recorded in the store", signed.username)
    st.session_state.pop(SECOND_FACTOR_KEY, None)
    st.session_state[SIGNED_OUT_KEY] = True
    st.session_state[COOKIE_CLEAR_KEY] = True


def _secret(ctx: Context) -> bytes:
    if ctx.store.url is not None:  # a PostgreSQL store: no database file to keep it beside
        return cookie.secret_in(ctx.store.files / "session-key")
    return cookie.secret_for(ctx.db_path.resolve())


def _from_cookie(ctx: Context) -> SignedIn | None:
    """A sign-in restored from the browser's cookie (a reload, a new tab), or None."""
    if st.session_state.get(SIGNED_OUT_KEY):
        return None
    token = st.context.cookies.get(cookie.COOKIE)
    if not isinstance(token, str) or not token:  # (AppTest's mocked runtime has no cookies)
        return None
    found = cookie.read(_secret(ctx), token, IDLE_TIMEOUT_S)
    if (
        found is None
        or session_revoked(ctx, found.sid)  # signed out, perhaps on another app server
        or active_user(ctx, found.username) is None
    ):
        st.session_state[COOKIE_CLEAR_KEY] = True  # tampered, expired, revoked or disabled
        st.session_state[SIGNED_OUT_KEY] = True
        return None
    return SignedIn(
        found.username,
        must_change_password=found.must_change_password,
        sid=found.sid,
        token_at=found.issued_at,
    )


def sync_cookie(ctx: Context) -> None:
    """Store a fresh token for the signed-in user (at most once a minute), or clear the cookie
    after a sign-out. Call once per run, after ``current_user``."""
    signed = st.session_state.get(SESSION_KEY)
    if isinstance(signed, SignedIn):
        st.session_state.pop(COOKIE_CLEAR_KEY, None)
        now = time.time()
        if now - signed.token_at < cookie.REFRESH_S:
            return
        token = cookie.issue(_secret(ctx), signed.username, signed.sid, signed.must_change_password)
        st.html(
            cookie.set_script(token, IDLE_TIMEOUT_S, secure=_over_https()),
            unsafe_allow_javascript=True,
        )
        st.session_state[SESSION_KEY] = replace(signed, token_at=now)
    elif st.session_state.pop(COOKIE_CLEAR_KEY, None):
        st.html(cookie.clear_script(secure=_over_https()), unsafe_allow_javascript=True)


def notice() -> str | None:
    """A message for the sign-in page (why the session ended), shown once."""
    text = st.session_state.pop(NOTICE_KEY, None)
    return text if isinstance(text, str) else None


def current_user(ctx: Context) -> AppUser | None:
    """The signed-in user, reloaded from the database (or mapped again from the sign-on's
    claims), or None. A session idle for longer than ``IDLE_TIMEOUT_S`` is signed out."""
    signed = st.session_state.get(SESSION_KEY)
    if not isinstance(signed, SignedIn):
        if signed is not None:
            sign_out()
        restored = _from_cookie(ctx)
        if restored is None:
            sso = sso_state(ctx)
            return sso if isinstance(sso, AppUser) else None
        signed = restored
        st.session_state[SESSION_KEY] = signed
    now = time.time()
    if now - signed.last_seen > IDLE_TIMEOUT_S:
        sign_out()
        st.session_state[NOTICE_KEY] = (
            f"You were signed out after {IDLE_TIMEOUT_S / 60:g} minutes without activity."
        )
        return None
    user = active_user(ctx, signed.username)
    if user is None:
        sign_out()
        return None
    st.session_state[SESSION_KEY] = replace(signed, last_seen=now)
    return replace(_app_user(user), must_change_password=signed.must_change_password)


def require(ctx: Context, *roles: Role) -> AppUser:
    """The user when their role may open this page; otherwise stop the page (defence in depth:
    the navigation already hides pages a role may not see)."""
    user = current_user(ctx)
    if user is None:
        st.warning("Please sign in.")
        st.stop()
        raise AssertionError("unreachable")
    if user.must_change_password or (roles and user.role not in roles):
        st.error("This page is not available to you.")
        st.stop()
    return user
