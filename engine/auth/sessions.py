"""Signed-out browser sessions, kept in the store so that every app process refuses them.

A sign-in remembered by the browser's cookie (app/cookie.py) names a random session id. Signing
out revokes that id here, in the store every app process of a deployment shares (a DuckDB file,
or PostgreSQL for several servers), so a copy of the token taken before is refused by every
process, not only by the one that signed out. The store holds the id's SHA-256, never the id.
A revocation is kept until the token would have lapsed anyway (its idle time after the
sign-out); older rows are removed when a new one is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.context import Context

# Reads: nothing. Writes: revoked_sessions (one row, replaced if the id was revoked before).
_REVOKE = "INSERT OR REPLACE INTO revoked_sessions VALUES ($h, $u, $at, $until)"
# Reads and writes: revoked_sessions (the rows whose tokens have lapsed anyway).
_PRUNE = "DELETE FROM revoked_sessions WHERE expires_at < $now"
# Reads: revoked_sessions. Produces: 1 when the session id was revoked.
_REVOKED = "SELECT count(*) FROM revoked_sessions WHERE sid_hash = $h"


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def revoke_session(ctx: Context, sid: str, username: str, lapse_s: float) -> None:
    """Refuse the session ``sid`` of ``username`` from now on, in every process of the store;
    ``lapse_s``: how long after now its token could still be presented (its idle time)."""
    now = _now()
    until = now + dt.timedelta(seconds=max(1.0, lapse_s))
    with ctx.store.transaction() as cur:
        cur.execute(_PRUNE, {"now": now})
        cur.execute(_REVOKE, {"h": _hash(sid), "u": username, "at": now, "until": until})


def session_revoked(ctx: Context, sid: str) -> bool:
    """True when the session ``sid`` was signed out (by any process of the store)."""
    return bool(ctx.store.one(_REVOKED, {"h": _hash(sid)}))
