"""First-level subdivisions for every country: the vendored GeoNames admin1 -> ISO 3166-2 table."""

from __future__ import annotations

import polars as pl
import pycountry
import pytest

from exposures.geocode import admin1_to_iso, geocode
from exposures.places import ADMIN1_TO_ISO

GEO_SCHEMA = {"lat": pl.Float64, "lon": pl.Float64, "city": pl.String, "country": pl.String}


def test_the_table_covers_190_countries_with_codes_pycountry_knows() -> None:
    table = admin1_to_iso()
    assert len(table) == 3465
    assert len({k.split(".")[0] for k in table}) == 190
    assert [v for v in table.values() if pycountry.subdivisions.get(code=v) is None] == []
    assert all(v.startswith(k.split(".")[0] + "-") for k, v in table.items())


def test_the_table_agrees_with_the_hand_checked_one_where_both_speak() -> None:
    """Only Iraq's Kurdistan governorates differ: ISO puts them under IQ-KR, the hand table keeps
    the governorate (and the geocoder prefers it)."""
    table = admin1_to_iso()
    differ = sorted(
        f"{cc}.{code}"
        for cc, entries in ADMIN1_TO_ISO.items()
        for code, e in entries.items()
        if table.get(f"{cc}.{code}") != e.iso
    )
    assert differ == ["IQ.05", "IQ.08", "IQ.11", "IQ.19"]


@pytest.mark.parametrize(
    ("city", "country", "iso"),
    [
        ("Mombasa", "Kenya", "KE-28"),
        ("Lyon", "France", "FR-ARA"),
        ("Kaohsiung", "Taiwan", "TW-KHH"),
        ("Lagos", "Nigeria", "NG-LA"),
        ("Odesa", "Ukraine", "UA-51"),
        ("Pemba", "Mozambique", "MZ-P"),
        ("Valparaíso", "Chile", "CL-VS"),
        ("Houston", "United States", "US-TX"),
        ("Erbil", "Iraq", "IQ-AR"),  # the hand table still wins
    ],
)
def test_a_city_anywhere_geocodes_to_its_subdivision(city: str, country: str, iso: str) -> None:
    out = geocode(
        pl.DataFrame(
            [{"lat": None, "lon": None, "city": city, "country": country}], schema=GEO_SCHEMA
        )
    )
    assert out["subdivision"].to_list() == [iso]


def test_coordinates_alone_find_the_subdivision_of_the_nearest_town() -> None:
    out = geocode(
        pl.DataFrame(
            [{"lat": -4.05, "lon": 39.66, "city": None, "country": None}], schema=GEO_SCHEMA
        )
    )
    assert out["country_iso3"].to_list() == ["KEN"]
    assert out["subdivision"].to_list() == ["KE-28"]
