"""One publication workflow (engine/publication.py) and its audit log (engine/audit.py).

Each test first states the fault the workflow fixes (issue 10): ``review --publish`` left the
current register marked ``draft``; publishing after a preview wrote a second, identical version;
every preview stored a draft that the roll-back list offered first; nobody was recorded as having
published or rolled back anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.book import load_demo
from engine.cli import app
from engine.context import EVERYONE, Context
from engine.errors import RuleError
from engine.store import Scope
from scoring_rules.rules import Rules
from tests.conftest import Stores

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RED_SEA = ROOT / "scoring_rules" / "data" / "briefs" / "register_2021-01_red_sea_crisis24.yaml"
CLIENT = "hudson-crescent-bancorp"


def _cli(db: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def template(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    path = stores.new(tmp_path_factory.mktemp("publication"))
    with Context(path) as c:
        load_demo(c)
        c.current_run()
    return path


@pytest.fixture
def db(stores: Stores, template: Path | str, tmp_path: Path) -> Path | str:
    return stores.copy(template, tmp_path)


def _cheaper_cyber(rules: Rules) -> Rules:
    doc = json.loads(rules.model_dump_json())
    doc["vulnerability"]["assets"]["values"]["cyber_attack"]["data_centre"] = 0.2
    return Rules.model_validate(doc)


def test_review_publish_marks_the_current_register_published_and_records_who(db: Path) -> None:
    out = _cli(db, "add-brief", str(RED_SEA), "--publish", code=1)
    assert "Error: publishing the register (--publish) needs a note saying what changed and " in (
        out
    )
    with Context(db) as c:
        assert c.register_version() == 1  # refused: nothing changed
        assert c.history("register")["version"].to_list() == [1]
    added = json.loads(
        _cli(
            db,
            "--as",
            "ana",
            "add-brief",
            str(RED_SEA),
            "--publish",
            "--note",
            "Red Sea alert",
            "--json",
        )
    )
    assert added["register_version"] == 2 and added["published"] is True
    with Context(db) as c:
        assert c.register_version() == 2
        hist = c.history("register")
        assert hist.select("version", "status", "note").rows() == [
            (1, "published", "register from the seed brief"),
            (2, "published", "Red Sea alert"),
        ]
    entries = json.loads(_cli(db, "audit", "--json", "--document", "register", "--limit", "1"))
    assert len(entries) == 1
    entry = entries[0]
    assert set(entry) == {"user", "at", "action", "document", "kind", "version", "note"}
    assert (entry["user"], entry["action"], entry["document"], entry["version"], entry["note"]) == (
        "ana",
        "publish",
        "register",
        2,
        "Red Sea alert",
    )


def test_a_preview_is_no_rollback_target_and_publishing_it_writes_no_second_version(
    db: Path,
) -> None:
    with Context(db) as c:
        before = c.rating(c.current_run().run_id, CLIENT, scope=EVERYONE)
        draft = _cheaper_cyber(c.rules())
        pv = c.preview_document("rules", draft, scope=Scope.everything())
        moved = {r.client_id: r for r in pv.rows}
        assert moved[CLIENT].after.score > moved[CLIENT].before.score == before.score
        assert c.rules_version() == 1  # nothing published
        assert c.history("rules")["version"].to_list() == [1]  # the preview is not listed
        assert c.rollback_targets("rules") == []
        # previewing the same draft again reuses the stored preview version
        assert c.preview_document("rules", draft, scope=Scope.everything()).version == pv.version
        with pytest.raises(RuleError, match="^publishing the rules needs a note saying what "):
            c.publish_rules(draft, " ", by="ana")
        version = c.publish_rules(draft, "data centres better defended", by="ana")
        assert version == pv.version  # the previewed version itself, not an identical copy
        assert c.rules_version() == version
        assert c.history("rules").select("version", "status").rows() == [
            (1, "published"),
            (version, "published"),
        ]
        with pytest.raises(RuleError) as same:
            c.publish_rules(draft, "again", by="ana")
        assert str(same.value) == (
            f"the rules is the same as version {version}, the published one; nothing to publish"
        )
        assert c.rollback_targets("rules") == [1]
        after = c.rating(c.current_run().run_id, CLIENT, scope=EVERYONE)
        assert after.score == pytest.approx(moved[CLIENT].after.score)


def test_roll_back_only_to_a_published_version_and_only_with_a_note(db: Path) -> None:
    with Context(db) as c:
        draft = _cheaper_cyber(c.rules())
        saved = c.publish_rules(draft, "for review on Monday", publish=False, by="ana")
        assert c.history("rules").select("version", "status").rows() == [
            (1, "published"),
            (saved, "draft"),
        ]
        assert c.rollback_targets("rules") == []
        with pytest.raises(RuleError) as refused:
            c.rollback("rules", saved, note="try it", by="ana")
        assert str(refused.value) == (
            f"rules version {saved} is a draft that was never published; roll back only to a "
            "published version (there is none but the current)"
        )
        published = c.publish_rules(draft, "reviewed on Monday", by="ana")
        assert published == saved  # the saved draft is what is published
        with pytest.raises(RuleError) as no_note:
            c.rollback("rules", 1, by="bo")
        assert str(no_note.value) == (
            "rolling back the rules needs a note saying why; nothing was changed"
        )
        assert c.rules_version() == published
        c.rollback("rules", 1, note="the banks' regulator disagrees", by="bo")
        assert c.rules_version() == 1
        got = [
            (e.user, e.action, e.document, e.version, e.note)
            for e in c.audit_entries(kind="rules", limit=3)
        ]
        assert got == [
            ("bo", "rollback", "rules", 1, "the banks' regulator disagrees"),
            ("ana", "publish", "rules", published, "reviewed on Monday"),
            ("ana", "draft", "rules", saved, "for review on Monday"),
        ]


def test_cli_register_history_rollback_and_audit_filters(db: Path) -> None:
    _cli(db, "--as", "ana", "add-brief", str(RED_SEA), "--publish", "--note", "Red Sea alert")
    out = _cli(db, "register", "rollback", "1", code=1)
    assert "Error: rolling back the register needs a note saying why; nothing was changed" in out
    out = _cli(db, "--as", "bo", "register", "rollback", "1", "--note", "alert withdrawn")
    assert "Register version 1 is current again" in out
    rows = json.loads(_cli(db, "register", "history", "--json"))
    assert [(r["version"], r["status"], r["current"]) for r in rows] == [
        (1, "published", True),
        (2, "published", False),
    ]
    entries = json.loads(_cli(db, "audit", "--json", "--document", "register"))
    assert [(e["user"], e["action"], e["version"], e["note"]) for e in entries][:2] == [
        ("bo", "rollback", 1, "alert withdrawn"),
        ("ana", "publish", 2, "Red Sea alert"),
    ]
    assert json.loads(_cli(db, "audit", "--json", "--user", "bo")) == entries[:1]
    out = _cli(db, "audit", "--document", "briefs", code=1)
    assert "Error: unknown document kind 'briefs'; use one of register, rules, scenario, " in out
    table = _cli(db, "audit", "--limit", "2")
    assert "alert withdrawn" in table and "Red Sea alert" in table


def test_exposure_loads_and_rollbacks_are_audited(db: Path) -> None:
    with Context(db) as c:
        assert c.exposure_version(CLIENT) == 1
        frames = c.store.frame(
            "SELECT asset_id, name, asset_type, lat, lon, country_iso3 AS country, value_usd, "
            "criticality FROM assets WHERE client_id = $c AND version = 1",
            {"c": CLIENT},
        )
        c.load_exposures(CLIENT, frames.head(2), note="two sites only", by="am")
        assert c.exposure_version(CLIENT) == 2
    out = _cli(db, "rollback", CLIENT, "1", code=1)
    assert f"Error: rolling back the exposures of {CLIENT} needs a note saying why" in out
    out = _cli(db, "--as", "am", "rollback", CLIENT, "1", "--note", "the upload was partial")
    assert f"{CLIENT}: version 1 is current" in out
    entries = json.loads(_cli(db, "audit", "--json", "--document", "exposures", "--limit", "2"))
    assert [(e["user"], e["action"], e["document"], e["version"], e["note"]) for e in entries] == [
        ("am", "rollback", f"exposures {CLIENT}", 1, "the upload was partial"),
        ("am", "publish", f"exposures {CLIENT}", 2, "two sites only"),
    ]


def test_the_migration_marks_the_current_register_published(tmp_path: Path) -> None:
    """A database written before migration 008: ``review --publish`` had left the current
    register marked draft, and previews had stored drafts; the migration sets both right."""
    path = tmp_path / "old.duckdb"
    with Context(path) as c:
        c.init()
        reg = c.register()
        doc = json.loads(reg.model_dump_json())
        doc["title"] = "a reviewed register"
        from scoring_rules.threats import Register

        v = c.preview_document("register", Register.model_validate(doc), scope=Scope.of()).version
        with c.store.transaction() as con:
            con.execute("UPDATE register_versions SET status = 'draft', note = 'draft for preview'")
            con.execute("UPDATE register_versions SET note = 'seed' WHERE version = 1")
            con.execute("DROP TABLE audit_events")
            con.execute("DELETE FROM schema_migrations WHERE name = 'schema_008_audit.sql'")
    with Context(path) as c:
        assert c.store.rows("SELECT version, status FROM register_versions ORDER BY 1") == [
            (1, "published"),
            (v, "preview"),
        ]
        assert c.rollback_targets("register") == []
        assert c.audit_entries() == []


def _office_cyber(rules: Rules, value: float) -> Rules:
    doc = json.loads(rules.model_dump_json())
    doc["vulnerability"]["assets"]["values"]["cyber_attack"]["office"] = value
    return Rules.model_validate(doc)


def test_a_stale_draft_is_refused_naming_what_changed(db: Path | str) -> None:
    """Two analysts start drafts from the same published rules; the second to publish would
    silently undo the first's change, so it is refused with who published what."""
    from engine import publication
    from engine.errors import StaleDraft

    with Context(db) as ctx:
        base = ctx.rules_version()
        first = publication.publish(
            ctx, "rules", _cheaper_cyber(ctx.rules(base)), note="cheaper data centres",
            by="ana", base=base,
        )  # fmt: skip
        assert first.version != base
        second = _office_cyber(ctx.rules(base), 0.9)  # drafted from the old base
        with pytest.raises(StaleDraft) as refused:
            publication.publish(ctx, "rules", second, note="offices", by="bob", base=base)
        message = str(refused.value)
        assert message.startswith(
            f"the published rules moved from version {base} to version {first.version} since "
            f"this draft began; ana published version {first.version} at "
        )
        assert "(cheaper data centres)" in message
        assert "it changed vulnerability.assets.values.cyber_attack.data_centre." in message
        assert message.endswith(
            f"Nothing was published: start the draft again from version {first.version} and "
            "make your change there, so that it does not undo theirs"
        )
        assert (refused.value.base, refused.value.current) == (base, first.version)
        # nothing changed: the pointer, and no version or audit entry for the refused draft
        assert ctx.rules_version() == first.version
        assert ctx.store.one("SELECT count(*) FROM audit_events WHERE username = 'bob'") == 0
        # started again from the published version, the same change publishes
        again = _office_cyber(ctx.rules(first.version), 0.9)
        done = publication.publish(
            ctx, "rules", again, note="offices", by="bob", base=first.version
        )
        assert ctx.rules_version() == done.version
        published = ctx.rules(done.version).model_dump()["vulnerability"]["assets"]["values"]
        assert published["cyber_attack"]["data_centre"] == 0.2  # ana's change kept
        assert published["cyber_attack"]["office"] == 0.9


def test_a_stale_register_draft_names_the_threats_that_changed(db: Path | str) -> None:
    from engine import publication
    from engine.errors import StaleDraft

    with Context(db) as ctx:
        base = ctx.register_version()
        register = ctx.register(base)
        doc = json.loads(register.model_dump_json())
        tid = doc["threats"][0]["id"]
        doc["threats"][0]["severity"] = 1 + doc["threats"][0]["severity"] % 5
        changed = type(register).model_validate(doc)
        rolled = publication.publish(ctx, "register", changed, note="severity", by="ana")
        with pytest.raises(StaleDraft, match=rf"it changed threats\.{tid}\.severity\. Nothing"):
            publication.publish(ctx, "register", register, note="mine", by="bob", base=base)
        assert ctx.register_version() == rolled.version


def test_changed_paths_compares_lists_of_objects_by_id() -> None:
    from engine.publication import changed_paths

    before = {"a": 1, "t": [{"id": "x", "s": 1}, {"id": "y", "s": 2}], "k": {"m": [1, 2]}}
    after = {"a": 1, "t": [{"id": "y", "s": 3}, {"id": "z", "s": 1}], "k": {"m": [1, 3]}, "n": 0}
    assert changed_paths(before, after) == ["t.x", "t.y.s", "t.z", "k.m", "n"]
    assert changed_paths(before, before) == []
