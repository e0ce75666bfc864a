"""The `resilience` command line: human output, --json for scripts, clear errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import Stores
from tests.seed import seed_path

runner = CliRunner()


@pytest.fixture(scope="module")
def db(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    """The demo book on the store under test (a DuckDB file, or a PostgreSQL URL)."""
    path = stores.new(tmp_path_factory.mktemp("cli"))
    result = runner.invoke(app, ["--db", str(path), "demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded 10 demo clients" in result.output
    return path


def test_score_json(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "score", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["expired_threats"] == []
    assert data["run"]["as_of"] == "2020-01-14"
    rows = data["ratings"]
    assert len(rows) == 10
    keys = {
        "client_id",
        "name",
        "sector",
        "hq_country",
        "band",
        "score",
        "score_low",
        "score_high",
        "band_low",
        "band_high",
    }
    assert keys <= set(rows[0])
    by_id = {r["client_id"]: r for r in rows}
    oil = by_id["meridian-basin-petroleum"]
    assert oil["hq_country"] == "GBR" and oil["sector"] == "oil_gas"
    assert oil["band"] in {"C", "D", "E"}
    assert oil["score_low"] <= oil["score"] <= oil["score_high"]
    assert by_id["andes-verde-agro"]["band"] in {"A", "B"}


def test_score_table(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "score"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Meridian Basin Petroleum plc" in result.output
    assert "As of 2020-01-14; register v1, rules v1" in result.output


def test_explain_json(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "explain", "meridian-basin-petroleum", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    first = data["drivers"][0]
    assert {"threat_id", "category", "share", "brief_reference", "status"} <= set(first)
    assert first["threat_id"] == "iraq-security-volatility"
    assert first["category"] == "armed_conflict"
    assert first["brief_reference"] == ["triggers ¶4"]
    by_id = {d["threat_id"]: d for d in data["drivers"]}
    assert by_id["gulf-shipping-proxy-attacks"]["brief_reference"] == ["triggers ¶6"]
    assert "oil-market-shock" in by_id
    assert data["expired_threats"] == []
    assert data["people"]["total_headcount"] == 3750


def test_explain_human(db: Path) -> None:
    result = runner.invoke(
        app, ["--db", str(db), "explain", "meridian-basin-petroleum"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0
    assert "Strait of Hormuz: no sea alternative" in result.output
    assert "PGI, 14 January 2020, triggers ¶4" in result.output
    assert "People: " in result.output


def test_scenario_json(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "scenario", "hormuz-closed", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["scenario"], data["version"], data["title"]) == (
        "hormuz-closed",
        1,
        "Strait of Hormuz closed",
    )
    rows = {r["client_id"]: r for r in data["clients"]}
    # the closure cascades into the oil market: the airline with no Gulf route falls too
    airline = rows["aurelian-airways"]
    assert airline["after"]["score"] < airline["before"]["score"]
    oil = rows["meridian-basin-petroleum"]
    assert oil["after"]["score"] < oil["before"]["score"]
    assert {"band", "score", "score_low", "score_high"} <= set(oil["before"])


def test_unknown_client_is_a_clear_error(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "explain", "no-such-client"])
    assert result.exit_code == 1
    assert "Error: unknown client 'no-such-client'; `resilience clients` lists them" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_unknown_scenario(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "scenario", "moon-landing"])
    assert result.exit_code == 1
    assert "Error: unknown scenario 'moon-landing'; known: hormuz-closed" in result.output


def test_bad_date(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "score", "--as-of", "14/01/2020"])
    assert result.exit_code == 1
    assert "Error: --as-of '14/01/2020' is not a date; use YYYY-MM-DD" in result.output


def test_score_on_an_empty_database_says_init(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "x" / "r.duckdb"), "score"])
    assert result.exit_code == 1
    assert "has no published register or rules yet; run `resilience init`" in result.output


def test_init_and_route(tmp_path: Path) -> None:
    path = str(tmp_path / "y" / "r.duckdb")
    result = runner.invoke(app, ["--db", path, "init"])
    assert result.exit_code == 0
    assert "register version 1, rules version 1" in result.output
    result = runner.invoke(
        app, ["--db", path, "route", "Ras Tanura", "Rotterdam"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Strait of Hormuz: no sea alternative" in result.output
    result = runner.invoke(app, ["--db", path, "route", "Rotterdm", "Ras Tanura"])
    assert result.exit_code == 1
    assert "unknown port 'Rotterdm'; did you mean Rotterdam (NLRTM)?" in result.output


def test_db_from_environment(db: Path) -> None:
    result = runner.invoke(app, ["score", "--json"], env={"RESILIENCE_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["ratings"]) == 10


def test_clients_lists_the_book(db: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "clients", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["client_id"] for c in data][:2] == ["andes-verde-agro", "aurelian-airways"]
    assert data[0]["hq_country"] == "CHL"


def test_ingest_and_review_a_brief(db: Path, tmp_path: Path) -> None:
    seed = seed_path()
    if not seed.exists():
        pytest.skip(f"seed brief not found at {seed}")
    drafts = tmp_path / "drafts.yaml"
    result = runner.invoke(
        app, ["--db", str(db), "ingest", str(seed), "--out", str(drafts), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    categories = {d["category"] for d in data["drafts"]}
    assert {"shipping_disruption", "cyber_attack", "oil_market_shock"} <= categories
    assert drafts.exists()
    result = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "review",
            str(drafts),
            "--accept",
            "all",
            "--note",
            "seed re-read",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)
    assert review["published"] is False
    assert review["register_version"] >= 2
    assert len(review["clients"]) == 10
    # a draft version moves nothing until it is published
    score = json.loads(runner.invoke(app, ["--db", str(db), "score", "--json"]).stdout)
    assert all(r["exposure_version"] >= 1 for r in score["ratings"])


def test_review_with_nothing_accepted_is_an_error(db: Path, tmp_path: Path) -> None:
    brief = tmp_path / "b.md"
    brief.write_text(
        "# Brief\n\nMilitias are likely to launch rocket attacks on US bases in "
        "Iraq in the coming months.\n",
        "utf-8",
    )
    drafts = tmp_path / "d.yaml"
    assert (
        runner.invoke(app, ["--db", str(db), "ingest", str(brief), "--out", str(drafts)]).exit_code
        == 0
    )
    result = runner.invoke(app, ["--db", str(db), "review", str(drafts)])
    assert result.exit_code == 1
    assert "Error: nothing to publish: accept or edit at least one draft first" in result.output


def test_report_and_export_commands(db: Path, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["--db", str(db), "report", "andes-verde-agro", "--format", "html", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "andes-verde-agro-report-2020-01-14.html").read_text("utf-8")
    assert "Andes Verde Agro S.A." in html
    r = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "export",
            "andes-verde-agro",
            "--format",
            "xlsx",
            "--out",
            str(tmp_path / "x.xlsx"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.xlsx").read_bytes()[:2] == b"PK"
    r = runner.invoke(app, ["--db", str(db), "report"])
    assert r.exit_code == 1
    assert "Error: give a CLIENT, or --portfolio for the whole book" in r.output
    r = runner.invoke(app, ["--db", str(db), "export", "nobody", "--format", "csv"])
    assert r.exit_code == 1 and "Error:" in r.output
