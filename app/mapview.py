"""The map on the Client and Portfolio pages: the deck (app.worldmap), its legend, and what a
click on a site or route opens (the item, its risk and the threats that drive it)."""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl
import streamlit as st

from app import data, words
from app.ui import plain
from app.worldmap import (
    BAND_RGB,
    ROUTE_LAYER,
    SITE_LAYER,
    TOOLTIP,
    BandScale,
    DrawnDeck,
    MapInputs,
    build_deck,
)
from app.worldmap import threat_areas as _threat_areas
from engine.insights import MapData
from engine.models import Explanation, RunInfo
from engine.store import Scope
from engine.text import clean

MAP_HEIGHT = 540


@st.cache_data(max_entries=32, show_spinner=False)
def _threat_titles(db: str, register_version: int) -> dict[str, str]:
    reg = data.context().register(register_version)
    return {t.id: clean(t.title) for t in reg.threats}


@cache
def _areas(db: str, register_version: int) -> dict[str, Any]:
    reg = data.context().register(register_version)
    return _threat_areas(reg.threats)


def _scale() -> BandScale:
    return BandScale.from_bands(data.context().rules().bands)


def inputs(md: MapData, register_version: int, *, show_client: bool) -> MapInputs:
    """The map's data in plain words: kinds, places and top threats by name, never by id."""
    titles = _threat_titles(data.db_key(), register_version)

    def threat(tid: str | None) -> str:
        return titles.get(tid or "", "none") if tid else "none"

    assets = md.assets
    a_rows = [
        {
            "key": f"{a['client_id']}/{a['item_id']}",
            "client": clean(a["client"]),
            "name": clean(a["name"]),
            "kind_words": words.kind(a["asset_type"]),
            "place": _place(a["place"]),
            "lon": float(a["lon"]),
            "lat": float(a["lat"]),
            "value_usd": a["value_usd"],
            "risk": float(a["risk"] or 0.0),
            "threat": threat(a.get("top_threat")),
        }
        for a in assets.iter_rows(named=True)
    ]
    r_rows = [
        {
            "key": r["key"],
            "client": clean(r["client"]),
            "name": clean(r["name"]),
            "commodity_words": words.kind(r["commodity"]),
            "value_usd": r["value_usd"],
            "risk": float(r["risk"] or 0.0),
            "threat": threat(r.get("top_threat")),
            "parts": r["parts"],
        }
        for r in md.routes.iter_rows(named=True)
    ]
    a_schema: dict[str, Any] = {
        "key": pl.String,
        "client": pl.String,
        "name": pl.String,
        "kind_words": pl.String,
        "place": pl.String,
        "lon": pl.Float64,
        "lat": pl.Float64,
        "value_usd": pl.Float64,
        "risk": pl.Float64,
        "threat": pl.String,
    }
    r_schema: dict[str, Any] = {
        "key": pl.String,
        "client": pl.String,
        "name": pl.String,
        "commodity_words": pl.String,
        "value_usd": pl.Float64,
        "risk": pl.Float64,
        "threat": pl.String,
        "parts": pl.List(pl.List(pl.List(pl.Float64))),
    }
    return MapInputs(
        assets=pl.DataFrame(a_rows, schema=a_schema),
        routes=pl.DataFrame(r_rows, schema=r_schema),
        chokepoints=md.chokepoints,
        areas=_areas(data.db_key(), register_version),
        scale=_scale(),
        show_client=show_client,
    )


def _place(text: str | None) -> str:
    """'Basra, IRQ' (the engine's city and code) -> 'Basra, Iraq'."""
    if not text:
        return "-"
    city, _, code = clean(text).rpartition(", ")
    if len(code) == 3 and code.isupper():
        return words.place(city or None, code)
    return clean(text)


def legend(scale: BandScale) -> None:
    """Swatches for every band (so every item's colour is on it), marker size and shading.
    Built from constants and the rules' band labels only (no client or brief text)."""
    chips = []
    for band, label, span in scale.legend():
        r, g, b = BAND_RGB.get(band, [90, 90, 90])
        chips.append(
            f'<span style="white-space:nowrap;margin-right:14px">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
            f"background:rgb({r},{g},{b});border:1px solid #1d2b3a;vertical-align:-1px;"
            f'margin-right:5px"></span><b>{band}</b> {_html(label)}: risk {span}</span>'
        )
    chips.append(
        '<span style="white-space:nowrap;margin-right:14px">'
        '<span style="display:inline-block;width:14px;height:10px;background:rgba(192,57,43,.45);'
        'border:1px solid #c0392b;vertical-align:-1px;margin-right:5px"></span>'
        "where the threats bear (darker: higher intensity)</span>"
    )
    chips.append(
        '<span style="white-space:nowrap">'
        '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        'background:#1d2b3a;border:2px solid #fff;vertical-align:-1px;margin-right:5px"></span>'
        "chokepoint on a route</span>"
    )
    st.markdown(
        '<div style="font-size:0.85rem;line-height:1.9">' + "".join(chips) + "</div>",
        unsafe_allow_html=True,
    )


def _html(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _drawn(
    db: str,
    run_id: int,
    scope: data.ScopeKey,
    clients: tuple[str, ...],
    register_version: int,
    rules_version: int,
    show_client: bool,
    _md: MapData,
) -> tuple[MapInputs, str]:
    """The map's inputs and its deck as JSON, made once per what they show: the run, the
    caller's scope (the tenant) and the clients drawn (``_md`` is the run's map data of those
    clients in that scope), the register's threat areas and the rules' bands. Building and
    serialising the deck (the land polygons above all) is most of a map page's time."""
    m = inputs(_md, register_version, show_client=show_client)
    return m, build_deck(m, height_px=MAP_HEIGHT).to_json()


def show(
    md: MapData,
    run: RunInfo,
    *,
    scope: Scope,
    key: str,
    show_client: bool,
    explanation: Explanation | None = None,
) -> str | None:
    """Draw the map of ``md`` (``run``'s map data in ``scope``) with its legend; return the key
    ("client/item") of a clicked site or route."""
    clients = sorted(set(md.assets["client_id"].to_list()) | set(md.routes["client_id"].to_list()))
    m, spec = _drawn(
        data.db_key(),
        run.run_id,
        data.scope_key(scope),
        tuple(clients),
        run.register_version,
        run.rules_version,
        show_client,
        md,
    )
    legend(m.scale)
    event = st.pydeck_chart(
        DrawnDeck(spec, TOOLTIP),
        height=MAP_HEIGHT,
        width="stretch",
        on_select="rerun",
        selection_mode="single-object",
        key=key,
    )
    st.caption(
        "Drag to pan, scroll or pinch to zoom, hover for details, click a site or route to see "
        "what drives its risk. Circle size: value of the site. Colour: the band the item's risk "
        "alone would give. Land, coasts and names: Natural Earth and GeoNames, drawn offline."
    )
    chosen = _selected(event)
    if chosen is None:
        return None
    kind = "route" if any(r == chosen for r in m.routes["key"].to_list()) else "site"
    rows = (m.routes if kind == "route" else m.assets).filter(pl.col("key") == chosen)
    if rows.height:
        _details(rows.row(0, named=True), kind, m.scale, explanation, show_client)
    return chosen


def _selected(event: Any) -> str | None:
    try:
        objects = event.selection.objects
    except AttributeError:
        return None
    for layer in (SITE_LAYER, ROUTE_LAYER):
        for obj in objects.get(layer, []) or []:
            if isinstance(obj, dict) and isinstance(obj.get("key"), str):
                return str(obj["key"])
    return None


def _details(
    row: dict[str, Any],
    kind: str,
    scale: BandScale,
    explanation: Explanation | None,
    show_client: bool,
) -> None:
    band = scale.band(row["risk"])
    with st.container(border=True):
        who = f"{plain(row['client'])} · " if show_client else ""
        st.markdown(f"**{plain(row['name'])}** · {who}{kind}")
        value = f"{row['value_usd']:,.0f} US$" + (" a year" if kind == "route" else "")
        st.markdown(
            f"Risk of disruption **{row['risk']:.0%}** (band {band}) · value {plain(value)} · "
            f"top threat: {plain(row['threat'])}"
        )
        item_id = str(row["key"]).split("/", 1)[1]
        if explanation is not None:
            item = next((i for i in explanation.items if i.item_id == item_id), None)
            if item is not None:
                st.caption(
                    f"Range {item.risk_low:.0%} to {item.risk_high:.0%} from the likelihood "
                    f"ranges · criticality {item.criticality} of 5"
                )
            threats = [t for t in explanation.threats if t.title == row["threat"]]
            for t in threats[:1]:
                st.caption(
                    plain(
                        f"{t.title}: {words.likelihood(t.likelihood, t.likelihood_words)}; "
                        f"{t.share:.0%} of this client's expected disruption; bears hardest on "
                        f"{words.region(t.main_region)}."
                    )
                )
        client_id = str(row["key"]).split("/", 1)[0]
        if show_client and st.button("Open this client's page", key=f"map_open_{row['key']}"):
            st.switch_page("views/client.py", query_params={"client": client_id})
