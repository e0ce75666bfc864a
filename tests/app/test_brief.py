"""The New brief page: drafts with their evidence, review, preview, publish; analysts only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.views.brief import STATE, BriefReview, read
from engine.context import Context

from .conftest import page_text

BRIEF = b"""# Gulf shipping outlook

## Key judgements

Iran-aligned militias are likely to launch rocket attacks on US bases in Iraq in the coming
months.

Proxies may attack tankers in the Strait of Hormuz, which could unsettle global oil markets.
"""


def test_read_turns_a_brief_into_drafts_with_evidence() -> None:
    result = read(BRIEF, "outlook.md")
    categories = {d.category for d in result.drafts}
    assert {"militia_attack", "shipping_disruption"} <= categories
    for d in result.drafts:
        for span in d.evidence:
            assert result.document.text[span.start : span.end] == span.text


def test_review_keeps_edits_and_rejections() -> None:
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    first, *rest = state.result.drafts
    state.decisions[first.id] = "accept"
    state.edits[first.id] = {"severity": 5}
    for d in rest:
        state.decisions[d.id] = "reject"
    rv = state.review()
    assert [d.id for d in rv.accepted()] == [first.id]
    assert rv.accepted()[0].severity == 5
    assert len(rv.rejected()) == len(rest)


def test_the_page_is_for_analysts_only(signed_in: Callable[[str], AppTest]) -> None:
    for username in ("meridian", "am"):
        at = signed_in(username)
        with pytest.raises(Exception):  # noqa: B017 - the page is not registered for this role
            at.switch_page("views/brief.py").run()


def test_analyst_reviews_previews_and_publishes(
    signed_in: Callable[[str], AppTest], app_ctx: Context, app_db: Path
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    assert not at.exception, at.exception
    assert "New brief" in page_text(at)
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    militia = next(d for d in state.result.drafts if d.category == "militia_attack")
    at.session_state[STATE] = state
    at.run()
    text = page_text(at)
    assert "draft threats" in text
    assert "Evidence in the brief" in text
    at.radio(key=f"br_dec_{militia.id}").set_value("accept").run()
    at.button(key="br_preview").click().run()
    assert not at.exception, at.exception
    assert "client rating(s) would move" in page_text(at)
    before = app_ctx.register_version()
    at.text_input(key="br_note").input("outlook brief, militia judgement")
    publish = next(b for b in at.button if b.label == "Publish as the current register")
    publish.click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    assert app_ctx.register_version() > before
    assert militia.id in {t.id for t in app_ctx.register().threats}
    assert f"Published register version {app_ctx.register_version()}." in page_text(at)
