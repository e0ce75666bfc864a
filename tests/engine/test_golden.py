"""A tiny book scored by the engine against numbers worked out by hand.

Client: a US bank (sector banking, business value B = 1e9).
  a1: office at the US embassy in Baghdad (inside the Green Zone hotspot), value 1e8, crit 5
  a2: office in Santiago de Chile, value 1e8, crit 3

golden-militia (likely 0.55/0.65/0.75, severity 4, targets US) on a1:
  e = max(hotspot 1.0 at distance 0, IRQ 0.4) = 1.0; g = 1 (US) x sector default 0.7;
  v = office 0.7; i = 0.8  ->  r = 0.65 x 1.0 x 0.7 x 0.7 x 0.8 = 0.2548
golden-oil (not assessed 0.10/0.35/0.60, severity 3, targets aviation) on a1 and a2:
  e = 1.0 (world); g = collateral 0.35 x banking 0.2 = 0.07; v = office 0.2; i = 0.6
  r = 0.35 x 1.0 x 0.07 x 0.2 x 0.6 = 0.00294
R(a1) = 1 - (1 - 0.2548)(1 - 0.00294) = 0.256990888;  R(a2) = 0.00294
Both horizons (0-6 and 0-12 months) lie inside the 12-month outlook: window share 1, p as judged.
weights value / B = 1e8 / 1e9 = 0.1 each:
  ead = 1 - ((1 - 0.256990888)(1 - 0.00294)) ** 0.1 = 0.02955362224...
worst critical item (crit >= 4) = R(a1)
risk = 1 - (1 - ead)(1 - 0.6 x 0.256990888) = 0.17919114807...
score = 100 x (1 - risk) = 82.0808851930...  -> band B (75 <= score < 90)
At the ends of the likelihood ranges (same steps): 79.255733241 (high) and 84.922375617 (low).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.context import EVERYONE, Context
from engine.models import ClientSpec
from scoring_rules.threats import load_register

HERE = Path(__file__).parent


@pytest.fixture
def golden(ctx: Context) -> Context:
    ctx.publish_register(load_register(HERE / "golden" / "tiny_register.yaml"), note="golden")
    ctx.upsert_client(
        ClientSpec(
            client_id="gold-bank",
            name="Gold Bank",
            sector="banking",
            hq_country="USA",
            affiliations=["US"],
            business_value_usd=1e9,
        )
    )
    assets = pl.DataFrame(
        {
            "asset_id": ["a1", "a2"],
            "name": ["Baghdad office", "Santiago office"],
            "asset_type": ["office", "office"],
            "lat": [33.2990, -33.4489],
            "lon": [44.3960, -70.6693],
            "city": [None, None],
            "country": ["Iraq", "Chile"],
            "value_usd": [1e8, 1e8],
            "criticality": [5, 3],
            "headcount": [10, 10],
            "service_id": [None, None],
            "mitigations": [None, None],
        }
    )
    ctx.load_exposures("gold-bank", assets, note="golden")
    return ctx


def test_hand_computed_contributions(golden: Context) -> None:
    run = golden.run()
    rows = golden.store.rows(
        "SELECT a.asset_id, c.threat_id, c.region_id, c.r_central FROM run_contributions c "
        "JOIN run_classes k ON k.run_id = c.run_id AND k.profile_id = c.profile_id "
        "JOIN assets a ON a.client_id = k.client_id AND a.class_id = k.class_id "
        "WHERE c.run_id = $r ORDER BY 1, 2",
        {"r": run.run_id},
    )
    assert [(a, t, reg) for a, t, reg, _ in rows] == [
        ("a1", "golden-militia", "hotspot.baghdad_green_zone"),
        ("a1", "golden-oil", "world"),
        ("a2", "golden-oil", "world"),
    ]
    assert [r for *_, r in rows] == pytest.approx([0.2548, 0.00294, 0.00294], abs=1e-12)


def test_hand_computed_rating(golden: Context) -> None:
    run = golden.run()
    r = golden.rating(run.run_id, "gold-bank", scope=EVERYONE)
    assert r.score == pytest.approx(82.0808851930117, abs=1e-8)
    assert r.score_low == pytest.approx(79.25573324130, abs=1e-8)
    assert r.score_high == pytest.approx(84.92237561657, abs=1e-8)
    assert (r.band_low, r.band, r.band_high) == ("B", "B", "B")
    assert r.risk == pytest.approx(0.17919114807, abs=1e-10)
    assert r.n_items == 2


def test_whatif_matches_the_stored_run(golden: Context) -> None:
    run = golden.run()
    row = golden.rescore_client(run.run_id, "gold-bank")
    assert row["score"] == pytest.approx(82.0808851930117, abs=1e-8)
    assert row["band"] == "B"


def test_an_expired_threat_counts_as_last_judged_and_is_named(golden: Context) -> None:
    import datetime as dt

    # 8 months after the brief: the militia judgement (0-6 months) has expired; it keeps counting
    # as last judged (no fresh judgement is not safety), so the rating does not improve
    run = golden.run(as_of=dt.date(2020, 9, 14))
    threats = {
        t
        for (t,) in golden.store.rows(
            "SELECT DISTINCT threat_id FROM run_contributions WHERE run_id = $r", {"r": run.run_id}
        )
    }
    assert threats == {"golden-militia", "golden-oil"}
    assert golden.expired_threats(run.run_id) == ["golden-militia"]
    r = golden.rating(run.run_id, "gold-bank", scope=EVERYONE)
    assert r.score == pytest.approx(82.0808851930117, abs=1e-8)
    e = golden.explain("gold-bank", run.run_id, scope=EVERYONE)
    status = {t.threat_id: t.status for t in e.threats}
    assert status == {"golden-militia": "expired", "golden-oil": "current"}


def test_whatif_scores_new_exposures_against_an_old_run(golden: Context) -> None:
    run = golden.run()
    # the client adds a backup site and insurance to the Baghdad office after the run
    assets = pl.DataFrame(
        {
            "asset_id": ["a1", "a2"],
            "name": ["Baghdad office", "Santiago office"],
            "asset_type": ["office", "office"],
            "lat": [33.2990, -33.4489],
            "lon": [44.3960, -70.6693],
            "country": ["Iraq", "Chile"],
            "value_usd": [1e8, 1e8],
            "criticality": [5, 3],
            "mitigations": ["backup_site;insurance", None],
        }
    )
    golden.load_exposures("gold-bank", assets, note="mitigated")
    row = golden.rescore_client(run.run_id, "gold-bank")
    # militia on a1: v = 0.7 x (1 - 0.35) x (1 - 0.15) = 0.38675 -> r = 0.65 x 0.7 x 0.38675 x 0.8
    r11 = 0.65 * 0.7 * 0.38675 * 0.8
    r12 = 0.00294  # oil: neither mitigation has credit against oil-market shocks
    big_r = 1 - (1 - r11) * (1 - r12)
    ead = 1 - ((1 - big_r) * (1 - r12)) ** 0.1
    risk = 1 - (1 - ead) * (1 - 0.6 * big_r)
    assert row["score"] == pytest.approx(100 * (1 - risk), abs=1e-9)
    assert row["score"] > golden.rating(run.run_id, "gold-bank", scope=EVERYONE).score
    # the run itself is unchanged
    assert golden.rating(run.run_id, "gold-bank", scope=EVERYONE).score == pytest.approx(
        82.0808851930117, abs=1e-8
    )
