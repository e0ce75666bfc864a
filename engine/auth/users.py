"""Who may sign in, and what each person may see.

Users live in the database (migration ``schema_002_users.sql``); passwords are stored only as
argon2id hashes. A user has one role:

=================  ==========================================================
client             one client's own data (``users.client_id``)
account_manager    the clients in their book (``user_clients``)
analyst            the whole book; edits the threat register and the rules
admin              everything
=================  ==========================================================

``scope_for`` turns a user into the ``Scope`` every facade call takes, so the tenant filter is
applied by the store, not by the front end. The role and the client always come from here, never
from what a browser sends.

With single sign-on (OpenID Connect), the identity provider assigns the role instead:
``user_from_claims`` turns the verified claims of its ID token (``resilience_role``,
``resilience_client``, ``resilience_book``) into the same ``User``, checked against the book.

This module holds the users, their roles and passwords; ``engine.auth.totp`` the second
factor, ``engine.auth.sso`` single sign-on, ``engine.auth.demo`` the demo accounts. The
``resilience users`` commands are in ``engine/users_cli.py``, beside the other commands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import AccessDenied, AuthError, NotFoundError

if TYPE_CHECKING:
    from engine.context import Context
    from engine.store import Scope

log = logging.getLogger(__name__)

Role = Literal["client", "account_manager", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("client", "account_manager", "analyst", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()


# Verified when the username is unknown or disabled, so a failed sign-in costs the same time
# whether or not the user exists (no username oracle through timing).
@cache
def _dummy_hash() -> str:
    # made on first use, not at import: `resilience --help` must not pay for an argon2 hash
    return _hasher.hash("not-a-real-password: timing padding only")


# The demo users `resilience demo` creates (documented in README and the app's login page).
DEMO_CLIENT = "meridian-basin-petroleum"
DEMO_PASSWORDS: dict[str, str] = {
    "meridian": "demo-meridian-2020",
    "am": "demo-am-2020",
    "analyst": "demo-analyst-2020",
    "admin": "demo-admin-2020",
}


@dataclass(frozen=True)
class User:
    """A signed-in person as the database knows them."""

    username: str
    role: Role
    client_id: str | None = None
    book: tuple[str, ...] = ()
    disabled: bool = False


def scope_for(user: User) -> Scope:
    """The clients a user may see: the tenant filter for every facade call they make."""
    from engine.store import Scope

    if user.role == "client":
        if not user.client_id:
            return Scope.of()  # a client user without a client sees nothing
        return Scope.of(user.client_id)
    if user.role == "account_manager":
        return Scope.of(*user.book)
    if user.role in ("analyst", "admin"):
        return Scope.everything()
    return Scope.of()  # unknown role: nothing


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"the password must have at most {MAX_PASSWORD} characters")


def _known_clients(ctx: Context, ids: Iterable[str]) -> None:
    known = {c.client_id for c in ctx.clients(scope=_everyone())}
    for cid in ids:
        if cid not in known:
            raise AuthError(
                f"client {cid!r} is not in the book; `resilience clients` lists the clients"
            )


def add_user(
    ctx: Context,
    username: str,
    password: str,
    role: str,
    client_id: str | None = None,
    book: Iterable[str] | None = None,
    *,
    replace: bool = False,
    by: str = "",
) -> User:
    """Create a user (or, with ``replace``, reset an existing one) in one transaction, with its
    audit entry (``by``: who does it; default the operating-system user)."""
    if not USERNAME.match(username):
        raise AuthError(
            f"username {username!r} is not allowed: use 2-64 lower-case letters, digits, "
            "'.', '_', '@' or '-', starting with a letter or digit"
        )
    if role not in ROLES:
        raise AuthError(f"role {role!r} is not known (allowed: {', '.join(ROLES)})")
    _check_password(password)
    books = tuple(sorted(set(book or ())))
    if role == "account_manager" and not books:
        raise AuthError(
            "an account manager needs --book: the ids of the clients they may see, "
            "comma-separated (`resilience clients` lists them); without it they would see nothing"
        )
    if role == "client":
        if not client_id:
            raise AuthError("a client user needs --client: the client it belongs to")
        if books:
            raise AuthError("a client user has no book; use --client only")
        _known_clients(ctx, [client_id])
    else:
        if client_id:
            raise AuthError(f"a {role} user has no --client; only client users belong to one")
        if role == "account_manager":
            _known_clients(ctx, books)
        elif books:
            raise AuthError(f"a {role} user sees the whole book; --book is for account managers")
    exists = ctx.store.one("SELECT count(*) FROM users WHERE username = $u", {"u": username})
    if exists and not replace:
        raise AuthError(f"user {username!r} already exists")
    password_hash = _hasher.hash(password)
    with ctx.store.transaction() as cur:
        cur.execute("DELETE FROM user_clients WHERE username = $u", {"u": username})
        cur.execute("DELETE FROM user_totp WHERE username = $u", {"u": username})
        cur.execute("DELETE FROM users WHERE username = $u", {"u": username})
        cur.execute(
            "INSERT INTO users VALUES ($u, $h, $role, $c, now(), false)",
            {"u": username, "h": password_hash, "role": role, "c": client_id},
        )
        for cid in books:
            cur.execute("INSERT INTO user_clients VALUES ($u, $c)", {"u": username, "c": cid})
        _audit(
            cur,
            by,
            "user.replace" if exists else "user.add",
            username,
            f"{role}"
            + (f" of {client_id}" if client_id else "")
            + (f", book {', '.join(books)}" if books else ""),
        )
    log.info("user %s saved with role %s", username, role)
    user = get_user(ctx, username)
    assert user is not None
    return user


def get_user(ctx: Context, username: str) -> User | None:
    """The user as stored now (role, client, book), or None when unknown (one unit of work: the
    app reloads the user on every rerun)."""
    with ctx.store.session():
        row = ctx.store.execute(
            "SELECT username, role, client_id, disabled FROM users WHERE username = $u",
            {"u": username},
        ).fetchone()
        if row is None:
            return None
        book = tuple(
            r[0]
            for r in ctx.store.rows(
                "SELECT client_id FROM user_clients WHERE username = $u ORDER BY client_id",
                {"u": username},
            )
        )
    role = row[1] if row[1] in ROLES else None
    if role is None:  # the CHECK constraint makes this unreachable; refuse rather than guess
        return None
    return User(
        username=row[0], role=cast(Role, role), client_id=row[2], book=book, disabled=bool(row[3])
    )


def active_user(ctx: Context, username: str) -> User | None:
    """The user when it exists and is not disabled."""
    user = get_user(ctx, username)
    return None if user is None or user.disabled else user


def authenticate(ctx: Context, username: str, password: str) -> User | None:
    """The user when the password is right and the account enabled, else None.

    An unknown or disabled user still costs one hash verification, so the answer takes about as
    long either way. A hash made with weaker parameters is upgraded on success.
    """
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    if len(password) > MAX_PASSWORD or len(username) > 64:
        _verify(_dummy_hash(), "x")
        return None
    row = ctx.store.execute(
        "SELECT password_hash, disabled FROM users WHERE username = $u", {"u": username}
    ).fetchone()
    if row is None or row[1]:
        _verify(_dummy_hash(), password)
        return None
    stored = str(row[0])
    if not _verify(stored, password):
        return None
    if _needs_rehash(stored):
        ctx.store.execute(
            "UPDATE users SET password_hash = $h WHERE username = $u",
            {"h": _hasher.hash(password), "u": username},
        )
    return active_user(ctx, username)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return False


def _audit(cur: Any, by: str, action: str, username: str, note: str) -> None:
    """The audit entry of an account change (never a password or a secret)."""
    from engine import audit

    audit.record(
        cur, user=by or audit.os_user(), action=action, kind="user", subject=username, note=note
    )


def set_password(ctx: Context, username: str, password: str, *, by: str = "") -> None:
    """Replace a user's password (never with one of the public demo passwords)."""
    _check_password(password)
    if password in DEMO_PASSWORDS.values():
        raise AuthError("that is one of the public demo passwords (README); choose another")
    if get_user(ctx, username) is None:
        raise NotFoundError(f"user {username!r} does not exist")
    with ctx.store.transaction() as cur:
        cur.execute(
            "UPDATE users SET password_hash = $h WHERE username = $u",
            {"h": _hasher.hash(password), "u": username},
        )
        _audit(cur, by, "user.passwd", username, "password changed")


def set_disabled(ctx: Context, username: str, disabled: bool = True, *, by: str = "") -> None:
    if get_user(ctx, username) is None:
        raise NotFoundError(f"user {username!r} does not exist")
    with ctx.store.transaction() as cur:
        cur.execute(
            "UPDATE users SET disabled = $d WHERE username = $u", {"d": disabled, "u": username}
        )
        _audit(
            cur,
            by,
            "user.disable" if disabled else "user.enable",
            username,
            "disabled: can no longer sign in" if disabled else "enabled again",
        )


def list_users(ctx: Context) -> list[User]:
    names = [r[0] for r in ctx.store.rows("SELECT username FROM users ORDER BY username")]
    return [u for u in (get_user(ctx, n) for n in names) if u is not None]


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise AccessDenied(f"this needs one of the roles {', '.join(roles)}")


def _everyone() -> Scope:
    """Checks of client ids against the whole book (the store is imported when needed, so the
    CLI's `--help` stays fast)."""
    from engine.store import Scope

    return Scope.everything()
