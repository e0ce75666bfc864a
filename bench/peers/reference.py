"""The method's inputs as the peers read them: flat files that bench/book.py writes in ``method/``.

- ``cities.parquet``      the GeoNames city extract the product geocodes with (lat, lon, iso3,
                           subdivision), in the product's order (most populous first)
- ``parents.parquet``     subdivision -> each ISO 3166-2 parent (Kurdistan's governorates)
- ``hotspots.parquet``    region_id, lat, lon, radius_km
- ``sea_zones.parquet``   region_id, wkt (lon/lat polygons)
- ``threats.parquet``     the run's threats: category, severity, likelihood range, window share,
                           targets (lists)
- ``threat_regions.parquet``  threat_id, region_id, intensity
- ``rule_sector.parquet``, ``rule_vuln.parquet``, ``rule_mitigation.parquet``,
  ``rule_bands.parquet``  the rules tables
- ``route_pairs.parquet`` per port pair, the regions its sea path and end ports lie in, with
                           detour days, no-alternative flag and detour ratio (the port-pair cache)
- ``clients.parquet``, ``services.parquet``  sector, affiliations, business value; tolerances
- ``params.json``         the rules' numbers (collateral factor, hotspot fall-off, ...)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EARTH_RADIUS_KM = 6371.0088
SUBDIVISION_MAX_KM = 150.0
BATCH_ROWS = 500_000


def params(book: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((book / "method" / "params.json").read_text("utf-8"))
    return value


def table(book: Path, name: str) -> Path:
    return book / "method" / f"{name}.parquet"
