"""The seed brief and a Red Sea brief published together, end to end through the CLI.

The container line's drivers cite both briefs, the Chilean control stays in band A, each
threat's horizon counts from its own brief, and the client report names both briefs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.context import Context
from engine.report import render_client_report
from tests.conftest import Stores

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RED_SEA = ROOT / "scoring_rules" / "data" / "briefs" / "register_2021-01_red_sea_crisis24.yaml"
TEST_BRIEFS = ROOT / "tests" / "scoring_rules" / "briefs"
SEED_ID, RED_ID = "pgi-us-iran-2020-01", "crisis24-red-sea-2021-01-22"


def _cli(db: Path, *args: str) -> str:
    result = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def db(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    path = stores.new(tmp_path_factory.mktemp("many-briefs"))
    _cli(path, "demo")
    return path


@pytest.fixture(scope="module")
def added(db: Path) -> dict:
    out = _cli(db, "add-brief", str(RED_SEA), "--publish", "--note", "Red Sea alert", "--json")
    return json.loads(out)


def test_add_brief_publishes_both_briefs(added: dict) -> None:
    assert added["published"] is True
    assert added["added"] == ["red-sea-explosive-boat-attacks"]
    assert added["briefs"] == [SEED_ID, RED_ID]
    assert added["retired"] == []
    # Clients the new register moves although the alert names none of their places: they move
    # because the register's date moves to the alert's, so the seed's judgements are a year on
    # (expired ones count as last judged; later-starting ones now fill more of the window).
    flagged = {f["client_id"]: f for f in added["outside_places"]}
    assert set(flagged) == {"zagros-link-telecom", "gulfbridge-logistics"}
    assert flagged["zagros-link-telecom"]["reason"] == (
        "none of its sites or routes lies in a place the brief names; it moves because other "
        "threats of the register changed (superseded, retired or lapsed)"
    )
    moved = {c["client_id"]: c for c in added["clients"]}
    assert (
        moved["nordhavn-container-lines"]["after"]["score"]
        < moved["nordhavn-container-lines"]["before"]["score"]
    )


def test_the_container_lines_drivers_cite_both_briefs(db: Path, added: dict) -> None:
    e = json.loads(_cli(db, "explain", "nordhavn-container-lines", "--json"))
    assert e["run"]["as_of"] == "2021-01-22"
    cited = {ev["brief"] for d in e["drivers"] if d["share"] > 0 for ev in d["evidence"]}
    assert cited == {SEED_ID, RED_ID}
    red = next(d for d in e["drivers"] if d["threat_id"] == "red-sea-explosive-boat-attacks")
    assert red["brief"] == "Crisis24, 22 January 2021"
    assert red["share"] > 0.1
    assert red["brief_reference"] == ["event ¶2", "event ¶1", "context ¶1"]
    oil = next(d for d in e["drivers"] if d["threat_id"] == "oil-market-shock")
    assert oil["brief"] == "PGI, 14 January 2020"


def test_the_chilean_control_stays_in_band_a(db: Path, added: dict) -> None:
    rows = {r["client_id"]: r for r in json.loads(_cli(db, "score", "--json"))["ratings"]}
    assert rows["andes-verde-agro"]["band"] == "A"
    e = json.loads(_cli(db, "explain", "andes-verde-agro", "--json"))
    assert "red-sea-explosive-boat-attacks" not in {
        d["threat_id"] for d in e["drivers"] if d["share"] > 0
    }


def test_each_threat_counts_its_horizon_from_its_own_brief(db: Path, added: dict) -> None:
    """At the seed's date the Red Sea alert is not yet written, so it counts for nothing; a month
    and a half after the alert its one-month horizon has ended: it is expired, keeps counting as
    last judged (no fresh judgement is not safety) and is named, while the seed's two-year
    judgements are still current."""
    early = json.loads(
        _cli(db, "explain", "nordhavn-container-lines", "--as-of", "2020-01-14", "--json")
    )
    assert "red-sea-explosive-boat-attacks" not in {
        d["threat_id"] for d in early["drivers"] if d["share"] > 0
    }
    late = json.loads(
        _cli(db, "explain", "nordhavn-container-lines", "--as-of", "2021-03-08", "--json")
    )
    live = {d["threat_id"]: d for d in late["drivers"] if d["share"] > 0}
    assert live["red-sea-explosive-boat-attacks"]["status"] == "expired"
    assert "red-sea-explosive-boat-attacks" in late["expired_threats"]
    assert live["oil-market-shock"]["status"] == "current"


def test_the_explain_table_names_each_drivers_brief(db: Path, added: dict) -> None:
    out = _cli(db, "explain", "nordhavn-container-lines")
    assert "Crisis24, 22 January 2021" in out
    assert "PGI, 14 January 2020" in out
    assert "[red-sea-explosive-boat-attacks] Crisis24, 22 January 2021, event ¶2:" in out


def test_the_client_report_cites_both_briefs(db: Path, added: dict) -> None:
    with Context(db) as ctx:
        html = render_client_report(ctx, "nordhavn-container-lines", fmt="html").decode()
    assert "against 2 briefs:" in html
    assert "Crisis24, 22 January 2021: event ¶2" in html
    assert "PGI, 14 January 2020: triggers ¶6" in html
    # each brief by title, publisher and date, on the cover and in the record; never its file
    assert (
        "<th>Intelligence briefs</th><td>“US-Iran tensions after the killing of Qassem Soleimani "
        "(January 2020)”, PGI, 14 January 2020<br>“Saudi naval forces intercept two WBIEDs in "
        "the Red Sea”, Crisis24, 22 January 2021</td>" in html
    )
    assert (
        "from “US-Iran tensions after the killing of Qassem Soleimani (January 2020)” (PGI), "
        "14 January 2020; “Saudi naval forces intercept two WBIEDs in the Red Sea” (Crisis24), "
        "22 January 2021</td>" in html
    )
    assert (
        "The assessment is as of 22 January 2021: it rests on what the briefs judged at that "
        "date, not on later events." in re.sub(r"\s+", " ", html)
    )
    assert "000_1229fbeb5111b044.txt" not in html


def test_review_adds_a_new_brief_and_supersedes_and_retires(
    tmp_path: Path, db: Path, added: dict
) -> None:
    drafts = tmp_path / "houthi.yaml"
    _cli(
        db,
        "ingest",
        str(TEST_BRIEFS / "red_sea_houthi.md"),
        "--out",
        str(drafts),
        "--date",
        "2021-02-01",
        "--publisher",
        "Test desk",
    )
    doc = json.loads(
        _cli(
            db,
            "ingest",
            str(TEST_BRIEFS / "red_sea_houthi.md"),
            "--out",
            str(tmp_path / "again.yaml"),
            "--json",
        )
    )
    shipping = next(d["id"] for d in doc["drafts"] if d["category"] == "shipping_disruption")
    out = json.loads(
        _cli(
            db,
            "review",
            str(drafts),
            "--accept",
            shipping,
            "--supersede",
            f"{shipping}=red-sea-explosive-boat-attacks",
            "--retire",
            "us-iran-hostile-rhetoric",
            "--json",
        )
    )
    assert out["published"] is False
    assert out["accepted"] == [shipping]
    assert out["briefs"] == [SEED_ID, RED_ID, "red-sea-houthi"]
    assert sorted(out["retired"]) == ["red-sea-explosive-boat-attacks", "us-iran-hostile-rhetoric"]
    with Context(db) as ctx:
        draft = ctx.register(out["register_version"])
        assert draft.brief("red-sea-houthi").publisher == "Test desk"
        assert draft.threat(shipping).supersedes == ["red-sea-explosive-boat-attacks"]
        assert ctx.register().threat("red-sea-explosive-boat-attacks")  # not published


def test_review_of_a_new_brief_without_a_date_is_refused(tmp_path: Path, db: Path) -> None:
    drafts = tmp_path / "sahel.yaml"
    _cli(db, "ingest", str(TEST_BRIEFS / "sahel_terrorism.txt"), "--out", str(drafts))
    result = runner.invoke(app, ["--db", str(db), "review", str(drafts), "--accept", "all"])
    assert result.exit_code == 1
    assert (
        "sahel.yaml comes from a brief the register does not hold yet; give its date with "
        "--brief-date YYYY-MM-DD" in " ".join(result.output.split())
    )


def test_retiring_an_unknown_threat_is_a_clear_error(db: Path, added: dict) -> None:
    result = runner.invoke(
        app, ["--db", str(db), "add-brief", str(RED_SEA), "--retire", "no-such-threat"]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output and "'no-such-threat'" in result.output
