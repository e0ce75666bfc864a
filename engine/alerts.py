"""Watchlists and alerts: who follows which client, and what they are told when it moves.

An account manager (a client in its book), a client user (its own client only) or an admin
follows a client with a threshold: a band change, or a score move of at least N points. Every
publish (register, rules, scenario, exposure list; published or rolled back) calls
``after_publish`` once: it records the publication (engine/history.py), compares each followed
client's rating in the run before and the run after, and for every follow whose threshold the
move reaches writes an in-app notification with the cause and sends an email through the
configured SMTP server (engine/mail.py); with no server configured the notification says it was
in the app only. A failed email never undoes the publish: the notification records why.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine import history, mail
from engine.auth import active_user, scope_for
from engine.errors import AccessDenied, ResilienceError
from engine.models import Rating
from engine.store import Scope
from engine.text import clean

if TYPE_CHECKING:
    from engine.context import Context

log = logging.getLogger(__name__)

FOLLOWER_ROLES = ("client", "account_manager", "admin")
EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$")


class AlertError(ResilienceError):
    """A follow or an alert setting cannot be made as asked."""


@dataclass(frozen=True)
class Follow:
    username: str
    client_id: str
    client_name: str
    min_points: float | None  # None: a band change
    created_at: dt.datetime

    @property
    def threshold(self) -> str:
        if self.min_points is None:
            return "band change"
        return f"score moves {self.min_points:g} points or more"

    def reached(self, before: Rating, after: Rating) -> bool:
        if self.min_points is None:
            return before.band != after.band
        return abs(after.score - before.score) >= self.min_points - 1e-9

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "client_id": self.client_id,
            "client": self.client_name,
            "min_points": self.min_points,
            "threshold": self.threshold,
            "since": self.created_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class Notification:
    notification_id: int
    username: str
    client_id: str
    client_name: str
    created_at: dt.datetime
    pub_id: int
    run_before: int
    run_after: int
    band_before: str
    band_after: str
    score_before: float
    score_after: float
    cause: str
    email_status: str
    read: bool

    @property
    def change(self) -> float:
        return self.score_after - self.score_before

    @property
    def headline(self) -> str:
        move = (
            f"band {self.band_before} -> {self.band_after}"
            if self.band_before != self.band_after
            else f"band {self.band_after} unchanged"
        )
        return (
            f"{self.client_name}: {move}, score {self.score_before:.1f} -> "
            f"{self.score_after:.1f} ({self.change:+.1f} points)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "username": self.username,
            "client_id": self.client_id,
            "client": self.client_name,
            "at": self.created_at.isoformat(timespec="seconds"),
            "band_before": self.band_before,
            "band_after": self.band_after,
            "score_before": round(self.score_before, 2),
            "score_after": round(self.score_after, 2),
            "change": round(self.change, 2),
            "cause": self.cause,
            "email": self.email_status,
            "read": self.read,
            "runs": [self.run_before, self.run_after],
            "publication": self.pub_id,
        }


# -- following -----------------------------------------------------------------------------------


def _follower(ctx: Context, username: str) -> Scope:
    user = active_user(ctx, username)
    if user is None:
        raise AlertError(f"no active user {username!r}; `resilience users list` shows them")
    if user.role not in FOLLOWER_ROLES:
        raise AlertError(
            f"{username} has the {user.role.replace('_', ' ')} role: account managers, client "
            "users and admins follow clients"
        )
    return scope_for(user)


def follow(
    ctx: Context, username: str, client_id: str, *, min_points: float | None = None
) -> Follow:
    """Follow a client (or change the threshold of a follow). ``min_points`` None: a band
    change; else a score move of at least that many points (0.1 to 100)."""
    scope = _follower(ctx, username)
    try:
        scope.require(client_id)
    except AccessDenied:
        raise AccessDenied(
            f"client {client_id!r} is not available to {username}: a client user follows only "
            "its own client, an account manager the clients in its book"
        ) from None
    ctx.client(client_id, Scope.of(client_id))
    if min_points is not None and not 0.1 <= min_points <= 100:
        raise AlertError(
            f"a score threshold of {min_points:g} points is outside 0.1-100; give the smallest "
            "move worth an alert, for example 5"
        )
    with ctx.store.transaction() as cur:
        cur.execute(
            "DELETE FROM follows WHERE username = $u AND client_id = $c",
            {"u": username, "c": client_id},
        )
        cur.execute(
            "INSERT INTO follows VALUES ($u, $c, $p, now())",
            {"u": username, "c": client_id, "p": min_points},
        )
    return next(f for f in follows(ctx, username) if f.client_id == client_id)


def unfollow(ctx: Context, username: str, client_id: str) -> bool:
    """Stop following; False when the user did not follow the client."""
    found = ctx.store.one(
        "SELECT count(*) FROM follows WHERE username = $u AND client_id = $c",
        {"u": username, "c": client_id},
    )
    ctx.store.execute(
        "DELETE FROM follows WHERE username = $u AND client_id = $c",
        {"u": username, "c": client_id},
    )
    return bool(found)


def follows(ctx: Context, username: str | None = None) -> list[Follow]:
    rows = ctx.store.rows(
        "SELECT f.username, f.client_id, c.name, f.min_points, f.created_at FROM follows f "
        "JOIN clients c USING (client_id) WHERE $u IS NULL OR f.username = $u "
        "ORDER BY f.username, c.name",
        {"u": username},
    )
    return [Follow(*r) for r in rows]


def set_email(ctx: Context, username: str, email: str | None) -> None:
    """Where a user's alert emails go (None or empty: in the app only)."""
    _follower(ctx, username)
    address = (email or "").strip()
    if address and not EMAIL.match(address):
        raise AlertError(
            f"{clean(address)!r} is not an email address; write it as name@example.com"
        )
    with ctx.store.transaction() as cur:
        cur.execute("DELETE FROM alert_addresses WHERE username = $u", {"u": username})
        if address:
            cur.execute(
                "INSERT INTO alert_addresses VALUES ($u, $e, now())", {"u": username, "e": address}
            )


def email_of(ctx: Context, username: str) -> str | None:
    v = ctx.store.one("SELECT email FROM alert_addresses WHERE username = $u", {"u": username})
    return None if v is None else str(v)


# -- notifications -------------------------------------------------------------------------------


def notifications(
    ctx: Context, username: str | None = None, *, unread_only: bool = False
) -> list[Notification]:
    """Notifications, newest first: one user's (and only clients it may still see), or all."""
    rows = ctx.store.rows(
        "SELECT n.notification_id, n.username, n.client_id, coalesce(c.name, n.client_id), "
        "n.created_at, n.pub_id, n.run_before, n.run_after, n.band_before, n.band_after, "
        "n.score_before, n.score_after, n.cause, n.email_status, n.read_at IS NOT NULL "
        "FROM notifications n LEFT JOIN clients c USING (client_id) "
        "WHERE ($u IS NULL OR n.username = $u) AND (NOT $unread OR n.read_at IS NULL) "
        "ORDER BY n.notification_id DESC",
        {"u": username, "unread": unread_only},
    )
    found = [Notification(*r) for r in rows]
    if username is None:
        return found
    user = active_user(ctx, username)
    if user is None:
        return []
    scope = scope_for(user)  # a client taken out of the book: its alerts go too
    return [n for n in found if scope.allows(n.client_id)]


def mark_read(ctx: Context, username: str, ids: list[int] | None = None) -> int:
    """Mark a user's notifications read (all of them, or ``ids``); how many were unread."""
    p = {"u": username, "ids": ids}
    n = ctx.store.one(
        "SELECT count(*) FROM notifications WHERE username = $u AND read_at IS NULL "
        "AND ($ids IS NULL OR notification_id IN (SELECT unnest($ids)))",
        p,
    )
    ctx.store.execute(
        "UPDATE notifications SET read_at = now() WHERE username = $u AND read_at IS NULL "
        "AND ($ids IS NULL OR notification_id IN (SELECT unnest($ids)))",
        p,
    )
    return int(n or 0)


# -- after a publish -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishOutcome:
    publication: history.Publication
    notified: list[Notification]
    email: str  # how alert email is configured, in words


def _email_body(n: Notification, publication: history.Publication, causes: list[str]) -> str:
    lines = [
        n.headline + ".",
        "",
        f"What changed: {publication.what}, published by {publication.by_user} at "
        f"{publication.published_at:%Y-%m-%d %H:%M} UTC"
        + (f" ({publication.note})" if publication.note else "")
        + ".",
        "",
        "Why the rating moved:",
        *[f"- {c}" for c in causes],
        "",
        f"Resilience score now {n.score_after:.1f} of 100 (0 critical, 100 resilient), band "
        f"{n.band_after}.",
        "Open the Client page of the app for the drivers; the Alerts page lists every alert.",
        "You get this email because you follow this client; change that on the Alerts page.",
    ]
    return "\n".join(clean(line) for line in lines)


def after_publish(
    ctx: Context,
    document: str,
    version: int | None,
    user: str,
    *,
    note: str = "",
    subject: str | None = None,
) -> PublishOutcome:
    """Record a publication and alert the followers whose threshold its moves reach.

    Call it once, right after the publish or roll-back has committed: ``document`` is
    register | rules | scenario | exposures, ``version`` the version made current, ``user`` who
    did it, ``subject`` the scenario or client id."""
    before = history.latest(ctx)
    pub = history.record(ctx, document, version, user, note=note, subject=subject)
    try:
        config = mail.smtp_config()
        no_mail = "no SMTP server is configured"
    except ResilienceError as exc:  # a bad setting must not undo the publish: say it instead
        config, no_mail = None, f"the SMTP setting is wrong ({exc})"
    email_words = (
        f"email through {config.describe()}"
        if config
        else f"{no_mail} (RESILIENCE_SMTP_HOST): alerts are in the app only"
    )
    if before is None or before.run_id == pub.run_id:
        return PublishOutcome(pub, [], email_words)
    run_a, run_b = ctx.run_info(before.run_id), ctx.run_info(pub.run_id)
    ratings_a = {r.client_id: r for r in ctx.ratings(run_a.run_id, Scope.everything())}
    ratings_b = {r.client_id: r for r in ctx.ratings(run_b.run_id, Scope.everything())}
    made: list[Notification] = []
    causes_of: dict[str, list[str]] = {}
    for f in follows(ctx):
        a, b = ratings_a.get(f.client_id), ratings_b.get(f.client_id)
        if a is None or b is None or not f.reached(a, b):
            continue
        follower = active_user(ctx, f.username)
        if follower is None or not scope_for(follower).allows(f.client_id):
            continue  # disabled, or the client left the book since the follow
        if f.client_id not in causes_of:
            causes_of[f.client_id] = history.causes(
                ctx, run_a, run_b, f.client_id, until=pub.published_at
            )
        why = causes_of[f.client_id]
        cause = "; ".join(why) + f" (published by {pub.by_user})"
        address = email_of(ctx, f.username)
        if config is None:
            status = f"in-app only: {no_mail}"
        elif address is None:
            status = "in-app only: no email address set on the Alerts page"
        else:
            status = f"to be sent to {address}"
        with ctx.store.transaction() as cur:
            cur.execute(
                "INSERT INTO notifications SELECT coalesce(max(notification_id), 0) + 1, $u, $c, "
                "now(), $pub, $ra, $rb, $ba, $bb, $sa, $sb, $cause, $status, NULL "
                "FROM notifications",
                {
                    "u": f.username,
                    "c": f.client_id,
                    "pub": pub.pub_id,
                    "ra": run_a.run_id,
                    "rb": run_b.run_id,
                    "ba": a.band,
                    "bb": b.band,
                    "sa": a.score,
                    "sb": b.score,
                    "cause": cause,
                    "status": status,
                },
            )
            got = cur.execute("SELECT max(notification_id) FROM notifications").fetchall()
            nid = int(got[0][0])
        n = next(x for x in notifications(ctx) if x.notification_id == nid)
        if config is not None and address is not None:
            status = _send(config, address, n, pub, why)
            ctx.store.execute(
                "UPDATE notifications SET email_status = $s WHERE notification_id = $n",
                {"s": status, "n": nid},
            )
            n = next(x for x in notifications(ctx) if x.notification_id == nid)
        made.append(n)
    return PublishOutcome(pub, made, email_words)


def _send(
    config: mail.SmtpConfig,
    address: str,
    n: Notification,
    pub: history.Publication,
    why: list[str],
) -> str:
    subject = clean(f"Resilience alert: {n.headline}")
    try:
        mail.send(config, address, subject, _email_body(n, pub, why))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("alert email to %s failed: %s", address, exc)
        return f"not sent to {address}: the SMTP server {config.describe()} answered {exc}"
    return f"sent to {address}"
