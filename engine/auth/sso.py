"""Single sign-on: an identity provider's verified claims -> a ``User`` of this product."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from core.errors import ClaimsRefused
from engine.auth.users import ROLES, Role, User, _everyone, get_user

if TYPE_CHECKING:
    from engine.context import Context


log = logging.getLogger(__name__)

CLAIM_ROLE = "resilience_role"
CLAIM_CLIENT = "resilience_client"
CLAIM_BOOK = "resilience_book"
# e-mail addresses are common sign-on names, so '+' is allowed here (not for local users)
SSO_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")
MAX_BOOK = 1000


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
    known = {c.client_id for c in ctx.clients(scope=_everyone())}
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
