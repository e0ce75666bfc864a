"""The portfolio report: the ranked book, movers and concentrations."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from engine.context import Context
from engine.errors import NotFoundError
from engine.report import render_portfolio_report
from engine.report.facts import book_facts

from .conftest import HOSTILE_ID


def test_portfolio_pdf_names_every_client_in_rank_order(report_ctx: Context) -> None:
    pdf = render_portfolio_report(report_ctx, fmt="pdf")
    reader = PdfReader(io.BytesIO(pdf))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))
    squeezed = re.sub(r"\s+", "", text)  # names may wrap inside the ranking table
    ratings = report_ctx.ratings(report_ctx.current_run().run_id)
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
