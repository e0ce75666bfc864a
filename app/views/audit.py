"""Audit log (admins): who published or rolled back which document and version, when and why;
client and account changes too. Filters by kind of document, user and action; latest first."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data, session, ui
from engine.audit import ACTIONS, KINDS

LIMITS = (50, 200, 1000)
ALL = "(all)"


def main() -> None:
    ctx = data.context()
    session.require(ctx, "admin")
    st.title("Audit log")
    st.caption(
        "Every publish and roll-back of the threat register, the rules, a scenario or a client's "
        "exposure list, every client change and every account change: who, when, which version "
        "and why. Entries are never changed or deleted."
    )
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    kind = c1.selectbox("Document", [ALL, *KINDS], key="audit_kind")
    user = c2.selectbox("User", [ALL, *ctx.audit_users()], key="audit_user")
    action = c3.selectbox("Action", [ALL, *ACTIONS, "client", "user"], key="audit_action")
    limit = c4.selectbox("Show", LIMITS, key="audit_limit")
    with ui.errors_shown():
        shown = ctx.audit_entries(
            kind=None if kind == ALL else kind,
            user=None if user == ALL else user,
            action=None if action == ALL else action,
            limit=int(limit or LIMITS[0]),
        )
    if not shown:
        st.info("No entry matches these filters.")
        return
    st.dataframe(
        ui.text_only(
            pl.DataFrame(
                [
                    {
                        "at": f"{e.at:%Y-%m-%d %H:%M:%S}",
                        "user": e.user,
                        "action": e.action,
                        "document": e.document,
                        "version": e.version,
                        "note": e.note,
                    }
                    for e in shown
                ],
                schema={
                    "at": pl.String,
                    "user": pl.String,
                    "action": pl.String,
                    "document": pl.String,
                    "version": pl.Int64,
                    "note": pl.String,
                },
            )
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(f"{len(shown)} entries, latest first.")


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
