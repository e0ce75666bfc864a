from __future__ import annotations

import dataclasses

import pytest

from engine.errors import ExposureError
from exposures.ports import Port, resolve_port, suggest_ports


@pytest.mark.parametrize("text", ["SARTA", "sarta", "SA RTA", "sa rta", " SARTA "])
def test_locode_with_or_without_space_any_case(text: str) -> None:
    port = resolve_port(text)
    assert port.locode == "SARTA"
    assert port.name == "Ras Tanura"
    assert port.country_iso3 == "SAU"
    assert port.lat == pytest.approx(26.709417)
    assert port.lon == pytest.approx(50.070348)


@pytest.mark.parametrize("text", ["Ras Tanura", "ras tanura", "RAS  TANURA", "Ras-Tanura"])
def test_name_is_case_and_punctuation_insensitive(text: str) -> None:
    assert resolve_port(text).locode == "SARTA"


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("26.64, 50.16", 26.64, 50.16),
        ("26.64,50.16", 26.64, 50.16),
        ("26.64 50.16", 26.64, 50.16),
        ("26.64N 50.16E", 26.64, 50.16),
        ("50.16E, 26.64N", 26.64, 50.16),
        ("33.92S, 18.42E", -33.92, 18.42),
        ("-23.97, -46.32", -23.97, -46.32),
    ],
)
def test_coordinates_are_lat_lon(text: str, lat: float, lon: float) -> None:
    port = resolve_port(text)
    assert (port.lat, port.lon) == (lat, lon)
    assert port.locode is None
    assert port.country_iso3 is None


def test_swapped_coordinates_say_so() -> None:
    with pytest.raises(ExposureError, match="did you swap them"):
        resolve_port("126.64, 50.16")


@pytest.mark.parametrize(
    ("text", "locode", "iso3"),
    [
        ("Ras Tanura", "SARTA", "SAU"),
        ("Basra", "IQUQR", "IRQ"),
        ("Basrah", "IQUQR", "IRQ"),
        ("Umm Qasr", "IQUQR", "IRQ"),
        ("Jebel Ali", "AEJEA", "ARE"),
        ("Fujairah", "AEFJR", "ARE"),
        ("Bandar Abbas", "IRBND", "IRN"),
        ("Kuwait", "KWKWI", "KWT"),
        ("Shuwaikh", "KWSWK", "KWT"),
        ("Mina Al Ahmadi", "KWMEA", "KWT"),
        ("Ras Laffan", "QARLF", "QAT"),
        ("Dammam", "SADMN", "SAU"),
        ("Shanghai", "CNSHA", "CHN"),
        ("Singapore", "SGSIN", "SGP"),
        ("Rotterdam", "NLRTM", "NLD"),
        ("Port of Rotterdam", "NLRTM", "NLD"),
        ("Hamburg", "DEHAM", "DEU"),
        ("Felixstowe", "GBFXT", "GBR"),
        ("Antwerp", "BEANR", "BEL"),
        ("Antwerpen", "BEANR", "BEL"),
        ("Piraeus", "GRPIR", "GRC"),
        ("Genoa", "ITGOA", "ITA"),
        ("Jeddah", "SAJED", "SAU"),
        ("Port Said", "EGPSD", "EGY"),
        ("Mumbai", "INBOM", "IND"),
        ("Houston", "USHOU", "USA"),
        ("Santos", "BRSSZ", "BRA"),
        ("Callao", "PECLL", "PER"),
        ("Valparaiso", "CLVAP", "CHL"),
        ("Yokohama", "JPYOK", "JPN"),
        ("Busan", "KRPUS", "KOR"),
        ("Göteborg", "SEGOT", "SWE"),
    ],
)
def test_important_ports(text: str, locode: str, iso3: str) -> None:
    port = resolve_port(text)
    assert port.locode == locode
    assert port.country_iso3 == iso3


def test_port_missing_from_searoute_comes_from_our_table() -> None:
    abot = resolve_port("Al Basrah Oil Terminal")
    assert abot.locode is None
    assert abot.country_iso3 == "IRQ"
    assert abot.lat == pytest.approx(29.68, abs=0.05)
    assert resolve_port("ABOT") == abot
    assert resolve_port("Kharg Island").locode == "IRKHK"


def test_country_picks_between_namesakes() -> None:
    assert resolve_port("Hamburg, US").locode == "USHAM"
    assert resolve_port("Hamburg (Germany)").locode == "DEHAM"


def test_duplicate_locode_prefers_the_terminal_entry() -> None:
    assert resolve_port("INBOM").name == "Mumbai"
    assert resolve_port("Bombay").locode == "INBOM"


def test_unknown_port_suggests_the_close_one() -> None:
    with pytest.raises(ExposureError) as err:
        resolve_port("Rotterdm")
    assert str(err.value) == "unknown port 'Rotterdm'; did you mean Rotterdam (NLRTM)?"


def test_unknown_locode_suggests_by_locode() -> None:
    with pytest.raises(ExposureError, match=r"did you mean Rotterdam \(NLRTM\)\?"):
        resolve_port("NLRTN")


def test_unknown_port_lists_up_to_three() -> None:
    with pytest.raises(ExposureError) as err:
        resolve_port("Shanghia")
    message = str(err.value)
    assert message.startswith("unknown port 'Shanghia'; did you mean Shanghai (CNSHA), ")
    assert message.count("(") <= 3 and " or " in message


def test_unknown_port_without_suggestion_says_what_to_give() -> None:
    with pytest.raises(ExposureError, match="give a UN/LOCODE"):
        resolve_port("Xyzzy qq")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_port(text: str) -> None:
    with pytest.raises(ExposureError, match="empty port"):
        resolve_port(text)


def test_suggest_ports() -> None:
    found = suggest_ports("Jebal Ali")
    assert found[0].locode == "AEJEA"
    assert len(suggest_ports("Shanghia", limit=2)) <= 2
    assert suggest_ports("Shanghia", limit=0) == []
    assert suggest_ports("") == []


def test_port_is_frozen_and_hashable() -> None:
    port = resolve_port("NLRTM")
    assert isinstance(port, Port)
    assert {port: 1}[resolve_port("Rotterdam")] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        port.name = "x"  # type: ignore[misc]
