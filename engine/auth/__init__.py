"""Who may sign in, and what each person may see: the auth package.

``engine.auth.users``   users, roles, passwords (argon2id) and ``scope_for``, the tenant filter
``engine.auth.totp``    the optional second factor of analysts and admins
``engine.auth.sso``     single sign-on: an identity provider's claims -> a ``User``
``engine.auth.demo``    the demo accounts and the warning while their public passwords are live

Every name stays importable from ``engine.auth``. The ``resilience users`` commands live with the
other commands, in engine/users_cli.py.
"""

from __future__ import annotations

from core.errors import AuthError, ClaimsRefused
from engine.auth.demo import (
    create_demo_users,
    demo_client_ids,
    demo_password_warning,
    has_demo_password,
    unchanged_demo_passwords,
)
from engine.auth.sso import (
    CLAIM_BOOK,
    CLAIM_CLIENT,
    CLAIM_ROLE,
    MAX_BOOK,
    SSO_USERNAME,
    sso_username,
    user_from_claims,
)
from engine.auth.totp import (
    TOTP_CODE,
    TOTP_ISSUER,
    TOTP_ROLES,
    disable_totp,
    enable_totp,
    has_totp,
    verify_totp,
)
from engine.auth.users import (
    DEMO_CLIENT,
    DEMO_PASSWORDS,
    MAX_PASSWORD,
    MIN_PASSWORD,
    ROLES,
    USERNAME,
    Role,
    User,
    _dummy_hash,
    _hasher,
    _verify,
    active_user,
    add_user,
    authenticate,
    get_user,
    list_users,
    require_role,
    scope_for,
    set_disabled,
    set_password,
)

__all__ = [
    "CLAIM_BOOK",
    "CLAIM_CLIENT",
    "CLAIM_ROLE",
    "DEMO_CLIENT",
    "DEMO_PASSWORDS",
    "MAX_BOOK",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "ROLES",
    "SSO_USERNAME",
    "TOTP_CODE",
    "TOTP_ISSUER",
    "TOTP_ROLES",
    "USERNAME",
    "AuthError",
    "ClaimsRefused",
    "Role",
    "User",
    "_dummy_hash",
    "_hasher",
    "_verify",
    "active_user",
    "add_user",
    "authenticate",
    "create_demo_users",
    "demo_client_ids",
    "demo_password_warning",
    "disable_totp",
    "enable_totp",
    "get_user",
    "has_demo_password",
    "has_totp",
    "list_users",
    "require_role",
    "scope_for",
    "set_disabled",
    "set_password",
    "sso_username",
    "unchanged_demo_passwords",
    "user_from_claims",
    "verify_totp",
]
