from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.errors import ExposureError
from exposures import routes
from exposures.ports import resolve_port
from exposures.routes import (
    MAX_POINTS,
    PASSAGES,
    Detour,
    RouteInfo,
    compute_detour,
    compute_route,
    route_key,
    supported_passages,
)

NM = 1.852  # km per nautical mile


def nm(km: float | None) -> float:
    assert km is not None
    return km / NM


@pytest.fixture(scope="module")
def ras_tanura_rotterdam() -> RouteInfo:
    return compute_route(resolve_port("SARTA"), resolve_port("Rotterdam"))


@pytest.fixture(scope="module")
def shanghai_rotterdam() -> RouteInfo:
    return compute_route(resolve_port("Shanghai"), resolve_port("Rotterdam"))


@pytest.fixture(scope="module")
def santos_rotterdam() -> RouteInfo:
    return compute_route(resolve_port("Santos"), resolve_port("Rotterdam"))


def detour(route: RouteInfo, passage: str) -> Detour:
    found = route.detour(passage)
    assert found is not None, f"no detour for {passage} in {route.detours}"
    return found


# --- Ras Tanura -> Rotterdam: through Hormuz, Bab-el-Mandeb and Suez ------------------------------


def test_ras_tanura_rotterdam_path(ras_tanura_rotterdam: RouteInfo) -> None:
    route = ras_tanura_rotterdam
    assert route.passages == ("ormuz", "babalmandab", "suez", "gibraltar")  # in path order
    assert route.chokepoints == ("sea.hormuz", "sea.bab_el_mandeb", "sea.suez", "sea.gibraltar")
    assert {"sea.persian_gulf", "sea.hormuz", "sea.gulf_of_oman"} <= set(route.sea_zones)
    assert route.sea_zones[:3] == ("sea.persian_gulf", "sea.hormuz", "sea.gulf_of_oman")
    assert {"sea.red_sea", "sea.gulf_of_aden", "sea.bab_el_mandeb"} <= set(route.sea_zones)
    # 12,118 km = 6,543 nm, 19.5 days at 14 kn (public figure: about 6,400-6,500 nm via Suez)
    assert 6_200 < nm(route.length_km) < 6_900
    assert route.days == pytest.approx(route.length_km / (14 * NM) / 24)
    assert 18.5 < route.days < 20.5


def test_ras_tanura_has_no_sea_alternative_to_hormuz(ras_tanura_rotterdam: RouteInfo) -> None:
    hormuz = detour(ras_tanura_rotterdam, "ormuz")
    assert hormuz.no_alternative is True
    assert hormuz.region_id == "sea.hormuz"
    assert hormuz.alt_length_km is None
    assert hormuz.extra_km is None and hormuz.extra_days is None
    assert hormuz.note == "no sea route avoids ormuz"


@pytest.mark.parametrize("passage", ["suez", "babalmandab"])
def test_ras_tanura_red_sea_detour_goes_round_the_cape(
    ras_tanura_rotterdam: RouteInfo, passage: str
) -> None:
    cape = detour(ras_tanura_rotterdam, passage)
    assert cape.no_alternative is False
    assert cape.alt_passages == ("ormuz", "south_africa")
    # +8,858 km = +4,783 nm, +14.2 days at 14 kn: inside the 3,000-6,000 nm / 10-20 days reference
    assert 3_000 < nm(cape.extra_km) < 6_000
    assert cape.extra_days is not None and 10 < cape.extra_days < 20
    assert cape.alt_length_km == pytest.approx(
        ras_tanura_rotterdam.length_km + nm(cape.extra_km) * NM
    )


def test_detours_cover_every_passage_but_northwest(ras_tanura_rotterdam: RouteInfo) -> None:
    assert tuple(d.passage for d in ras_tanura_rotterdam.detours) == ras_tanura_rotterdam.passages
    assert "northwest" not in ras_tanura_rotterdam.passages


# --- Shanghai -> Rotterdam: through Malacca, Bab-el-Mandeb and Suez ------------------------------


def test_shanghai_rotterdam_path(shanghai_rotterdam: RouteInfo) -> None:
    route = shanghai_rotterdam
    assert route.passages == ("malacca", "babalmandab", "suez", "gibraltar")
    assert "sea.hormuz" not in route.chokepoints
    assert {"sea.malacca", "sea.red_sea", "sea.suez"} <= set(route.sea_zones)
    # 19,626 km = 10,597 nm, 31.5 days at 14 kn (public figure: about 10,500 nm)
    assert 10_000 < nm(route.length_km) < 11_200
    assert 30 < route.days < 33


@pytest.mark.parametrize("passage", ["suez", "babalmandab"])
def test_shanghai_red_sea_detour_shortest_is_panama(
    shanghai_rotterdam: RouteInfo, passage: str
) -> None:
    # searoute's shortest alternative from Shanghai runs east through Panama: +5,408 km
    # (+2,920 nm, +8.7 days at 14 kn), a little shorter than the Cape.
    alt = detour(shanghai_rotterdam, passage)
    assert alt.no_alternative is False
    assert alt.alt_passages == ("panama",)
    assert 2_500 < nm(alt.extra_km) < 3_300
    assert alt.extra_days is not None and 7.5 < alt.extra_days < 10


def test_shanghai_cape_detour_with_panama_closed_too() -> None:
    shanghai, rotterdam = resolve_port("Shanghai"), resolve_port("Rotterdam")
    cape = compute_detour(shanghai, rotterdam, "suez", also_closed=("panama",))
    assert cape.also_closed == ("panama",)
    assert "south_africa" in cape.alt_passages and "suez" not in cape.alt_passages
    # +6,148 km = +3,320 nm: inside 3,000-6,000 nm. At 14 kn that is 9.9 days, just under the
    # "10-20 days" reference (which assumes slower steaming); at 12 kn it is 11.5 days.
    assert 3_000 < nm(cape.extra_km) < 6_000
    assert cape.extra_days is not None and 9.5 < cape.extra_days < 20
    slow = compute_detour(shanghai, rotterdam, "suez", also_closed=("panama",), speed_knots=12)
    assert slow.extra_days is not None and 10 < slow.extra_days < 20
    assert slow.extra_km == pytest.approx(cape.extra_km)


def test_malacca_detour_goes_through_sunda(shanghai_rotterdam: RouteInfo) -> None:
    sunda = detour(shanghai_rotterdam, "malacca")
    assert sunda.no_alternative is False
    assert sunda.alt_passages[0] == "sunda"
    assert 300 < nm(sunda.extra_km) < 900  # +1,054 km


# --- Santos -> Rotterdam: no chokepoint at all ----------------------------------------------------


def test_santos_rotterdam_passes_no_gulf_chokepoint(santos_rotterdam: RouteInfo) -> None:
    gulf = {"sea.hormuz", "sea.persian_gulf", "sea.gulf_of_oman", "sea.bab_el_mandeb", "sea.suez"}
    assert not gulf & set(santos_rotterdam.chokepoints)
    assert not gulf & set(santos_rotterdam.sea_zones)
    assert santos_rotterdam.passages == ()
    assert santos_rotterdam.detours == ()
    assert 5_200 < nm(santos_rotterdam.length_km) < 5_800  # 10,185 km = 5,499 nm


# --- other detour outcomes ------------------------------------------------------------------------


def test_alternative_more_than_three_times_longer_is_no_alternative() -> None:
    # the route keeps the detour as found; the rules' no_alternative_ratio decides, at scoring
    # time and in every description, that a detour this long is no sea alternative
    route = compute_route(resolve_port("Port Said"), resolve_port("Mumbai"))
    found = detour(route, "suez")
    assert found.no_alternative is False and found.extra_days is not None
    ratio = route.alt_ratio(found)
    assert ratio is not None and ratio > 3
    suez = detour(route.judged(3.0), "suez")
    assert suez.no_alternative is True
    assert suez.alt_length_km is not None and suez.alt_length_km > 3 * route.length_km
    assert suez.extra_km is None and suez.extra_days is None
    assert suez.note is not None and "more than 3 times" in suez.note
    # a more tolerant rule keeps the detour
    assert detour(route.judged(ratio + 1), "suez").no_alternative is False


def test_turkish_straits_have_no_alternative_into_the_black_sea() -> None:
    route = compute_route(resolve_port("Piraeus"), resolve_port("Novorossiysk"))
    assert route.chokepoints == ("sea.bosporus",)
    assert detour(route, "bosporus").no_alternative is True


def test_alternative_still_through_the_passage_is_no_alternative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = resolve_port("Jebel Ali"), resolve_port("Mumbai")
    stubborn = routes._Path(((55.0, 25.0), (72.8, 19.0)), 2_300.0, ("ormuz",))
    monkeypatch.setattr(routes, "_route", lambda *args, **kwargs: stubborn)
    found = routes._detour(a, b, "ormuz", 2_200.0, 14.0)
    assert found.no_alternative is True
    assert found.note == "every sea route still passes ormuz"


def test_passage_searoute_cannot_close_is_reported_not_guessed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "supported_passages", lambda: frozenset({"suez"}))
    found = routes._detour(resolve_port("SARTA"), resolve_port("NLRTM"), "ormuz", 12_000.0, 14.0)
    assert found.no_alternative is False
    assert found.alt_length_km is None and found.extra_km is None
    assert found.note is not None and "cannot close ormuz" in found.note


def test_searoute_can_close_every_passage_it_names() -> None:
    assert supported_passages() == frozenset(PASSAGES)


# --- errors, units, geometry, keys, JSON ----------------------------------------------------------


def test_same_origin_and_destination_is_an_error() -> None:
    with pytest.raises(ExposureError, match="same port"):
        compute_route(resolve_port("SARTA"), resolve_port("Ras Tanura"))


def test_speed_must_be_positive() -> None:
    with pytest.raises(ExposureError, match="speed"):
        compute_route(resolve_port("SARTA"), resolve_port("NLRTM"), speed_knots=0)


def test_days_follow_the_speed(santos_rotterdam: RouteInfo) -> None:
    fast = compute_route(santos_rotterdam.origin, santos_rotterdam.destination, speed_knots=20)
    assert fast.length_km == pytest.approx(santos_rotterdam.length_km)
    assert fast.days == pytest.approx(santos_rotterdam.days * 14 / 20)
    assert fast.speed_knots == 20


def test_geometry_runs_port_to_port(ras_tanura_rotterdam: RouteInfo) -> None:
    route = ras_tanura_rotterdam
    assert 2 < len(route.geometry) <= MAX_POINTS
    assert route.geometry[0] == pytest.approx((route.origin.lon, route.origin.lat), abs=1e-4)
    assert route.geometry[-1] == pytest.approx(
        (route.destination.lon, route.destination.lat), abs=1e-4
    )


def test_long_geometry_is_simplified() -> None:
    zigzag = [(i * 0.01, (i % 2) * 0.001) for i in range(2_000)]
    assert len(routes._simplified(zigzag)) <= MAX_POINTS


def test_coordinates_route_like_the_port_they_name() -> None:
    by_coords = compute_route(resolve_port("26.64, 50.16"), resolve_port("NLRTM"))
    by_name = compute_route(resolve_port("Ras Tanura"), resolve_port("NLRTM"))
    assert by_coords.passages == by_name.passages
    assert by_coords.length_km == pytest.approx(by_name.length_km, rel=0.01)


def test_route_key_is_stable() -> None:
    a, b = resolve_port("SARTA"), resolve_port("Rotterdam")
    key = route_key(a, b)
    assert key == route_key(resolve_port("sa rta"), resolve_port("NLRTM"))
    assert "SARTA>NLRTM" in key and "searoute-1.6.0" in key
    assert key != route_key(b, a)
    assert key != route_key(a, b, speed_knots=12)
    assert "26.6400,50.1600>NLRTM" in route_key(resolve_port("26.64, 50.16"), b)


def test_json_round_trip(ras_tanura_rotterdam: RouteInfo, santos_rotterdam: RouteInfo) -> None:
    for route in (ras_tanura_rotterdam, santos_rotterdam):
        text = route.to_json()
        assert json.loads(text)["origin"]["locode"] == route.origin.locode
        assert RouteInfo.from_json(text) == route


def test_json_of_a_coordinates_port_round_trips() -> None:
    route = compute_route(resolve_port("26.64, 50.16"), resolve_port("Mumbai"))
    assert RouteInfo.from_json(route.to_json()) == route


def test_unreadable_json_is_an_exposure_error() -> None:
    with pytest.raises(ExposureError, match="unreadable"):
        RouteInfo.from_json('{"origin": {}}')
    with pytest.raises(ExposureError, match="unreadable"):
        RouteInfo.from_json("not json")


# --- threads --------------------------------------------------------------------------------------

PAIRS = [
    ("SARTA", "NLRTM"),
    ("Shanghai", "Rotterdam"),
    ("Santos", "Rotterdam"),
    ("Jebel Ali", "Mumbai"),
    ("Basra", "Shanghai"),
    ("Yokohama", "Houston"),
    ("Piraeus", "Singapore"),
    ("Callao", "Hamburg"),
]


def test_concurrent_routes_match_sequential() -> None:
    pairs = [(resolve_port(a), resolve_port(b)) for a, b in PAIRS]
    sequential = [compute_route(a, b) for a, b in pairs]
    start = threading.Barrier(4)

    def work(pair: tuple[int, int]) -> list[RouteInfo]:
        offset, step = pair
        start.wait(timeout=30)
        return [compute_route(*pairs[i % len(pairs)]) for i in range(offset, offset + 3 * step)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, [(k, len(pairs)) for k in range(4)]))
    for offset, got in enumerate(results):
        want = [sequential[i % len(pairs)] for i in range(offset, offset + 3 * len(pairs))]
        assert got == want


def test_networkx_graph_built_elsewhere_does_not_break_igraph_routes() -> None:
    # Building any searoute graph rebinds searoute's shortest-path function to that backend's.
    from searoute.classes.marnet import Marnet

    before = compute_route(resolve_port("Jebel Ali"), resolve_port("Mumbai"))
    Marnet(backend="networkx")
    after = compute_route(resolve_port("Jebel Ali"), resolve_port("Mumbai"))
    assert after == before


def test_a_port_far_from_the_sea_lanes_is_a_note_of_its_route() -> None:
    inland = compute_route(resolve_port("33.31, 44.36"), resolve_port("Rotterdam"))  # Baghdad
    assert inland.port_gaps_km[0] == pytest.approx(496, abs=1)
    assert inland.port_gaps_km[1] < 5
    assert inland.notes() == [
        (
            "origin",
            "33.3100, 44.3600 is 496 km from the nearest sea lane; the route runs straight from "
            "the port to that lane, so its length and days are approximate",
        )
    ]
    assert RouteInfo.from_json(inland.to_json()).notes() == inland.notes()
    # the offshore Basra Oil Terminal is 14 km from the lanes: no note
    terminal = compute_route(resolve_port("Basra Oil Terminal"), resolve_port("NLRTM"))
    assert terminal.port_gaps_km[0] == pytest.approx(13.8, abs=0.5)
    assert terminal.notes() == []


def test_a_cached_route_without_port_gaps_still_reads(santos_rotterdam: RouteInfo) -> None:
    doc = json.loads(santos_rotterdam.to_json())
    del doc["port_gaps_km"]  # stored before the gaps were kept
    assert RouteInfo.from_json(json.dumps(doc)).port_gaps_km == (0.0, 0.0)
