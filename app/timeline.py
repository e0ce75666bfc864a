"""Rating history, movers and watchlists on the pages (engine/history.py, engine/alerts.py).

The reads are cached under the latest publication id (a new publication is a new key) and under
the client or the caller's scope: tenant data is never cached under a key that lacks the tenant.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import data, ui
from app.charts import BAND_COLOURS
from app.session import AppUser
from engine import alerts, history
from engine.text import clean


def _pub_key() -> int:
    last = history.latest(data.context())
    return 0 if last is None else last.pub_id


@st.cache_data(max_entries=256, show_spinner=False)
def _client_history(db: str, pub_id: int, client_id: str) -> list[history.HistoryPoint]:
    return history.client_history(data._open(db), client_id)


@st.cache_data(max_entries=128, show_spinner=False)
def _movers(
    db: str, pub_id: int, scope: data.ScopeKey
) -> tuple[history.Publication | None, history.Publication | None, list[history.Move]]:
    return history.movers(data._open(db), data.scope_from_key(scope))


def history_chart(points: list[history.HistoryPoint]) -> alt.LayerChart:
    """The score at every publication, points coloured by band, the range as a band behind."""
    frame = pl.DataFrame(
        [
            {
                "published": p.published_at,
                "score": round(p.score, 1),
                "low": round(p.score_low, 1),
                "high": round(p.score_high, 1),
                "band": p.band,
                "what": clean(p.published),
                "change": "" if p.change is None else f"{p.change:+.1f}",
            }
            for p in points
        ]
    ).to_pandas()
    x = alt.X("published:T", title="published", axis=alt.Axis(format="%d %b %H:%M"))
    y_scale = alt.Scale(domain=[0, 100])
    area = (
        alt.Chart(frame)
        .mark_area(opacity=0.15, color="#607d8b", interpolate="step-after")
        .encode(x=x, y=alt.Y("low:Q", scale=y_scale, title="resilience score (0-100)"), y2="high:Q")
    )
    line = (
        alt.Chart(frame)
        .mark_line(color="#37474f", interpolate="step-after")
        .encode(x=x, y=alt.Y("score:Q", scale=y_scale))
    )
    dots = (
        alt.Chart(frame)
        .mark_circle(size=110, opacity=1)
        .encode(
            x=x,
            y=alt.Y("score:Q", scale=y_scale),
            color=alt.Color(
                "band:N",
                scale=alt.Scale(domain=list(BAND_COLOURS), range=list(BAND_COLOURS.values())),
                legend=alt.Legend(orient="bottom", title="band"),
            ),
            tooltip=["published:T", "what:N", "band:N", "score:Q", "change:N", "low:Q", "high:Q"],
        )
    )
    return (area + line + dots).properties(height=240)


def history_section(user: AppUser, client_id: str) -> None:
    """The client's rating at every publication, with the cause of each move, and a follow box."""
    st.subheader("Rating history")
    user.scope.require(client_id)
    points = _client_history(data.db_key(), _pub_key(), client_id)
    if not points:
        st.info("No publication has rated this client yet.")
    else:
        if len(points) > 1:
            st.altair_chart(history_chart(points), width="stretch")
        else:
            st.caption("One publication so far: the chart starts with the next one.")
        table = ui.text_only_rows(
            [
                {
                    "published": p.published_at,
                    "what": p.published + (f" ({p.note})" if p.note != p.published else ""),
                    "by": p.by_user,
                    "band": p.band,
                    "score": round(p.score, 1),
                    "range": f"{p.score_low:.0f}-{p.score_high:.0f}",
                    "change": None if p.change is None else round(p.change, 1),
                    "why it moved": ""
                    if p.change is None
                    else ("; ".join(p.causes) if p.moved else "no move"),
                }
                for p in reversed(points)
            ],
            schema={
                "published": pl.Datetime,
                "what": pl.String,
                "by": pl.String,
                "band": pl.String,
                "score": pl.Float64,
                "range": pl.String,
                "change": pl.Float64,
                "why it moved": pl.String,
            },
        )
        st.dataframe(
            ui.band_styled(table),
            hide_index=True,
            width="stretch",
            column_config={
                "published": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "change": st.column_config.NumberColumn(format="%+.1f", help="score points"),
                "score": st.column_config.NumberColumn(
                    format="%.1f", help="resilience score, 0 (critical) to 100"
                ),
            },
        )
        st.caption(
            "Each row is a publication that re-scored the book: a threat register or rules "
            "version, an exposure list, a roll-back. The causes compare what the two runs used."
        )
    follow_box(user, client_id)


def follow_box(user: AppUser, client_id: str) -> None:
    """Follow or unfollow this client, with the threshold (account managers, client users,
    admins)."""
    if user.role not in alerts.FOLLOWER_ROLES:
        return
    ctx = data.context()
    mine = {f.client_id: f for f in alerts.follows(ctx, user.username)}
    current = mine.get(client_id)
    with st.form(f"follow_{client_id}", border=True):
        st.markdown(
            "**Alerts for this client**: "
            + (
                f"you follow it (alert on a {current.threshold})."
                if current
                else "you do not follow it."
            )
        )
        c1, c2 = st.columns([2, 1])
        kind = c1.radio(
            "Alert me when a publish moves",
            ["its band", "its score by at least"],
            index=0 if current is None or current.min_points is None else 1,
            horizontal=True,
            key=f"follow_kind_{client_id}",
        )
        points = c2.number_input(
            "points",
            min_value=0.1,
            max_value=100.0,
            value=float(current.min_points) if current and current.min_points else 5.0,
            step=0.5,
            key=f"follow_points_{client_id}",
        )
        b1, b2 = st.columns(2)
        save = b1.form_submit_button("Follow" if current is None else "Save the threshold")
        stop = b2.form_submit_button("Unfollow", disabled=current is None)
    if save:
        with ui.errors_shown():
            f = alerts.follow(
                ctx,
                user.username,
                client_id,
                min_points=None if kind == "its band" else float(points),
            )
        st.success(f"You follow {ui.plain(f.client_name)}: an alert on a {f.threshold}.")
    elif stop:
        alerts.unfollow(ctx, user.username, client_id)
        st.success("You no longer follow this client.")


def movers_section(user: AppUser) -> None:
    """The portfolio's movers at the last publication that re-scored the book."""
    before, after, moves = _movers(data.db_key(), _pub_key(), data.scope_key(user.scope))
    st.subheader("Movers since the last publication")
    if after is None or before is None:
        st.caption("No publication since history began: movers appear after the next one.")
        return
    st.caption(
        ui.plain(
            f"{after.what}, published by {after.by_user} on {after.published_at:%Y-%m-%d %H:%M}"
            + (f" ({after.note})" if after.note else "")
            + f", against {before.what}."
        )
    )
    if not moves:
        st.info("No client in your book moved at the last publication.")
        return
    table = ui.text_only_rows(
        [
            {
                "client": m.name,
                "before": f"{m.before.band} {m.before.score:.1f}",
                "band": m.after.band,
                "after": round(m.after.score, 1),
                "change": round(m.change, 1),
                "why": "; ".join(m.causes),
            }
            for m in moves
        ]
    )
    st.dataframe(
        ui.band_styled(table),
        hide_index=True,
        width="stretch",
        column_config={"change": st.column_config.NumberColumn(format="%+.1f")},
    )


def alerted_words(outcome: alerts.PublishOutcome) -> str:
    """' 2 followers alerted (email through ...).' for a publish's flash message."""
    people = sorted({n.username for n in outcome.notified})
    if not people:
        return " No follower's alert threshold was reached."
    return f" {len(people)} follower(s) alerted; {outcome.email}."


def alerts_badge(user: AppUser) -> None:
    """In the sidebar: how many alerts the user has not read."""
    if user.role not in alerts.FOLLOWER_ROLES:
        return
    n = len(alerts.notifications(data.context(), user.username, unread_only=True))
    if n:
        st.markdown(f"**{n} new alert{'s' if n != 1 else ''}**: open Alerts")
