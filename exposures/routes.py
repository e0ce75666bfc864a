"""Sea routes: the path between two ports, the chokepoints it passes, and the detour if one closes.

Paths come from the ``searoute`` package (1.6.0) on its igraph backend. Facts this module relies on,
checked against that version's source:

- ``searoute(..., restrictions=[...])`` closes a passage by giving the marnet edges tagged with that
  name an infinite weight. Every passage name searoute reports is tagged in its network, so all
  twelve can be closed: babalmandab, bosporus, gibraltar, suez, panama, ormuz, northwest, malacca,
  sunda, chili, south_africa, bering (:func:`supported_passages` reads the tags from the graph).
  The Dardanelles carry their own tag, ``dardanelles``; closing ``bosporus`` here closes both, as
  the gazetteer's ``sea.bosporus`` stands for the Turkish Straits.
- ``northwest`` stays closed in every call (searoute's default; the Arctic routes are not
  commercial).
- When no path avoids the closed passages, searoute warns and returns an empty LineString (length
  0): from a Gulf port there is no sea route that avoids Hormuz.
- searoute mutates its shared, cached graph (``M.restrictions``) on every call and rebinds its
  shortest-path function per backend, so it is not thread-safe: every call here holds
  :data:`SEAROUTE_LOCK`. Other code that calls searoute in this process must take the same lock
  and use ``backend="igraph"`` too.
- With igraph 1.0.0, an igraph error raised in a thread other than the one that imported igraph
  aborts the process (python-igraph's error handler is per thread). searoute's own calls raise
  none on its normal paths; our code never lets igraph raise (``get_eid(..., error=False)``).
- searoute snaps each end to the nearest network node and returns the path between the nodes; we
  add the straight legs from the ports to those nodes, so lengths are port to port.
- ``traversed_passages`` comes back as an unordered set; we order passages along the path.

Days are ours: length / (speed in knots x 1.852 km/h) / 24, at 14 knots unless told.

Detours: for each passage P on the path we route again with P closed as well. No path, a path that
still carries P, or one more than three times the original length, mean there is no sea
alternative (``no_alternative=True``). A passage searoute cannot close would give a detour with no
figures (``alt_length_km=None``, ``no_alternative=False``) and a ``note`` saying why; in 1.6.0 that
does not happen. The alternative is the shortest remaining path: it may cross other chokepoints
(``alt_passages``) - Shanghai to Rotterdam without Suez goes through Panama, which is shorter than
the Cape; use ``compute_detour(..., also_closed=("panama",))`` for the Cape.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any

import searoute
from searoute.utils import distance_length
from shapely import affinity
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from core.errors import ExposureError
from exposures.gazetteer import load_gazetteer
from exposures.ports import Port

log = logging.getLogger(__name__)

SEAROUTE_LOCK = threading.Lock()
"""Hold this around every searoute call in the process (searoute is not thread-safe)."""

BACKEND = "igraph"
ALWAYS_CLOSED: tuple[str, ...] = ("northwest",)
DEFAULT_SPEED_KNOTS = 14.0
KM_PER_NM = 1.852
MAX_POINTS = 300
# in every cache key; v3: detours kept as found (the rules judge them), world seas; v4: how far
# each port is from the sea-lane network (``RouteInfo.port_gaps_km``)
ROUTE_MODEL = f"searoute-{searoute.__version__}-{BACKEND}-v4"
FAR_FROM_NETWORK_KM = 100.0
"""A port farther than this from searoute's nearest sea-lane node gets a note on its route."""

# Searoute's names for the passages (searoute.classes.passages.Passage).
PASSAGES: tuple[str, ...] = (
    "babalmandab",
    "bosporus",
    "gibraltar",
    "suez",
    "panama",
    "ormuz",
    "northwest",
    "malacca",
    "sunda",
    "chili",
    "south_africa",
    "bering",
)
_ALSO_TAGGED = {"bosporus": ("dardanelles",)}  # closing a passage also closes these edge tags
_TAG_TO_PASSAGE = {"dardanelles": "bosporus"}


@dataclass(frozen=True)
class Detour:
    """What happens to a route if ``passage`` closes.

    ``alt_length_km`` is the length of the shortest path with the passage closed (None when there
    is none or it could not be computed); ``extra_km``/``extra_days`` compare it with the route and
    are None whenever ``no_alternative`` is true. ``alt_passages`` are the passages the alternative
    crosses; ``also_closed`` are passages closed as well at the caller's request; ``note`` says in
    words what was found.
    """

    passage: str
    region_id: str | None
    alt_length_km: float | None
    extra_km: float | None
    extra_days: float | None
    no_alternative: bool
    alt_passages: tuple[str, ...] = ()
    also_closed: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class RouteInfo:
    origin: Port
    destination: Port
    length_km: float
    days: float
    passages: tuple[str, ...]  # searoute passage names, in path order
    chokepoints: tuple[str, ...]  # gazetteer region ids of the passages, same order
    sea_zones: tuple[str, ...]  # gazetteer sea zones (maritime or chokepoint) the path crosses
    detours: tuple[Detour, ...]  # one per passage
    geometry: tuple[tuple[float, float], ...]  # (lon, lat), simplified to <= MAX_POINTS points
    speed_knots: float = DEFAULT_SPEED_KNOTS
    # km from the origin and from the destination to the nearest node of the sea-lane network
    port_gaps_km: tuple[float, float] = (0.0, 0.0)

    def notes(self) -> list[tuple[str, str]]:
        """What a reader of the route should know, as (``origin`` or ``destination``, note): an
        end port far from the sea lanes (an offshore terminal, a river port), whose leg to the
        network is a straight line."""
        out = []
        ends = (("origin", self.origin), ("destination", self.destination))
        for (end, port), gap in zip(ends, self.port_gaps_km, strict=True):
            if gap > FAR_FROM_NETWORK_KM:
                out.append(
                    (
                        end,
                        f"{port.label()} is {gap:,.0f} km from the nearest sea lane; the route "
                        "runs straight from the port to that lane, so its length and days are "
                        "approximate",
                    )
                )
        return out

    def detour(self, passage: str) -> Detour | None:
        return next((d for d in self.detours if d.passage == passage), None)

    def alt_ratio(self, d: Detour) -> float | None:
        """The detour's length over this route's (None when no detour was computed)."""
        if d.alt_length_km is None or d.no_alternative or self.length_km <= 0:
            return None
        return d.alt_length_km / self.length_km

    def judged(self, no_alternative_ratio: float) -> RouteInfo:
        """This route as the rules see it: a detour more than ``no_alternative_ratio`` times as
        long as the route counts as no sea alternative (the scoring SQL applies the same test)."""
        detours = []
        for d in self.detours:
            ratio = self.alt_ratio(d)
            if ratio is not None and ratio > no_alternative_ratio:
                d = replace(
                    d,
                    extra_km=None,
                    extra_days=None,
                    no_alternative=True,
                    note=f"the only route avoiding {d.passage} is {d.alt_length_km:,.0f} km, "
                    f"more than {no_alternative_ratio:g} times the usual {self.length_km:,.0f} km",
                )
            detours.append(d)
        return replace(self, detours=tuple(detours))

    def to_json(self) -> str:
        doc = asdict(self)
        doc["model"] = ROUTE_MODEL
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RouteInfo:
        try:
            doc = json.loads(text)
            return cls(
                origin=Port(**doc["origin"]),
                destination=Port(**doc["destination"]),
                length_km=float(doc["length_km"]),
                days=float(doc["days"]),
                passages=tuple(doc["passages"]),
                chokepoints=tuple(doc["chokepoints"]),
                sea_zones=tuple(doc["sea_zones"]),
                detours=tuple(_detour_from_dict(d) for d in doc["detours"]),
                geometry=tuple((float(x), float(y)) for x, y in doc["geometry"]),
                speed_knots=float(doc.get("speed_knots", DEFAULT_SPEED_KNOTS)),
                port_gaps_km=_gaps(doc.get("port_gaps_km", (0.0, 0.0))),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ExposureError(f"stored route is unreadable ({exc!r}); compute it again") from exc


def _detour_from_dict(doc: dict[str, Any]) -> Detour:
    return Detour(
        passage=doc["passage"],
        region_id=doc["region_id"],
        alt_length_km=doc["alt_length_km"],
        extra_km=doc["extra_km"],
        extra_days=doc["extra_days"],
        no_alternative=bool(doc["no_alternative"]),
        alt_passages=tuple(doc.get("alt_passages", ())),
        also_closed=tuple(doc.get("also_closed", ())),
        note=doc.get("note"),
    )


# --- searoute -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    coords: tuple[tuple[float, float], ...]  # (lon, lat), port to port
    length_km: float
    passages: tuple[str, ...]  # in path order
    gaps_km: tuple[float, float] = (0.0, 0.0)  # origin, destination to the nearest network node


def _gaps(value: Sequence[float]) -> tuple[float, float]:
    return (float(value[0]), float(value[1]))


@cache
def _network() -> Any:
    """searoute's (cached) marnet graph; never call this while holding SEAROUTE_LOCK."""
    with SEAROUTE_LOCK:
        return searoute.setup_M(BACKEND)


@cache
def _vertices() -> dict[tuple[float, float], int]:
    """Rounded (lon, lat) -> the network's vertex index, to walk the path's edges."""
    name_to_idx: dict[tuple[float, float], int] = _network().name_to_idx
    return {(round(x, 6), round(y, 6)): index for (x, y), index in name_to_idx.items()}


def supported_passages() -> frozenset[str]:
    """Passage names searoute can close: those tagged on edges of its network (and reported)."""
    tags = set(_network().passage_to_edges)
    return frozenset(p for p in PASSAGES if p in tags)


def _ensure_igraph_binding() -> None:
    # searoute.Graph() rebinds the shortest-path functions of searoute.classes.marnet to those of
    # the backend of the graph it builds last; a networkx graph built elsewhere in the process
    # would leave the igraph graph with networkx's function. Caller holds SEAROUTE_LOCK.
    from searoute.classes import marnet
    from searoute.classes.core import graph_ig

    if marnet.bidirectional_dijkstra is not graph_ig.bidirectional_dijkstra:
        log.warning("searoute's shortest-path function was rebound elsewhere; restoring igraph's")
        marnet.bidirectional_dijkstra = graph_ig.bidirectional_dijkstra
        marnet.astar_path = graph_ig.astar_path


def _restrictions(closed: Iterable[str]) -> list[str]:
    out = list(ALWAYS_CLOSED)
    for passage in closed:
        for tag in (passage, *_ALSO_TAGGED.get(passage, ())):
            if tag not in out:
                out.append(tag)
    return out


def _unshift(lon: float) -> float:
    return (lon + 540.0) % 360.0 - 180.0


def _ordered_passages(
    coords: Sequence[Sequence[float]],
    reported: Iterable[str],
    network: Any,
    vertices: dict[tuple[float, float], int],
) -> tuple[str, ...]:
    """The passages of the path in the order it crosses them (searoute gives an unordered set).

    Uses ``get_eid(..., error=False)``: with igraph 1.0.0 an igraph error raised outside the
    thread that imported igraph aborts the whole process (its error handler is per thread), so
    nothing here may let igraph raise.
    """

    def candidates(point: Sequence[float]) -> list[int]:
        x, y = float(point[0]), round(float(point[1]), 6)
        keys = {(round(x, 6), y), (round(_unshift(x), 6), y)}
        keys |= {(round(k[0] + d, 6), y) for k in list(keys) for d in (-360.0, 360.0)}
        return [vertices[k] for k in keys if k in vertices]

    ordered: list[str] = []
    previous = candidates(coords[0]) if coords else []
    for point in coords[1:]:
        current = candidates(point)
        edge_id = next(
            (
                e
                for u in previous
                for v in current
                if (e := network.get_eid(u, v, error=False)) >= 0
            ),
            -1,
        )
        if edge_id >= 0:
            tag = network.es[edge_id]["passage"]
            passage = _TAG_TO_PASSAGE.get(tag, tag)
            if passage in PASSAGES and passage not in ordered:
                ordered.append(passage)
        previous = current
    for passage in sorted(set(reported) - set(ordered)):
        log.debug("passage %s reported by searoute but not found on the path's edges", passage)
        ordered.append(passage)
    return tuple(ordered)


def _with_ports(
    coords: list[tuple[float, float]], origin: Port, destination: Port
) -> tuple[tuple[float, float], ...]:
    def near(lon: float, ref: float) -> float:  # keep the leg on the path's side of +-180
        return lon + 360.0 if ref - lon > 180.0 else lon - 360.0 if lon - ref > 180.0 else lon

    start = (near(origin.lon, coords[0][0]), origin.lat)
    end = (near(destination.lon, coords[-1][0]), destination.lat)
    out = list(coords)
    if out[0] != start:
        out.insert(0, start)
    if out[-1] != end:
        out.append(end)
    return tuple(out)


def _route(origin: Port, destination: Port, closed: Sequence[str] = ()) -> _Path | None:
    """The shortest sea path with ``closed`` passages closed (besides northwest), or None."""
    restrictions = _restrictions(closed)
    network, vertices = _network(), _vertices()  # built outside the lock
    started = time.perf_counter()
    with SEAROUTE_LOCK:
        _ensure_igraph_binding()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            feature = searoute.searoute(
                [origin.lon, origin.lat],
                [destination.lon, destination.lat],
                units="km",
                restrictions=restrictions,
                return_passages=True,
                backend=BACKEND,
            )
        raw = [(float(x), float(y)) for x, y in feature["geometry"]["coordinates"]]
        reported = feature["properties"].get("traversed_passages", [])
        passages = _ordered_passages(raw, reported, network, vertices) if raw else ()
    for warning in caught:
        log.debug("searoute: %s", warning.message)
    if not raw:
        log.debug("no path %s -> %s avoiding %s", origin.label(), destination.label(), restrictions)
        return None
    coords = _with_ports(raw, origin, destination)
    length = float(distance_length(list(coords), units="km"))
    gaps = tuple(
        float(distance_length([(port.lon, port.lat), (_unshift(node[0]), node[1])]))
        for port, node in ((origin, raw[0]), (destination, raw[-1]))
    )
    for port, gap in zip((origin, destination), gaps, strict=True):
        if gap > FAR_FROM_NETWORK_KM:  # a note of the route (RouteInfo.notes), shown per row
            log.debug("%s is %.0f km from searoute's sea network", port.label(), gap)
    log.debug(
        "searoute %s -> %s closed=%s: %.0f km %s in %.1f ms",
        origin.label(),
        destination.label(),
        restrictions,
        length,
        passages,
        (time.perf_counter() - started) * 1000,
    )
    return _Path(coords, length, passages, (gaps[0], gaps[1]))


# --- geometry -------------------------------------------------------------------------------------


def _days(length_km: float, speed_knots: float) -> float:
    return length_km / (speed_knots * KM_PER_NM) / 24.0


def _shifted(shape: BaseGeometry) -> list[BaseGeometry]:
    # paths crossing the antimeridian run past +-180; test the zones one turn either side too
    return [shape, affinity.translate(shape, 360.0, 0.0), affinity.translate(shape, -360.0, 0.0)]


def _sea_zones(line: LineString) -> tuple[str, ...]:
    """Ids of the gazetteer sea zones the line crosses, in the order it enters them."""
    found: list[tuple[float, str]] = []
    for zone in load_gazetteer().sea_zones():
        shape = zone.shape()
        if shape is None:
            continue
        positions = []
        for copy in _shifted(shape):
            if line.intersects(copy):
                part = line.intersection(copy)
                pieces = getattr(part, "geoms", [part])
                positions += [line.project(Point(p.coords[0])) for p in pieces if not p.is_empty]
        if positions:
            found.append((min(positions), zone.id))
    return tuple(zone_id for _, zone_id in sorted(found))


def _touches(line: LineString, region_id: str | None) -> bool:
    region = load_gazetteer().get(region_id) if region_id else None
    shape = region.shape() if region is not None else None
    return shape is not None and any(line.intersects(copy) for copy in _shifted(shape))


def _simplified(coords: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    line = LineString(coords)
    tolerance = 0.005
    while len(line.coords) > MAX_POINTS:
        line = LineString(coords).simplify(tolerance, preserve_topology=False)
        tolerance *= 2
    return tuple((round(x, 5), round(y, 5)) for x, y, *_ in line.coords)


# --- public API -----------------------------------------------------------------------------------


def _port_key(port: Port) -> str:
    return port.locode if port.locode else f"{port.lat:.4f},{port.lon:.4f}"


def route_key(origin: Port, destination: Port, speed_knots: float = DEFAULT_SPEED_KNOTS) -> str:
    """A stable cache key: ``route:<model>:SARTA>NLRTM:14kn`` (LOCODE, else lat,lon to 4 places).

    The model part names the searoute version and backend, so an upgrade misses the cache.
    """
    return f"route:{ROUTE_MODEL}:{_port_key(origin)}>{_port_key(destination)}:{speed_knots:g}kn"


def _same_port(a: Port, b: Port) -> bool:
    if a.locode and b.locode:
        return a.locode == b.locode
    return abs(a.lat - b.lat) < 1e-4 and abs(a.lon - b.lon) < 1e-4


def _check(origin: Port, destination: Port, speed_knots: float) -> None:
    if _same_port(origin, destination):
        raise ExposureError(
            f"route from {origin.label()} to {destination.label()}: origin and destination are the "
            "same port; give two different ports"
        )
    if not speed_knots > 0:
        raise ExposureError(f"route speed must be above 0 knots, got {speed_knots}")


def _detour(
    origin: Port,
    destination: Port,
    passage: str,
    base_length_km: float,
    speed_knots: float,
    also_closed: Sequence[str] = (),
) -> Detour:
    region = load_gazetteer().chokepoint_for_passage(passage)
    region_id = region.id if region is not None else None
    also = tuple(p for p in also_closed if p != passage and p not in ALWAYS_CLOSED)
    closing = " and ".join((passage, *also))

    def none(no_alternative: bool, note: str, alt: _Path | None = None) -> Detour:
        return Detour(
            passage=passage,
            region_id=region_id,
            alt_length_km=alt.length_km if alt is not None else None,
            extra_km=None,
            extra_days=None,
            no_alternative=no_alternative,
            alt_passages=alt.passages if alt is not None else (),
            also_closed=also,
            note=note,
        )

    unsupported = [p for p in (passage, *also) if p not in supported_passages()]
    if unsupported:
        return none(
            False,
            f"searoute {searoute.__version__} cannot close {', '.join(unsupported)}; "
            "detour not computed",
        )
    alt = _route(origin, destination, (passage, *also))
    if alt is None:
        return none(True, f"no sea route avoids {closing}")
    if passage in alt.passages:
        return none(True, f"every sea route still passes {passage}", alt)
    extra = alt.length_km - base_length_km
    via = f" via {', '.join(alt.passages)}" if alt.passages else ""
    extra_days = _days(extra, speed_knots)
    note = (
        f"avoiding {closing}: {alt.length_km:,.0f} km{via}, {extra:+,.0f} km "
        f"({extra / KM_PER_NM:+,.0f} nm, {extra_days:+.1f} days at {speed_knots:g} kn)"
    )
    if _touches(LineString(alt.coords), region_id):
        note += f"; the alternative still touches {region_id} (a port lies in or next to it)"
    return Detour(
        passage=passage,
        region_id=region_id,
        alt_length_km=alt.length_km,
        extra_km=extra,
        extra_days=extra_days,
        no_alternative=False,
        alt_passages=alt.passages,
        also_closed=also,
        note=note,
    )


def compute_detour(
    origin: Port,
    destination: Port,
    passage: str,
    *,
    also_closed: Sequence[str] = (),
    speed_knots: float = DEFAULT_SPEED_KNOTS,
) -> Detour:
    """The detour if ``passage`` closes, optionally with ``also_closed`` passages closed too.

    Extra distance and days compare with the usual route (only northwest closed).
    """
    _check(origin, destination, speed_knots)
    base = _route(origin, destination)
    if base is None:
        raise ExposureError(f"no sea route from {origin.label()} to {destination.label()}")
    return _detour(origin, destination, passage, base.length_km, speed_knots, also_closed)


def compute_route(
    origin: Port, destination: Port, speed_knots: float = DEFAULT_SPEED_KNOTS
) -> RouteInfo:
    """The sea route between two ports, its chokepoints and sea zones, and a detour per passage."""
    _check(origin, destination, speed_knots)
    started = time.perf_counter()
    base = _route(origin, destination)
    if base is None:
        raise ExposureError(
            f"no sea route from {origin.label()} to {destination.label()} "
            "(is one of them on an inland sea or far from the coast?)"
        )
    gazetteer = load_gazetteer()
    chokepoints = tuple(
        region.id
        for passage in base.passages
        if (region := gazetteer.chokepoint_for_passage(passage)) is not None
    )
    detours = tuple(
        _detour(origin, destination, passage, base.length_km, speed_knots)
        for passage in base.passages
        if passage not in ALWAYS_CLOSED
    )
    route = RouteInfo(
        origin=origin,
        destination=destination,
        length_km=base.length_km,
        days=_days(base.length_km, speed_knots),
        passages=base.passages,
        chokepoints=chokepoints,
        sea_zones=_sea_zones(LineString(base.coords)),
        detours=detours,
        geometry=_simplified(base.coords),
        speed_knots=speed_knots,
        port_gaps_km=base.gaps_km,
    )
    log.info(
        "route %s -> %s: %.0f km, %.1f days, passages %s, in %.0f ms",
        origin.label(),
        destination.label(),
        route.length_km,
        route.days,
        ", ".join(route.passages) or "none",
        (time.perf_counter() - started) * 1000,
    )
    return route
