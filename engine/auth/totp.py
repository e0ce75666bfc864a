"""The optional second factor (TOTP, RFC 6238) for analysts and admins."""

from __future__ import annotations

import hmac
import logging
import re
import time
from typing import TYPE_CHECKING

import pyotp

from core.errors import AuthError, NotFoundError
from engine.auth.users import Role, _audit, get_user

if TYPE_CHECKING:
    from engine.context import Context


log = logging.getLogger(__name__)

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
