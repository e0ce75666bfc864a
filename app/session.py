"""The signed-in user: one typed object in the session, re-checked against the database on
every rerun.

The session holds only a ``SignedIn`` object under one key. Its role, client and scope are never
taken from it: each run reloads the user from the database (``engine.auth.active_user``), so a
disabled user is signed out on their next click, and nothing a browser sends (widget values,
query parameters) can change who they are or what they see.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from engine.auth import Role, User, active_user, authenticate, scope_for
from engine.context import Context
from engine.store import Scope

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

    @property
    def label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def can(self, *roles: Role) -> bool:
        return self.role in roles


def _app_user(user: User) -> AppUser:
    return AppUser(
        username=user.username, role=user.role, scope=scope_for(user), client_id=user.client_id
    )


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
    """The signed-in user, reloaded from the database, or None."""
    signed = st.session_state.get(SESSION_KEY)
    if not isinstance(signed, SignedIn):
        if signed is not None:
            sign_out()
        return None
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
