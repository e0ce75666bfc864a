"""The one gazetteer of regions: world, countries, subdivisions, hotspots, maritime zones.

Region ids:
- ``world``
- a country: ISO 3166-1 alpha-3 (``IRQ``)
- a first-level subdivision: ISO 3166-2 (``IQ-NI``)
- a hotspot: ``hotspot.<name>`` (a point and a radius)
- a maritime zone or chokepoint: ``sea.<name>`` (a polygon; a chokepoint also names its searoute
  passage)

Countries and subdivisions come from pycountry; the rest from ``scoring_rules/data/gazetteer.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import pycountry
import yaml
from shapely.geometry import Polygon

RegionKind = Literal["world", "country", "subdivision", "hotspot", "maritime", "chokepoint"]

WORLD = "world"


@dataclass(frozen=True)
class Region:
    id: str
    kind: RegionKind
    name: str
    country: str | None = None  # ISO alpha-3 of the country it lies in (hotspots, subdivisions)
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    passage: str | None = None  # searoute passage name for chokepoints
    short: str | None = None  # a label for crowded maps ("Cape" for the Cape of Good Hope)
    bypass: str | None = None  # overland capacity that avoids a chokepoint, in words
    polygon: tuple[tuple[float, float], ...] = field(default=(), repr=False)  # (lon, lat)

    def shape(self) -> Polygon | None:
        return Polygon(self.polygon) if self.polygon else None


@dataclass(frozen=True)
class Gazetteer:
    named: dict[str, Region]

    def get(self, region_id: str) -> Region | None:
        """The region with this id, or None when no such region exists."""
        if region_id in self.named:
            return self.named[region_id]
        if len(region_id) == 3 and region_id.isupper():
            country = pycountry.countries.get(alpha_3=region_id)
            if country is not None:
                return Region(region_id, "country", country.name, country=region_id)
            return None
        if "-" in region_id and region_id[:2].isupper():
            sub = pycountry.subdivisions.get(code=region_id)
            if sub is not None:
                parent = pycountry.countries.get(alpha_2=sub.country_code)
                iso3 = parent.alpha_3 if parent is not None else None
                return Region(region_id, "subdivision", sub.name, country=iso3)
        return None

    def is_known(self, region_id: str) -> bool:
        return self.get(region_id) is not None

    def hotspots(self) -> list[Region]:
        return [r for r in self.named.values() if r.kind == "hotspot"]

    def sea_zones(self) -> list[Region]:
        """Maritime zones and chokepoints, each with a polygon."""
        return [r for r in self.named.values() if r.kind in ("maritime", "chokepoint")]

    def chokepoint_for_passage(self, passage: str) -> Region | None:
        for region in self.named.values():
            if region.passage == passage:
                return region
        return None


def _parse(doc: dict[str, Any]) -> dict[str, Region]:
    regions: dict[str, Region] = {WORLD: Region(WORLD, "world", "The world")}
    for item in doc.get("hotspots", []) or []:
        regions[item["id"]] = Region(
            id=item["id"],
            kind="hotspot",
            name=item["name"],
            country=item.get("country"),
            lat=float(item["lat"]),
            lon=float(item["lon"]),
            radius_km=float(item["radius_km"]),
        )
    for item in doc.get("maritime", []) or []:
        poly = tuple((float(x), float(y)) for x, y in item["polygon"])
        centre = Polygon(poly).centroid
        regions[item["id"]] = Region(
            id=item["id"],
            kind=item.get("kind", "maritime"),
            name=item["name"],
            lat=float(centre.y),
            lon=float(centre.x),
            passage=item.get("passage"),
            short=item.get("short"),
            bypass=item.get("bypass"),
            polygon=poly,
        )
    return regions


@cache
def gazetteer_text() -> str:
    """``scoring_rules/data/gazetteer.yaml`` as this process loads it (runs record its hash)."""
    return resources.files("scoring_rules").joinpath("data/gazetteer.yaml").read_text("utf-8")


@cache
def load_gazetteer() -> Gazetteer:
    # libyaml's safe loader (the same documents as yaml.safe_load, a tenth of the time): every
    # command that scores reads the gazetteer
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Gazetteer(_parse(yaml.load(gazetteer_text(), Loader=loader)))
