"""The portfolio report: the ranked book, movers and concentrations."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from engine.context import EVERYONE, Context
from engine.errors import NotFoundError
from engine.insights import top_drivers
from engine.report import render_portfolio_report
from engine.report.facts import book_facts
from engine.report.fmt import long_date
from engine.store import Scope

from .conftest import HOSTILE_ID
from .test_client_report import DEMO_CLIENTS, PREPARED, pdf_text, sparse_pages


def row_texts(pdf: bytes, ctx: Context) -> dict[str, str]:
    """Each client's row of the ranking, whitespace removed: from its name to the next one's."""
    reader = PdfReader(io.BytesIO(pdf))
    squeezed = re.sub(r"\s+", "", " ".join(p.extract_text() or "" for p in reader.pages))
    ratings = ctx.ratings(ctx.current_run().run_id, scope=EVERYONE)
    starts = [squeezed.index(re.sub(r"\s+", "", r.name)) for r in ratings]
    ends = [*starts[1:], squeezed.index("Movers")]
    return {r.client_id: squeezed[a:b] for r, a, b in zip(ratings, starts, ends, strict=True)}


def test_portfolio_pdf_names_every_client_in_rank_order(report_ctx: Context) -> None:
    pdf = render_portfolio_report(report_ctx, fmt="pdf")
    reader = PdfReader(io.BytesIO(pdf))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))
    squeezed = re.sub(r"\s+", "", text)  # names may wrap inside the ranking table
    ratings = report_ctx.ratings(report_ctx.current_run().run_id, scope=EVERYONE)
    positions = []
    for r in ratings:
        name = re.sub(r"\s+", "", r.name)
        assert name in squeezed
        positions.append(squeezed.index(name))
    assert positions == sorted(positions)  # worst first, as ranked
    assert "Movers" in text
    assert "None: no client has an earlier rating" in text
    assert "By chokepoint" in text and "Strait of Hormuz" in text
    assert sum(len(p.images) for p in reader.pages) >= 1


def test_concentration_adds_up_to_the_book(report_ctx: Context) -> None:
    book = book_facts(report_ctx)
    assert abs(sum(r.share for r in book.regions) - 1.0) < 1e-9
    assert book.regions[0].region_id == "IRQ"
    hormuz = next(c for c in book.chokepoints if c.region_id == "sea.hormuz")
    assert hormuz.n_clients >= 5
    assert hormuz.no_alternative == hormuz.n_routes  # no sea way around Hormuz from the Gulf
    assert hormuz.ed > 0


def test_portfolio_for_chosen_clients_only(report_ctx: Context) -> None:
    html = render_portfolio_report(
        report_ctx, fmt="html", client_ids=["andes-verde-agro", "cedar-souk-retail"]
    ).decode()
    assert "Andes Verde Agro S.A." in html and "Cedar Souk Retail SAL" in html
    assert "Meridian Basin Petroleum" not in html
    assert "<script" not in html.lower()


def test_unknown_client_in_portfolio_is_refused(report_ctx: Context) -> None:
    with pytest.raises(NotFoundError, match="unknown client 'nobody'"):
        render_portfolio_report(report_ctx, fmt="html", client_ids=["nobody"])


def test_movers_compare_with_the_previous_exposure_version(hostile_ctx: Context) -> None:
    book = book_facts(hostile_ctx)
    (row,) = book.rows
    assert row.previous is not None
    assert row.previous["exposure_version"] == 1
    assert row.rating.exposure_version == 2
    assert row.previous["score"] != row.rating.score
    html = render_portfolio_report(hostile_ctx, fmt="html").decode()
    assert "exposures v1" in html
    delta = row.rating.score - row.previous["score"]
    assert f"{delta:+.1f}" in html
    assert HOSTILE_ID in html


def test_the_portfolio_names_each_clients_top_threat_as_the_client_report_does(
    report_ctx: Context,
) -> None:
    run = report_ctx.current_run()
    book = book_facts(report_ctx)
    drivers = top_drivers(report_ctx, run.run_id, Scope.everything())
    rows = row_texts(render_portfolio_report(report_ctx, fmt="pdf"), report_ctx)
    assert sorted(rows) == sorted(DEMO_CLIENTS)
    for row in book.rows:
        client_id = row.rating.client_id
        top = report_ctx.explain(client_id, run.run_id, top=1, scope=EVERYONE).threats[0]
        assert (row.top_threat, row.top_title) == (top.threat_id, top.title)
        assert row.top_share == pytest.approx(top.share)
        assert drivers[client_id] == (row.top_threat, row.top_title, row.top_share)
        assert re.sub(r"\s+", "", f"{top.title} ({top.share:.0%})") in rows[client_id]
    by_id = {r.rating.client_id: r for r in book.rows}
    # the two clients the old per-item pick named differently
    assert by_id["aurelian-airways"].top_title == (
        "Global oil price disruption following attacks in the Gulf"
    )
    assert by_id["gulfbridge-logistics"].top_title == (
        "Proxy attacks on merchant vessels in Gulf waters"
    )


def test_the_portfolio_explains_value_at_risk_and_its_dates(report_ctx: Context) -> None:
    pdf = render_portfolio_report(report_ctx, fmt="pdf", prepared=PREPARED)
    text, pages, _ = pdf_text(pdf)
    run = report_ctx.current_run()
    assert pages == 2
    assert sparse_pages(pdf) == []
    assert (
        "10 rated clients against “US-Iran tensions after the killing of Qassem Soleimani "
        "(January 2020)” (PGI), 14 January 2020. Assessment as of 14 January 2020 · prepared "
        "1 December 2026." in text
    )
    assert (
        "VALUE AT RISK US$11.9bn of disruption, probability-weighted: Σ value × item risk" in text
    )
    assert (
        "Value at risk of disruption is probability-weighted: each site's value and each route's "
        "annual trade, times its chance of disruption over the 12-month outlook, summed. It "
        "shows how much of the business the threats bear on; it is not a forecast of loss. The "
        "top threat is the one with the largest share of the client's value at risk, as in the "
        "app and in the client's own report." in text
    )
    assert "Value at risk Top threat (share)" in text
    assert "Where the book's value at risk of disruption arises" in text
    assert (
        f"Reproducibility: threat register version {run.register_version}, scoring method "
        f"version {run.rules_version} (default-2020.2), calculation reference {run.run_id} of "
        f"{long_date(run.created_at.date())}; each client's exposure data version is in its own "
        "report." in text
    )
    for gone in ("xpected disruption", "Generated", "UTC"):
        assert gone not in text, gone


def test_the_portfolio_shows_place_names_not_region_codes(report_ctx: Context) -> None:
    html = render_portfolio_report(report_ctx, fmt="html").decode("utf-8")
    assert "Persian Gulf" in html and "Erbil air base and international airport" in html
    for code in ("sea.", "hotspot.", "sub."):
        assert code not in html, code
    assert "Iraq <span" in html  # a country keeps its ISO code beside its name
