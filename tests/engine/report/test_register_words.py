"""Report words come from the register, the rules and the gazetteer, never from code.

A register built only from a brief on another region (the Black Sea test brief, through the
extractor and review) must yield client and portfolio reports with no word of the seed brief's
places, actors or events; the seed register's reports keep naming them (the check can fail).
The advice's figures are the method's own (scoring_rules.method), not a second formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context
from engine.report import render_client_report, render_portfolio_report
from engine.report.advice import recommendations
from engine.report.facts import ClientFacts, client_facts
from scoring_rules import method
from scoring_rules.extract import Review, ingest, publish
from tests.conftest import Stores

from .test_client_report import DEMO_CLIENTS

BRIEFS = Path(__file__).resolve().parents[2] / "scoring_rules" / "briefs"
SEED_WORDS = re.compile(r"iran|hormuz|soleimani", re.IGNORECASE)
IMAGES = re.compile(r'src="data:image/[a-z]+;base64,[A-Za-z0-9+/=]+"')


@pytest.fixture(scope="module")
def black_sea_ctx(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The demo book scored against a register holding only the Black Sea brief's threats."""
    c = Context(stores.new(tmp_path_factory.mktemp("black-sea")))
    load_demo(c)
    review = Review.from_result(ingest(BRIEFS / "black_sea_grain.html"))
    for draft in review.drafts:
        review.accept(draft)
    register = publish(review, c.register(), replace=True)
    c.publish_register(register, note="only the Black Sea brief")
    c.current_run()
    yield c
    c.close()


def _client_words(facts: ClientFacts) -> list[str]:
    """Text the client itself supplied (names of sites, routes, services; its description)."""
    words = [facts.client.name, facts.client.description or ""]
    words += [i.name for i in facts.items] + [i.service_name or "" for i in facts.items]
    return [w for w in words if w]


def _report_words(ctx: Context, client_id: str) -> str:
    html = render_client_report(ctx, client_id, fmt="html").decode("utf-8")
    text = IMAGES.sub("", html)
    for w in _client_words(client_facts(ctx, client_id, scenarios=False)):
        for form in (w, w.replace("&", "&amp;")):
            text = text.replace(form, "")
    return text


def test_the_black_sea_register_holds_no_seed_threat(black_sea_ctx: Context) -> None:
    register = black_sea_ctx.register()
    assert register.source == "black_sea_grain.html"
    assert not [t.id for t in register.threats if SEED_WORDS.search(t.title)]


@pytest.mark.parametrize("client_id", DEMO_CLIENTS)
def test_client_reports_on_another_brief_name_nothing_of_the_seed(
    black_sea_ctx: Context, client_id: str
) -> None:
    text = _report_words(black_sea_ctx, client_id)
    assert SEED_WORDS.findall(text) == []
    assert "Black Sea grain corridor" in text  # the register's title is cited instead


def test_the_portfolio_report_on_another_brief_names_nothing_of_the_seed(
    black_sea_ctx: Context,
) -> None:
    """Only the chokepoint table (where the book's routes pass, whatever the register) may name
    a seed place; the prose, the rankings and the drivers may not."""
    html = render_portfolio_report(black_sea_ctx, fmt="html").decode("utf-8")
    head, table = html.split("<h3>By chokepoint</h3>", 1)
    assert re.search(r"Strait of Hormuz</td>", table.split("</table>", 1)[0])
    text = IMAGES.sub("", head + table.split("</table>", 1)[1])
    for client_id in DEMO_CLIENTS:
        for w in _client_words(client_facts(black_sea_ctx, client_id, scenarios=False)):
            text = text.replace(w, "")
    assert SEED_WORDS.findall(text) == []


def test_scenarios_that_name_seed_threats_do_not_apply_to_another_register(
    black_sea_ctx: Context, report_ctx: Context
) -> None:
    assert black_sea_ctx.applicable_scenarios() == {}
    assert sorted(report_ctx.applicable_scenarios()) == [
        "hormuz-closed",
        "iran-cyber-campaign",
        "iraq-militia-escalation",
        "oil-price-shock",
    ]
    assert black_sea_ctx.scenario("hormuz-closed").missing_threats(black_sea_ctx.register()) == [
        "gulf-shipping-proxy-attacks",
        "oil-market-shock",
    ]


def test_the_seed_register_reports_do_name_the_seed_brief(report_ctx: Context) -> None:
    """The same check on the seed register finds the words: the test above can fail."""
    text = _report_words(report_ctx, "meridian-basin-petroleum")
    assert "Hormuz" in text
    assert "Iranian cyber operations" in text


def test_cyber_advice_cites_the_register_threat_and_its_paragraph(report_ctx: Context) -> None:
    facts = client_facts(report_ctx, "hudson-crescent-bancorp", scenarios=False)
    rec = next(r for r in recommendations(facts) if r.key == "asset:cyber_certification")
    cyber = next(t for t in facts.register.threats if t.category == "cyber_attack")
    ref = ", ".join(f"{e.section} ¶{e.paragraph}" for e in cyber.evidence)
    assert rec.why.startswith(f"The register's cyber threats reach these systems: “{cyber.title}”")
    assert f"({ref})" in rec.why


def test_mitigation_cuts_are_the_methods_item_risk(report_ctx: Context) -> None:
    """Each recommended mitigation's cut is value x (run risk - method.item_risk with the
    mitigation's credit on every contribution), and the run risk is method.item_risk itself."""
    checked = []
    for client_id in DEMO_CLIENTS:
        facts = client_facts(report_ctx, client_id, scenarios=False)
        for item in facts.items:
            contribs = facts.contributions.get(item.class_id, [])
            assert method.item_risk(c.r_central for c in contribs) == pytest.approx(
                item.risk, abs=1e-9
            )
        for rec in recommendations(facts):
            mitigation = rec.key.split(":", 1)[1]
            if rec.cut_usd is None or any(n.startswith("and ") for n in rec.items):
                continue  # no modelled cut, or not every item named
            expected = 0.0
            for item in facts.items:
                if item.name not in rec.items or item.kind != rec.key.split(":", 1)[0]:
                    continue
                after = method.item_risk(
                    c.r_central
                    * method.mitigation_multiplier(facts.rules, c.category, [mitigation])
                    for c in facts.contributions[item.class_id]
                )
                expected += item.value_usd * (item.risk - after)
            assert rec.cut_usd == pytest.approx(expected, rel=1e-9), (client_id, rec.key)
            checked.append((client_id, rec.key))
    assert len(checked) >= 5
