"""The portfolio's search box and its threat, region and score filters (AppTest)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from engine.context import Context
from engine.insights import exposure_index
from engine.store import Scope

from .conftest import page_text

Signed = Callable[[str], AppTest]


def portfolio(signed_in: Signed) -> AppTest:
    at = signed_in("am")
    assert not at.exception, at.exception
    assert at.title[0].value == "Portfolio"
    return at


def test_search_finds_a_client_a_site_a_threat_and_a_place(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = portfolio(signed_in)
    at.text_input(key="pf_search").input("basra").run()
    text = page_text(at)
    assert "**site** · Basra forwarding office (Gulfbridge Logistics LLC)" in text
    at.text_input(key="pf_search").input("hormuz").run()
    text = page_text(at)
    n = (
        exposure_index(app_ctx, app_ctx.current_run().run_id, Scope.everything())
        .filter(pl.col("region_id") == "sea.hormuz")["client_id"]
        .n_unique()
    )
    assert f"**place** · Strait of Hormuz ({n} clients exposed)" in text
    at.text_input(key="pf_search").input("cyber").run()
    assert "**threat** · Iranian cyber operations against American and allied organisations" in (
        page_text(at)
    )
    at.text_input(key="pf_search").input("Meridian").run()
    assert "**client** · Meridian Basin Petroleum plc" in page_text(at)
    at.text_input(key="pf_search").input("zzzz-nothing").run()
    assert "Nothing matches “zzzz-nothing”." in page_text(at)


def test_a_place_found_by_search_filters_the_table(signed_in: Signed, app_ctx: Context) -> None:
    at = portfolio(signed_in)
    at.text_input(key="pf_search").input("hormuz").run()
    hit = next(
        b for b in at.button if b.label == "Filter by it"
    )  # the first match that is a threat or place
    hit.click().run()
    assert list(at.multiselect(key="pf_region").value) == ["sea.hormuz"]
    index = exposure_index(app_ctx, app_ctx.current_run().run_id, Scope.everything())
    expected = set(index.filter(pl.col("region_id") == "sea.hormuz")["client_id"].to_list())
    assert set(at.dataframe[0].value["id"]) == expected
    assert 0 < len(expected) < 10


def test_filters_by_threat_region_and_score(signed_in: Signed, app_ctx: Context) -> None:
    at = portfolio(signed_in)
    run = app_ctx.current_run()
    index = exposure_index(app_ctx, run.run_id, Scope.everything())
    ratings = {r.client_id: r for r in app_ctx.ratings(run.run_id, Scope.everything())}
    at.multiselect(key="pf_threat").set_value(["iran-cyber-attacks"]).run()
    cyber = set(index.filter(pl.col("threat_id") == "iran-cyber-attacks")["client_id"].to_list())
    assert set(at.dataframe[0].value["id"]) == cyber
    at.multiselect(key="pf_threat").set_value([]).run()
    at.multiselect(key="pf_region").set_value(["IRQ"]).run()
    iraq = set(index.filter(pl.col("region_id") == "IRQ")["client_id"].to_list())
    assert set(at.dataframe[0].value["id"]) == iraq and len(iraq) < len(ratings)
    options = at.multiselect(key="pf_region").options
    assert "Iraq" in options and not any(o.startswith(("sea.", "hotspot.")) for o in options)
    at.multiselect(key="pf_region").set_value([]).run()
    at.slider(key="pf_score").set_value((40, 70)).run()
    expected = {c for c, r in ratings.items() if 40 <= round(r.score, 1) <= 70}
    assert set(at.dataframe[0].value["id"]) == expected
    assert at.metric[0].value == str(len(expected))
    at.slider(key="pf_score").set_value((99, 100)).run()
    assert "No client matches these filters." in page_text(at)


@pytest.mark.parametrize("user", ["analyst"])
def test_search_needs_two_characters(signed_in: Signed, user: str) -> None:
    at = signed_in(user)
    at.text_input(key="pf_search").input("a").run()
    assert "match" not in page_text(at).lower().replace("matches the", "")
