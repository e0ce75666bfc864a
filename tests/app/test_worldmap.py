"""The app's map (app.worldmap): bands over the full risk range, routes across the date line,
labels that never overlap, and a deck that asks for no base map (nothing fetched)."""

from __future__ import annotations

import itertools
import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from app.worldmap import BandScale, MapInputs, _pixel, _unwrap, build_deck, declutter, threat_areas
from scoring_rules.rules import Band


def scale() -> BandScale:
    return BandScale.from_bands(
        [
            Band(band="A", label="resilient", min_score=90),
            Band(band="B", label="sound", min_score=75),
            Band(band="C", label="exposed", min_score=60),
            Band(band="D", label="vulnerable", min_score=40),
            Band(band="E", label="critical", min_score=0),
        ]
    )


def test_bands_cover_every_risk_and_the_legend_says_so() -> None:
    s = scale()
    assert [s.band(r) for r in (0.0, 0.05, 0.1, 0.3, 0.45, 0.599, 0.6, 0.689, 1.0)] == [
        "A", "A", "B", "C", "D", "D", "E", "E", "E",
    ]  # fmt: skip
    assert s.legend() == [
        ("A", "resilient", "under 10%"),
        ("B", "sound", "10% to 25%"),
        ("C", "exposed", "25% to 40%"),
        ("D", "vulnerable", "40% to 60%"),
        ("E", "critical", "60% or more"),
    ]


def test_a_trans_pacific_route_stays_one_line_across_the_date_line() -> None:
    # Shanghai to Los Angeles, cut at the antimeridian by the engine
    parts = [[[121.5, 31.2], [150.0, 35.0], [179.9, 38.0]], [[-179.9, 38.0], [-118.2, 33.7]]]
    path = _unwrap(parts)
    lons = [p[0] for p in path]
    assert lons[0] == 121.5 and abs(lons[-1] - 241.8) < 1e-6
    assert all(0 < b - a < 90 for a, b in itertools.pairwise(lons))  # never wraps


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-170, 170),
            st.floats(-60, 70),
            st.text(alphabet="abcdefgh ", min_size=1, max_size=20),
            st.integers(1, 100),
        ),
        max_size=40,
    ),
    st.floats(0.5, 6),
)
def test_kept_labels_never_overlap(raw: list[tuple[float, float, str, int]], zoom: float) -> None:
    labels = [
        {"lon": lon, "lat": lat, "text": t, "priority": p, "size": 12, "dy": 0}
        for lon, lat, t, p in raw
    ]
    kept = declutter(labels, zoom)
    boxes = []
    for lab in kept:
        x, y = _pixel(lab["lon"], lab["lat"], zoom)
        w = 0.58 * 12 * len(lab["text"]) / 2 + 3
        boxes.append((x - w, y - 9.44, x + w, y + 9.44))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    if labels:  # the most important label is always shown
        top = min(labels, key=lambda d: (-d["priority"], d["text"]))
        assert any(k["text"] == top["text"] and k["priority"] == top["priority"] for k in kept)


def test_deck_draws_its_own_land_and_asks_for_no_base_map() -> None:
    class T:
        def __init__(self, title: str, regions: list[tuple[str, float]]) -> None:
            self.title = title
            self.regions = [type("RW", (), {"region": r, "intensity": i}) for r, i in regions]

    areas = threat_areas(
        [
            T("Proxy attacks on merchant vessels", [("sea.hormuz", 0.9), ("world", 1.0)]),
            T("Militia strikes", [("IRQ", 0.7), ("sea.hormuz", 0.4)]),
        ]
    )
    assert set(areas) == {"sea.hormuz", "IRQ"}  # the world is no area
    assert areas["sea.hormuz"].intensity == 0.9
    assert areas["sea.hormuz"].titles[0] == "Proxy attacks on merchant vessels"
    assets = pl.DataFrame(
        {
            "key": ["c/A1"],
            "client": ["C"],
            "name": ["Basra office"],
            "kind_words": ["office"],
            "place": ["Basra, Iraq"],
            "lon": [47.8],
            "lat": [30.5],
            "value_usd": [5e6],
            "risk": [0.689],
            "threat": ["Militia strikes"],
        }
    )
    routes = pl.DataFrame(
        schema={
            "key": pl.String,
            "client": pl.String,
            "name": pl.String,
            "commodity_words": pl.String,
            "value_usd": pl.Float64,
            "risk": pl.Float64,
            "threat": pl.String,
            "parts": pl.List(pl.List(pl.List(pl.Float64))),
        }
    )
    chokes = pl.DataFrame(
        {
            "region_id": ["sea.hormuz"],
            "name": ["Strait of Hormuz"],
            "lon": [56.4],
            "lat": [26.6],
            "routes": [1],
        }
    )
    deck = build_deck(MapInputs(assets, routes, chokes, areas, scale(), show_client=False))
    spec = json.loads(deck.to_json())
    assert spec["mapStyle"] == "__MAP_STYLE__"  # Streamlit's "no base map" (nothing fetched)
    assert "mapProvider" not in spec
    assert spec["views"][0]["repeat"] is True
    layers = {layer["id"]: layer for layer in spec["layers"]}
    land = layers["land"]["data"]["features"]
    threatened = layers["threat-land"]["data"]["features"]
    assert len(land) + len(threatened) > 200  # Natural Earth 1:50m countries
    # the land is drawn but not picked (picking it took seconds without a GPU: clicks were lost)
    assert layers["land"]["pickable"] is False
    assert all("tip" not in f["properties"] for f in land)
    assert layers["threat-land"]["pickable"] is True
    iraq = next(f for f in threatened if f["properties"]["tip"].startswith("Iraq"))
    assert "threat intensity up to 70%" in iraq["properties"]["tip"]
    assert not any(f["properties"]["tip"].startswith("France") for f in threatened)
    site = layers["sites"]["data"][0]
    assert site["colour"][:3] == [198, 40, 40]  # band E: 68.9% is on the legend
    assert "risk of disruption 69% (band E)" in site["tip"]
    assert "top threat: Militia strikes" in site["tip"]
    choke_labels = [x["text"] for x in layers["chokepoint-labels"]["data"]]
    assert choke_labels == ["Strait of Hormuz"]
    text = json.dumps(spec)
    assert "http" not in text
