"""Scenarios: every client's rating before and after a scenario ("Hormuz closed")."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, data, session, ui
from engine.text import clean


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "account_manager", "analyst", "admin")
    st.title("Scenarios")
    scenarios = ctx.scenarios()
    if not scenarios:
        st.info("No scenarios are defined.")
        return
    ids = sorted(scenarios)
    chosen = st.selectbox(
        "Scenario", ids, format_func=lambda s: clean(scenarios[s].title), key="sc_pick"
    )
    if chosen is None:
        return
    sc = scenarios[chosen]
    st.markdown(ui.plain(sc.description))
    with st.spinner("Scoring the scenario..."), ui.errors_shown():
        rows = data.compare_scenario(chosen, user.scope)
    if not rows:
        st.info("No rated clients in your book.")
        return
    table = pl.DataFrame(
        [
            {
                "client": r.name,
                "id": r.client_id,
                "before": f"{r.before.band} {r.before.score:.1f}",
                "after": f"{r.after.band} {r.after.score:.1f}",
                "change": round(r.delta, 1),
                "band moves": "yes" if r.before.band != r.after.band else "",
            }
            for r in rows
        ]
    )
    moved = sum(1 for r in rows if r.before.band != r.after.band)
    c1, c2, c3 = st.columns(3)
    c1.metric("Clients", len(rows))
    c2.metric("Change a band", moved)
    c3.metric("Largest fall", f"{min(r.delta for r in rows):+.1f}")
    st.dataframe(
        ui.text_only(table),
        hide_index=True,
        width="stretch",
        column_config={"change": st.column_config.NumberColumn(format="%+.1f")},
    )
    st.altair_chart(
        charts.before_after_chart(
            [
                {"client": clean(r.name), "before": r.before.score, "after": r.after.score}
                for r in rows
            ]
        ),
        width="stretch",
    )
    st.caption(
        "Grey: the current rating; red: under the scenario. Scenarios change threats for "
        "one run only; the published ratings are not touched."
    )


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
