"""Portfolio: every client in the user's scope ranked by rating, one search box, filters by
sector, band, headquarters, threat, region and score, and a map of all exposures."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data, exports, mapview, session, timeline, ui, words
from engine.insights import MapData
from engine.text import clean

HELP = (
    "Every client in your book, worst first. Band A resilient to E critical; the score runs from "
    "0 (critical) to 100 (no threat reaches it); the range shows the scores the brief's "
    "likelihood words allow; the top driver is the threat behind the largest share of the "
    "client's expected disruption. Search finds a client, site, threat or place; the filters "
    "narrow the table and the map."
)


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "account_manager", "analyst", "admin")
    st.title("Portfolio", help=HELP)
    with ui.errors_shown():
        run = data.current_run()
        rows, prev_id = data.portfolio(data.db_key(), run.run_id, data.scope_key(user.scope))
        index = data.index_for(user.scope, run.run_id)
        md = data.map_for(user.scope, run.run_id)
    if not rows:
        st.info("No rated clients in your book yet.")
        return
    st.caption(
        f"Run {run.run_id} as of {run.as_of} · threat register v{run.register_version} · rules "
        f"v{run.rules_version}"
        + (f" · change compared with run {prev_id}" if prev_id else " · no earlier run to compare")
    )
    exports.portfolio_download(user, run.run_id)
    search(rows, index, md)
    has_change = any(r.change is not None for r in rows)
    table = pl.DataFrame(
        [
            {
                "rank": r.rank,
                "client": r.rating.name,
                "band": r.rating.band,
                "score": round(r.rating.score, 1),
                "range": f"{r.rating.band_low}–{r.rating.band_high} "
                f"({r.rating.score_low:.0f}–{r.rating.score_high:.0f})",
                "change": None if r.change is None else round(r.change, 1),
                "top driver": r.driver,
                "sector, HQ": f"{words.sector(r.rating.sector)}, "
                f"{words.country(r.rating.hq_country)}",
                "sector": words.sector(r.rating.sector),
                "HQ": words.country(r.rating.hq_country),
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
            "sector, HQ": pl.String,
            "sector": pl.String,
            "HQ": pl.String,
            "id": pl.String,
        },
    )
    if not has_change:
        table = table.drop("change")
    threats = dict(
        sorted(
            {(t, clean(x)) for t, x in index.select("threat_id", "title").iter_rows()},
            key=lambda p: p[1],
        )
    )
    regions = sorted({r for r in index["region_id"].to_list() if r != "world"}, key=words.region)
    with st.container(border=True):
        c1, c2, c3 = st.columns(3)
        sectors = c1.multiselect("Sector", sorted(set(table["sector"].to_list())), key="pf_sector")
        bands = c2.multiselect("Band", sorted({r.rating.band for r in rows}), key="pf_band")
        hqs = c3.multiselect("Headquarters", sorted(set(table["HQ"].to_list())), key="pf_hq")
        c4, c5, c6 = st.columns(3)
        by_threat = c4.multiselect(
            "Reached by the threat",
            list(threats),
            key="pf_threat",
            format_func=lambda t: threats.get(t, t),
            help="Clients with at least one site or route this threat reaches",
        )
        by_region = c5.multiselect(
            "Exposed in",
            regions,
            key="pf_region",
            format_func=words.region,
            help="Clients with a site or route where a threat bears in this place",
        )
        low, high = c6.slider("Score (0 critical to 100)", 0, 100, (0, 100), key="pf_score", step=1)
    shown = table
    if sectors:
        shown = shown.filter(pl.col("sector").is_in(sectors))
    if bands:
        shown = shown.filter(pl.col("band").is_in(bands))
    if hqs:
        shown = shown.filter(pl.col("HQ").is_in(hqs))
    if by_threat:
        hit = index.filter(pl.col("threat_id").is_in(by_threat))["client_id"].unique()
        shown = shown.filter(pl.col("id").is_in(hit.to_list()))
    if by_region:
        hit = index.filter(pl.col("region_id").is_in(by_region))["client_id"].unique()
        shown = shown.filter(pl.col("id").is_in(hit.to_list()))
    shown = shown.filter((pl.col("score") >= low) & (pl.col("score") <= high))
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
            "rank": st.column_config.NumberColumn("rank", width=40),
            "client": st.column_config.TextColumn("client", width=200),
            "band": st.column_config.TextColumn(
                "band", help="A resilient, B sound, C exposed, D vulnerable, E critical", width=45
            ),
            "score": st.column_config.NumberColumn(
                "score", format="%.1f", help=words.SCORE_MEANING, width=55
            ),
            "range": st.column_config.TextColumn(
                "range",
                help="Bands and scores (0 to 100) from the least to the most likely reading "
                "of the brief's likelihood words",
                width=90,
            ),
            "change": st.column_config.NumberColumn(
                "change", format="%+.1f", help="score change since the previous run", width=60
            ),
            "top driver": st.column_config.TextColumn(
                "top driver",
                help="The threat behind the largest share of the client's expected disruption",
                width=290,
            ),
            "sector, HQ": st.column_config.TextColumn("sector, HQ", width=150),
            "sector": None,  # filtered on, shown in "sector, HQ"
            "HQ": None,
            "id": None,
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
    else:
        st.info("No client matches these filters.")
    timeline.movers_section(user)
    st.subheader("Map: every site and sea route in the book")
    keep = set(ids)
    md = MapData(
        assets=md.assets.filter(pl.col("client_id").is_in(keep)),
        routes=md.routes.filter(pl.col("client_id").is_in(keep)),
        chokepoints=md.chokepoints,
    )
    mapview.show(
        md,
        run,
        scope=user.scope,
        key="portfolio_map",
        show_client=True,
    )


def search(rows: list[data.PortfolioRow], index: pl.DataFrame, md: MapData) -> None:
    """One box: clients, sites and routes, threats and places that match, each with its way on."""
    text = st.text_input(
        "Search",
        key="pf_search",
        placeholder="Find a client, site, threat or place (for example: Basra, Hormuz, cyber)",
    )
    needle = clean(text).strip().lower()
    if len(needle) < 2:
        return
    names = {r.rating.client_id: r.rating.name for r in rows}
    hits: list[dict[str, str]] = []
    for r in rows:
        if needle in r.rating.name.lower() or needle in r.rating.client_id:
            hits.append({"kind": "client", "found": r.rating.name, "client_id": r.rating.client_id})
    for a in md.assets.iter_rows(named=True):
        if needle in str(a["name"]).lower() or needle in str(a["place"] or "").lower():
            hits.append(
                {
                    "kind": "site",
                    "found": f"{a['name']} ({names.get(a['client_id'], '')})",
                    "client_id": a["client_id"],
                }
            )
    for rt in md.routes.iter_rows(named=True):
        if needle in str(rt["name"]).lower():
            hits.append(
                {
                    "kind": "sea route",
                    "found": f"{rt['name']} ({names.get(rt['client_id'], '')})",
                    "client_id": rt["client_id"],
                }
            )
    for tid, title in sorted({(t, x) for t, x in index.select("threat_id", "title").iter_rows()}):
        if needle in title.lower():
            n = index.filter(pl.col("threat_id") == tid)["client_id"].n_unique()
            hits.append(
                {
                    "kind": "threat",
                    "found": f"{title} (reaches {words.plural(n, 'client')})",
                    "threat_id": tid,
                }
            )
    for rid in sorted(set(index["region_id"].to_list()) - {"world"}):
        place = words.region(rid)
        if needle in place.lower():
            n = index.filter(pl.col("region_id") == rid)["client_id"].n_unique()
            hits.append(
                {
                    "kind": "place",
                    "found": f"{place} ({words.plural(n, 'client')} exposed)",
                    "region_id": rid,
                }
            )
    if not hits:
        st.caption(f"Nothing matches \u201c{ui.plain(text.strip())}\u201d.")
        return
    st.caption(f"{words.plural(len(hits), 'match', 'matches')}:")
    for i, h in enumerate(hits[:12]):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(f"**{h['kind']}** · {ui.plain(h['found'])}")
        if "client_id" in h:
            if c2.button("Open the client", key=f"pf_hit_{i}"):
                st.switch_page("views/client.py", query_params={"client": h["client_id"]})
        elif "threat_id" in h:
            c2.button(
                "Filter by it", key=f"pf_hit_{i}", on_click=_add, args=("pf_threat", h["threat_id"])
            )
        elif "region_id" in h:
            c2.button(
                "Filter by it", key=f"pf_hit_{i}", on_click=_add, args=("pf_region", h["region_id"])
            )
    if len(hits) > 12:
        st.caption(f"and {words.plural(len(hits) - 12, 'more match', 'more matches')}; type more")


def _add(key: str, value: str) -> None:
    current = list(st.session_state.get(key) or [])
    if value not in current:
        st.session_state[key] = [*current, value]


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
