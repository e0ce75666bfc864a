"""The scenarios page: analysts write and version scenarios, account managers only run them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from app.ui import plain
from engine.context import EVERYONE, Context

Signed = Callable[[str], AppTest]

CYBER_V2 = """\
id: iran-cyber-campaign
title: Iranian cyber campaign against the US and its allies
description: >-
  Iranian state or proxy groups run a sustained campaign of destructive cyber-attacks.
overrides:
  - threat: iran-cyber-attacks
    likelihood: almost_certain
    likelihood_words: "scenario: a campaign is under way and hitting banks"
    severity: 5
"""

NEW = """\
id: lebanon-unrest
title: Unrest spreads in Lebanon and Iraq
description: >-
  The protests grow into sustained unrest in both countries.
overrides:
  - threat: iraq-lebanon-protests
    likelihood: highly_likely
    likelihood_words: "scenario: the protests spread"
"""


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _open(signed_in: Signed, who: str, scenario: str) -> AppTest:
    at = signed_in(who)
    at.switch_page("views/scenarios.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="sc_pick").set_value(scenario).run()
    assert not at.exception, at.exception
    return at


def test_analyst_edits_a_scenario_and_rolls_it_back(signed_in: Signed, app_ctx: Context) -> None:
    before = {
        r.client_id: r for r in app_ctx.compare_scenario("iran-cyber-campaign", scope=EVERYONE)
    }
    at = _open(signed_in, "analyst", "iran-cyber-campaign")
    assert "Version 1 of 1; last changed" in at.caption[0].value
    # a typo in a key is refused with the key, the likely fix and nothing stored
    at.text_area(key="sc_yaml_iran-cyber-campaign_1").input(
        CYBER_V2.replace("severity: 5", "severty: 5")
    )
    at.text_input(key="sc_note_iran-cyber-campaign_1").input("campaign under way")
    _button(at, "Save as a new version").click().run()
    assert [e.value for e in at.error] == [
        plain(
            "iran-cyber-campaign (edited), overrides[0].severty: unknown key; did you mean "
            "'severity'? (allowed: threat, likelihood, likelihood_words, severity, "
            "intensity_scale, add_regions)"
        )
    ]
    assert app_ctx.scenario_version("iran-cyber-campaign") == 1
    # a note is required
    at.text_area(key="sc_yaml_iran-cyber-campaign_1").input(CYBER_V2)
    at.text_input(key="sc_note_iran-cyber-campaign_1").input("  ")
    _button(at, "Save as a new version").click().run()
    assert [e.value for e in at.error] == [plain("the note is empty; say what changed and why")]
    assert len(app_ctx.scenario_history("iran-cyber-campaign")) == 1
    # a valid edit becomes version 2, by the signed-in analyst, and the page runs it
    at.text_input(key="sc_note_iran-cyber-campaign_1").input("campaign under way")
    _button(at, "Save as a new version").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        plain("Stored iran-cyber-campaign version 2; it is current.")
    ]
    history = app_ctx.scenario_history("iran-cyber-campaign")
    assert [(v.version, v.created_by, v.note, v.current) for v in history] == [
        (
            1,
            "resilience init",
            "built-in scenario from scoring_rules/data/scenarios/iran-cyber-campaign.yaml",
            False,
        ),
        (2, "analyst", "campaign under way", True),
    ]
    assert "Version 2 of 2; last changed" in at.caption[0].value
    table = at.dataframe[0].value
    bank = table[table["id"] == "hudson-crescent-bancorp"].iloc[0]
    after = {
        r.client_id: r for r in app_ctx.compare_scenario("iran-cyber-campaign", scope=EVERYONE)
    }
    assert bank["change"] == round(after["hudson-crescent-bancorp"].delta, 1)
    assert (
        after["hudson-crescent-bancorp"].after.score < before["hudson-crescent-bancorp"].after.score
    )
    # versions listed; roll back to version 1
    versions = next(d.value for d in at.dataframe if "note" in d.value.columns)
    assert versions["version"].tolist() == [1, 2]
    assert versions["current"].tolist() == [False, True]
    at.selectbox(key="sc_rb_v").set_value(1)
    at.text_input(key="sc_rb_note").input("the campaign fizzled")
    _button(at, "Roll back").click().run()
    assert not at.exception, at.exception
    assert app_ctx.scenario_version("iran-cyber-campaign") == 1
    assert [s.value for s in at.success] == [
        plain("iran-cyber-campaign version 1 is current again.")
    ]
    assert [
        (e.action, e.version, e.by_user, e.note)
        for e in app_ctx.scenario_events("iran-cyber-campaign")
    ] == [
        (
            "create",
            1,
            "resilience init",
            "built-in scenario from scoring_rules/data/scenarios/iran-cyber-campaign.yaml",
        ),
        ("edit", 2, "analyst", "campaign under way"),
        ("rollback", 1, "analyst", "the campaign fizzled"),
    ]
    table = at.dataframe[0].value
    bank = table[table["id"] == "hudson-crescent-bancorp"].iloc[0]
    assert bank["change"] == round(before["hudson-crescent-bancorp"].delta, 1)


def test_analyst_creates_retires_and_brings_back_a_scenario(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = _open(signed_in, "analyst", "hormuz-closed")
    # the example text names an id that is free, but it must be made the analyst's own
    at.text_area(key="sc_new_yaml").input(NEW.replace("iraq-lebanon-protests", "lebanon-riots"))
    at.text_input(key="sc_new_note").input("protests spreading")
    _button(at, "Create scenario").click().run()
    error = at.error[0].value
    assert error.startswith(
        plain("new scenario, overrides[0].threat: 'lebanon-riots' is not in the register (known: ")
    )
    assert "lebanon-unrest" not in app_ctx.scenarios()
    at.text_area(key="sc_new_yaml").input(NEW)
    _button(at, "Create scenario").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [plain("Stored scenario lebanon-unrest version 1.")]
    assert app_ctx.scenario_history("lebanon-unrest")[0].created_by == "analyst"
    assert "Unrest spreads in Lebanon and Iraq" in at.selectbox(key="sc_pick").options
    at.selectbox(key="sc_pick").set_value("lebanon-unrest").run()
    _button(at, "Retire this scenario").click().run()
    assert not at.exception, at.exception
    assert "lebanon-unrest" not in app_ctx.scenarios()
    assert "Unrest spreads in Lebanon and Iraq" not in at.selectbox(key="sc_pick").options
    assert at.selectbox(key="sc_restore_pick").options == [
        "Unrest spreads in Lebanon and Iraq (v1)"
    ]
    at.selectbox(key="sc_restore_pick").set_value("lebanon-unrest")
    _button(at, "Bring it back").click().run()
    assert not at.exception, at.exception
    assert app_ctx.scenario_version("lebanon-unrest") == 1
    assert [s.value for s in at.success] == [plain("lebanon-unrest version 1 is current again.")]


def test_an_account_manager_runs_scenarios_but_cannot_edit_them(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = _open(signed_in, "am", "hormuz-closed")
    assert at.dataframe[0].value["id"].tolist() == [
        r.client_id for r in app_ctx.compare_scenario("hormuz-closed", scope=EVERYONE)
    ]
    assert not at.text_area
    assert not at.tabs
    labels = [b.label for b in at.button]
    for label in ("Save as a new version", "Create scenario", "Roll back", "Retire this scenario"):
        assert label not in labels
    assert "Analysts write and version the scenarios; this page runs them." in [
        c.value for c in at.caption
    ]
    assert app_ctx.scenario_version("hormuz-closed") == 1


def test_analyst_drafts_previews_and_publishes_a_scenario(
    signed_in: Signed, app_ctx: Context
) -> None:
    sid = "iran-cyber-campaign"
    before = {r.client_id: r for r in app_ctx.compare_scenario(sid, scope=EVERYONE)}
    start = app_ctx.scenario_version(sid)
    at = _open(signed_in, "analyst", sid)
    at.text_area(key=f"sc_yaml_{sid}_{start}").input(CYBER_V2.replace("severity: 5", "severity: 4"))
    at.text_input(key=f"sc_note_{sid}_{start}").input("banks hit, a little less")
    _button(at, "Save as a draft").click().run()
    assert not at.exception, at.exception
    draft = app_ctx.scenario_history(sid)[-1]
    assert (draft.status, draft.created_by) == ("draft", "analyst")
    assert [s.value for s in at.success] == [
        plain(
            f"Saved draft {sid} version {draft.version} (not published); preview and publish "
            "it on the Drafts tab."
        )
    ]
    assert app_ctx.scenario_version(sid) == start  # a draft is not current
    # the draft is no roll-back target: version 1 is the only published one, and current, so
    # the page offers no roll-back at all
    assert start == 1
    assert [b for b in at.selectbox if b.key == "sc_rb_v"] == []

    at.selectbox(key="sc_draft_pick").set_value(f"{sid} v{draft.version}").run()
    _button(at, "Preview the ratings it moves").click().run()
    assert not at.exception, at.exception
    moves = next(d.value for d in at.dataframe if "with this draft" in d.value.columns)
    bank = moves[moves["id"] == "hudson-crescent-bancorp"].iloc[0]
    assert bank["now"] == (
        f"{before['hudson-crescent-bancorp'].after.band} "
        f"{before['hudson-crescent-bancorp'].after.score:.1f}"
    )
    assert app_ctx.scenario_version(sid) == start  # a preview publishes nothing

    at.text_input(key="sc_pub_note").input("campaign hits banks")
    _button(at, "Publish this draft").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        plain(f"Published {sid} version {draft.version}; it is current.")
    ]
    assert app_ctx.scenario_version(sid) == draft.version
    entry = next(e for e in app_ctx.audit_entries(kind="scenario") if e.subject == sid)
    assert (entry.action, entry.version, entry.user, entry.note) == (
        "publish",
        draft.version,
        "analyst",
        "campaign hits banks",
    )
    after = {r.client_id: r for r in app_ctx.compare_scenario(sid, scope=EVERYONE)}
    assert bank["with this draft"] == (
        f"{after['hudson-crescent-bancorp'].after.band} "
        f"{after['hudson-crescent-bancorp'].after.score:.1f}"
    )
    assert "No drafts." in " ".join(c.value for c in at.caption)
