"""`resilience scenarios`: list, show, add, edit, history, rollback, remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from scoring_rules.scenarios import scenario_dir
from tests.conftest import Stores

runner = CliRunner()
WIDE = {"COLUMNS": "250"}

CYBER = """\
id: bank-cyber
title: "[bold red]Cyber[/] attacks on banks"
description: Iranian groups go after allied banks.
overrides:
  - threat: iran-cyber-attacks
    likelihood: {likelihood}
    likelihood_words: "scenario: {likelihood}"
"""


def invoke(db: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", str(db), *args], env=WIDE)
    return result.exit_code, result.output


@pytest.fixture
def db(stores: Stores, tmp_path: Path) -> Path | str:
    path = stores.new(tmp_path)
    code, output = invoke(path, "init")
    assert code == 0, output
    return path


def test_bare_scenarios_lists_them_with_their_current_version(db: Path) -> None:
    code, output = invoke(db, "scenarios")
    assert code == 0, output
    for sid in ("hormuz-closed", "iran-cyber-campaign", "iraq-militia-escalation"):
        line = next(line for line in output.splitlines() if sid in line)
        assert "v1" in line and "by resilience init" in line
    code, output = invoke(db, "scenarios", "--json")
    rows = json.loads(output)
    assert [(r["scenario_id"], r["version"], r["retired"]) for r in rows] == [
        ("hormuz-closed", 1, False),
        ("iran-cyber-campaign", 1, False),
        ("iraq-militia-escalation", 1, False),
        ("oil-price-shock", 1, False),
    ]


def test_show_prints_the_scenario_and_its_yaml(db: Path) -> None:
    code, output = invoke(db, "scenarios", "show", "hormuz-closed", "--yaml")
    assert code == 0, output
    assert output == (scenario_dir() / "hormuz-closed.yaml").read_text("utf-8")
    code, output = invoke(db, "scenarios", "show", "hormuz-closed")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == "hormuz-closed v1 (current): Strait of Hormuz closed"
    assert (
        "  oil-market-shock: likelihood highly_likely (scenario: with Hormuz shut a fifth of "
        in (output)
    )
    assert lines[-1].endswith(
        "by resilience init: built-in scenario from scoring_rules/data/scenarios/hormuz-closed.yaml"
    )
    code, output = invoke(db, "scenarios", "show", "hormuz-closed", "--version", "2")
    assert code == 1
    assert output == (
        "Error: scenario 'hormuz-closed' has no version 2; `resilience scenarios history "
        "hormuz-closed` lists its versions\n"
    )


def test_add_edit_history_rollback_and_remove(db: Path, tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    v1.write_text(CYBER.format(likelihood="likely"), "utf-8")
    v2.write_text(CYBER.format(likelihood="highly_likely"), "utf-8")
    code, output = invoke(db, "scenarios", "add", str(v1), "--note", "banks", "--by", "ana")
    assert (code, output) == (
        0,
        "Stored scenario bank-cyber version 1: [bold red]Cyber[/] attacks on banks\n",
    )
    code, output = invoke(db, "scenarios", "edit", "bank-cyber", str(v2), "--note", "worse")
    assert (code, output) == (0, "Stored bank-cyber version 2; it is current\n")
    code, output = invoke(db, "scenarios", "history", "bank-cyber", "--json")
    data = json.loads(output)
    assert [(v["version"], v["note"], v["current"]) for v in data["versions"]] == [
        (1, "banks", False),
        (2, "worse", True),
    ]
    assert data["versions"][0]["created_by"] == "ana"
    assert [(c["action"], c["version"]) for c in data["changes"]] == [("create", 1), ("edit", 2)]
    code, output = invoke(
        db, "scenarios", "rollback", "bank-cyber", "1", "--note", "too soon", "--by", "ben"
    )
    assert (code, output) == (0, "bank-cyber: version 1 is current again\n")
    code, output = invoke(db, "scenarios", "history", "bank-cyber")
    assert "ben: rollback -> v1 (too soon)" in output
    code, output = invoke(db, "scenarios", "show", "bank-cyber", "--yaml")
    assert output == v1.read_text("utf-8")
    code, output = invoke(db, "scenarios", "remove", "bank-cyber", "--note", "not needed")
    assert (code, output) == (
        0,
        "bank-cyber is retired; `resilience scenarios rollback bank-cyber 2` brings it back\n",
    )
    code, output = invoke(db, "scenarios", "--json")
    assert "bank-cyber" not in [r["scenario_id"] for r in json.loads(output)]
    code, output = invoke(db, "scenarios", "--all")
    line = next(line for line in output.splitlines() if "bank-cyber" in line)
    assert "v1 (retired)" in line
    code, output = invoke(db, "scenario", "bank-cyber")
    assert (code, output) == (
        1,
        "Error: scenario 'bank-cyber' is retired; `resilience scenarios rollback bank-cyber 1` "
        "makes it current again\n",
    )


def test_a_bad_file_is_an_error_line_and_stores_nothing(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: X\ndescription: d\noverrides:\n  - {threat: nope}\n", "utf-8")
    code, output = invoke(db, "scenarios", "add", str(bad), "--note", "n")
    assert code == 1
    assert output.startswith(f"Error: {bad}, overrides[0].threat: 'nope' is not in the register")
    assert "Traceback" not in output
    code, output = invoke(db, "scenarios", "add", str(tmp_path / "missing.yaml"), "--note", "n")
    assert (code, output) == (1, f"Error: {tmp_path / 'missing.yaml'}: file not found\n")
    code, output = invoke(db, "scenarios", "--json")
    assert len(json.loads(output)) == 4
    code, output = invoke(db, "scenarios", "add", str(bad))
    assert code == 2 and "Missing option '--note'" in output


def test_draft_preview_publish_and_roll_back_only_to_a_published_version(
    db: Path, tmp_path: Path
) -> None:
    src = tmp_path / "bank.yaml"
    src.write_text(CYBER.format(likelihood="likely"), "utf-8")
    code, output = invoke(db, "scenarios", "draft", str(src), "--note", "banks", "--by", "ana")
    assert code == 0, output
    assert "Saved draft bank-cyber version 1 (not published)" in output
    assert "`resilience scenarios preview bank-cyber 1`" in output
    code, output = invoke(db, "scenarios", "--json")
    assert "bank-cyber" not in {r["scenario_id"] for r in json.loads(output)}  # not current

    code, output = invoke(db, "scenarios", "preview", "bank-cyber", "1", "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert (shown["scenario_id"], shown["version"], shown["clients"]) == ("bank-cyber", 1, [])
    code, output = invoke(db, "scenarios", "preview", "bank-cyber", "1")
    assert "0 of 0 clients change band. Nothing was published." in output

    code, output = invoke(db, "scenarios", "publish", "bank-cyber", "1", "--note", " ")
    assert code == 1
    assert "publishing scenario bank-cyber needs a note" in output
    code, output = invoke(
        db, "scenarios", "publish", "bank-cyber", "1", "--note", "banks targeted", "--by", "ana"
    )
    assert code == 0, output
    assert "Published bank-cyber version 1; it is current" in output

    src.write_text(CYBER.format(likelihood="almost_certain"), "utf-8")
    code, output = invoke(db, "scenarios", "draft", str(src), "--note", "worse", "--by", "ana")
    assert "Saved draft bank-cyber version 2" in output
    code, output = invoke(db, "scenarios", "history", "bank-cyber")
    rows = [[c.strip() for c in line.split("│")] for line in output.splitlines() if "│" in line]
    assert next(r for r in rows if r[1] == "2")[2] == "draft"
    assert next(r for r in rows if r[1] == "1")[2] == "current"
    code, output = invoke(db, "scenarios", "rollback", "bank-cyber", "2", "--note", "try it")
    assert code == 1
    assert "version 2 of bank-cyber is a draft that was never published" in output
    assert "`resilience scenarios publish bank-cyber 2`" in output

    code, output = invoke(db, "audit", "--json")
    entries = [e for e in json.loads(output) if e["document"] == "scenario bank-cyber"]
    assert [(e["action"], e["version"], e["user"], e["note"]) for e in entries] == [
        ("draft", 2, "ana", "worse"),
        ("publish", 1, "ana", "banks targeted"),
        ("draft", 1, "ana", "banks"),
    ]
