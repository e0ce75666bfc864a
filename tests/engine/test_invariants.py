"""Properties of the method that must hold for any book (hypothesis), scored by the real engine.

- every score lies in 0..100 and the low / central / high range is ordered;
- adding mitigations to an asset never lowers the client's resilience;
- adding an exposure in a threatened region never raises it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.context import EVERYONE, Context
from engine.models import ClientSpec, Rating
from scoring_rules.rules import default_rules_path, load_rules
from tests.conftest import Stores

# (lat, lon, country): places the default register threatens, and places it barely touches
PLACES = [
    (33.2990, 44.3960, "Iraq"),  # Green Zone
    (30.5085, 47.7804, "Iraq"),  # Basra
    (36.1911, 44.0092, "Iraq"),  # Erbil
    (36.3400, 43.1300, "Iraq"),  # Mosul
    (33.8938, 35.5018, "Lebanon"),  # Beirut
    (25.2048, 55.2708, "United Arab Emirates"),  # Dubai
    (26.6439, 50.1583, "Saudi Arabia"),  # Ras Tanura
    (52.5200, 13.4050, "Germany"),  # Berlin
    (-33.4489, -70.6693, "Chile"),  # Santiago
    (40.7128, -74.0060, "United States"),  # New York
]
THREATENED = PLACES[:7]
_RULES = load_rules(default_rules_path())
TYPES = _RULES.asset_types
MITIGATIONS = _RULES.mitigations

_ids = itertools.count()


@pytest.fixture(scope="module")
def book(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(stores.new(tmp_path_factory.mktemp("inv")))
    c.init()
    yield c
    c.close()


asset = st.fixed_dictionaries(
    {
        "place": st.sampled_from(PLACES),
        "asset_type": st.sampled_from(TYPES),
        "value_usd": st.floats(min_value=1e5, max_value=5e9),
        "criticality": st.integers(1, 5),
        "mitigations": st.lists(st.sampled_from(MITIGATIONS), unique=True, max_size=3),
    }
)
client = st.fixed_dictionaries(
    {
        "sector": st.sampled_from(
            ["oil_gas", "shipping", "banking", "aviation", "retail", "telecom", "agriculture"]
        ),
        "affiliations": st.sampled_from([["US"], ["US_ALLY"], ["NEUTRAL"], ["GCC"]]),
        "business_value_usd": st.one_of(st.none(), st.floats(min_value=1e7, max_value=1e11)),
    }
)


def _frame(assets: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "asset_id": [f"a{i}" for i in range(len(assets))],
            "name": [f"site {i}" for i in range(len(assets))],
            "asset_type": [a["asset_type"] for a in assets],
            "lat": [a["place"][0] for a in assets],  # type: ignore[index]
            "lon": [a["place"][1] for a in assets],  # type: ignore[index]
            "country": [a["place"][2] for a in assets],  # type: ignore[index]
            "value_usd": [a["value_usd"] for a in assets],
            "criticality": [a["criticality"] for a in assets],
            "mitigations": [";".join(a["mitigations"]) for a in assets],  # type: ignore[arg-type]
        }
    )


def _score(ctx: Context, spec: dict[str, object], assets: list[dict[str, object]]) -> Rating:
    cid = f"inv-{next(_ids)}"
    ctx.upsert_client(ClientSpec(client_id=cid, name=cid, hq_country="USA", **spec))  # type: ignore[arg-type]
    ctx.load_exposures(cid, _frame(assets))
    run = ctx.run(client_ids=[cid])
    return ctx.rating(run.run_id, cid, scope=EVERYONE)


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(spec=client, assets=st.lists(asset, min_size=1, max_size=6))
def test_scores_in_range_and_ordered(
    book: Context, spec: dict[str, object], assets: list[dict[str, object]]
) -> None:
    r = _score(book, spec, assets)
    assert 0.0 <= r.score_low <= r.score <= r.score_high <= 100.0
    order = "EDCBA"
    assert order.index(r.band_low) <= order.index(r.band) <= order.index(r.band_high)


@SETTINGS
@given(
    spec=client,
    assets=st.lists(asset, min_size=1, max_size=5),
    which=st.integers(0, 4),
    extra=st.lists(st.sampled_from(MITIGATIONS), min_size=1, unique=True),
)
def test_mitigations_never_lower_resilience(
    book: Context,
    spec: dict[str, object],
    assets: list[dict[str, object]],
    which: int,
    extra: list[str],
) -> None:
    before = _score(book, spec, assets)
    i = which % len(assets)
    better = [dict(a) for a in assets]
    better[i]["mitigations"] = sorted(set(better[i]["mitigations"]) | set(extra))  # type: ignore[arg-type]
    after = _score(book, spec, better)
    assert after.score >= before.score - 1e-9
    assert after.score_low >= before.score_low - 1e-9
    assert after.score_high >= before.score_high - 1e-9


@SETTINGS
@given(
    spec=client,
    assets=st.lists(asset, min_size=1, max_size=5),
    new=asset,
    place=st.sampled_from(THREATENED),
)
def test_new_exposure_in_threatened_region_never_raises_resilience(
    book: Context,
    spec: dict[str, object],
    assets: list[dict[str, object]],
    new: dict[str, object],
    place: tuple[float, float, str],
) -> None:
    before = _score(book, spec, assets)
    after = _score(book, spec, [*assets, {**new, "place": place}])
    assert after.score <= before.score + 1e-9
    assert after.score_low <= before.score_low + 1e-9
    assert after.score_high <= before.score_high + 1e-9
