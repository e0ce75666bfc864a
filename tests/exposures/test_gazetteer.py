"""The global gazetteer: every country, every ISO subdivision, the main seas and straits."""

from __future__ import annotations

import pycountry
import pytest
from shapely.geometry import Point

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract import ingest

CHOKEPOINTS_AND_SEAS = {
    "Strait of Malacca": "sea.malacca",
    "Taiwan Strait": "sea.taiwan_strait",
    "Black Sea": "sea.black_sea",
    "Turkish Straits (Bosporus and Dardanelles)": "sea.bosporus",
    "Gulf of Guinea": "sea.gulf_of_guinea",
    "Panama Canal": "sea.panama",
    "Strait of Gibraltar": "sea.gibraltar",
    "English Channel and Strait of Dover": "sea.english_channel",
    "Red Sea": "sea.red_sea",
    "Bab-el-Mandeb": "sea.bab_el_mandeb",
    "Gulf of Aden": "sea.gulf_of_aden",
    "Strait of Hormuz": "sea.hormuz",
    "South China Sea": "sea.south_china_sea",
    "Mediterranean Sea": "sea.mediterranean",
    "Baltic Sea": "sea.baltic_sea",
    "Mozambique Channel": "sea.mozambique_channel",
}


def test_every_country_and_every_subdivision_is_a_region() -> None:
    gaz = load_gazetteer()
    assert [c.alpha_3 for c in pycountry.countries if not gaz.is_known(c.alpha_3)] == []
    assert [s.code for s in pycountry.subdivisions if not gaz.is_known(s.code)] == []
    region = gaz.get("KE-28")
    assert region is not None and (region.kind, region.name, region.country) == (
        "subdivision",
        "Mombasa",
        "KEN",
    )


def test_the_main_seas_and_straits_are_sea_zones() -> None:
    gaz = load_gazetteer()
    zones = {r.name: r.id for r in gaz.sea_zones()}
    assert {n: zones.get(n) for n in CHOKEPOINTS_AND_SEAS} == CHOKEPOINTS_AND_SEAS
    assert len(zones) == 40
    assert all(r.shape() is not None and r.shape().is_valid for r in gaz.sea_zones())


@pytest.mark.parametrize(
    ("lon", "lat", "zone"),
    [
        (120.28, 22.61, "sea.taiwan_strait"),  # Kaohsiung
        (30.73, 46.48, "sea.black_sea"),  # Odesa
        (1.31, 51.13, "sea.english_channel"),  # Dover
        (3.39, 6.45, "sea.gulf_of_guinea"),  # Lagos
        (4.00, 51.95, "sea.north_sea"),  # Rotterdam (Maasvlakte)
        (39.66, -4.05, "sea.somali_basin"),  # Mombasa
        (18.65, 54.35, "sea.baltic_sea"),  # Gdansk
        (23.63, 37.94, "sea.mediterranean"),  # Piraeus
    ],
)
def test_coastal_ports_lie_in_the_water_they_serve(lon: float, lat: float, zone: str) -> None:
    inside = [r.id for r in load_gazetteer().sea_zones() if r.shape().contains(Point(lon, lat))]
    assert inside == [zone]


@pytest.mark.parametrize(
    ("lon", "lat"), [(2.35, 48.85), (9.19, 45.46), (36.82, -1.29), (116.4, 39.9), (-3.7, 40.4)]
)
def test_inland_capitals_lie_in_no_sea(lon: float, lat: float) -> None:
    assert [r.id for r in load_gazetteer().sea_zones() if r.shape().contains(Point(lon, lat))] == []


@pytest.mark.parametrize(
    ("sentence", "region"),
    [
        ("Drone attacks on grain ships in the Black Sea are likely to continue.", "sea.black_sea"),
        (
            "Chinese drills in the Taiwan Strait are likely to disrupt shipping.",
            "sea.taiwan_strait",
        ),
        (
            "Pirate attacks on tankers in the Gulf of Guinea are likely to persist.",
            "sea.gulf_of_guinea",
        ),
        (
            "Attacks on ferries in the English Channel are likely to continue.",
            "sea.english_channel",
        ),
    ],
)
def test_the_extractor_reads_sea_names_as_sea_zones(sentence: str, region: str) -> None:
    result = ingest(f"# Outlook\n\n## Key judgements\n\n{sentence}\n", fmt="markdown")
    assert region in {r.region for d in result.drafts for r in d.regions}, [
        (d.category, [r.region for r in d.regions]) for d in result.drafts
    ]
