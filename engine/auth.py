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

The ``users`` command group (``resilience users add|list|disable``) is ``users_app``; the CLI
mounts it with ``app.add_typer(users_app, name="users")``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.errors import AccessDenied, NotFoundError, ResilienceError

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


class AuthError(ResilienceError):
    """A user cannot be created or changed as asked."""


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
    known = {c.client_id for c in ctx.clients()}
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
) -> User:
    """Create a user (or, with ``replace``, reset an existing one) in one transaction."""
    if not USERNAME.match(username):
        raise AuthError(
            f"username {username!r} is not allowed: use 2-64 lower-case letters, digits, "
            "'.', '_', '@' or '-', starting with a letter or digit"
        )
    if role not in ROLES:
        raise AuthError(f"role {role!r} is not known (allowed: {', '.join(ROLES)})")
    _check_password(password)
    books = tuple(sorted(set(book or ())))
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
        cur.execute("DELETE FROM users WHERE username = $u", {"u": username})
        cur.execute(
            "INSERT INTO users VALUES ($u, $h, $role, $c, now(), false)",
            {"u": username, "h": password_hash, "role": role, "c": client_id},
        )
        for cid in books:
            cur.execute("INSERT INTO user_clients VALUES ($u, $c)", {"u": username, "c": cid})
    log.info("user %s saved with role %s", username, role)
    user = get_user(ctx, username)
    assert user is not None
    return user


def get_user(ctx: Context, username: str) -> User | None:
    """The user as stored now (role, client, book), or None when unknown."""
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


def set_password(ctx: Context, username: str, password: str) -> None:
    _check_password(password)
    if get_user(ctx, username) is None:
        raise NotFoundError(f"user {username!r} does not exist")
    ctx.store.execute(
        "UPDATE users SET password_hash = $h WHERE username = $u",
        {"h": _hasher.hash(password), "u": username},
    )


def set_disabled(ctx: Context, username: str, disabled: bool = True) -> None:
    if get_user(ctx, username) is None:
        raise NotFoundError(f"user {username!r} does not exist")
    ctx.store.execute(
        "UPDATE users SET disabled = $d WHERE username = $u", {"d": disabled, "u": username}
    )


def list_users(ctx: Context) -> list[User]:
    names = [r[0] for r in ctx.store.rows("SELECT username FROM users ORDER BY username")]
    return [u for u in (get_user(ctx, n) for n in names) if u is not None]


# -- single sign-on ------------------------------------------------------------------------------

CLAIM_ROLE = "resilience_role"
CLAIM_CLIENT = "resilience_client"
CLAIM_BOOK = "resilience_book"
# e-mail addresses are common sign-on names, so '+' is allowed here (not for local users)
SSO_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")
MAX_BOOK = 1000


class ClaimsRefused(AuthError):
    """The identity provider's claims do not make a user this product can sign in."""


def _shown(value: object) -> str:
    """A claim value quoted for a message (short; it came from outside)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _claim_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ClaimsRefused(f"the {name} claim must be text, not {_shown(value)}")
    return value.strip()


def _claim_book(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    value = claims.get(CLAIM_BOOK)
    if value is None:
        return None
    if isinstance(value, str):  # some providers send a one-value list as a plain string
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ClaimsRefused(f"the {CLAIM_BOOK} claim must be a list of client ids")
    if len(value) > MAX_BOOK:
        raise ClaimsRefused(f"the {CLAIM_BOOK} claim names more than {MAX_BOOK} clients")
    return tuple(sorted({v.strip() for v in value if v.strip()}))


def sso_username(claims: Mapping[str, Any]) -> str:
    """The sign-on name: ``preferred_username``, else ``email``, in lower case."""
    for name in ("preferred_username", "email"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            username = value.strip().lower()
            if not SSO_USERNAME.match(username):
                raise ClaimsRefused(
                    f"the {name} claim {_shown(value)} is not a usable sign-in name "
                    "(letters, digits and . _ @ + - only, at most 128 characters)"
                )
            return username
    raise ClaimsRefused("the identity provider sent no user name (preferred_username or email)")


def user_from_claims(ctx: Context, claims: Mapping[str, Any]) -> User:
    """The user that verified ID-token claims describe, or ``ClaimsRefused`` saying why not.

    The claims must already be verified (signature, issuer, audience, expiry, nonce: Streamlit's
    ``st.login`` does that through Authlib). Here they are checked against this product:

    * ``resilience_role`` is one of client, account_manager, analyst, admin;
    * a client names, in ``resilience_client``, a client that exists, and has no book;
    * an account manager's ``resilience_book`` (a list; empty sees nothing) names only clients
      that exist, and no ``resilience_client``;
    * an analyst or admin has neither;
    * a local user of the same name that is disabled stays disabled: it is refused too.

    Nothing else in the claims (groups, scopes, custom attributes) grants anything.
    """
    if not isinstance(claims, Mapping):
        raise ClaimsRefused("the identity provider sent no claims")
    username = sso_username(claims)
    raw_role = claims.get(CLAIM_ROLE)
    if raw_role is None or (isinstance(raw_role, str) and not raw_role.strip()):
        raise ClaimsRefused(
            f"the identity provider assigned no role (claim {CLAIM_ROLE}: one of "
            f"{', '.join(ROLES)})"
        )
    if not isinstance(raw_role, str) or raw_role.strip() not in ROLES:
        raise ClaimsRefused(
            f"role {_shown(raw_role)} is not known (claim {CLAIM_ROLE}: one of {', '.join(ROLES)})"
        )
    role = cast(Role, raw_role.strip())
    client_id = _claim_str(claims, CLAIM_CLIENT)
    book = _claim_book(claims)
    known = {c.client_id for c in ctx.clients()}
    if role == "client":
        if client_id is None:
            raise ClaimsRefused(
                f"a client user needs the {CLAIM_CLIENT} claim: the client it belongs to"
            )
        if book:
            raise ClaimsRefused(f"a client user has no book; {CLAIM_BOOK} must be empty")
        if client_id not in known:
            raise ClaimsRefused(f"client {_shown(client_id)} ({CLAIM_CLIENT}) is not in the book")
    else:
        if client_id is not None:
            raise ClaimsRefused(
                f"a {role} user belongs to no client; {CLAIM_CLIENT} is for client users only"
            )
        if role == "account_manager":
            if book is None:
                raise ClaimsRefused(
                    f"an account manager needs the {CLAIM_BOOK} claim: the client ids in their "
                    "book (a list)"
                )
            unknown = [cid for cid in book if cid not in known]
            if unknown:
                raise ClaimsRefused(
                    f"client {_shown(unknown[0])} ({CLAIM_BOOK}) is not in the book"
                    + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                )
        elif book:
            raise ClaimsRefused(
                f"a {role} user sees the whole book; {CLAIM_BOOK} is for account managers"
            )
    local = get_user(ctx, username)
    if local is not None and local.disabled:
        raise ClaimsRefused(f"user {username!r} is disabled here")
    return User(
        username=username,
        role=role,
        client_id=client_id if role == "client" else None,
        book=(book or ()) if role == "account_manager" else (),
    )


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise AccessDenied(f"this needs one of the roles {', '.join(roles)}")


def create_demo_users(ctx: Context) -> list[User]:
    """One user of each kind for the demo book, with the passwords in ``DEMO_PASSWORDS``.

    meridian (client of meridian-basin-petroleum), am (account manager of the whole demo book),
    analyst, admin. Running it again resets them.
    """
    book = [c.client_id for c in ctx.clients()]
    if DEMO_CLIENT not in book:
        raise NotFoundError(f"the demo client {DEMO_CLIENT!r} is not loaded; run the demo load")
    return [
        add_user(
            ctx,
            "meridian",
            DEMO_PASSWORDS["meridian"],
            "client",
            client_id=DEMO_CLIENT,
            replace=True,
        ),
        add_user(ctx, "am", DEMO_PASSWORDS["am"], "account_manager", book=book, replace=True),
        add_user(ctx, "analyst", DEMO_PASSWORDS["analyst"], "analyst", replace=True),
        add_user(ctx, "admin", DEMO_PASSWORDS["admin"], "admin", replace=True),
    ]


# -- the `resilience users` command group -------------------------------------------------------

users_app = typer.Typer(
    name="users",
    help="Manage the people who sign in to the app: add, list, disable.",
    no_args_is_help=True,
)


def _cli_ctx() -> Context:
    from engine.cli import state  # the main callback has parsed --db already
    from engine.context import Context

    return Context(state.db)


def _cli_fail(exc: BaseException) -> None:
    from engine.cli import _fail

    _fail(exc)


@users_app.command("add")
def cli_add(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    client: Annotated[
        str | None, typer.Option("--client", help="For a client user: its client id.")
    ] = None,
    book: Annotated[
        str | None,
        typer.Option("--book", help="For an account manager: client ids, comma-separated."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Reset the user if it exists.")
    ] = False,
) -> None:
    """Add a user (the password is prompted for, or read from stdin)."""
    from engine.cli import out

    try:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        ids = [b.strip() for b in book.split(",") if b.strip()] if book else None
        with _cli_ctx() as ctx:
            user = add_user(
                ctx, username, password, role, client_id=client, book=ids, replace=replace
            )
        what = user.client_id or (", ".join(user.book) if user.book else "whole book")
        out.print(f"User {user.username} saved: {user.role} ({what})")
    except ResilienceError as exc:
        _cli_fail(exc)


@users_app.command("list")
def cli_list() -> None:
    """List users, their roles and what each may see."""
    from engine.cli import out

    try:
        with _cli_ctx() as ctx:
            for u in list_users(ctx):
                sees = u.client_id or (
                    ", ".join(u.book) if u.role == "account_manager" else "whole book"
                )
                flag = " (disabled)" if u.disabled else ""
                out.print(f"{u.username}: {u.role}{flag}; sees {sees or 'nothing'}")
    except ResilienceError as exc:
        _cli_fail(exc)


@users_app.command("disable")
def cli_disable(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead.")] = False,
) -> None:
    """Disable a user (they can no longer sign in; open sessions end on their next click)."""
    from engine.cli import out

    try:
        with _cli_ctx() as ctx:
            set_disabled(ctx, username, not enable)
        out.print(f"User {username} {'enabled' if enable else 'disabled'}")
    except ResilienceError as exc:
        _cli_fail(exc)
