"""Country outlines for the report maps, read offline from the vendored Natural Earth TopoJSON.

``data/countries-110m.json`` and ``data/countries-50m.json`` are the unchanged files of the
``world-atlas`` 2.0.2 package (Natural Earth 4.1, public domain; see data/README.md). TopoJSON
stores shared borders once as quantised, delta-encoded arcs; a polygon ring is a list of arc
indices, where ``~i`` (that is ``-i - 1``) means arc ``i`` walked backwards. This module decodes
the arcs once per process and hands back plain (lon, lat) rings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pycountry

Resolution = Literal["110m", "50m"]


@dataclass(frozen=True)
class Country:
    iso3: str | None  # ISO 3166-1 alpha-3, None for a few disputed areas
    name: str
    rings: tuple[np.ndarray, ...]  # each an (n, 2) array of lon, lat; outer rings and holes


def _iso3(numeric: str | None) -> str | None:
    if not numeric:
        return None
    found = pycountry.countries.get(numeric=numeric.zfill(3))
    return found.alpha_3 if found is not None else None


def _decode_arcs(doc: dict[str, Any]) -> list[np.ndarray]:
    scale = np.array(doc["transform"]["scale"], dtype=float)
    translate = np.array(doc["transform"]["translate"], dtype=float)
    arcs = []
    for arc in doc["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=float), axis=0)
        arcs.append(q * scale + translate)
    return arcs


def _ring(indices: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """A ring's points; longitudes made continuous where it crosses the antimeridian (Russia,
    Fiji), so a ring may reach past 180 and is drawn again shifted by 360 degrees."""
    parts = []
    for k, i in enumerate(indices):
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(arc if k == 0 else arc[1:])
    if not parts:
        return np.empty((0, 2))
    ring = np.concatenate(parts)
    jumps = np.abs(np.diff(ring[:, 0])) > 180
    if jumps.any():
        ring = ring.copy()
        ring[:, 0] = np.degrees(np.unwrap(np.radians(ring[:, 0])))
    return ring


@cache
def countries(resolution: Resolution = "110m") -> tuple[Country, ...]:
    """Every country of the chosen Natural Earth scale, decoded once per process."""
    text = (
        resources.files("engine.report")
        .joinpath(f"data/countries-{resolution}.json")
        .read_text("utf-8")
    )
    doc = json.loads(text)
    arcs = _decode_arcs(doc)
    out = []
    for geom in doc["objects"]["countries"]["geometries"]:
        kind = geom.get("type")
        if kind == "Polygon":
            polygons = [geom["arcs"]]
        elif kind == "MultiPolygon":
            polygons = geom["arcs"]
        else:
            continue
        rings = tuple(_ring(r, arcs) for poly in polygons for r in poly)
        out.append(
            Country(
                iso3=_iso3(geom.get("id")),
                name=str((geom.get("properties") or {}).get("name", "")),
                rings=tuple(r for r in rings if len(r) >= 3),
            )
        )
    return tuple(out)
