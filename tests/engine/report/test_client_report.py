"""The client report: one PDF per demo client that says what the brief says, and safe HTML."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from engine.context import Context
from engine.report import render_client_report
from engine.report.fmt import long_date

DEMO_CLIENTS = [
    "meridian-basin-petroleum",
    "nordhavn-container-lines",
    "hudson-crescent-bancorp",
    "aurelian-airways",
    "obermain-industriewerke",
    "zagros-link-telecom",
    "cedar-souk-retail",
    "andes-verde-agro",
    "gulfbridge-logistics",
    "setouchi-refining",
]
PNG_IMG = re.compile(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"')


def pdf_text(pdf: bytes) -> tuple[str, int, int]:
    """The PDF's text (whitespace collapsed), its page count and how many images it holds."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    images = sum(len(page.images) for page in reader.pages)
    return re.sub(r"\s+", " ", text), len(reader.pages), images


def test_the_demo_book_is_every_client_here(report_ctx: Context) -> None:
    assert sorted(c.client_id for c in report_ctx.clients()) == sorted(DEMO_CLIENTS)


@pytest.mark.slow
@pytest.mark.parametrize("client_id", DEMO_CLIENTS)
def test_each_demo_client_gets_a_pdf_that_cites_the_brief(
    report_ctx: Context, client_id: str
) -> None:
    pdf = render_client_report(report_ctx, client_id, fmt="pdf")
    assert pdf.startswith(b"%PDF-")
    text, pages, images = pdf_text(pdf)
    run = report_ctx.current_run()
    rating = report_ctx.rating(run.run_id, client_id)
    explanation = report_ctx.explain(client_id, run.run_id)
    rules = report_ctx.rules(run.rules_version)
    register = report_ctx.register(run.register_version)

    assert long_date(run.as_of) == "14 January 2020"
    assert "14 January 2020" in text
    assert f"Band {rating.band}" in text
    assert f"{rating.score:.0f} / 100 resilience score" in text
    top = explanation.threats[0]
    assert top.title in text
    first = top.evidence[0]
    assert f"{first.section} ¶{first.paragraph}" in text
    assert f"Threat register version {run.register_version} · {register.title}" in text
    assert f"Scoring rules version {run.rules_version} · {rules.version}" in text
    assert f"Exposure data version {rating.exposure_version}" in text
    assert images >= 2  # the map and the drivers chart
    assert 6 <= pages <= 14
    assert "Page 2 of" in text


def test_the_oil_company_report_says_what_the_brief_says(report_ctx: Context) -> None:
    text, _, _ = pdf_text(render_client_report(report_ctx, "meridian-basin-petroleum", fmt="pdf"))
    assert "Band E" in text
    assert "Proxy attacks on merchant vessels in Gulf waters" in text
    assert "triggers ¶6" in text
    # the brief's own words, quoted, and what we carry for them
    assert "the brief says only that it “may” happen" in text
    assert "the brief judges this “likely” (55–75% on the PHIA yardstick)" in text
    # what it would cost, and the route that cannot be rerouted
    assert "Expected disrupted value is US$" in text
    assert "no sea alternative at the Strait of Hormuz" in text
    assert "beyond the 7-day impact tolerance" in text
    # every builtin scenario, and recommendations only for what the client lacks
    for title in (
        "Strait of Hormuz closed",
        "Oil price shock",
        "Militia escalation in Iraq",
        "Iranian cyber campaign against the US and its allies",
    ):
        assert title in text
    assert "Set up backup sites" in text
    assert "pipeline bypass" in text
    # the appendix reproduces the numbers
    assert "r(x,t) = p(t) × e(x,t) × g(x,t) × v(x,t) × i(t)" in text
    assert "Reproducing these numbers" in text


def test_the_html_report_embeds_map_and_chart_and_no_script(report_ctx: Context) -> None:
    html = render_client_report(report_ctx, "meridian-basin-petroleum", fmt="html").decode()
    assert len(PNG_IMG.findall(html)) == 2
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert "Meridian Basin Petroleum plc" in html


def test_the_report_can_be_asked_for_another_run(report_ctx: Context) -> None:
    run = report_ctx.current_run("hormuz-closed")
    html = render_client_report(
        report_ctx, "andes-verde-agro", fmt="html", run_id=run.run_id
    ).decode()
    assert f"{run.run_id}, scored" in html
    assert "scenario hormuz-closed" in html
    assert "No scenario results for this run." in html


def test_a_client_without_backup_gets_no_backup_advice_for_sites_that_have_one(
    report_ctx: Context,
) -> None:
    from engine.report.advice import recommendations
    from engine.report.facts import client_facts

    facts = client_facts(report_ctx, "hudson-crescent-bancorp", scenarios=False)
    by_name = {i.name: i for i in facts.items}
    for rec in recommendations(facts):
        if rec.key.endswith(":backup_site"):
            for name in rec.items:
                if name in by_name:
                    assert "backup_site" not in by_name[name].mitigations
        if rec.key.endswith(":cyber_certification"):
            for name in rec.items:
                if name in by_name:
                    assert "cyber_certification" not in by_name[name].mitigations


def test_a_client_report_names_no_other_client(report_ctx: Context) -> None:
    others = [c for c in report_ctx.clients() if c.client_id != "cedar-souk-retail"]
    html = render_client_report(report_ctx, "cedar-souk-retail", fmt="html").decode()
    for c in others:
        assert c.client_id not in html
        assert c.name not in html
