"""The New brief page: drafts with their evidence, review, preview, publish; analysts only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import ui
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


def test_a_pasted_brief_is_read_like_an_upload(signed_in: Callable[[str], AppTest]) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    at.text_input(key="br_paste_name").input("gulf-outlook.md")
    at.text_area(key="br_paste").input(BRIEF.decode())
    at.button(key="br_read_paste").click().run()
    assert not at.exception, at.exception
    state: BriefReview = at.session_state[STATE]
    assert state.filename == "gulf-outlook.md"
    assert {"militia_attack", "shipping_disruption"} <= {d.category for d in state.drafts()}
    assert "Evidence in the brief" in page_text(at)
    assert "A new brief: it joins the 1 the register holds." in page_text(at)


def test_a_draft_set_to_world_shows_the_sentence_behind_it(
    signed_in: Callable[[str], AppTest],
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    militia = next(d for d in state.result.drafts if d.category == "militia_attack")
    at.session_state[STATE] = state
    at.run()
    warnings = [w.value for w in at.warning]
    assert not [w for w in warnings if militia.evidence[0].text[:20] in w]
    at.text_input(key=f"br_rg_{militia.id}").input("world: 1").run()
    warnings = [w.value for w in at.warning]
    # no sentence of the brief says the militia threat is worldwide: the warning says so
    assert militia.world_evidence is None
    assert any(
        w.startswith("This draft applies to the whole world, so it reaches every client.")
        and "No sentence of the brief says the threat is worldwide" in w
        and "Iran\\-aligned militias are likely" in w
        for w in warnings
    ), warnings


WORLDWIDE = b"""# Kenya demonstration alert

Protests continue in Kenya. Demonstrations may also occur with little warning.

Due to tensions in various locations around the world, and the potential for terrorist attacks
against U.S. citizens, U.S. citizens overseas should exercise increased caution.
"""


def test_a_worldwide_draft_shows_the_sentence_that_says_so(
    signed_in: Callable[[str], AppTest],
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    state = BriefReview(filename="alert.md", result=read(WORLDWIDE, "alert.md"))
    terror = next(d for d in state.result.drafts if d.category == "terrorism")
    assert terror.main_region == "world" and terror.world_evidence is not None
    unrest = next(d for d in state.result.drafts if d.category == "civil_unrest")
    assert [r.region for r in unrest.regions] == ["KEN"]
    at.session_state[STATE] = state
    at.run()
    warnings = [w.value for w in at.warning if "applies to the whole world" in w.value]
    assert len(warnings) == 1, warnings  # the terrorism draft only, not the Kenya one
    assert "The sentence that justifies it" in warnings[0]
    assert "locations around the world" in warnings[0]


def test_every_field_of_a_draft_can_be_edited(signed_in: Callable[[str], AppTest]) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    militia = next(d for d in state.result.drafts if d.category == "militia_attack")
    at.session_state[STATE] = state
    at.run()
    k = militia.id
    at.radio(key=f"br_dec_{k}").set_value("accept")
    at.selectbox(key=f"br_cat_{k}").set_value("terrorism")
    at.selectbox(key=f"br_lk_{k}").set_value("highly_likely")
    at.text_input(key=f"br_words_{k}").input("highly likely")
    at.number_input(key=f"br_hf_{k}").set_value(1.0)
    at.number_input(key=f"br_ht_{k}").set_value(4.0)
    at.selectbox(key=f"br_cf_{k}").set_value("high")
    at.text_input(key=f"br_rg_{k}").input("IRQ: 0.9, KWT: 0.3")
    at.multiselect(key=f"br_aff_{k}").set_value(["US"])
    at.run()
    assert not at.exception, at.exception
    edited = at.session_state[STATE].review().get(k)
    assert edited.category == "terrorism"
    assert (edited.likelihood, edited.likelihood_words) == ("highly_likely", "highly likely")
    assert (edited.horizon.from_months, edited.horizon.to_months) == (1.0, 4.0)
    assert edited.confidence == "high"
    assert [(r.region, r.intensity) for r in edited.regions] == [("IRQ", 0.9), ("KWT", 0.3)]
    assert edited.targets.affiliations == ["US"]


def test_adding_a_missed_threat_needs_its_sentence_from_the_brief(
    signed_in: Callable[[str], AppTest],
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    at.session_state[STATE] = state
    at.run()
    at.text_input(key="br_add_title").input("Oil price swings after tanker attacks")
    at.selectbox(key="br_add_cat").set_value("oil_market_shock")
    at.selectbox(key="br_add_lk").set_value("not_assessed")
    at.text_input(key="br_add_words").input("could")
    at.text_input(key="br_add_rg").input("world")
    at.text_area(key="br_add_quote").input("this sentence is not in the brief")
    at.text_input(key="br_add_sum").input("Tanker attacks could unsettle oil markets.")
    next(b for b in at.button if b.label == "Add the threat").click().run()
    assert [e.value for e in at.error] == [
        "the sentence is not in the brief: paste it exactly as it stands"
    ]
    at.text_area(key="br_add_quote").input(
        "Proxies may attack tankers in the Strait of Hormuz, which could unsettle global oil "
        "markets."
    )
    next(b for b in at.button if b.label == "Add the threat").click().run()
    assert not at.exception, at.exception
    state = at.session_state[STATE]
    added = state.added[0]
    assert added.id == "oil-price-swings-after-tanker-attacks"
    assert state.decisions[added.id] == "accept"
    assert [r.region for r in added.regions] == ["world"]
    assert state.result.document.text[added.evidence[0].start : added.evidence[0].end] == (
        added.evidence[0].text
    )
    assert "Added oil-price-swings-after-tanker-attacks" in page_text(at)


def test_a_new_brief_supersedes_retires_flags_and_publishes(
    signed_in: Callable[[str], AppTest], app_ctx: Context
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    state = BriefReview(filename="outlook.md", result=read(BRIEF, "outlook.md"))
    militia = next(d for d in state.result.drafts if d.category == "militia_attack")
    world = next(d for d in state.result.drafts if "world" in {r.region for r in d.regions})
    at.session_state[STATE] = state
    at.run()
    at.radio(key=f"br_dec_{world.id}").set_value("accept")
    at.text_input(key="br_b_pub").input("Test desk")
    at.date_input(key="br_b_date").set_value(dt.date(2020, 2, 1))
    at.radio(key=f"br_dec_{militia.id}").set_value("accept")
    at.multiselect(key=f"br_sup_{militia.id}").set_value(["iran-proxy-militia-attacks"])
    at.run()
    at.multiselect(key="br_retire").set_value(["us-iran-hostile-rhetoric"]).run()
    at.button(key="br_preview").click().run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "client rating(s) would move" in text
    flags = [w.value for w in at.warning if "none of its sites" in w.value]
    andes = next(w for w in flags if w.startswith("Andes Verde Agro S\\.A\\."))
    assert "a place the brief names; it moves through worldwide threats" in andes
    assert ui.plain(world.title) in andes
    assert not [w for w in flags if w.startswith("Meridian Basin")]  # its sites are in Iraq
    at.text_input(key="br_note").input("outlook brief replaces the militia judgement")
    next(b for b in at.button if b.label == "Publish as the current register").click().run()
    assert not at.exception, at.exception
    reg = app_ctx.register()
    assert [b.id for b in reg.all_briefs()] == ["pgi-us-iran-2020-01", "outlook"]
    assert reg.brief("outlook").publisher == "Test desk"
    assert reg.brief("outlook").date == dt.date(2020, 2, 1)
    active = {t.id for t in reg.threats}
    assert {militia.id, world.id} <= active
    assert not {"iran-proxy-militia-attacks", "us-iran-hostile-rhetoric"} & active
    assert {(r.threat.id, r.superseded_by) for r in reg.retired} == {
        ("iran-proxy-militia-attacks", militia.id),
        ("us-iran-hostile-rhetoric", None),
    }


YEAR_END = "# Lagos outlook\n\nProtests in Lagos are likely to recur by year-end.\n"


def test_read_counts_calendar_frames_from_the_briefs_date() -> None:
    (sept,) = read(YEAR_END.encode(), "lagos.md", date=dt.date(2025, 9, 30)).drafts
    assert sept.horizon.to_months == 3.0
    (undated,) = read(YEAR_END.encode(), "lagos.md").drafts
    assert undated.horizon.to_months == 6.0  # no date: the default window


def test_the_page_reads_a_pasted_brief_as_of_its_date_and_again_when_it_changes(
    signed_in: Callable[[str], AppTest],
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/brief.py").run()
    assert not at.exception, at.exception
    at.date_input(key="br_date").set_value(dt.date(2025, 9, 30))
    at.text_area(key="br_paste").input(YEAR_END)
    at.button(key="br_read_paste").click().run()
    assert not at.exception, at.exception
    state = at.session_state[STATE]
    (draft,) = state.result.drafts
    assert draft.horizon.to_months == 3.0  # 30 September to 31 December
    assert "Horizon 0–3 months" in page_text(at)
    accept = at.radio(key=f"br_dec_{draft.id}")
    accept.set_value("accept").run()
    # the analyst corrects the date: the brief is read again and the decision kept
    at.date_input(key="br_b_date").set_value(dt.date(2025, 6, 30)).run()
    assert not at.exception, at.exception
    state = at.session_state[STATE]
    (again,) = state.result.drafts
    assert again.horizon.to_months == 6.0  # 30 June to 31 December
    assert state.read_date == dt.date(2025, 6, 30)
    assert state.decisions[again.id] == "accept"
    text = page_text(at)
    assert "Read again as of 30 June 2025" in text
    assert "Horizon 0–6 months" in text
