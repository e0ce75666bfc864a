"""The `resilience history`, `alerts`, `follow`, `unfollow` and `following` commands.

``history CLIENT`` prints the client's rating at every publication with the cause of each move;
``alerts`` lists the notifications publishes made (engine/alerts.py); ``follow`` and
``unfollow`` keep a user's watchlist. engine/cli.py registers these commands on its app. Client
and user text is printed as text (no console markup or control character takes effect).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engine import cli_base as base
from engine.text import clean

# registered on the main app by engine/cli.py (top-level commands: history, alerts, follow, ...)
commands = typer.Typer()

UserOption = Annotated[
    str,
    typer.Option("--user", help="The app user (account manager, client user or admin)."),
]


def _t(value: object) -> str:
    return clean(str(value))


@commands.command("history")
def history_cmd(
    client: Annotated[str, typer.Argument(help="Client id (see `resilience clients`).")],
    json_out: base.JsonOption = False,
) -> None:
    """A client's rating at every publication, and why it moved each time."""
    from engine import history

    with base.session() as ctx:
        points = history.client_history(ctx, client)
        name = ctx.client(client, base.everyone()).name
    if json_out:
        base.emit({"client_id": client, "name": name, "history": history.history_json(points)})
        return
    if not points:
        base.out.print(f"{_t(name)} has no rating in any publication yet.", markup=False)
        return
    t = Table(title=f"Rating history of {_t(name)}")
    for col in ("published", "what", "by", "band", "score (range)", "change", "why it moved"):
        t.add_column(col)
    for p in points:
        change = "" if p.change is None else f"{p.change:+.1f}"
        if p.band_before and p.band_before != p.band:
            change += f" ({p.band_before}->{p.band})"
        why = "" if p.change is None else "; ".join(p.causes) if p.moved else "no move"
        t.add_row(
            f"{p.published_at:%Y-%m-%d %H:%M}",
            _t(p.published + (f" ({p.note})" if p.note and p.note != p.published else "")),
            _t(p.by_user),
            p.band,
            f"{p.score:.1f} ({p.score_low:.1f}-{p.score_high:.1f})",
            change,
            _t(why),
        )
    base.out.print(t)


@commands.command("alerts")
def alerts_cmd(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's alerts (default: everyone's).")
    ] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only alerts not yet read.")] = False,
    json_out: base.JsonOption = False,
) -> None:
    """The alerts publishes sent to followers, newest first, with the cause and the email."""
    from engine import alerts, mail

    with base.session() as ctx:
        found = alerts.notifications(ctx, user, unread_only=unread)
    config = mail.smtp_config()
    if json_out:
        base.emit(
            {
                "smtp": config.describe() if config else None,
                "alerts": [n.to_dict() for n in found],
            }
        )
        return
    base.out.print(
        f"Email: through {config.describe()}."
        if config
        else "Email: no SMTP server is configured (RESILIENCE_SMTP_HOST); alerts are in the "
        "app only.",
        markup=False,
    )
    if not found:
        base.out.print("No alerts.", markup=False)
        return
    t = Table(title="Alerts")
    for col in ("at", "to", "", "client moved", "why", "email"):
        t.add_column(col)
    for n in found:
        t.add_row(
            f"{n.created_at:%Y-%m-%d %H:%M}",
            _t(n.username),
            "" if n.read else "new",
            _t(n.headline),
            _t(n.cause),
            _t(n.email_status),
        )
    base.out.print(t)


@commands.command("follow")
def follow_cmd(
    client: Annotated[str, typer.Argument(help="Client id to follow.")],
    user: UserOption,
    points: Annotated[
        float | None,
        typer.Option(
            "--points",
            help="Alert on a score move of at least this many points (default: a band change).",
        ),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Send this user's alerts to this address.")
    ] = None,
) -> None:
    """Follow a client for a user: an alert when a publish moves its band (or score)."""
    from engine import alerts

    with base.session() as ctx:
        f = alerts.follow(ctx, user, client, min_points=points)
        if email is not None:
            alerts.set_email(ctx, user, email)
        address = alerts.email_of(ctx, user)
    base.out.print(
        f"{_t(user)} follows {_t(f.client_name)}: an alert on a {f.threshold}; "
        + (f"email to {_t(address)}." if address else "in the app only (no email address set)."),
        markup=False,
    )


@commands.command("unfollow")
def unfollow_cmd(
    client: Annotated[str, typer.Argument(help="Client id.")],
    user: UserOption,
) -> None:
    """Stop a user's alerts for a client."""
    from engine import alerts

    with base.session() as ctx:
        was = alerts.unfollow(ctx, user, client)
    base.out.print(
        f"{_t(user)} no longer follows {_t(client)}."
        if was
        else f"{_t(user)} did not follow {_t(client)}; nothing changed.",
        markup=False,
    )


@commands.command("following")
def following_cmd(
    user: Annotated[str | None, typer.Option("--user", help="Only this user.")] = None,
    json_out: base.JsonOption = False,
) -> None:
    """Who follows which client, with each threshold."""
    from engine import alerts

    with base.session() as ctx:
        found = alerts.follows(ctx, user)
    if json_out:
        base.emit([f.to_dict() for f in found])
        return
    if not found:
        base.out.print("Nobody follows a client yet.", markup=False)
        return
    t = Table(title="Watchlists")
    for col in ("user", "client", "alert on", "since"):
        t.add_column(col)
    for f in found:
        t.add_row(_t(f.username), _t(f.client_name), f.threshold, f"{f.created_at:%Y-%m-%d}")
    base.out.print(t)
