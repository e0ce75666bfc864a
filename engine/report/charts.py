"""The report's figures, drawn offline with matplotlib and returned as PNG data URIs.

- :func:`exposure_map`: the client's sites and sea routes coloured by risk, over Natural Earth
  country outlines (vendored, see basemap.py), with the regions where the threats bear shaded by
  their share of the expected disruption, the chokepoints on the routes and a graticule.
- :func:`drivers_chart`: the threats' shares of the expected disruption.
- :func:`concentration_chart`: the book's expected disruption by region (portfolio report).

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot, so drawing is
safe in threads (Streamlit sessions). Text from clients never reaches a figure: sites are numbered
and the numbers refer to the report's tables; threat titles are drawn with mathtext off.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Polygon
from matplotlib.transforms import Bbox
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import box

from engine.report.basemap import Resolution, countries
from engine.report.facts import ClientFacts, Concentration, Item, region_name
from exposures.gazetteer import Region, load_gazetteer

FONT = "DejaVu Sans"
INK = "#1d2b3a"
MUTED = "#6b7785"
SEA = "#eef3f7"
LAND = "#e3e1da"
BORDER = "#ffffff"
COAST = "#b9b6ab"
THREAT = "#c0392b"
DPI = 200

# Item risk classes: (lower bound, colour, label), highest first.
RISK_CLASSES: tuple[tuple[float, str, str], ...] = (
    (0.50, "#c62828", "50% or more"),
    (0.25, "#ef6c00", "25–50%"),
    (0.10, "#f9a825", "10–25%"),
    (0.00, "#5b8db8", "under 10%"),
)

CATEGORY_COLOURS = {
    "armed_conflict": "#b03a2e",
    "militia_attack": "#d35400",
    "terrorism": "#7b3f2a",
    "civil_unrest": "#a0785a",
    "cyber_attack": "#6c5b9e",
    "shipping_disruption": "#2e6da4",
    "oil_market_shock": "#b7950b",
    "sanctions": "#4a9bb5",
    "aviation_security": "#4e8f5a",
}


def risk_colour(risk: float) -> str:
    for low, colour, _ in RISK_CLASSES:
        if risk >= low:
            return colour
    return RISK_CLASSES[-1][1]


def category_colour(category: str) -> str:
    return CATEGORY_COLOURS.get(category, "#7f8c8d")


def _png(fig: Figure) -> str:
    """The figure as an opaque RGB PNG data URI (the pixels savefig would give on white).

    Opaque on purpose: the PDF writer (WeasyPrint) splits a PNG with an alpha channel into a
    colour image and a mask and compresses both again; an RGB PNG is recompressed once."""
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    fig.set_dpi(DPI)
    canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    buf = io.BytesIO()
    rgba.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _style(fig: Figure) -> None:
    fig.patch.set_facecolor("white")


# -- the map -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extent:
    lon0: float
    lon1: float
    lat0: float
    lat1: float

    @property
    def width(self) -> float:
        return self.lon1 - self.lon0

    @property
    def height(self) -> float:
        return self.lat1 - self.lat0

    @property
    def mid_lat(self) -> float:
        return (self.lat0 + self.lat1) / 2


def _unwrap(points: Sequence[tuple[float, float]]) -> np.ndarray:
    """(lon, lat) points with longitudes made continuous across the antimeridian."""
    arr = np.asarray(points, dtype=float)
    if len(arr) < 2:
        return arr
    arr = arr.copy()
    arr[:, 0] = np.degrees(np.unwrap(np.radians(arr[:, 0])))
    return arr


def _fit(points: np.ndarray, aspect: float, pad: float, min_span: float) -> Extent:
    """An extent around the points, padded, at least min_span wide, shaped to the axes aspect
    (width / height on paper) with lat scaled by 1/cos(mid latitude)."""
    lon0, lat0 = points.min(axis=0)
    lon1, lat1 = points.max(axis=0)
    w = max(lon1 - lon0, min_span) * (1 + 2 * pad)
    h = max(lat1 - lat0, min_span * 0.6) * (1 + 2 * pad)
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    k = 1 / max(math.cos(math.radians(max(-70.0, min(70.0, cy)))), 0.3)
    # on paper: width = w, height = h * k
    if w / (h * k) < aspect:
        w = aspect * h * k
    else:
        h = w / (aspect * k)
    lat0n, lat1n = cy - h / 2, cy + h / 2
    if lat1n > 84:
        lat0n, lat1n = lat0n - (lat1n - 84), 84.0
    if lat0n < -70:
        lat0n, lat1n = -70.0, lat1n + (-70 - lat0n)
    return Extent(cx - w / 2, cx + w / 2, lat0n, lat1n)


def _draw_land(ax: Axes, extent: Extent, resolution: Resolution, tint: dict[str, float]) -> None:
    shifts = (0.0, 360.0, -360.0)
    polys, faces = [], []
    for country in countries(resolution):
        alpha = tint.get(country.iso3 or "", 0.0)
        face = _blend(LAND, THREAT, 0.06 + 0.2 * alpha) if alpha else LAND
        for ring in country.rings:
            for s in shifts:
                xs = ring[:, 0] + s
                if xs.max() < extent.lon0 - 1 or xs.min() > extent.lon1 + 1:
                    continue
                ys = ring[:, 1]
                if ys.max() < extent.lat0 - 1 or ys.min() > extent.lat1 + 1:
                    continue
                polys.append(np.column_stack([xs, ys]))
                faces.append(face)
    ax.add_collection(
        PolyCollection(polys, facecolors=faces, edgecolors=BORDER, linewidths=0.45, zorder=1)
    )
    ax.add_collection(
        PolyCollection(polys, facecolors="none", edgecolors=COAST, linewidths=0.25, zorder=1.1)
    )


def _country_labels(ax: Axes, extent: Extent, resolution: Resolution) -> None:
    """Country names on a close-up panel, inside the part of each country the panel shows."""
    for name, x, y in _label_points(extent, resolution):
        ax.text(
            x,
            y,
            name,
            fontsize=5.2,
            color="#8c8779",
            ha="center",
            va="center",
            zorder=1.2,
            parse_math=False,
        )


@cache
def _outlines(resolution: Resolution) -> tuple[tuple[str, tuple[ShapelyPolygon, ...]], ...]:
    """Each named country's rings as valid shapely polygons, made once per process."""
    out = []
    for country in countries(resolution):
        if not country.name:
            continue
        polys = []
        for ring in country.rings:
            if len(ring) < 4:
                continue
            poly = ShapelyPolygon(ring)
            polys.append(poly if poly.is_valid else poly.buffer(0))
        out.append((country.name.upper(), tuple(polys)))
    return tuple(out)


@lru_cache(maxsize=64)
def _label_points(extent: Extent, resolution: Resolution) -> tuple[tuple[str, float, float], ...]:
    """Where each country's name goes on a panel of this extent (the largest part of it inside
    the panel, away from the edges; countries showing too little get none), per extent."""
    frame = box(extent.lon0, extent.lat0, extent.lon1, extent.lat1)
    inner = frame.buffer(-0.08 * min(extent.width, extent.height))
    out = []
    for name, polys in _outlines(resolution):
        parts = [p.intersection(inner) for p in polys if p.intersects(inner)]
        if not parts:
            continue
        piece = max(parts, key=lambda g: g.area)
        if piece.area < 0.04 * frame.area:
            continue
        point = piece.representative_point()
        out.append((name, float(point.x), float(point.y)))
    return tuple(out)


def warm_up() -> None:
    """Decode the basemaps and make the outline shapes once, before a first map needs them."""
    for resolution in ("110m", "50m"):
        countries(resolution)
    _outlines("50m")


def _blend(a: str, b: str, t: float) -> tuple[float, float, float]:
    ca = np.array([int(a[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    cb = np.array([int(b[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    c = (1 - t) * ca + t * cb
    return (float(c[0]), float(c[1]), float(c[2]))


def _graticule(ax: Axes, extent: Extent) -> None:
    span = max(extent.width, extent.height * 1.5)
    step = next(s for s in (1, 2, 5, 10, 20, 30, 60) if span / s <= 9)
    lons = np.arange(math.ceil(extent.lon0 / step) * step, extent.lon1 + 1e-9, step)
    lats = np.arange(math.ceil(extent.lat0 / step) * step, extent.lat1 + 1e-9, step)
    for x in lons:
        ax.axvline(x, color="#c9d3dc", lw=0.35, zorder=0.5)
    for y in lats:
        ax.axhline(y, color="#c9d3dc", lw=0.35, zorder=0.5)
    ax.set_xticks(lons)
    ax.set_yticks(lats)
    ax.set_xticklabels([_lon_label(x) for x in lons], fontsize=5.5, color=MUTED)
    ax.set_yticklabels([_lat_label(y) for y in lats], fontsize=5.5, color=MUTED)
    ax.tick_params(length=0, pad=1.5)


def _lon_label(x: float) -> str:
    x = ((x + 180) % 360) - 180
    return f"{abs(x):.0f}°{'E' if x > 0 else 'W' if x < 0 else ''}"


def _lat_label(y: float) -> str:
    return f"{abs(y):.0f}°{'N' if y > 0 else 'S' if y < 0 else ''}"


def _shade_regions(ax: Axes, shares: dict[str, float]) -> None:
    """Sea zones and hotspots where the threats bear, by share of expected disruption."""
    gaz = load_gazetteer()
    for rid, share in shares.items():
        region = gaz.get(rid)
        if region is None:
            continue
        strength = 0.15 + 0.6 * min(1.0, share / 0.3)
        if region.polygon:
            ax.add_patch(
                Polygon(
                    region.polygon,
                    closed=True,
                    facecolor=THREAT,
                    alpha=0.05 + 0.15 * strength,
                    edgecolor=THREAT,
                    lw=0.4,
                    zorder=0.8,  # under the land: shows on water only
                )
            )
        elif region.kind == "hotspot" and region.lat is not None and region.lon is not None:
            r_deg = (region.radius_km or 10.0) / 111.0
            ax.add_patch(
                Circle(
                    (region.lon, region.lat),
                    r_deg,
                    facecolor=THREAT,
                    alpha=0.25,
                    edgecolor=THREAT,
                    lw=0.6,
                    zorder=1.6,
                )
            )


def _marker_size(value: float, vmax: float) -> float:
    if vmax <= 0:
        return 40.0
    return 22.0 + 160.0 * math.sqrt(max(value, 0.0) / vmax)


def _marker_box(ax: Axes, lon: float, lat: float, size_pt2: float) -> Bbox:
    """The display-space box of a scatter marker of area size_pt2 (points squared)."""
    x, y = ax.transData.transform((lon, lat))
    r = math.sqrt(size_pt2) / 2 * ax.figure.dpi / 72 + 2
    return Bbox.from_extents(x - r, y - r, x + r, y + r)


def _draw_routes(
    ax: Axes,
    routes: list[Item],
    extent: Extent,
    labelled: set[str],
    obstacles: list[Bbox] | None = None,
) -> None:
    order = sorted(routes, key=lambda i: i.risk)  # riskiest drawn last, on top
    for item in order:
        if item.route is None or len(item.route.geometry) < 2:
            continue
        pts = _unwrap(item.route.geometry)
        colour = risk_colour(item.risk)
        ax.add_collection(
            LineCollection([pts], colors="white", linewidths=3.2, zorder=2.9, capstyle="round")
        )
        ax.add_collection(
            LineCollection([pts], colors=colour, linewidths=1.7, zorder=3, capstyle="round")
        )
        for x, y in (pts[0], pts[-1]):
            ax.plot(x, y, marker="o", ms=2.6, mfc="white", mec=INK, mew=0.6, zorder=3.2)
    gaz = load_gazetteer()
    placed: list[Any] = list(obstacles or [])
    seen: dict[str, str] = {}
    for item in routes:
        if item.route is None:
            continue
        for d in item.route.detours:
            rid = d.region_id or d.passage
            note = (
                "no sea alternative"
                if d.no_alternative
                else (f"+{d.extra_days:.0f} days if closed" if d.extra_days is not None else "")
            )
            if rid not in seen or d.no_alternative:
                seen[rid] = note
    for rid, note in seen.items():
        region = gaz.get(rid)
        if region is None or region.lat is None or region.lon is None:
            continue
        x, y = region.lon, region.lat
        if not (extent.lon0 <= x <= extent.lon1 and extent.lat0 <= y <= extent.lat1):
            continue
        ax.plot(x, y, marker="D", ms=3.4, mfc=INK, mec="white", mew=0.6, zorder=4)
        if rid in labelled:
            continue
        labelled.add(rid)
        right = x >= (extent.lon0 + extent.lon1) / 2
        if x < extent.lon0 + 0.22 * extent.width:
            right = True
        elif x > extent.lon1 - 0.22 * extent.width:
            right = False
        label = ax.annotate(
            f"{_short(region)}\n{note}" if note else _short(region),
            (x, y),
            xytext=(4 if right else -4, -2),
            textcoords="offset points",
            fontsize=5.2,
            color=INK,
            va="top",
            ha="left" if right else "right",
            zorder=5,
            fontfamily=FONT,
            parse_math=False,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )
        _avoid(label, placed, right)


def _avoid(label: Any, placed: list[Any], right: bool) -> None:
    """Move a chokepoint label to the nearby position (right or left of its point, above or
    below) that overlaps least with the labels and markers already placed and stays inside the
    axes; ties go to the first candidate."""
    canvas = label.figure.canvas if label.figure is not None else None
    if canvas is None or not hasattr(canvas, "get_renderer"):
        placed.append(label.get_window_extent())
        return
    renderer = canvas.get_renderer()
    frame = label.axes.get_window_extent(renderer) if label.axes is not None else None
    side = 1 if right else -1
    tries = [
        (4 * side, -2, "top"),
        (4 * side, 2, "bottom"),
        (-4 * side, -2, "top"),
        (-4 * side, 2, "bottom"),
        (4 * side, -9, "top"),
        (4 * side, 9, "bottom"),
        (-4 * side, -9, "top"),
        (-4 * side, 9, "bottom"),
    ]
    best: tuple[float, int] | None = None
    for k, (dx, dy, va) in enumerate(tries):
        _place(label, dx, dy, va)
        box = label.get_window_extent(renderer)
        cost = sum(_overlap(box, other) for other in placed)
        if frame is not None and not (
            box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1
        ):
            cost += 1e9
        if best is None or cost < best[0]:
            best = (cost, k)
        if cost == 0:
            break
    assert best is not None
    _place(label, *tries[best[1]])
    placed.append(label.get_window_extent(renderer))


def _place(label: Any, dx: float, dy: float, va: str) -> None:
    label.xyann = (dx, dy)
    label.set_va(va)
    label.set_ha("left" if dx > 0 else "right")


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _short(region: Region) -> str:
    """A map label: the gazetteer's short name, else the name without 'Strait'/'Canal'."""
    if region.short:
        return region.short
    return region.name.removeprefix("Strait of ").removesuffix(" Strait").removesuffix(" Canal")


def _draw_sites(
    ax: Axes,
    sites: list[Item],
    numbers: dict[str, int],
    vmax: float,
    label: bool,
    skip: Extent | None = None,
) -> None:
    """Site markers; with ``label``, their numbers (except those inside ``skip``, the extent of
    the close-up panel that labels them)."""
    for item in sorted(sites, key=lambda i: i.risk):
        if item.lat is None or item.lon is None:
            continue
        ax.scatter(
            [item.lon],
            [item.lat],
            s=_marker_size(item.value_usd, vmax),
            c=risk_colour(item.risk),
            edgecolors=INK,
            linewidths=0.6,
            zorder=6,
            alpha=0.95,
        )
    if not label:
        return
    for item in sites:
        n = numbers.get(item.item_id)
        if n is None or item.lat is None or item.lon is None:
            continue
        if (
            skip is not None
            and skip.lon0 <= item.lon <= skip.lon1
            and (skip.lat0 <= item.lat <= skip.lat1)
        ):
            continue
        ax.annotate(
            str(n),
            (item.lon, item.lat),
            xytext=(4.5, 3.5),
            textcoords="offset points",
            fontsize=6,
            fontweight="bold",
            color=INK,
            zorder=7,
            parse_math=False,
            bbox={"boxstyle": "circle,pad=0.18", "fc": "white", "ec": INK, "lw": 0.5},
        )


def _panel(
    ax: Axes,
    extent: Extent,
    facts: ClientFacts,
    numbers: dict[str, int],
    *,
    resolution: Resolution,
    routes: bool,
    label_sites: bool,
    title: str,
    labelled: set[str],
    skip: Extent | None = None,
) -> None:
    ax.set_facecolor(SEA)
    ax.set_xlim(extent.lon0, extent.lon1)
    ax.set_ylim(extent.lat0, extent.lat1)
    ax.set_aspect(1 / max(math.cos(math.radians(extent.mid_lat)), 0.3), adjustable="box")
    ax.apply_aspect()  # fix the axes box now, so data -> display transforms hold
    shares = {g.region_id: g.share for g in facts.explanation.regions}
    tint = {rid: s for rid, s in shares.items() if len(rid) == 3 and rid.isupper()}
    _draw_land(ax, extent, resolution, {k: min(1.0, v / 0.3) for k, v in tint.items()})
    _shade_regions(ax, {k: v for k, v in shares.items() if k not in tint and k != "world"})
    _graticule(ax, extent)
    if extent.width < 30:
        _country_labels(ax, extent, resolution)
    sites = [i for i in facts.items if i.kind == "asset"]
    vmax = max((i.value_usd for i in sites), default=0.0)
    if routes:
        obstacles = [
            _marker_box(ax, i.lon, i.lat, _marker_size(i.value_usd, vmax))
            for i in sites
            if i.lon is not None and i.lat is not None
        ]
        _draw_routes(ax, [i for i in facts.items if i.kind == "route"], extent, labelled, obstacles)
    _draw_sites(ax, sites, numbers, vmax, label_sites, skip)
    for spine in ax.spines.values():
        spine.set_edgecolor("#9aa5b1")
        spine.set_linewidth(0.6)
    ax.set_title(title, fontsize=7.5, color=INK, loc="left", fontweight="bold", pad=3)


def _focus(facts: ClientFacts, numbers: dict[str, int]) -> np.ndarray:
    """The sites for the close-up panel: those within FOCUS_DEG of the site whose neighbourhood
    holds the most risk among numbered (riskiest) sites, then the most expected disruption."""
    located = [
        i for i in facts.items if i.kind == "asset" and i.lat is not None and i.lon is not None
    ]
    if not located:
        return np.empty((0, 2))

    def near(anchor: Item) -> list[Item]:
        assert anchor.lon is not None and anchor.lat is not None
        return [
            i
            for i in located
            if i.lon is not None
            and i.lat is not None
            and abs(i.lon - anchor.lon) <= FOCUS_DEG
            and abs(i.lat - anchor.lat) <= FOCUS_DEG
        ]

    def score(anchor: Item) -> tuple[float, float]:
        group = near(anchor)
        return (
            sum(i.risk for i in group if i.item_id in numbers),
            sum(i.expected_disruption_usd for i in group),
        )

    anchor = max(located, key=score)
    return np.asarray([(i.lon, i.lat) for i in near(anchor)], dtype=float).reshape(-1, 2)


FOCUS_DEG = 6.0
MAP_SIZE = (6.9, 3.7)  # inches: the text width of an A4 page


def exposure_map(facts: ClientFacts, numbers: dict[str, int]) -> str:
    """The client's sites and routes, as a PNG data URI."""
    sites = np.array(
        [
            (i.lon, i.lat)
            for i in facts.items
            if i.kind == "asset" and i.lat is not None and i.lon is not None
        ],
        dtype=float,
    ).reshape(-1, 2)
    route_pts = [
        _unwrap(i.route.geometry)
        for i in facts.items
        if i.kind == "route" and i.route is not None and len(i.route.geometry) >= 2
    ]
    all_route = np.concatenate(route_pts) if route_pts else np.empty((0, 2))
    everything = np.concatenate([sites, all_route]) if len(all_route) else sites
    fig = Figure(figsize=MAP_SIZE)
    FigureCanvasAgg(fig)  # a renderer, to keep chokepoint labels apart
    _style(fig)
    labelled: set[str] = set()
    has_routes = bool(len(all_route))
    bottom, height = 0.155, 0.78
    if len(everything) == 0:
        ax = fig.add_axes((0.05, bottom, 0.9, height))
        _panel(
            ax,
            Extent(-180, 180, -60, 80),
            facts,
            numbers,
            resolution="110m",
            routes=False,
            label_sites=False,
            title="No located sites or routes",
            labelled=labelled,
        )
    else:
        focus = _focus(facts, numbers)
        h_in = MAP_SIZE[1] * height
        left_w, right_w = 0.54, 0.365
        wide = _fit(everything, aspect=left_w * MAP_SIZE[0] / h_in, pad=0.07, min_span=8)
        zoom = (
            _fit(focus, aspect=right_w * MAP_SIZE[0] / h_in, pad=0.18, min_span=3.0)
            if len(focus)
            else None
        )
        if zoom is not None and wide.width > 2.5 * zoom.width:
            ax1 = fig.add_axes((0.045, bottom, left_w, height))
            ax2 = fig.add_axes((0.045 + left_w + 0.03, bottom, right_w, height))
            _panel(
                ax1,
                wide,
                facts,
                numbers,
                resolution="110m",
                routes=has_routes,
                label_sites=True,
                skip=zoom,
                title="Sea routes and chokepoints" if has_routes else "All sites",
                labelled=labelled,
            )
            _panel(
                ax2,
                zoom,
                facts,
                numbers,
                resolution="50m",
                routes=has_routes,
                label_sites=True,
                title="Close-up: numbered sites",
                labelled=labelled,
            )
            ax1.add_patch(
                Polygon(
                    [
                        (zoom.lon0, zoom.lat0),
                        (zoom.lon1, zoom.lat0),
                        (zoom.lon1, zoom.lat1),
                        (zoom.lon0, zoom.lat1),
                    ],
                    closed=True,
                    fill=False,
                    edgecolor=INK,
                    lw=0.7,
                    ls="--",
                    zorder=8,
                )
            )
        else:
            extent = _fit(everything, aspect=0.9 * MAP_SIZE[0] / h_in, pad=0.06, min_span=4)
            ax = fig.add_axes((0.05, bottom, 0.9, height))
            res: Resolution = "50m" if extent.width < 40 else "110m"
            _panel(
                ax,
                extent,
                facts,
                numbers,
                resolution=res,
                routes=has_routes,
                label_sites=True,
                title="Sites and sea routes" if has_routes else "Sites",
                labelled=labelled,
            )
    handles: list[Artist] = [
        Line2D([], [], marker="o", ls="", ms=6, mfc=colour, mec=INK, mew=0.6, label=label)
        for _, colour, label in RISK_CLASSES
    ]
    handles += [
        Line2D([], [], marker="D", ls="", ms=4, mfc=INK, mec="white", label="chokepoint"),
        Patch(
            facecolor=_blend(LAND, THREAT, 0.26),
            edgecolor=THREAT,
            lw=0.4,
            label="where the threats bear",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=6,
        fontsize=6,
        frameon=False,
        title="Item risk of disruption (central); marker size: value",
        title_fontsize=6,
        bbox_to_anchor=(0.5, -0.005),
        handletextpad=0.3,
        columnspacing=1.0,
    )
    return _png(fig)


def _bar_figure(n: int, left: float) -> tuple[Figure, Axes]:
    """A horizontal bar chart figure sized to n bars (0.28 in a bar, fixed margins)."""
    height = 0.2 + 0.28 * max(n, 1)
    fig = Figure(figsize=(6.9, height))
    _style(fig)
    ax = fig.add_axes((left, 0.08 / height, 0.96 - left, (height - 0.16) / height))
    return fig, ax


def _wrap(title: str, width: int) -> str:
    lines = textwrap.wrap(title, width)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")]
    return "\n".join(lines)


# -- bar charts ----------------------------------------------------------------------------------


def drivers_chart(facts: ClientFacts, top: int = 8) -> str:
    """The threats' shares of the client's expected disruption, as a PNG data URI."""
    drivers = [t for t in facts.explanation.threats if t.share > 0][:top]
    fig, ax = _bar_figure(len(drivers), left=0.33)
    if not drivers:
        return _empty_chart(fig, ax, "No threat reaches this client")
    ys = np.arange(len(drivers))[::-1]
    shares = [t.share * 100 for t in drivers]
    ax.barh(ys, shares, color=[category_colour(t.category) for t in drivers], height=0.66, zorder=2)
    for y, t, s in zip(ys, drivers, shares, strict=True):
        ax.text(
            s + max(shares) * 0.012,
            y,
            f"{s:.0f}%   {t.category.replace('_', ' ')}",
            va="center",
            fontsize=6.4,
            color=INK,
            parse_math=False,
        )
    _bar_axes(ax, ys, [_wrap(t.title, 44) for t in drivers], max(shares) * 1.3)
    return _png(fig)


def _empty_chart(fig: Figure, ax: Axes, message: str) -> str:
    """A chart with nothing to draw says so instead of showing empty axes."""
    ax.text(
        0.5, 0.5, message, ha="center", va="center", fontsize=8, color=MUTED, transform=ax.transAxes
    )
    ax.set_axis_off()
    return _png(fig)


def _bar_axes(ax: Axes, ys: np.ndarray, labels: list[str], xmax: float) -> None:
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=6.4, color=INK, linespacing=1.05)
    for label in ax.get_yticklabels():
        label.set_parse_math(False)
    ax.set_ylim(ys.min() - 0.6, ys.max() + 0.6)
    ax.set_xlim(0, xmax)
    ax.xaxis.set_visible(False)
    ax.tick_params(axis="y", length=0, pad=5)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9aa5b1")


def concentration_chart(regions: list[Concentration], top: int = 10) -> str:
    """The book's expected disruption by region, as a PNG data URI."""
    rows = [r for r in regions if r.ed > 0][:top]
    fig, ax = _bar_figure(len(rows), left=0.3)
    if not rows:
        return _empty_chart(fig, ax, "No value at risk of disruption in the book")
    ys = np.arange(len(rows))[::-1]
    values = [r.ed / 1e6 for r in rows]
    colours = [
        "#2e6da4"
        if r.kind in ("chokepoint", "maritime")
        else "#1d2b3a"
        if r.kind == "world"
        else "#b03a2e"
        for r in rows
    ]
    ax.barh(ys, values, color=colours, height=0.66, zorder=2)
    for y, r, v in zip(ys, rows, values, strict=True):
        ax.text(
            v + max(values) * 0.012,
            y,
            f"US${v:,.0f}m   {r.share * 100:.0f}%   "
            f"{r.n_clients} client{'s' if r.n_clients != 1 else ''}",
            va="center",
            fontsize=6.4,
            color=INK,
            parse_math=False,
        )
    _bar_axes(ax, ys, [_wrap(region_name(r.region_id), 40) for r in rows], max(values) * 1.4)
    return _png(fig)
