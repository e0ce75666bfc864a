"""Regression (issue 13): user and brief text reaches the terminal as text.

Every command's output is fed hostile text: Rich console markup (``[bold]``, ``[link=...]``,
``[/]``), Markdown images, ESC sequences (colour, OSC 8 hyperlinks), a C1 CSI byte and bidi
controls, in a client's name, an item's name, an ignored upload header, a threat title and
summary from an edited drafts file, and command arguments. No markup may take effect (the text
shows literally), no control or bidi character may reach the terminal or the exports, and nothing
may raise a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner, Result

from engine.cli import app
from engine.context import Context
from engine.models import ClientSpec, Service
from engine.text import BIDI_CONTROLS
from tests.conftest import Stores

runner = CliRunner()
WIDE = {"COLUMNS": "1000"}

MARKUP = "[bold]B[/bold] [link=http://x]y[/link] [/] [red]r"
MD_IMAGE = "![x](http://127.0.0.1:9/img.png)"
ESC = "\x1b[31mRED\x1b[0m \x1b]8;;http://evil/\x1b\\L\x1b]8;;\x1b\\"
BIDI = "\u202eevil\u202c \u2066iso\u2069"
C1 = "\x9b31mC1"
HOSTILE = f"{MARKUP} {MD_IMAGE} {ESC} {BIDI} {C1}"
CLIENT = "hostile-co"
HEADER = "asset_id,name,asset_type,lat,lon,country,value_usd,criticality"
FORBIDDEN = ["\x1b", "\x9b", "\x07", *BIDI_CONTROLS]


def assert_plain(result: Result, *, exit_code: int = 0) -> str:
    """The command's whole output (stdout and stderr) without any control or bidi character."""
    text = result.output
    assert result.exit_code == exit_code, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in text
    for ch in FORBIDDEN:
        assert ch not in text, f"{ch!r} reached the terminal: {text!r}"
    return text


def cli(db: Path, *args: str, exit_code: int = 0) -> str:
    return assert_plain(runner.invoke(app, ["--db", str(db), *args], env=WIDE), exit_code=exit_code)


@pytest.fixture(scope="module")
def db(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    base = tmp_path_factory.mktemp("hostile")
    path = stores.new(base)
    cli(path, "demo")
    with Context(path) as ctx:
        ctx.upsert_client(
            ClientSpec(
                client_id=CLIENT,
                name=f"Hostile {HOSTILE}",
                sector="oil_gas",
                hq_country="GBR",
                services=[Service(service_id="svc", name=HOSTILE, tolerance_days=5)],
            )
        )
    upload = base / "hostile.csv"
    with upload.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([*HEADER.split(","), "[/]"])
        w.writerow(
            ["H-1", f"Depot {HOSTILE}", "warehouse", "29.37", "47.98", "KWT", "1e6", "3", "x"]
        )
        w.writerow(["H-2", "Plain office", "office", "51.5", "-0.12", "GBR", "2e6", "2", "y"])
    out = cli(path, "upload", str(upload), "--client", CLIENT)
    assert "Loaded 2 assets as version 1" in out
    return path


def test_a_bracket_slash_in_an_ignored_header_loads_and_exits_0(db: Path, tmp_path: Path) -> None:
    """Regression: a valid file whose ignored header held ``[/]`` loaded a new version, then the
    warning raised a Rich markup error: a traceback and exit code 1 (which means nothing loaded)."""
    f = tmp_path / "again.csv"
    f.write_text(
        f"{HEADER},[/],[link=http://x]\n"
        "H-1,Depot,warehouse,29.37,47.98,KWT,1000000,3,x,y\n"
        "H-2,Plain office,office,51.5,-0.12,GBR,2000000,2,x,y\n",
        "utf-8",
    )
    out = cli(db, "upload", str(f), "--client", CLIENT)
    assert "warning: column 9 '[/]' is not a known assets column and was ignored" in out
    assert "'[link=http://x]' is not a known assets column" in out
    assert "Loaded 2 assets as version 2" in out
    assert f"{CLIENT}: version 1 is current" in cli(db, "rollback", CLIENT, "1", "--note", HOSTILE)


@pytest.mark.parametrize("arg", ["[/bold]", "[link=http://x]y[/link]"])
def test_explain_markup_argument_is_one_plain_error_line(db: Path, arg: str) -> None:
    """Regression: ``explain "[/bold]"`` gave a traceback; a [link] printed a hidden hyperlink."""
    out = cli(db, "explain", arg, exit_code=1)
    assert out == f"Error: unknown client '{arg}'; `resilience clients` lists them\n"


def test_explain_shows_lower_case_bracketed_threat_ids(db: Path) -> None:
    """Regression: ``[iran-cyber-attacks]`` was read as a style tag and vanished."""
    data = json.loads(cli(db, "explain", "meridian-basin-petroleum", "--json"))
    ids = [d["threat_id"] for d in data["drivers"]]
    out = cli(db, "explain", "meridian-basin-petroleum")
    for tid in ids[:3]:
        assert f"[{tid}]" in out
        assert f"  [{tid}] PGI, 14 January 2020, " in out


def test_client_and_item_text_prints_literally(db: Path) -> None:
    out = cli(db, "explain", CLIENT)
    assert out.startswith(f"Hostile {MARKUP} {MD_IMAGE} [31mRED[0m ]8;;http://evil/\\L]8;;\\ ")
    assert "evil iso 31mC1 (hostile-co), oil_gas, GBR" in out
    assert f"Depot {MARKUP} {MD_IMAGE}" in out
    for command in (["score"], ["clients"]):
        assert f"Hostile {MARKUP} {MD_IMAGE} [31mRED[0m" in cli(db, *command)
    assert f"Hostile {MARKUP}" in cli(db, "scenario", "hormuz-closed")
    raw = cli(db, "clients", "--json")  # JSON escapes control characters: \u001b, \u202e
    assert "[/bold] [link=http://x]y[/link] [/] [red]r" in raw and "\\u001b[31mRED" in raw
    assert {c["client_id"]: c for c in json.loads(raw)}[CLIENT]["name"] == f"Hostile {HOSTILE}"


def test_versions_diff_rollback_and_upload_report(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "v2.csv"
    f.write_text(
        f"{HEADER}\n"
        f"H-1,Depot {HOSTILE},warehouse,29.37,47.98,KWT,1000000,3\n"
        f'H-3,Depot,"nonsense {HOSTILE}",29.37,47.98,KWT,1000000,3\n',
        "utf-8",
    )
    # an earlier test of this module may have loaded a version (tests can run in any order)
    from engine.context import Context

    with Context(db) as ctx:  # versions are numbered on, even after a rollback
        new = 1 + ctx.store.one(
            "SELECT max(version) FROM exposure_versions WHERE client_id = $c", {"c": CLIENT}
        )
    out = cli(db, "upload", str(f), "--client", CLIENT, "--valid-only")
    assert f"Loaded 1 assets as version {new}" in out
    assert f"'nonsense {MARKUP} ![x](http://127.0..." in out  # the rejected value, literally
    assert "version" in cli(db, "versions", CLIENT)
    assert "removed" in cli(db, "diff", CLIENT, "1", str(new))
    assert f"{CLIENT}: version 1 is current" in cli(db, "rollback", CLIENT, "1", "--note", HOSTILE)


def test_review_prints_threat_text_from_a_brief_literally(db: Path, tmp_path: Path) -> None:
    brief = tmp_path / "hostile.md"
    brief.write_text(
        f"# Brief {MARKUP}\n\n## Gulf {ESC}\n\n"
        "Militias are likely to launch rocket attacks on US bases in Iraq in the coming months "
        f"{BIDI} {C1}.\n",
        "utf-8",
    )
    drafts = tmp_path / "drafts.yaml"
    out = cli(db, "ingest", str(brief), "--out", str(drafts))
    assert "draft threats from hostile.md" in out
    doc = yaml.safe_load(drafts.read_text("utf-8"))
    items = doc["drafts"] if isinstance(doc, dict) else doc
    for item in items:
        item["title"] = f"Title {HOSTILE}"
    drafts.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    out = cli(
        db,
        "review",
        str(drafts),
        "--accept",
        "all",
        "--note",
        HOSTILE,
        "--publish",
        "--brief-date",
        "2020-01-20",
    )
    assert "published" in out and f"Hostile {MARKUP}" in out
    out = cli(db, "explain", "meridian-basin-petroleum")
    assert f"Title {MARKUP} {MD_IMAGE} [31mRED" in out


def test_exports_carry_no_control_or_bidi_characters(db: Path, tmp_path: Path) -> None:
    cli(db, "export", CLIENT, "--format", "csv", "--out", str(tmp_path / "x.csv"))
    text = (tmp_path / "x.csv").read_text("utf-8-sig")
    for ch in FORBIDDEN:
        assert ch not in text
    names = [row["name"] for row in csv.DictReader(io.StringIO(text))]
    assert f"Depot {MARKUP} {MD_IMAGE} [31mRED[0m ]8;;http://evil/\\L]8;;\\ evil iso 31mC1" in names
    cli(db, "export", CLIENT, "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"))
    book = openpyxl.load_workbook(tmp_path / "x.xlsx")
    cells = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value]
    assert any(f"Depot {MARKUP}" in c for c in cells)
    for ch in FORBIDDEN:
        assert not any(ch in c for c in cells)


def test_other_commands_with_hostile_arguments(db: Path, tmp_path: Path) -> None:
    assert "Strait of Hormuz closed" in cli(db, "scenarios")
    for args in (
        ["scenario", HOSTILE],
        ["route", HOSTILE, "Rotterdam"],
        ["versions", HOSTILE],
        ["rollback", CLIENT, "99"],
        ["export", HOSTILE, "--format", "csv", "--out", str(tmp_path)],
        ["report", HOSTILE, "--format", "html", "--out", str(tmp_path)],
        ["score", "--scenario", HOSTILE],
        ["score", "--as-of", HOSTILE],
        ["upload", str(tmp_path / f"{MARKUP}.csv"), "--client", CLIENT],
        ["users", "add", HOSTILE, "--role", "admin", "--password-stdin"],
        ["users", "disable", HOSTILE],
        ["users", "passwd", HOSTILE, "--password-stdin"],
    ):
        result = runner.invoke(app, ["--db", str(db), *args], env=WIDE, input="a-long-password-1\n")
        out = assert_plain(result, exit_code=1)
        assert out.startswith("Error: "), out
        assert out.count("\n") == 1, out  # one line
    out = cli(db, "report", CLIENT, "--format", "html", "--out", str(tmp_path))
    assert out.startswith("Wrote ")
    assert "sees" in cli(db, "users", "list")
