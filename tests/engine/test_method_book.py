"""The method on real loads and the demo book: what issue 9 must show, through the product's own
loader, runs and CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.book import load_demo
from engine.cli import app
from engine.context import EVERYONE, Context
from engine.models import ClientSpec
from tests.conftest import Stores

runner = CliRunner()


def _plant_rows(n: int) -> pl.DataFrame:
    """One 2 bn USD plant in Basra as n rows with the same attributes."""
    return pl.DataFrame(
        {
            "asset_id": [f"P-{i:03d}" for i in range(n)],
            "name": [f"Basra plant part {i}" for i in range(n)],
            "asset_type": ["plant"] * n,
            "lat": [30.5085] * n,
            "lon": [47.7804] * n,
            "city": ["Basra"] * n,
            "country": ["Iraq"] * n,
            "value_usd": [2_000_000_000 / n] * n,
            "criticality": [4] * n,
            "headcount": [0] * n,
            "service_id": [None] * n,
            "mitigations": [""] * n,
        }
    )


def test_one_plant_as_1_10_or_100_rows_rates_the_same(ctx: Context) -> None:
    scores = {}
    for n in (1, 10, 100):
        cid = f"plant-{n}"
        ctx.upsert_client(
            ClientSpec(
                client_id=cid,
                name=f"Plant in {n} rows",
                sector="manufacturing",
                hq_country="GBR",
                affiliations=["US_ALLY"],
                business_value_usd=10_000_000_000,
            )
        )
        ctx.load_exposures(cid, assets=_plant_rows(n))
    run = ctx.run()
    for r in ctx.ratings(run.run_id, scope=EVERYONE):
        scores[r.client_id] = (r.score, r.score_low, r.score_high, r.n_items)
    one, ten, hundred = scores["plant-1"], scores["plant-10"], scores["plant-100"]
    assert (one[3], ten[3], hundred[3]) == (1, 10, 100)
    assert one[0] < 100.0  # the plant is threatened: the test is not vacuous
    for other in (ten, hundred):
        for k in range(3):
            assert other[k] == pytest.approx(one[k], abs=0.1)


@pytest.fixture(scope="module")
def book(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    db = stores.new(tmp_path_factory.mktemp("method-book"))
    with Context(db) as c:
        load_demo(c)
    return db


def _cli(db: Path, *args: str) -> object:
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_islamic_state_counts_for_the_kurdistan_telecom(book: Path) -> None:
    e = _cli(book, "explain", "zagros-link-telecom", "--json")
    assert isinstance(e, dict)
    assert e["run"]["as_of"] == "2020-01-14"
    shares = {d["threat_id"]: d for d in e["drivers"]}
    for tid in ("islamic-state-insurgent-cells", "islamic-state-resurgence"):
        assert shares[tid]["share"] > 0, tid
    # the resurgence starts three months after the brief: it counts, in part, as upcoming
    assert shares["islamic-state-resurgence"]["status"] == "upcoming"
    assert "iraq-militia-power-struggle" not in shares  # the double count is gone
    assert e["expired_threats"] == []


def test_expired_judgements_are_named_and_never_improve_a_rating(book: Path) -> None:
    now = _cli(book, "score", "--json")
    later = _cli(book, "score", "--as-of", "2020-05-01", "--json")
    assert isinstance(now, dict) and isinstance(later, dict)
    assert now["expired_threats"] == []
    assert "us-iran-direct-confrontation" in later["expired_threats"]
    assert set(later["expired_threats"]) == {
        "aviation-risk-over-iran",
        "iraq-lebanon-protests",
        "islamic-state-insurgent-cells",
        "us-iran-direct-confrontation",
        "us-sanctions-on-iran",
    }
    before = {r["client_id"]: r["score"] for r in now["ratings"]}
    for r in later["ratings"]:
        assert r["score"] <= before[r["client_id"]], r["client_id"]


def test_the_explanation_says_the_brief_needs_a_refresh(book: Path) -> None:
    result = runner.invoke(
        app, ["--db", str(book), "explain", "cedar-souk-retail", "--as-of", "2020-05-01"]
    )
    assert result.exit_code == 0, result.output
    assert "Based on 5 expired judgements" in result.output
    assert "the brief needs a refresh" in result.output


def test_an_oil_price_shock_spares_the_producer_and_hits_the_airline_most(book: Path) -> None:
    out = _cli(book, "scenario", "oil-price-shock", "--json")
    assert isinstance(out, dict)
    deltas = {r["client_id"]: r["delta"] for r in out["clients"]}
    assert abs(deltas["meridian-basin-petroleum"]) <= 1.0
    assert min(deltas, key=lambda c: deltas[c]) == "aurelian-airways"


def test_a_fujairah_terminal_gets_the_gulf_shipping_threat(book: Path) -> None:
    with Context(book) as c:
        run = c.current_run()
        rows = c.store.rows(
            "SELECT DISTINCT c.threat_id FROM assets a "
            "JOIN run_exposures x ON x.client_id = a.client_id AND x.version = a.version "
            "JOIN run_classes k ON k.run_id = x.run_id AND k.client_id = a.client_id "
            " AND k.class_id = a.class_id "
            "JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id "
            "WHERE x.run_id = $r AND a.client_id = 'gulfbridge-logistics' "
            "AND a.asset_id = 'AST-002'",
            {"r": run.run_id},
        )
    assert "gulf-shipping-proxy-attacks" in {r[0] for r in rows}


def test_the_airline_is_exposed_to_airspace_danger(book: Path) -> None:
    e = _cli(book, "explain", "aurelian-airways", "--json")
    assert isinstance(e, dict)
    drivers = [d["threat_id"] for d in e["drivers"]]
    assert "aviation-risk-over-iran" in drivers[:3]
    aviation = next(d for d in e["drivers"] if d["threat_id"] == "aviation-risk-over-iran")
    assert aviation["category"] == "aviation_security"
    assert aviation["brief_reference"] == ["background ¶5"]


def test_people_at_threatened_sites_are_reported_next_to_the_rating(book: Path) -> None:
    e = _cli(book, "explain", "meridian-basin-petroleum", "--json")
    assert isinstance(e, dict)
    people = e["people"]
    assert people["total_headcount"] == 3750  # the demo's staff at Meridian's sites
    assert 0 < people["exposed_headcount"] <= people["total_headcount"]
    by_threat = {p["threat_id"]: p["headcount"] for p in people["by_threat"]}
    # everyone at the Iraqi oilfields and offices is within reach of Iraq's volatility
    from engine.demo import ASSETS_FILE

    demo = pl.read_csv(ASSETS_FILE).filter(
        (pl.col("client_id") == "meridian-basin-petroleum") & (pl.col("country") == "Iraq")
    )
    assert by_threat["iraq-security-volatility"] == demo["headcount"].sum()
    assert by_threat["iraq-security-volatility"] < people["exposed_headcount"]
    assert "gulf-shipping-proxy-attacks" not in by_threat  # not a threat to people's safety
    assert people["in_rating"] is False


def test_people_count_in_the_rating_when_the_rules_say_so(ctx: Context) -> None:
    ctx.upsert_client(
        ClientSpec(
            client_id="crowded",
            name="Crowded office",
            sector="banking",
            hq_country="GBR",
            affiliations=["US"],
            business_value_usd=5_000_000_000,
        )
    )
    rows = _plant_rows(1).with_columns(
        pl.lit("office").alias("asset_type"), pl.lit(2000).alias("headcount")
    )
    ctx.load_exposures("crowded", assets=rows)
    base = ctx.rating(ctx.run().run_id, "crowded", scope=EVERYONE).score
    rules = ctx.rules()
    heavier = rules.model_copy(
        update={"people": rules.people.model_copy(update={"value_per_person_usd": 1_000_000.0})}
    )
    v = ctx.publish_rules(heavier, note="people count")
    with_people = ctx.rating(ctx.run(rules_version=v).run_id, "crowded", scope=EVERYONE).score
    assert with_people < base - 0.5


def test_a_run_cannot_look_before_the_brief(ctx: Context) -> None:
    from engine.errors import RuleError

    with pytest.raises(RuleError, match="the register's earliest brief is dated 2020-01-14"):
        ctx.run(as_of=dt.date(2019, 12, 1))


def test_rules_examples_command_prints_expected_and_computed(book: Path) -> None:
    out = _cli(book, "rules", "examples", "--json")
    assert isinstance(out, dict)
    assert out["rules"] == "default-2020.2"
    assert len(out["examples"]) >= 14
    for ex in out["examples"]:
        assert ex["ok"], ex["name"]
        for key, want in ex["expected"].items():
            got = ex["computed"][key]
            if isinstance(want, str):
                assert got == want
            else:
                assert got == pytest.approx(want, abs=ex["tolerance"])


def test_rules_examples_command_fails_on_a_wrong_example(book: Path, tmp_path: Path) -> None:
    from scoring_rules.rules import default_rules_path

    text = (
        default_rules_path()
        .read_text("utf-8")
        .replace("expected: {r: 0.2548}", "expected: {r: 0.3}")
    )
    bad = tmp_path / "rules.yaml"
    bad.write_text(text, "utf-8")
    result = runner.invoke(app, ["--db", str(book), "rules", "examples", str(bad)])
    assert result.exit_code == 1
    assert "1 worked example(s) differ" in result.output
    assert "militia rocket threat on a targeted Baghdad office" in result.output
