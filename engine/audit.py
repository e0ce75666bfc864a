"""The audit log: who published or rolled back which document, version, when and why.

Every publish and roll-back of a versioned document (the threat register, the scoring rules, a
scenario, a client's exposure list), every client change and every account change writes one
entry, in the same transaction as the change itself, so an entry exists exactly when the change
does. Entries are never changed or deleted (engine/sql/schema_008_audit.sql).

The CLI records its user as the operating-system user, or the name given with ``--as``; the app
records the signed-in user.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import ResilienceError, RuleError

__all__ = [
    "ACTIONS",
    "KINDS",
    "USERS",
    "AuditEvent",
    "entries",
    "os_user",
    "record",
    "record_step",
    "required_note",
]

if TYPE_CHECKING:
    from engine.store import Store

KINDS = ("register", "rules", "scenario", "exposures", "client", "user")

ACTIONS = ("publish", "rollback", "draft", "retire")

# Reads: audit_events. Produces: the latest entries first, at most $limit, of one kind of
# document, one user and one action when these are given (a client.* or user.* action is matched
# by its prefix: 'client' matches client.add, client.edit, client.remove).
_ENTRIES = """
SELECT entry_id, logged_at, username, action, kind, subject, version, note, detail
FROM audit_events
WHERE ($kind IS NULL OR kind = $kind)
  AND ($user IS NULL OR username = $user)
  AND ($action IS NULL OR action = $action OR starts_with(action, $action || '.'))
ORDER BY entry_id DESC
LIMIT $limit
"""

# Reads: audit_events. Produces: every user the log names, in order.
USERS = "SELECT DISTINCT username FROM audit_events ORDER BY username"


@dataclass(frozen=True)
class AuditEvent:
    entry_id: int
    at: dt.datetime
    user: str
    action: str
    kind: str
    subject: str
    version: int | None
    note: str
    detail: dict[str, Any]

    @property
    def document(self) -> str:
        """What the entry is about: ``register``, ``rules``, ``scenario hormuz-closed``..."""
        return f"{self.kind} {self.subject}" if self.subject else self.kind

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "at": self.at.isoformat(timespec="seconds"),
            "action": self.action,
            "document": self.document,
            "kind": self.kind,
            "version": self.version,
            "note": self.note,
        }


def os_user() -> str:
    """Who runs a command: $RESILIENCE_USER, else the operating-system login name."""
    env = os.environ.get("RESILIENCE_USER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def record(
    cur: Any,
    *,
    user: str,
    action: str,
    kind: str,
    subject: str = "",
    version: int | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """One entry, written with the caller's cursor inside the change's own transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    if not user.strip():
        raise ResilienceError("a change needs the name of who makes it")
    cur.execute(
        "INSERT INTO audit_events (entry_id, logged_at, username, action, kind, subject, version, "
        "note, detail) VALUES ($id, now(), $user, $action, $kind, $subject, $version, $note, "
        "$detail)",
        {
            "id": entry_id(),
            "user": user.strip(),
            "action": action,
            "kind": kind,
            "subject": subject,
            "version": version,
            "note": note,
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        },
    )


_last_id = 0
_id_lock = threading.Lock()


def entry_id() -> int:
    """A unique, time-ordered entry id: the wall clock in nanoseconds, strictly increasing in
    this process. It works the same on both stores (an attached PostgreSQL database cannot take a
    DuckDB sequence); two processes would need the same nanosecond to clash, and then the
    primary key refuses the second entry with its change, which is retried or reported."""
    global _last_id
    with _id_lock:
        _last_id = max(time.time_ns(), _last_id + 1)
        return _last_id


def entries(
    store: Store,
    *,
    kind: str | None = None,
    user: str | None = None,
    action: str | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The latest entries first; ``kind``, ``user``, ``action``: only those entries."""
    if kind is not None and kind not in KINDS:
        raise ResilienceError(f"unknown document kind {kind!r}; use one of {', '.join(KINDS)}")
    if limit < 1:
        raise ResilienceError(f"--limit {limit}: give a number of entries, 1 or more")
    params = {"kind": kind, "user": user or None, "action": action or None, "limit": limit}
    rows = store.rows(_ENTRIES, params)
    return [
        AuditEvent(
            entry_id=int(r[0]),
            at=r[1],
            user=r[2],
            action=r[3],
            kind=r[4],
            subject=r[5],
            version=None if r[6] is None else int(r[6]),
            note=r[7],
            detail=json.loads(r[8]),
        )
        for r in rows
    ]


def required_note(note: str, what: str) -> str:
    text = note.strip()
    if not text:
        why = "why" if what.startswith("rolling back") else "what changed and why"
        raise RuleError(f"{what} needs a note saying {why}; nothing was changed")
    return text


def record_step(
    cur: Any,
    action: str,
    kind: str,
    version: int | None,
    *,
    note: str,
    by: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry of one step of the workflow (draft, publish, roll-back, retire), written
    inside the step's own transaction: who (``by``, else the command's user), what, why."""
    record(
        cur,
        user=by.strip() or os_user(),
        action=action,
        kind=kind,
        subject=subject,
        version=version,
        note=note,
        detail=detail,
    )
