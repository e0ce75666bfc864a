"""The method as the scoring SQL runs it: worked examples, a differential test against the scalar
oracle (scoring_rules/method.py), the aggregation's invariants, and a mutation check that each
term of the SQL is pinned by a test."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import examples, queries
from engine.examples import Client, Item, Place, Threat, Workbench
from scoring_rules import method
from scoring_rules.rules import Rules, default_rules_path, load_rules

RULES = load_rules(default_rules_path())
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def wb() -> Iterator[Workbench]:
    with Workbench(RULES) as w:
        yield w


def test_every_worked_example_holds_through_the_sql() -> None:
    results = examples.run_examples(RULES)
    assert len(results) == len(RULES.examples) >= 14
    bad = [(r.name, r.expected, r.computed) for r in results if not r.ok]
    assert bad == []


def test_a_wrong_expected_value_is_reported(wb: Workbench) -> None:
    ex = RULES.examples[0].model_copy(update={"expected": {"r": 0.3}})
    result = wb.example(ex)
    assert not result.ok
    assert result.computed["r"] == pytest.approx(0.2548)


# -- a random small book, scored by the SQL and by the oracle ------------------------------------

REGIONS = ("zone.a", "zone.b", "hot.c")
CATEGORIES = ("militia_attack", "cyber_attack", "shipping_disruption", "oil_market_shock")
ASSET_TYPES = ("office", "plant", "terminal", "data_centre")
COMMODITIES = ("crude_oil", "containers")
SECTORS = ("oil_gas", "shipping", "banking", "aviation")


@st.composite
def places(draw: st.DrawFn, kind: str) -> Place:
    region = draw(st.sampled_from(REGIONS))
    if region.startswith("hot"):
        radius = draw(st.sampled_from([10.0, 40.0]))
        return Place(region, distance_km=draw(st.floats(0, 50)), radius_km=radius)
    if kind == "route":
        return Place(
            region,
            extra_days=draw(st.one_of(st.none(), st.floats(0, 30))),
            no_alternative=draw(st.booleans()),
            alt_ratio=draw(st.one_of(st.none(), st.floats(1.0, 5.0))),
        )
    return Place(region)


@st.composite
def items(draw: st.DrawFn, item_id: str) -> Item:
    kind = draw(st.sampled_from(["asset", "route"]))
    key = draw(st.sampled_from(ASSET_TYPES if kind == "asset" else COMMODITIES))
    mitigations: tuple[str, ...] = ()
    if kind == "asset":
        mitigations = tuple(
            draw(st.lists(st.sampled_from(RULES.mitigations), unique=True, max_size=2))
        )
    return Item(
        item_id,
        kind,
        key,
        draw(st.floats(1e6, 5e9)),
        (draw(places(kind)),),
        criticality=draw(st.integers(1, 5)),
        mitigations=mitigations,
        tolerance_days=draw(st.one_of(st.none(), st.floats(1, 30))) if kind == "route" else None,
    )


@st.composite
def threats(draw: st.DrawFn, threat_id: str) -> Threat:
    start = draw(st.sampled_from([0.0, 3.0, 6.0]))
    return Threat(
        threat_id,
        draw(st.sampled_from(CATEGORIES)),
        draw(st.sampled_from([*RULES.likelihood.terms, "not_assessed"])),
        draw(st.integers(1, 5)),
        tuple(
            (r, draw(st.floats(0.05, 1.0)))
            for r in draw(st.lists(st.sampled_from(REGIONS), unique=True, min_size=1))
        ),
        from_months=start,
        to_months=start + draw(st.sampled_from([3.0, 6.0, 24.0])),
        affiliations=draw(st.sampled_from([(), ("US",), ("US_ALLY", "GCC")])),
        sectors=draw(st.sampled_from([(), ("shipping",)])),
    )


@st.composite
def books(draw: st.DrawFn) -> tuple[Client, list[Threat], float]:
    n_items = draw(st.integers(1, 4))
    client = Client(
        "c",
        draw(st.sampled_from(SECTORS)),
        tuple(draw(items(f"i{k}")) for k in range(n_items)),
        affiliations=draw(st.sampled_from([("NEUTRAL",), ("US_ALLY",)])),
        business_value_usd=draw(st.one_of(st.none(), st.floats(1e9, 2e10))),
    )
    ts = [draw(threats(f"t{k}")) for k in range(draw(st.integers(1, 3)))]
    return client, ts, draw(st.sampled_from([0.0, 2.0, 7.5, 30.0]))


def _oracle(rules: Rules, c: Client, ts: list[Threat], months: float) -> dict[str, float]:
    """The client's rating from the scalar method, item by item."""
    out = {}
    for point in ("low", "central", "high"):
        pairs, critical = [], []
        for it in c.items:
            rs = []
            for t in ts:
                place = it.places[0]
                inten = dict(t.regions).get(place.region_id)
                if inten is None:
                    continue
                targeted = (
                    not (t.affiliations or t.sectors or t.asset_types or t.commodities)
                    or bool(set(t.affiliations) & set(c.affiliations))
                    or c.sector in t.sectors
                )
                x = method.ContributionInput(
                    category=t.category,
                    likelihood=t.likelihood,
                    point=point,  # type: ignore[arg-type]
                    intensity=inten,
                    targeted=targeted,
                    sector=c.sector,
                    severity=t.severity,
                    asset_type=it.key if it.kind == "asset" else None,
                    commodity=it.key if it.kind == "route" else None,
                    mitigations=it.mitigations,
                    distance_km=place.distance_km,
                    radius_km=place.radius_km,
                    no_alternative=place.no_alternative,
                    extra_days=place.extra_days,
                    tolerance_days=it.tolerance_days,
                    alt_ratio=place.alt_ratio,
                    months_elapsed=months,
                    from_months=t.from_months,
                    to_months=t.to_months,
                )
                rs.append(method.contribution(rules, x))
            risk = method.item_risk(rs)
            pairs.append((it.value_usd, risk))
            if it.criticality >= rules.aggregation.worst_item_min_criticality:
                critical.append(risk)
        ead = method.expected_disruption(rules, pairs, c.business_value_usd)
        out[point] = method.score(rules, method.client_risk(rules, ead, max(critical, default=0.0)))
    return out


@SETTINGS
@given(book=books())
def test_sql_and_oracle_give_the_same_rating(
    wb: Workbench, book: tuple[Client, list[Threat], float]
) -> None:
    client, ts, months = book
    row = wb.score([client], ts, months_elapsed=months).clients["c"]
    want = _oracle(RULES, client, ts, months)
    # high likelihood -> low score
    assert row["score"] == pytest.approx(want["central"], abs=1e-9)
    assert row["score_low"] == pytest.approx(want["high"], abs=1e-9)
    assert row["score_high"] == pytest.approx(want["low"], abs=1e-9)


# -- invariants of the aggregation, through the SQL ---------------------------------------------


@SETTINGS
@given(book=books(), parts=st.integers(2, 12), which=st.integers(0, 3))
def test_splitting_an_item_into_parts_leaves_the_rating_unchanged(
    wb: Workbench, book: tuple[Client, list[Threat], float], parts: int, which: int
) -> None:
    client, ts, months = book
    k = which % len(client.items)
    item = client.items[k]
    pieces = tuple(
        Item(
            f"{item.item_id}-{j}",
            item.kind,
            item.key,
            item.value_usd / parts,
            item.places,
            criticality=item.criticality,
            mitigations=item.mitigations,
            tolerance_days=item.tolerance_days,
        )
        for j in range(parts)
    )
    split = Client(
        "c",
        client.sector,
        client.items[:k] + pieces + client.items[k + 1 :],
        client.affiliations,
        client.business_value_usd,
    )
    whole = wb.score([client], ts, months_elapsed=months).clients["c"]
    parted = wb.score([split], ts, months_elapsed=months).clients["c"]
    for key in ("score", "score_low", "score_high"):
        assert parted[key] == pytest.approx(whole[key], abs=1e-9)
    assert parted["n_items"] == whole["n_items"] + parts - 1


@SETTINGS
@given(book=books(), extra=items("new"))
def test_adding_an_exposure_never_raises_resilience(
    wb: Workbench, book: tuple[Client, list[Threat], float], extra: Item
) -> None:
    client, ts, months = book
    more = Client(
        "c",
        client.sector,
        (*client.items, extra),
        client.affiliations,
        client.business_value_usd,
    )
    before = wb.score([client], ts, months_elapsed=months).clients["c"]
    after = wb.score([more], ts, months_elapsed=months).clients["c"]
    for key in ("score", "score_low", "score_high"):
        assert after[key] <= before[key] + 1e-9


@SETTINGS
@given(book=books(), mitigation=st.sampled_from(RULES.mitigations), which=st.integers(0, 3))
def test_a_mitigation_never_lowers_resilience(
    wb: Workbench, book: tuple[Client, list[Threat], float], mitigation: str, which: int
) -> None:
    client, ts, months = book
    k = which % len(client.items)
    item = client.items[k]
    if item.kind != "asset" or mitigation in item.mitigations:
        return
    better = Item(
        item.item_id,
        item.kind,
        item.key,
        item.value_usd,
        item.places,
        criticality=item.criticality,
        mitigations=tuple(sorted((*item.mitigations, mitigation))),
    )
    mitigated = Client(
        "c",
        client.sector,
        (*client.items[:k], better, *client.items[k + 1 :]),
        client.affiliations,
        client.business_value_usd,
    )
    before = wb.score([client], ts, months_elapsed=months).clients["c"]
    after = wb.score([mitigated], ts, months_elapsed=months).clients["c"]
    assert after["score"] >= before["score"] - 1e-9


@SETTINGS
@given(book=books())
def test_the_range_is_ordered(wb: Workbench, book: tuple[Client, list[Threat], float]) -> None:
    client, ts, months = book
    row = wb.score([client], ts, months_elapsed=months).clients["c"]
    assert 0.0 <= row["score_low"] <= row["score"] <= row["score_high"] <= 100.0


@SETTINGS
@given(book=books(), later=st.floats(0.0, 40.0))
def test_time_passing_never_improves_a_rating(
    wb: Workbench, book: tuple[Client, list[Threat], float], later: float
) -> None:
    client, ts, months = book
    now = wb.score([client], ts, months_elapsed=months).clients["c"]
    then = wb.score([client], ts, months_elapsed=months + later).clients["c"]
    assert then["score"] <= now["score"] + 1e-9


def test_window_share_by_hand() -> None:
    # 12-month outlook: a 0-3 month judgement is covered whole; months 3-24 from the brief's date
    # 9/21; the same judgement 6 months on, 12/21; a 0-3 judgement 4 months on has expired and
    # still counts whole; one starting in month 30 is beyond the window
    assert method.window_share(RULES, 0, 0, 3) == 1.0
    assert method.window_share(RULES, 0, 3, 24) == pytest.approx(9 / 21)
    assert method.window_share(RULES, 6, 3, 24) == pytest.approx(12 / 21)
    assert method.window_share(RULES, 4, 0, 3) == 1.0
    assert method.expired(4, 3) and not method.expired(2, 3)
    assert method.window_share(RULES, 0, 30, 36) == 0.0
    assert method.window_probability(0.5, 0.5) == pytest.approx(1 - math.sqrt(0.5))


# -- mutation check: each term of the SQL is pinned ---------------------------------------------

MUTATIONS = {
    "detour": (
        "CONTRIBUTIONS",
        "ELSE least(1.0, $floor + (1 - $floor) * r.extra_days / u.tol)",
        "ELSE 1.0",
    ),
    "hotspot fall-off": (
        "CONTRIBUTIONS",
        "ELSE greatest(0.0, (h.radius_km - g.distance_km)",
        "ELSE 1.0 + 0 * greatest(0.0, (h.radius_km - g.distance_km)",
    ),
    "mitigation": (
        "CONTRIBUTIONS",
        "SELECT product(1 - m.credit)",
        "SELECT product(1 + 0 * m.credit)",
    ),
    "targeting": ("CONTRIBUTIONS", "THEN 1.0 ELSE $collateral END", "THEN 1.0 ELSE 1.0 END"),
    "horizon": ("CONTRIBUTIONS", "1 - pow(1 - p_central, window_share)", "p_central"),
    "no-alternative ratio": (
        "CONTRIBUTIONS",
        "coalesce(g.alt_ratio > $no_alt_ratio, false)",
        "coalesce(false AND $no_alt_ratio > 0, false)",
    ),
    "severity": ("CONTRIBUTIONS", "t.severity / $severity_max", "$severity_max / $severity_max"),
    "split weight": ("CLASS_ROWS", ") / bv.b AS weight", ") / (k.value_usd + bv.b) AS weight"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_removing_a_term_from_the_sql_fails_the_worked_examples(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    const, old, new = MUTATIONS[name]
    sql = getattr(queries, const)
    assert old in sql, f"the {name} term is no longer spelled {old!r}: update the mutation"
    monkeypatch.setattr(queries, const, sql.replace(old, new))
    results = examples.run_examples(RULES)
    assert [r.name for r in results if not r.ok], f"no worked example catches the {name} term"


def test_a_tie_between_regions_is_broken_the_same_way_every_time(wb: Workbench) -> None:
    # an item in two zones that a threat reaches at the same intensity: the region the
    # contribution is attributed to must not depend on how DuckDB happens to scan the rows
    item = Item("i", "asset", "terminal", 1e9, (Place("zone.a"), Place("zone.b")))
    threat = Threat("t", "militia_attack", "likely", 3, (("zone.a", 0.6), ("zone.b", 0.6)))
    seen = set()
    for _ in range(5):
        wb.score([Client("c", "shipping", (item,))], [threat])
        run_id = wb.ctx.store.one("SELECT max(run_id) FROM run_contributions")
        seen.add(
            wb.ctx.store.one(
                "SELECT region_id FROM run_contributions WHERE run_id = $r", {"r": run_id}
            )
        )
    assert seen == {"zone.b"}


def test_the_default_criticality_is_an_analysts_setting(tmp_path: Path) -> None:
    from engine.errors import RuleError
    from scoring_rules.upload_bounds import DEFAULT_PATH, default_criticality, load_upload_bounds

    assert default_criticality() == 3
    bad = tmp_path / "bounds.yaml"
    bad.write_text(
        DEFAULT_PATH.read_text("utf-8").replace("  criticality: 3\n", "  criticality: 7\n"),
        "utf-8",
    )
    with pytest.raises(RuleError, match=r"defaults\.criticality: Input should be less than or"):
        load_upload_bounds(bad)
