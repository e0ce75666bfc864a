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

The ``users`` command group (``resilience users add|list|passwd|totp|disable``) is
``users_app``; the CLI mounts it with ``app.add_typer(users_app, name="users")``.
"""

from __future__ import annotations

import hmac
import logging
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import pyotp
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


# -- the optional second factor (TOTP) ------------------------------------------------------------

TOTP_ROLES: tuple[Role, ...] = ("analyst", "admin")
TOTP_ISSUER = "Resilience"
TOTP_CODE = re.compile(r"^[0-9]{6}$")


def has_totp(ctx: Context, username: str) -> bool:
    """Whether the user must give an authenticator code after the password."""
    n = ctx.store.one("SELECT count(*) FROM user_totp WHERE username = $u", {"u": username})
    return bool(n)


def enable_totp(ctx: Context, username: str, *, by: str = "") -> str:
    """Give an analyst or admin a new TOTP secret (replacing any earlier one); returns the
    ``otpauth://`` URI for their authenticator app. Codes are 6 digits, 30 s steps (RFC 6238)."""
    user = get_user(ctx, username)
    if user is None:
        raise NotFoundError(f"user {username!r} does not exist")
    if user.role not in TOTP_ROLES:
        raise AuthError(
            f"a second factor is for {' and '.join(TOTP_ROLES)} users; {username} is {user.role}"
        )
    secret = pyotp.random_base32()
    with ctx.store.transaction() as cur:
        cur.execute("DELETE FROM user_totp WHERE username = $u", {"u": username})
        cur.execute("INSERT INTO user_totp VALUES ($u, $s, now(), 0)", {"u": username, "s": secret})
        _audit(cur, by, "user.totp", username, "second factor turned on (new secret)")
    log.info("second factor turned on for %s", username)
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def disable_totp(ctx: Context, username: str, *, by: str = "") -> None:
    if get_user(ctx, username) is None:
        raise NotFoundError(f"user {username!r} does not exist")
    with ctx.store.transaction() as cur:
        cur.execute("DELETE FROM user_totp WHERE username = $u", {"u": username})
        _audit(cur, by, "user.totp", username, "second factor turned off")


def verify_totp(ctx: Context, username: str, code: str, *, at: float | None = None) -> bool:
    """Whether ``code`` is the user's current code (or the one 30 s before or after, for clock
    drift) and newer than the last code accepted: each code works once."""
    code = code.strip().replace(" ", "") if isinstance(code, str) else ""
    row = ctx.store.execute(
        "SELECT secret, last_step FROM user_totp WHERE username = $u", {"u": username}
    ).fetchone()
    if row is None or not TOTP_CODE.match(code):
        return False
    totp = pyotp.TOTP(str(row[0]))
    now = time.time() if at is None else at
    step = int(now // totp.interval)
    for candidate in (step - 1, step, step + 1):
        if candidate <= int(row[1]):
            continue
        if hmac.compare_digest(totp.at(candidate * totp.interval), code):
            ctx.store.execute(
                "UPDATE user_totp SET last_step = $s WHERE username = $u AND last_step < $s",
                {"s": candidate, "u": username},
            )
            return True
    return False


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


def demo_client_ids() -> list[str]:
    """The client ids of the demo book (engine/demo/clients.yaml), whatever else is loaded."""
    from engine.book import demo_client_ids as ids

    return ids()


def create_demo_users(ctx: Context) -> list[User]:
    """Create the demo users that do not exist yet; return the ones created now.

    meridian (client of meridian-basin-petroleum), am (account manager of the demo book's clients
    only), analyst, admin, with the public passwords in ``DEMO_PASSWORDS``. A user of one of these
    names that already exists is never touched: not re-enabled, not given the demo password again,
    and am's book is not extended to clients loaded since (real clients are never added to it).
    """
    demo_ids = demo_client_ids()
    loaded = {c.client_id for c in ctx.clients()}
    if DEMO_CLIENT not in loaded:
        raise NotFoundError(f"the demo client {DEMO_CLIENT!r} is not loaded; run the demo load")
    wanted: list[tuple[str, str, str | None, list[str] | None]] = [
        ("meridian", "client", DEMO_CLIENT, None),
        ("am", "account_manager", None, [c for c in demo_ids if c in loaded]),
        ("analyst", "analyst", None, None),
        ("admin", "admin", None, None),
    ]
    created = []
    for username, role, client_id, book in wanted:
        if get_user(ctx, username) is not None:
            continue
        created.append(
            add_user(ctx, username, DEMO_PASSWORDS[username], role, client_id=client_id, book=book)
        )
    return created


def has_demo_password(ctx: Context, username: str) -> bool:
    """Whether ``username`` still signs in with its public demo password (README, login page)."""
    demo = DEMO_PASSWORDS.get(username)
    if demo is None:
        return False
    stored = ctx.store.one("SELECT password_hash FROM users WHERE username = $u", {"u": username})
    return stored is not None and _verify(str(stored), demo)


def unchanged_demo_passwords(ctx: Context) -> list[str]:
    """The enabled users whose password is still the public demo one, in name order."""
    return [
        name
        for name in sorted(DEMO_PASSWORDS)
        if (u := get_user(ctx, name)) is not None
        and not u.disabled
        and has_demo_password(ctx, name)
    ]


def demo_password_warning(names: list[str]) -> str:
    """The warning ``resilience demo`` (so ``make run``) prints while a demo password is live."""
    return (
        f"Warning: {', '.join(names)} still sign in with the public demo password"
        f"{'s' if len(names) > 1 else ''} printed above and in the README. Anyone who can reach "
        "the app can sign in as them. Change each with `resilience users passwd NAME` (or "
        "disable it with `resilience users disable NAME`) before the app is reachable by others."
    )


# -- the `resilience users` command group -------------------------------------------------------

users_app = typer.Typer(
    name="users",
    help="Manage the people who sign in to the app: add, list, passwd, totp, disable.",
    no_args_is_help=True,
)


def _cli_ctx() -> Context:
    from engine.cli import state  # the main callback has parsed --db already
    from engine.context import Context

    return Context(state.db)


def _cli_fail(exc: BaseException) -> None:
    from engine.cli import _fail

    _fail(exc)


def _sees(user: User) -> str:
    """Exactly what a user sees, in words (the same rule as ``scope_for``)."""
    scope = scope_for(user)
    if scope.client_ids is None:
        return "the whole book"
    if not scope.client_ids:
        return "nothing"
    return ", ".join(sorted(scope.client_ids))


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


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
        password = _read_password(password_stdin)
        ids = [b.strip() for b in book.split(",") if b.strip()] if book else None
        with _cli_ctx() as ctx:
            user = add_user(
                ctx, username, password, role, client_id=client, book=ids, replace=replace
            )
        out.print(f"User {user.username} saved: {user.role}; sees {_sees(user)}")
    except ResilienceError as exc:
        _cli_fail(exc)


@users_app.command("list")
def cli_list() -> None:
    """List users, their roles and what each may see."""
    from engine.cli import out

    try:
        with _cli_ctx() as ctx:
            for u in list_users(ctx):
                flag = " (disabled)" if u.disabled else ""
                out.print(f"{u.username}: {u.role}{flag}; sees {_sees(u)}")
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


@users_app.command("passwd")
def cli_passwd(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (prompted for twice, or read from stdin); the old one stops working."""
    from engine.cli import out

    try:
        password = _read_password(password_stdin)
        with _cli_ctx() as ctx:
            set_password(ctx, username, password)
        out.print(f"Password of {username} changed")
    except ResilienceError as exc:
        _cli_fail(exc)


@users_app.command("totp")
def cli_totp(
    username: Annotated[str, typer.Argument(help="Sign-in name of an analyst or admin.")],
    off: Annotated[bool, typer.Option("--off", help="Turn the second factor off.")] = False,
) -> None:
    """Turn on a second factor (an authenticator app's 6-digit code) for an analyst or admin.

    Prints the otpauth:// link to add to the authenticator app (once; running it again makes a
    new secret and the old one stops working).
    """
    from engine.cli import out

    try:
        with _cli_ctx() as ctx:
            if off:
                disable_totp(ctx, username)
                out.print(f"Second factor of {username} turned off")
                return
            uri = enable_totp(ctx, username)
        out.print(f"Second factor of {username} turned on. Add this to the authenticator app:")
        out.print(f"  {uri}")
        out.print("From the next sign-in the app asks for its 6-digit code after the password.")
    except ResilienceError as exc:
        _cli_fail(exc)
