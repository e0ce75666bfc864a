"""The demo accounts ``resilience demo`` creates once, and the warning while their public
passwords are live."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import NotFoundError
from engine.auth.users import (
    DEMO_CLIENT,
    DEMO_PASSWORDS,
    User,
    _everyone,
    _verify,
    add_user,
    get_user,
)

if TYPE_CHECKING:
    from engine.context import Context


log = logging.getLogger(__name__)


def demo_client_ids() -> list[str]:
    """The client ids of the demo book (engine/demo/clients.yaml), whatever else is loaded.

    Read here rather than through engine/book.py, which imports the whole facade: the alerts
    that every publish sends (engine/alerts.py) import this package."""
    import yaml

    path = Path(__file__).resolve().parent.parent / "demo" / "clients.yaml"
    doc = yaml.safe_load(path.read_text("utf-8")) or []
    return [str(c["client_id"]) for c in doc]


def create_demo_users(ctx: Context) -> list[User]:
    """Create the demo users that do not exist yet; return the ones created now.

    meridian (client of meridian-basin-petroleum), am (account manager of the demo book's clients
    only), analyst, admin, with the public passwords in ``DEMO_PASSWORDS``. A user of one of these
    names that already exists is never touched: not re-enabled, not given the demo password again,
    and am's book is not extended to clients loaded since (real clients are never added to it).
    """
    demo_ids = demo_client_ids()
    loaded = {c.client_id for c in ctx.clients(scope=_everyone())}
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
