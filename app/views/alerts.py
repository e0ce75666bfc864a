"""Alerts: what publishes did to the clients you follow, your watchlist and where emails go."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data, session, timeline, ui
from engine import alerts, mail
from engine.errors import ResilienceError
from engine.text import clean


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "client", "account_manager", "admin")
    st.title("Alerts")
    st.caption(
        "Follow a client and you are told here (and by email, when the server sends email) each "
        "time a publish moves its band, or its score by the points you choose: a new brief, a "
        "rules change, a new exposure list or a roll-back."
    )
    notices(user)
    watchlist(user)
    email_settings(user)


def notices(user: session.AppUser) -> None:
    ctx = data.context()
    found = alerts.notifications(ctx, user.username)
    unread = [n for n in found if not n.read]
    st.subheader(f"Notifications ({len(unread)} new)" if unread else "Notifications")
    if not found:
        st.info("No alerts yet. Follow a client below to be told when its rating moves.")
        return
    for n in found[:50]:
        with st.container(border=True):
            tag = "New · " if not n.read else ""
            st.markdown(f"**{tag}{ui.plain(n.headline)}**")
            st.markdown(ui.plain(n.cause))
            st.caption(ui.plain(f"{n.created_at:%Y-%m-%d %H:%M} UTC · email: {n.email_status}"))
    if unread and st.button("Mark all as read", key="alerts_read"):
        alerts.mark_read(ctx, user.username)
        st.rerun()


def watchlist(user: session.AppUser) -> None:
    ctx = data.context()
    st.subheader("Clients you follow")
    mine = alerts.follows(ctx, user.username)
    if mine:
        st.dataframe(
            ui.text_only_rows(
                [
                    {"client": f.client_name, "alert on": f.threshold, "since": f.created_at}
                    for f in mine
                ],
                schema={"client": pl.String, "alert on": pl.String, "since": pl.Datetime},
            ),
            hide_index=True,
            width="stretch",
            column_config={"since": st.column_config.DatetimeColumn(format="YYYY-MM-DD")},
        )
    else:
        st.caption("You follow no client yet.")
    clients = ctx.clients(user.scope)
    if not clients:
        return
    names = {c.client_id: c.name for c in clients}
    chosen = st.selectbox(
        "Client",
        list(names),
        format_func=lambda c: clean(names.get(c, c)),
        key="alerts_client",
    )
    if chosen is not None:
        timeline.follow_box(user, str(chosen))


def email_settings(user: session.AppUser) -> None:
    ctx = data.context()
    st.subheader("Email")
    try:
        config = mail.smtp_config()
    except ResilienceError as exc:
        st.error(ui.plain(str(exc)))
        config = None
    if config is None:
        st.info(
            "This server sends no email (no SMTP server is configured): alerts are shown on "
            "this page only."
        )
    else:
        st.caption(ui.plain(f"Alert emails are sent through {config.describe()}."))
    with st.form("alerts_email"):
        address = st.text_input(
            "Send my alerts to", value=alerts.email_of(ctx, user.username) or "", max_chars=254
        )
        if st.form_submit_button("Save the address"):
            with ui.errors_shown():
                alerts.set_email(ctx, user.username, address)
            st.success(
                f"Alerts go to {ui.plain(address.strip())}."
                if address.strip()
                else "No email address: alerts are shown here only."
            )


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
