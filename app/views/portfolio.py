"""Portfolio: every client in the user's scope ranked by rating, with a map of all exposures."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data, mapview, session, ui
from engine.insights import MapData
from engine.text import clean


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "account_manager", "analyst", "admin")
    st.title("Portfolio")
    with ui.errors_shown():
        run = data.current_run()
        rows, prev_id = data.portfolio(data.db_key(), run.run_id, data.scope_key(user.scope))
    if not rows:
        st.info("No rated clients in your book yet.")
        return
    st.caption(
        f"Run {run.run_id} as of {run.as_of} · threat register v{run.register_version} · rules "
        f"v{run.rules_version}"
        + (f" · change compared with run {prev_id}" if prev_id else " · no earlier run to compare")
    )
    has_change = any(r.change is not None for r in rows)
    table = pl.DataFrame(
        [
            {
                "rank": r.rank,
                "client": r.rating.name,
                "band": r.rating.band,
                "score": round(r.rating.score, 1),
                "range": f"{r.rating.band_low}-{r.rating.band_high} "
                f"({r.rating.score_low:.0f}-{r.rating.score_high:.0f})",
                "change": None if r.change is None else round(r.change, 1),
                "top driver": r.driver,
                "sector": r.rating.sector,
                "HQ": r.rating.hq_country,
                "id": r.rating.client_id,
            }
            for r in rows
        ],
        schema={
            "rank": pl.Int64,
            "client": pl.String,
            "band": pl.String,
            "score": pl.Float64,
            "range": pl.String,
            "change": pl.Float64,
            "top driver": pl.String,
            "sector": pl.String,
            "HQ": pl.String,
            "id": pl.String,
        },
    )
    if not has_change:
        table = table.drop("change")
    with st.container(border=True):
        c1, c2, c3 = st.columns(3)
        sectors = c1.multiselect("Sector", sorted(set(table["sector"].to_list())), key="pf_sector")
        bands = c2.multiselect("Band", sorted({r.rating.band for r in rows}), key="pf_band")
        hqs = c3.multiselect("HQ", sorted(set(table["HQ"].to_list())), key="pf_hq")
    shown = table
    if sectors:
        shown = shown.filter(pl.col("sector").is_in(sectors))
    if bands:
        shown = shown.filter(pl.col("band").is_in(bands))
    if hqs:
        shown = shown.filter(pl.col("HQ").is_in(hqs))
    counts = {b: shown.filter(pl.col("band") == b).height for b in "ABCDE"}
    cols = st.columns(6)
    cols[0].metric("Clients", shown.height)
    for i, b in enumerate("ABCDE", start=1):
        cols[i].metric(f"Band {b}", counts[b])
    st.dataframe(
        ui.band_styled(shown),
        hide_index=True,
        width="stretch",
        column_config={
            "score": st.column_config.NumberColumn(
                "score", format="%.1f", help="resilience score, 0 (critical) to 100"
            ),
            "band": st.column_config.TextColumn("band", help="A resilient ... E critical"),
            "change": st.column_config.NumberColumn(
                "change", format="%+.1f", help="score change since the previous run"
            ),
        },
    )
    ids = shown["id"].to_list()
    if ids:
        names = dict(zip(shown["id"].to_list(), shown["client"].to_list(), strict=True))
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = c1.selectbox(
            "Open a client", ids, format_func=lambda c: clean(names.get(c, c)), key="pf_open"
        )
        if c2.button("Open client page", key="pf_open_btn") and chosen in ids:
            st.switch_page("views/client.py", query_params={"client": chosen})
    st.subheader("Map: every site and sea route in the book")
    with ui.errors_shown():
        md = data.map_for(user.scope, run.run_id)
    keep = set(shown["id"].to_list())
    md = MapData(
        assets=md.assets.filter(pl.col("client_id").is_in(keep)),
        routes=md.routes.filter(pl.col("client_id").is_in(keep)),
        chokepoints=md.chokepoints,
    )
    mapview.show(md, run.register_version, key="portfolio_map", show_client=True)


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
