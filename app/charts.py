"""Charts and maps (altair; no map tiles and no network).

Maps draw the world as the product knows it: the gazetteer's sea zones and chokepoints and the
searoute shipping-lane network as a faint backdrop, then the exposures coloured by risk. Nothing
is fetched from a tile server.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import altair as alt
import polars as pl
from shapely.geometry import LineString, box, shape

from engine.models import Explanation
from engine.text import POLARS_BREAKS, POLARS_DROP, clean
from exposures.gazetteer import load_gazetteer

BAND_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#ef6c00", "E": "#c62828"}
PROJECTION = "equirectangular"


@cache
def _lanes() -> list[tuple[tuple[float, float], ...]]:
    """The searoute network, simplified: a backdrop that shows where the seas are."""
    text = resources.files("searoute").joinpath("data/marnet_searoute.geojson").read_text("utf-8")
    out = []
    for f in json.loads(text)["features"]:
        line = shape(f["geometry"])
        if not isinstance(line, LineString) or line.length < 0.5:
            continue
        simple = line.simplify(0.6)
        out.append(tuple((float(x), float(y)) for x, y in simple.coords))
    return out


def _lane_features(bounds: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """The lanes inside the map's bounds, as one multi-line feature."""
    area = box(*bounds)
    lines = []
    for coords in _lanes():
        line = LineString(coords)
        if not line.intersects(area):
            continue
        clipped = line.intersection(area)
        for part in getattr(clipped, "geoms", [clipped]):
            if isinstance(part, LineString) and len(part.coords) > 1:
                lines.append([[round(x, 1), round(y, 1)] for x, y in part.coords])
    if not lines:
        return []
    return [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "MultiLineString", "coordinates": lines},
        }
    ]


def _zone_features(bounds: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    area = box(*bounds)
    feats = []
    for r in load_gazetteer().sea_zones():
        poly = r.shape()
        if poly is None or not poly.intersects(area):
            continue
        ring = [list(c) for c in r.polygon]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        # vega-lite expects clockwise exterior rings (d3-geo's spherical convention)
        if _signed_area(ring) > 0:
            ring.reverse()
        feats.append(
            {
                "type": "Feature",
                "properties": {"name": r.name, "kind": r.kind},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return feats


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def _route_points(routes: pl.DataFrame) -> list[list[float]]:
    return [pt for parts in routes["parts"].to_list() for part in parts for pt in part]


def _bounds(assets: pl.DataFrame, routes: pl.DataFrame) -> tuple[float, float, float, float]:
    points = _route_points(routes) if routes.height else []
    lons = assets["lon"].to_list() + [p[0] for p in points]
    lats = assets["lat"].to_list() + [p[1] for p in points]
    if not lons:
        return (-20.0, -10.0, 80.0, 50.0)
    west, east = min(lons), max(lons)
    south, north = min(lats), max(lats)
    pad_x = max(4.0, (east - west) * 0.08)
    pad_y = max(4.0, (north - south) * 0.08)
    return (
        max(-180.0, west - pad_x),
        max(-85.0, south - pad_y),
        min(180.0, east + pad_x),
        min(85.0, north + pad_y),
    )


def _records(frame: pl.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in columns if c in frame.columns]
    text = [c for c in cols if frame.schema[c] == pl.String]  # names: no control/bidi characters
    out = frame.select(cols)
    if text:
        out = out.with_columns(
            pl.col(text).str.replace_all(POLARS_BREAKS, " ").str.replace_all(POLARS_DROP, "")
        )
    out = out.with_columns([pl.col(c).round(3) for c in ("lon", "lat", "risk") if c in cols])
    return out.to_dicts()


def exposure_map(
    assets: pl.DataFrame,
    routes: pl.DataFrame,
    chokepoints: pl.DataFrame,
    *,
    height: int = 460,
    show_client: bool = True,
) -> dict[str, Any]:
    """A vega-lite spec: sites (circles) and sea routes (lines) coloured by their central risk,
    chokepoints the routes pass marked with triangles, over the sea zones and shipping lanes.

    Written as a plain spec (not altair) so a book-sized map is built in milliseconds."""
    bounds = _bounds(assets, routes)
    west, south, east, north = bounds
    projection = {"type": PROJECTION}
    risk_colour = {
        "field": "risk",
        "type": "quantitative",
        "title": "risk",
        "scale": {
            "domain": [0.0, 0.25, 0.5],
            "range": ["#2e7d32", "#f9a825", "#c62828"],
            "clamp": True,
        },
    }
    client_tip = [{"field": "client", "type": "nominal", "title": "client"}] if show_client else []
    layers: list[dict[str, Any]] = [
        {  # an invisible frame the projection fits, so every layer shares one view
            "data": {
                "values": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [west, south],
                                    [west, north],
                                    [east, north],
                                    [east, south],
                                    [west, south],
                                ]
                            ],
                        },
                    }
                ]
            },
            "mark": {"type": "geoshape", "fillOpacity": 0, "strokeOpacity": 0},
        },
    ]
    lanes = _lane_features(bounds)
    if lanes:
        layers.append(
            {
                "data": {"values": lanes},
                "mark": {
                    "type": "geoshape",
                    "filled": False,
                    "stroke": "#90a4ae",
                    "strokeWidth": 0.6,
                    "strokeOpacity": 0.5,
                },
            }
        )
    zones = _zone_features(bounds)
    if zones:
        layers.append(
            {
                "data": {"values": zones},
                "mark": {
                    "type": "geoshape",
                    "fill": "#bbdefb",
                    "fillOpacity": 0.35,
                    "stroke": "#64b5f6",
                    "strokeWidth": 0.8,
                },
                "encoding": {
                    "tooltip": [
                        {"field": "properties.name", "type": "nominal", "title": "sea zone"}
                    ]
                },
            }
        )
    if routes.height:
        features = [
            {
                "type": "Feature",
                "properties": {
                    "client": r["client"],
                    "name": r["name"],
                    "commodity": r["commodity"],
                    "risk": round(r["risk"], 3),
                },
                "geometry": {"type": "MultiLineString", "coordinates": r["parts"]},
            }
            for r in routes.iter_rows(named=True)
        ]
        route_tip = (
            [{"field": "properties.client", "type": "nominal", "title": "client"}]
            if show_client
            else []
        )
        layers.append(
            {
                "data": {"values": features},
                "mark": {
                    "type": "geoshape",
                    "filled": False,
                    "strokeWidth": 2.2,
                    "strokeOpacity": 0.85,
                },
                "encoding": {
                    "stroke": risk_colour | {"field": "properties.risk", "legend": None},
                    "tooltip": [
                        *route_tip,
                        {"field": "properties.name", "type": "nominal", "title": "route"},
                        {"field": "properties.commodity", "type": "nominal", "title": "commodity"},
                        {
                            "field": "properties.risk",
                            "type": "quantitative",
                            "format": ".3f",
                            "title": "risk",
                        },
                    ],
                },
            }
        )
    if chokepoints.height:
        cps = _records(chokepoints, ["name", "lon", "lat", "routes"])
        position = {
            "longitude": {"field": "lon", "type": "quantitative"},
            "latitude": {"field": "lat", "type": "quantitative"},
        }
        layers.append(
            {
                "data": {"values": cps},
                "mark": {
                    "type": "point",
                    "shape": "triangle-up",
                    "size": 140,
                    "filled": True,
                    "color": "#263238",
                },
                "encoding": position
                | {
                    "tooltip": [
                        {"field": "name", "type": "nominal", "title": "chokepoint"},
                        {"field": "routes", "type": "quantitative", "title": "routes through it"},
                    ]
                },
            }
        )
        layers.append(
            {
                "data": {"values": cps},
                "mark": {"type": "text", "dy": -12, "fontSize": 10, "color": "#263238"},
                "encoding": position | {"text": {"field": "name", "type": "nominal"}},
            }
        )
    if assets.height:
        layers.append(
            {
                "data": {
                    "values": _records(
                        assets,
                        [
                            "client",
                            "name",
                            "asset_type",
                            "place",
                            "lon",
                            "lat",
                            "value_usd",
                            "criticality",
                            "risk",
                        ],
                    )
                },
                "mark": {"type": "circle", "opacity": 0.9, "stroke": "#263238", "strokeWidth": 0.6},
                "encoding": {
                    "longitude": {"field": "lon", "type": "quantitative"},
                    "latitude": {"field": "lat", "type": "quantitative"},
                    "color": risk_colour,
                    "size": {
                        "field": "value_usd",
                        "type": "quantitative",
                        "legend": None,
                        "scale": {"range": [40, 500]},
                    },
                    "tooltip": [
                        *client_tip,
                        {"field": "name", "type": "nominal", "title": "site"},
                        {"field": "asset_type", "type": "nominal", "title": "type"},
                        {"field": "place", "type": "nominal"},
                        {
                            "field": "value_usd",
                            "type": "quantitative",
                            "format": ",.0f",
                            "title": "value USD",
                        },
                        {"field": "criticality", "type": "quantitative"},
                        {"field": "risk", "type": "quantitative", "format": ".3f"},
                    ],
                },
            }
        )
    return {
        "height": height,
        "projection": projection,
        "layer": layers,
        "config": {"view": {"stroke": None}},
    }


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def drivers_chart(e: Explanation, top: int = 8) -> alt.Chart:
    """The threats that drive a rating: share of the client's expected disruption."""
    rows = [
        {
            "threat": _short(clean(t.title), 56),
            "share": t.share,
            "category": t.category.replace("_", " "),
            "likelihood": clean(f"{t.likelihood.replace('_', ' ')} ({t.likelihood_words})"),
        }
        for t in e.threats[:top]
    ]
    data = pl.DataFrame(
        rows,
        schema={
            "threat": pl.String,
            "share": pl.Float64,
            "category": pl.String,
            "likelihood": pl.String,
        },
    )
    return (
        alt.Chart(data.to_pandas())
        .mark_bar()
        .encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of expected disruption"),
            y=alt.Y("threat:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
            color=alt.Color(
                "category:N", title="category", legend=alt.Legend(orient="bottom", columns=3)
            ),
            tooltip=["threat", "category", "likelihood", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(height=alt.Step(26))
    )


def before_after_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    """Score before and after (a scenario or a draft), one row per client."""
    data = pl.DataFrame(
        rows, schema={"client": pl.String, "before": pl.Float64, "after": pl.Float64}
    )
    base = alt.Chart(data.to_pandas()).encode(
        y=alt.Y("client:N", sort=None, title=None, axis=alt.Axis(labelLimit=260))
    )
    rule = base.mark_rule(color="#90a4ae").encode(
        x=alt.X("before:Q", title="score (0-100)", scale=alt.Scale(domain=[0, 100])), x2="after:Q"
    )
    before = base.mark_point(filled=True, color="#78909c", size=70).encode(
        x="before:Q", tooltip=["client", alt.Tooltip("before:Q", format=".1f")]
    )
    after = base.mark_point(filled=True, color="#c62828", size=90, shape="diamond").encode(
        x="after:Q", tooltip=["client", alt.Tooltip("after:Q", format=".1f")]
    )
    chart = alt.layer(rule, before, after).properties(height=max(120, 30 * len(rows)))
    assert isinstance(chart, alt.LayerChart)
    return chart
