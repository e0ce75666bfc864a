"""Scenarios go through the publication workflow: draft -> preview -> publish with a note -> roll
back only to a published version; each step is in the audit log (engine/publication.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import publication
from engine.book import load_demo
from engine.context import EVERYONE, REQUIRED, Context
from engine.errors import AccessDenied, RuleError
from engine.store import Scope

CYBER = "iran-cyber-campaign"
BANK = "hudson-crescent-bancorp"

HARSHER = """\
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

NEW = HARSHER.replace("id: iran-cyber-campaign", "id: bank-campaign").replace(
    "title: Iranian", "title: Banks under an Iranian"
)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(tmp_path_factory.mktemp("scenario-publication") / "r.duckdb")
    load_demo(c)
    yield c
    c.close()


def _scores(rows: list[object], side: str) -> dict[str, float]:
    return {r.client_id: getattr(r, side).score for r in rows}  # type: ignore[attr-defined]


def test_a_draft_is_previewed_published_and_rolled_back(book: Context) -> None:
    current = {r.client_id: r.after.score for r in book.compare_scenario(CYBER, scope=EVERYONE)}
    runs_before = book.current_run(CYBER).run_id

    draft = publication.save_scenario_draft(book, HARSHER, note="banks hit harder", by="ana")
    assert (draft.version, draft.status, draft.current) == (2, "draft", False)
    # a draft changes nothing: the scenario still runs at version 1, and it is no roll-back target
    assert book.scenario_version(CYBER) == 1
    assert book.current_run(CYBER).run_id == runs_before
    assert publication.scenario_rollback_targets(book, CYBER) == []
    # the same text saved again is the same draft
    again = publication.save_scenario_draft(book, HARSHER, note="again", by="ana")
    assert again.version == 2

    pv = publication.preview_scenario(book, CYBER, 2, scope=EVERYONE)
    assert (pv.kind, pv.version, pv.before_run) == ("scenario", 2, runs_before)
    assert _scores(pv.rows, "before") == pytest.approx(current)
    moved = {r.client_id: r.delta for r in pv.rows}
    assert moved[BANK] < -1.0  # the bank falls further when the campaign hits banks
    assert book.scenario_version(CYBER) == 1  # a preview publishes nothing

    with pytest.raises(RuleError, match="publishing scenario iran-cyber-campaign needs a note"):
        publication.publish_scenario(book, CYBER, 2, note=" ", by="ana")
    publication.publish_scenario(book, CYBER, 2, note="campaign now hits banks", by="ana")
    assert book.scenario_version(CYBER) == 2
    after = {r.client_id: r.after.score for r in book.compare_scenario(CYBER, scope=EVERYONE)}
    assert after == pytest.approx(_scores(pv.rows, "after"))  # what the preview showed
    with pytest.raises(RuleError, match="version 2 of iran-cyber-campaign is published already"):
        publication.publish_scenario(book, CYBER, 2, note="twice", by="ana")
    assert publication.scenario_rollback_targets(book, CYBER) == [1]

    publication.rollback_scenario(book, CYBER, 1, note="the campaign fizzled", by="ana")
    assert book.scenario_version(CYBER) == 1
    assert publication.scenario_rollback_targets(book, CYBER) == [2]

    log = [
        (e.action, e.version, e.user, e.note)
        for e in book.audit_entries(kind="scenario")
        if e.subject == CYBER
    ]
    assert log[:3] == [
        ("rollback", 1, "ana", "the campaign fizzled"),
        ("publish", 2, "ana", "campaign now hits banks"),
        ("draft", 2, "ana", "banks hit harder"),
    ]


def test_a_draft_is_never_a_roll_back_target(book: Context) -> None:
    text = HARSHER.replace("severity: 5", "severity: 4")
    draft = publication.save_scenario_draft(book, text, note="a milder draft", by="ana")
    assert draft.status == "draft"
    history = {v.version: v.status for v in book.scenario_history(CYBER)}
    assert history[draft.version] == "draft"
    assert draft.version not in publication.scenario_rollback_targets(book, CYBER)
    with pytest.raises(RuleError, match=rf"version {draft.version} of {CYBER} is a draft"):
        book.rollback_scenario(CYBER, draft.version, by="ana", note="try the draft")
    assert book.scenario_version(CYBER) == 1  # nothing changed


def test_a_new_scenario_starts_as_a_draft_and_is_previewed_against_no_scenario(
    book: Context,
) -> None:
    base = {r.client_id: r.score for r in book.ratings(book.current_run().run_id, EVERYONE)}
    draft = publication.save_scenario_draft(book, NEW, note="banks targeted", by="ana")
    assert (draft.scenario_id, draft.version, draft.status) == ("bank-campaign", 1, "draft")
    assert "bank-campaign" not in {i.scenario_id for i in book.scenario_list()}
    assert [d.scenario_id for d in publication.scenario_store.drafts(book)].count(
        "bank-campaign"
    ) == 1
    pv = publication.preview_scenario(book, "bank-campaign", 1, scope=EVERYONE)
    assert _scores(pv.rows, "before") == pytest.approx(base)
    assert {r.client_id: r.delta for r in pv.rows}[BANK] < -1.0  # the bank falls
    publication.publish_scenario(book, "bank-campaign", 1, note="banks targeted", by="ana")
    listed = {i.scenario_id: i for i in book.scenario_list()}
    assert listed["bank-campaign"].version == 1
    assert [e.action for e in book.scenario_events("bank-campaign")] == ["create"]


def test_a_draft_the_same_as_the_current_version_is_refused(book: Context) -> None:
    text = book.scenario_yaml("hormuz-closed")
    with pytest.raises(RuleError, match="the same as version 1 of hormuz-closed, the current"):
        publication.save_scenario_draft(book, text, note="no change", by="ana")


def test_a_preview_needs_a_scope(book: Context) -> None:
    with pytest.raises(AccessDenied, match="no scope given"):
        publication.preview_scenario(book, CYBER, 1, scope=REQUIRED)
    only_bank = publication.preview_scenario(book, CYBER, 1, scope=Scope.of(BANK))
    assert [r.client_id for r in only_bank.rows] == [BANK]


def test_every_scenario_change_is_recorded_for_the_alerts(book: Context) -> None:
    """Add, edit, publish, roll back and retire each record a publication (engine/alerts.py
    compares the ratings around it and tells the followers); a draft records none."""
    from engine import history

    def latest() -> tuple[object, ...]:
        p = history.latest(book)
        assert p is not None
        return (p.document, p.subject, p.version, p.by_user, p.note)

    text = NEW.replace("id: bank-campaign", "id: bank-campaign-2")
    stored = book.add_scenario(text, note="a second campaign", by="ana")
    assert latest() == ("scenario", "bank-campaign-2", 1, "ana", "a second campaign")
    n = len(history.publications(book))
    draft = publication.save_scenario_draft(
        book, text.replace("severity: 5", "severity: 3"), note="milder", by="ana"
    )
    assert len(history.publications(book)) == n  # a draft is not published
    publication.publish_scenario(book, "bank-campaign-2", draft.version, note="milder", by="bo")
    assert latest() == ("scenario", "bank-campaign-2", 2, "bo", "milder")
    book.rollback_scenario("bank-campaign-2", stored.version, by="bo", note="back to v1")
    assert latest() == ("scenario", "bank-campaign-2", 1, "bo", "back to v1")
    book.retire_scenario("bank-campaign-2", by="bo", note="not needed")
    assert latest() == ("scenario", "bank-campaign-2", 1, "bo", "not needed")
