"""Scenarios as versioned documents: seeding, edits, roll-backs, retiring, what runs record, the
Hormuz cascade, and every refusal (which names the file, the key and the fix, and changes nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine import scenarios as scenario_store
from engine.book import load_demo
from engine.context import EVERYONE, Context
from engine.errors import NotFoundError, RuleError, StoreError
from engine.store import Store
from exposures.gazetteer import gazetteer_text
from scoring_rules.scenarios import (
    MAX_SCENARIO_BYTES,
    TEMPLATE,
    check_scenario,
    load_scenario,
    parse_scenario,
    scenario_dir,
)
from tests.conftest import Stores

BUILTIN = ["hormuz-closed", "iran-cyber-campaign", "iraq-militia-escalation", "oil-price-shock"]
HORMUZ = scenario_dir() / "hormuz-closed.yaml"

BANK_CYBER = """\
id: bank-cyber
title: Cyber attacks on banks
description: Iranian groups go after allied banks.
overrides:
  - threat: iran-cyber-attacks
    likelihood: {likelihood}
    likelihood_words: "scenario: {likelihood}"
    severity: {severity}
"""


def bank_cyber(likelihood: str = "likely", severity: int = 3) -> str:
    return BANK_CYBER.format(likelihood=likelihood, severity=severity)


@pytest.fixture(scope="module")
def book(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The demo book in its own database: these tests add and edit scenarios."""
    c = Context(stores.new(tmp_path_factory.mktemp("scenarios")))
    load_demo(c)
    yield c
    c.close()


def _threat_row(ctx: Context, run_id: int, threat_id: str) -> tuple[object, ...]:
    row = ctx.store.execute(
        "SELECT likelihood, likelihood_words, severity, from_scenario, evidence FROM run_threats "
        "WHERE run_id = $r AND threat_id = $t",
        {"r": run_id, "t": threat_id},
    ).fetchone()
    assert row is not None
    return tuple(row)


def _counts(ctx: Context) -> tuple[int, int]:
    return (
        ctx.store.one("SELECT count(*) FROM scenario_versions"),
        ctx.store.one("SELECT count(*) FROM scenario_events"),
    )


# -- seeding ----------------------------------------------------------------------------------


def test_init_stores_each_builtin_scenario_as_version_1(ctx: Context) -> None:
    listed = ctx.scenario_list()
    assert [(i.scenario_id, i.version, i.n_versions, i.retired, i.changed_by) for i in listed] == [
        (sid, 1, 1, False, "resilience init") for sid in BUILTIN
    ]
    [v1] = ctx.scenario_history("hormuz-closed")
    assert (v1.version, v1.created_by, v1.note, v1.current) == (
        1,
        "resilience init",
        "built-in scenario from scoring_rules/data/scenarios/hormuz-closed.yaml",
        True,
    )
    assert ctx.scenario("hormuz-closed") == load_scenario(HORMUZ)
    assert ctx.scenario_yaml("hormuz-closed") == HORMUZ.read_text("utf-8")
    assert v1.sha256 == hashlib.sha256(load_scenario(HORMUZ).model_dump_json().encode()).hexdigest()
    ctx.init()  # again: nothing new
    assert _counts(ctx) == (4, 4)


def test_a_retired_builtin_stays_retired_when_init_runs_again(ctx: Context) -> None:
    ctx.retire_scenario("oil-price-shock", by="ana", note="folded into hormuz-closed")
    ctx.init()
    assert sorted(ctx.scenarios()) == BUILTIN[:3]
    [info] = [i for i in ctx.scenario_list(include_retired=True) if i.retired]
    assert (info.scenario_id, info.version, info.changed_by) == ("oil-price-shock", 1, "ana")
    assert len(ctx.scenario_history("oil-price-shock")) == 1
    with pytest.raises(NotFoundError) as exc:
        ctx.run("oil-price-shock")
    assert str(exc.value) == (
        "scenario 'oil-price-shock' is retired; `resilience scenarios rollback oil-price-shock 1` "
        "makes it current again"
    )


def test_the_new_scenario_template_fits_the_default_register_and_rules(ctx: Context) -> None:
    template = parse_scenario(TEMPLATE, "template")
    applied = check_scenario(template, ctx.register(), ctx.rules(), "template")
    cyber = next(t for t in applied.threats if t.id == "iran-cyber-attacks")
    assert (cyber.likelihood, cyber.severity) == ("likely", 4)


# -- the Hormuz cascade -------------------------------------------------------------------------


def test_hormuz_closed_raises_the_oil_market_shock(book: Context) -> None:
    plain_run = book.current_run()
    run = book.current_run("hormuz-closed")
    likelihood, words, severity, from_scenario, evidence = _threat_row(
        book, run.run_id, "oil-market-shock"
    )
    assert (likelihood, severity, from_scenario) == ("highly_likely", 4, False)
    assert words == (
        "scenario: with Hormuz shut a fifth of the world's oil stops; the brief (triggers ¶6) "
        "says attacks on shipping would hinder global oil markets"
    )
    assert [(e["section"], e["paragraph"]) for e in json.loads(str(evidence))] == [("triggers", 6)]
    registered = next(t for t in book.register().threats if t.id == "oil-market-shock")
    assert _threat_row(book, plain_run.run_id, "oil-market-shock")[:3] == (
        registered.likelihood,
        registered.likelihood_words,
        registered.severity,
    )


def test_the_cascade_lowers_the_airline_that_has_no_gulf_route(book: Context) -> None:
    rows = {r.client_id: r for r in book.compare_scenario("hormuz-closed", scope=EVERYONE)}
    airline = rows["aurelian-airways"]
    assert airline.after.score < airline.before.score
    # the same scenario without the oil-market override: the airline fares better
    doc = yaml.safe_load(HORMUZ.read_text("utf-8"))
    doc["id"] = "hormuz-closed-no-cascade"
    doc["overrides"] = [o for o in doc["overrides"] if o["threat"] != "oil-market-shock"]
    book.add_scenario(yaml.safe_dump(doc), note="the closure without the cascade", by="test")
    without = {
        r.client_id: r for r in book.compare_scenario("hormuz-closed-no-cascade", scope=EVERYONE)
    }
    assert airline.after.score < without["aurelian-airways"].after.score
    assert without["aurelian-airways"].after.score - airline.after.score > 10.0


# -- versions, runs and what they record ----------------------------------------------------------


def test_runs_use_and_record_the_stored_scenario_version(book: Context) -> None:
    first = book.add_scenario(bank_cyber(), note="banks under pressure", by="ana")
    assert (first.scenario_id, first.version, first.created_by, first.current) == (
        "bank-cyber",
        1,
        "ana",
        True,
    )
    run1 = book.current_run("bank-cyber")
    assert (run1.scenario_id, run1.scenario_version) == ("bank-cyber", 1)
    assert _threat_row(book, run1.run_id, "iran-cyber-attacks")[:3] == (
        "likely",
        "scenario: likely",
        3,
    )
    assert book.current_run("bank-cyber").run_id == run1.run_id  # nothing changed: reused

    second = book.edit_scenario(
        "bank-cyber", bank_cyber("almost_certain", 5), note="campaign confirmed", by="ben"
    )
    assert (second.version, second.created_by, second.note) == (2, "ben", "campaign confirmed")
    run2 = book.current_run("bank-cyber")
    assert run2.run_id != run1.run_id  # a run of version 1 is not reused for version 2
    assert run2.scenario_version == 2
    assert _threat_row(book, run2.run_id, "iran-cyber-attacks")[:3] == (
        "almost_certain",
        "scenario: almost_certain",
        5,
    )
    bank = "hudson-crescent-bancorp"
    assert (
        book.rating(run2.run_id, bank, scope=EVERYONE).score
        < book.rating(run1.run_id, bank, scope=EVERYONE).score
    )

    book.rollback_scenario("bank-cyber", 1, by="ana", note="not confirmed after all")
    assert book.scenario_version("bank-cyber") == 1
    assert book.current_run("bank-cyber").run_id == run1.run_id  # version 1 again: its run
    assert [(v.version, v.current) for v in book.scenario_history("bank-cyber")] == [
        (1, True),
        (2, False),
    ]
    assert [
        (e.action, e.version, e.by_user, e.note) for e in book.scenario_events("bank-cyber")
    ] == [
        ("create", 1, "ana", "banks under pressure"),
        ("edit", 2, "ben", "campaign confirmed"),
        ("rollback", 1, "ana", "not confirmed after all"),
    ]
    # an earlier version can still be run on purpose, and scores as it did
    again = book.run("bank-cyber", scenario_version=2)
    assert again.scenario_version == 2
    assert (
        book.rating(again.run_id, bank, scope=EVERYONE).score
        == book.rating(run2.run_id, bank, scope=EVERYONE).score
    )


def test_runs_record_the_gazetteer_they_used(ctx: Context) -> None:
    run = ctx.run()
    sha = hashlib.sha256(gazetteer_text().encode("utf-8")).hexdigest()
    assert (run.scenario_id, run.scenario_version) == (None, None)
    assert (run.gazetteer_version, run.gazetteer_sha256) == (1, sha)
    assert ctx.run_info(run.run_id) == run
    doc = ctx.store.one("SELECT document FROM gazetteer_versions WHERE version = 1")
    assert doc == gazetteer_text()
    assert ctx.run("iran-cyber-campaign").gazetteer_version == 1


def test_a_database_from_before_versioned_scenarios_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.store as store_module

    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(store_module, "MIGRATIONS", ("schema_001.sql", "schema_002_users.sql"))
    old = Store(path)
    old.execute("INSERT INTO runs VALUES (1, now(), 1, 1, 'hormuz-closed', '2020-01-14', 0, 0)")
    old.close()
    monkeypatch.undo()
    with Context(path) as c:
        c.init()
        info = c.run_info(1)
        assert (info.scenario_id, info.scenario_version, info.gazetteer_version) == (
            "hormuz-closed",
            None,
            None,
        )
        assert [i.scenario_id for i in c.scenario_list()] == BUILTIN
        assert c.current_run("hormuz-closed").run_id == 2  # the old run is not reused


# -- refusals ------------------------------------------------------------------------------------


def _refused(ctx: Context, text: str, message: str, *, exact: bool = True) -> None:
    before = _counts(ctx)
    with pytest.raises(RuleError) as exc:
        ctx.add_scenario(text, note="n", by="ana", where="x.yaml")
    if exact:
        assert str(exc.value) == message
    else:
        assert str(exc.value).startswith(message), str(exc.value)
    assert _counts(ctx) == before


def test_a_misspelt_key_names_the_key_meant(ctx: Context) -> None:
    _refused(
        ctx,
        "id: x\ntitel: X\ndescription: d\n",
        "x.yaml, titel: unknown key; did you mean 'title'? "
        "(allowed: id, title, description, overrides, added_threats)",
    )
    _refused(
        ctx,
        "id: x\ntitle: X\ndescription: d\noverrides:\n"
        "  - {threat: oil-market-shock, likelyhood: likely}\n",
        "x.yaml, overrides[0].likelyhood: unknown key; did you mean 'likelihood'? (allowed: "
        "threat, likelihood, likelihood_words, severity, intensity_scale, add_regions)",
    )


def test_an_override_must_name_a_threat_of_the_register(ctx: Context) -> None:
    known = ", ".join(sorted(t.id for t in ctx.register().threats))
    _refused(
        ctx,
        "id: x\ntitle: X\ndescription: d\noverrides:\n  - {threat: moon-landing, severity: 5}\n",
        f"x.yaml, overrides[0].threat: 'moon-landing' is not in the register (known: {known})",
    )


def test_an_override_likelihood_must_be_a_term_of_the_rules(ctx: Context) -> None:
    rules = ctx.rules()
    terms = ", ".join([*rules.likelihood.terms, "not_assessed"])
    _refused(
        ctx,
        "id: x\ntitle: X\ndescription: d\noverrides:\n"
        "  - {threat: oil-market-shock, likelihood: very_likely}\n",
        f"x.yaml, overrides[0].likelihood: 'very_likely' is not a likelihood term of rules "
        f"{rules.version} (allowed: {terms})",
    )


def test_values_out_of_range_and_malformed_text_are_refused(ctx: Context) -> None:
    _refused(
        ctx,
        "id: x\ntitle: X\ndescription: d\noverrides:\n"
        "  - {threat: oil-market-shock, severity: 7}\n",
        "x.yaml, overrides.0.severity: 7 is above 5.0 (allowed up to 5)",
    )
    _refused(ctx, "id: x\ntitle: [X\n", "x.yaml: not valid YAML: ", exact=False)
    _refused(
        ctx,
        "- id: x\n",
        "x.yaml: expected a mapping with the keys id, title, description, overrides and "
        "added_threats at the top level",
    )
    _refused(
        ctx,
        "id: x\ntitle: &t X\ndescription: *t\n",
        "x.yaml: YAML aliases (*name) are not allowed in a scenario; write the values out",
    )
    big = "id: x\ntitle: X\ndescription: " + "a" * MAX_SCENARIO_BYTES + "\n"
    _refused(
        ctx,
        big,
        f"x.yaml: {len(big):,} bytes is over the 100,000-byte limit for a scenario; a scenario "
        "is a few overrides and added threats",
    )


def test_an_added_threat_must_use_known_regions(ctx: Context) -> None:
    text = HORMUZ.read_text("utf-8").replace("id: hormuz-closed", "id: x")
    text = text.replace("region: sea.persian_gulf", "region: sea.atlantis")
    _refused(
        ctx,
        text,
        "x.yaml, threats[14] (scenario-hormuz-closure).regions: unknown region 'sea.atlantis'",
        exact=False,
    )


def test_add_edit_rollback_and_retire_refusals(ctx: Context) -> None:
    hormuz = HORMUZ.read_text("utf-8")
    _refused(
        ctx,
        hormuz,
        "x.yaml, id: scenario 'hormuz-closed' already exists; change it with "
        "`resilience scenarios edit hormuz-closed FILE`, or give the new scenario another id",
    )
    before = _counts(ctx)
    cases: list[tuple[object, type[Exception], str]] = [
        (
            lambda: ctx.edit_scenario(
                "oil-price-shock", hormuz, note="n", by="ana", where="x.yaml"
            ),
            RuleError,
            "x.yaml, id: 'hormuz-closed' is not the scenario being edited; write "
            "id: oil-price-shock (a scenario's id never changes; add a new one with "
            "`resilience scenarios add`)",
        ),
        (
            lambda: ctx.edit_scenario("hormuz-closed", hormuz, note="n", by="ana", where="x.yaml"),
            RuleError,
            "x.yaml: the same as version 1 of hormuz-closed, the current one; nothing to store",
        ),
        (
            lambda: ctx.edit_scenario("hormuz-closed", hormuz, note=" ", by="ana"),
            RuleError,
            "the note is empty; say what changed and why",
        ),
        (
            lambda: ctx.edit_scenario("hormuz-closed", hormuz, note="n", by=""),
            RuleError,
            "the author is empty; say who makes the change",
        ),
        (
            lambda: ctx.edit_scenario("moon-landing", hormuz, note="n", by="ana"),
            NotFoundError,
            "unknown scenario 'moon-landing'; known: " + ", ".join(BUILTIN),
        ),
        (
            lambda: ctx.rollback_scenario("hormuz-closed", 1, by="ana"),
            RuleError,
            "version 1 of hormuz-closed is already the current one",
        ),
        (
            lambda: ctx.rollback_scenario("hormuz-closed", 3, by="ana"),
            NotFoundError,
            "scenario 'hormuz-closed' has no version 3; `resilience scenarios history "
            "hormuz-closed` lists its versions",
        ),
        (
            lambda: scenario_store._store(
                ctx,
                load_scenario(HORMUZ),
                hormuz,
                action="edit",
                note="n",
                by="ana",
                expect_version=0,
            ),
            StoreError,
            "scenario hormuz-closed: version 1 was stored by someone else meanwhile; nothing was "
            "changed, look at it and try again",
        ),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind) as exc:
            call()  # type: ignore[operator]
        assert str(exc.value) == message
    assert _counts(ctx) == before
    ctx.retire_scenario("hormuz-closed", by="ana")
    with pytest.raises(NotFoundError, match="^scenario 'hormuz-closed' is retired; "):
        ctx.edit_scenario("hormuz-closed", hormuz, note="n", by="ana")
    with pytest.raises(NotFoundError, match="^scenario 'hormuz-closed' is retired; "):
        ctx.retire_scenario("hormuz-closed", by="ana")
    with pytest.raises(RuleError) as refused:
        ctx.rollback_scenario("hormuz-closed", 1, by="ana", note=" ")
    assert str(refused.value) == (
        "rolling back scenario hormuz-closed needs a note saying why; nothing was changed"
    )
    ctx.rollback_scenario("hormuz-closed", 1, by="ana", note="back in use")  # brings it back
    assert ctx.scenario_version("hormuz-closed") == 1
    assert [(e.action, e.note) for e in ctx.scenario_events("hormuz-closed")][1:] == [
        ("retire", "retired"),
        ("rollback", "back in use"),
    ]
    assert [
        (e.user, e.action, e.document, e.version, e.note)
        for e in ctx.audit_entries(kind="scenario", limit=2)
    ] == [
        ("ana", "rollback", "scenario hormuz-closed", 1, "back in use"),
        ("ana", "retire", "scenario hormuz-closed", 1, "retired"),
    ]


def test_an_empty_database_says_how_to_get_the_scenarios(tmp_path: Path) -> None:
    with Context(tmp_path / "r.duckdb") as c, pytest.raises(NotFoundError) as exc:
        c.scenario("hormuz-closed")
    assert str(exc.value) == (
        "unknown scenario 'hormuz-closed': the database holds no scenarios yet; run "
        "`resilience init` to store the built-in ones"
    )


def test_a_builtin_that_does_not_fit_the_register_is_stored_and_its_run_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from scoring_rules.rules import default_rules_path, load_rules
    from scoring_rules.threats import default_register_path, load_register

    register = load_register(default_register_path())
    register = register.model_copy(
        update={"threats": [t for t in register.threats if t.id != "gulf-shipping-proxy-attacks"]}
    )
    with Context(tmp_path / "r.duckdb") as c:
        c.publish_rules(load_rules(default_rules_path()), note="default rules")
        c.publish_register(register, note="no shipping threat")
        c.init()
        assert [i.scenario_id for i in c.scenario_list()] == BUILTIN
        assert "built-in scenario scoring_rules/data/scenarios/hormuz-closed.yaml does not fit" in (
            caplog.text
        )
        runs_before = c.store.one("SELECT count(*) FROM runs")  # the publish's own base run
        with pytest.raises(RuleError) as exc:
            c.run("hormuz-closed")
        assert str(exc.value).startswith(
            "scenario hormuz-closed v1, overrides[0].threat: 'gulf-shipping-proxy-attacks' is not "
            "in the register (known: "
        )
        assert c.store.one("SELECT count(*) FROM runs") == runs_before  # the scenario's: none
