"""The client report: one PDF per demo client that says what the brief says, and safe HTML."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PageObject, PdfReader

from engine.context import EVERYONE, Context
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
PREPARED = dt.date(2026, 12, 1)
# A page of body text holds about 3,000 characters; one with fewer than this and no figure is a
# page a client would see as left blank (a two-line box alone on a page holds about 300).
MIN_PAGE_TEXT = 800
MIN_LAST_PAGE_TEXT = 600


def pdf_text(pdf: bytes) -> tuple[str, int, int]:
    """The PDF's text (whitespace collapsed, words hyphenated at a line end joined again), its
    page count and how many images it holds."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    images = sum(len(page.images) for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"(\w)- (\w)", r"\1-\2", text), len(reader.pages), images


def page_content(page: PageObject) -> tuple[str, int]:
    """A page's text and how many images it draws (not merely holds in its resources)."""
    drawn: list[str] = []

    def visit(op: bytes, args: list[object], cm: object, tm: object) -> None:
        if op == b"Do":
            drawn.append(str(args[0]))

    text = (page.extract_text(visitor_operand_before=visit) or "").strip()
    xobjects = page["/Resources"].get("/XObject", {})
    images = [n for n in drawn if n in xobjects and xobjects[n]["/Subtype"] == "/Image"]
    return text, len(images)


def sparse_pages(pdf: bytes) -> list[tuple[int, int]]:
    """(page number, characters) of every page that draws no image and holds less text than a
    page should: MIN_PAGE_TEXT characters, or MIN_LAST_PAGE_TEXT on the last page."""
    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for number, page in enumerate(reader.pages, start=1):
        text, images = page_content(page)
        floor = MIN_LAST_PAGE_TEXT if number == len(reader.pages) else MIN_PAGE_TEXT
        if not images and len(text) < floor:
            out.append((number, len(text)))
    return out


def test_the_demo_book_is_every_client_here(report_ctx: Context) -> None:
    assert sorted(c.client_id for c in report_ctx.clients(scope=EVERYONE)) == sorted(DEMO_CLIENTS)


@pytest.mark.slow
@pytest.mark.parametrize("client_id", DEMO_CLIENTS)
def test_each_demo_client_gets_a_pdf_that_cites_the_brief(
    report_ctx: Context, client_id: str
) -> None:
    pdf = render_client_report(report_ctx, client_id, fmt="pdf", prepared=PREPARED)
    assert pdf.startswith(b"%PDF-")
    text, pages, images = pdf_text(pdf)
    run = report_ctx.current_run()
    rating = report_ctx.rating(run.run_id, client_id, scope=EVERYONE)
    explanation = report_ctx.explain(client_id, run.run_id, scope=EVERYONE)
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
    # the cover: the brief by title, publisher and date; both dates, each said for what it is
    assert "Assessment as of 14 January 2020 · prepared 1 December 2026" in text
    assert f"Intelligence brief “{register.title}”, PGI, 14 January 2020" in text
    assert (
        f"Confidential. Prepared for {rating.name} on 1 December 2026 from the intelligence "
        "brief named above. The assessment is as of 14 January 2020: it rests on what the brief "
        "judged at that date, not on later events." in text
    )
    # versions and the calculation reference only in the reproducibility record, in plain words
    assert (
        f"Calculation reference {run.run_id}, calculated on {long_date(run.created_at.date())} "
        "Assessment date 14 January 2020 "
        f"Threat register version {run.register_version}: {len(register.threats)} threats from "
        f"“{register.title}” (PGI), 14 January 2020 "
        f"Scoring method version {run.rules_version} ({rules.version}) "
        f"Exposure data version {rating.exposure_version}, received " in text
    )
    assert text.count(f"version {run.rules_version} ({rules.version})") == 1
    # nothing internal: no file name, no command, no clock time
    assert register.source == "000_1229fbeb5111b044.txt"
    for internal in (register.source, "resilience explain", "--as-of", "Generated", "UTC", " Run "):
        assert internal not in text, internal
    assert images >= 2  # the map and the drivers chart
    assert 6 <= pages <= 14
    assert "Page 2 of" in text
    # no near-empty page: every page holds a figure or a page's worth of text
    assert sparse_pages(pdf) == []


def test_the_oil_company_report_says_what_the_brief_says(report_ctx: Context) -> None:
    pdf = render_client_report(report_ctx, "meridian-basin-petroleum", fmt="pdf", prepared=PREPARED)
    text, _, _ = pdf_text(pdf)
    assert "Band E" in text
    assert "Proxy attacks on merchant vessels in Gulf waters" in text
    assert "triggers ¶6" in text
    # the brief's own words, quoted, and what we carry for them
    assert "the brief says only that it “may” happen" in text
    assert "the brief judges this “likely” (55–75% on the PHIA yardstick)" in text
    # the value at risk of disruption, said to be probability-weighted and not a loss forecast
    assert "Exposure data 9 sites and 5 sea routes, as supplied" in text
    assert (
        "VALUE AT RISK US$6.24bn of disruption, probability-weighted · range US$4.79bn– US$7.68bn"
        in text
    )
    assert (
        "Value at risk of disruption US$6.24bn of the business is at risk of disruption, "
        "probability-weighted (range US$4.79bn to US$7.68bn): the sum over its 9 sites and 5 sea "
        "routes of each one's value times its chance of disruption over the next 12 months. This "
        "measures exposure, not a forecast of loss: a disruption usually costs only part of what "
        "it touches. It is 45% of the US$13.8bn exposed (route values are annual trade). The "
        "largest single exposure is Rumaila North field operations: US$3.40bn at 46% risk, "
        "US$1.58bn probability-weighted." in text
    )
    assert "Four threats account for 74% of the value at risk of disruption:" in text
    assert (
        "Unstable and unpredictable security conditions across Iraq: 24% of the value at risk, "
        "bearing hardest on Iraq;" in text
    )
    assert (
        "Probability-weighted: each site's value and each route's annual trade, times its chance "
        "of disruption over the 12-month outlook, summed. It shows how much of the business the "
        "threats bear on; it is not a forecast of loss." in text
    )
    assert "Addresses US$2.88bn of value at risk · modelled cut US$788m" in text
    assert "Under the rules' credits this cuts the value at risk by about US$788m." in text
    assert "xpected disrupt" not in text
    # PHIA is the Professional Head of Intelligence Analysis
    assert (
        "Likelihoods are the brief's own judgements, read on the UK Professional Head of "
        "Intelligence Analysis (PHIA) probability yardstick, 2019 edition;" in text
    )
    assert (
        "Source: UK Professional Head of Intelligence Analysis (PHIA) probability yardstick, "
        "2019 edition." in text
    )
    assert "Intelligence Assessment" not in text
    # the staff figure reads as two sentences
    assert "(3,105). This is a duty-of-care figure" in text
    # the route that cannot be rerouted
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
    assert (
        "B Reproducibility record For your risk team: what this assessment used. The same "
        "brief, method and exposure data always give the same figures; quote the calculation "
        "reference to have them worked out again." in text
    )
    assert "Result score 36.96 (low 26.87, high 48.66), risk 0.6304, band E" in text


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
    assert f"Calculation reference</td><td>{run.run_id}, calculated on" in html
    assert (
        "<th>Scenario</th><td>Strait of Hormuz closed: an assumed situation, not the brief's "
        "judgement</td>" in html
    )
    assert "under the scenario “Strait of Hormuz closed”" in html
    assert "hormuz-closed" not in html
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
    others = [c for c in report_ctx.clients(scope=EVERYONE) if c.client_id != "cedar-souk-retail"]
    html = render_client_report(report_ctx, "cedar-souk-retail", fmt="html").decode()
    for c in others:
        assert c.client_id not in html
        assert c.name not in html
