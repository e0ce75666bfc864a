"""What a `resilience` command imports: `--help` no database code, a command no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_help_imports_neither_the_store_nor_its_libraries() -> None:
    out = _run(
        "import sys\n"
        "from engine.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & "
        "{'duckdb', 'polars', 'pandas', 'numpy', 'pyarrow', 'pydantic'}), "
        "'engine.store' in sys.modules)\n"
    )
    assert "Usage:" in out
    assert "LOADED [] False" in out


def test_duckdb_parameters_do_not_import_pandas_into_a_command(tmp_path: Path) -> None:
    """DuckDB 1.5 imports pandas on its first bound parameter and pyarrow.dataset (which
    imports pandas) on its first registered frame; a command refuses those imports, and pandas
    still imports for whoever asks for it by name."""
    out = _run(
        "import sys\n"
        "import polars as pl\n"
        "from engine import cli_base\n"
        "from engine.store import Store\n"
        "cli_base._keep_pandas_out()\n"
        "store = Store(sys.argv[1])\n"
        "print('VALUE', store.one('SELECT $x + 1', {'x': 41}))\n"
        "with store.transaction() as cur:\n"
        "    cur.execute('CREATE TABLE t (a INTEGER, b VARCHAR)')\n"
        "    store.insert_frame(cur, 't', pl.DataFrame({'a': [1, 2], 'b': ['x', None]}))\n"
        "print('ROWS', store.rows('SELECT a, b FROM t WHERE a >= $m ORDER BY a', {'m': 1}))\n"
        "print('PANDAS', 'pandas' in sys.modules)\n"
        "import pandas\n"
        "print('TO_PANDAS', type(pl.DataFrame({'a': [1]}).to_pandas()).__name__)\n"
        "print('NA', store.one('SELECT $x IS NULL', {'x': pandas.NA}))\n",
        str(tmp_path / "s.duckdb"),
    )
    assert "VALUE 42" in out
    assert "ROWS [(1, 'x'), (2, None)]" in out
    assert "PANDAS False" in out
    assert "TO_PANDAS DataFrame" in out
    assert "NA True" in out


HEAVY = ("duckdb", "polars", "pandas", "numpy", "pyarrow", "shapely", "great_expectations")
SITES = (
    "asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality\n"
    "S1,London office,office,51.5072,-0.1276,London,GBR,25000000,4\n"
    "S2,Paris office,office,,,Paris,France,12000000,3\n"
    "S3,Dubai depot,warehouse,25.2048,55.2708,Dubai,ARE,8000000,2\n"
)
UPSERT = (
    "asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality\n"
    "s1,London office,office,51.5072,-0.1276,London,GBR,30000000,4\n"  # updated (id's case)
    "S9,Basra depot,warehouse,30.5,47.8,,Iraq,3000000,3\n"  # added
)
BAD = (
    "asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality\n"
    "S9,Basra depot,warehouse,30.5,47.8,,Iraq,lots,3\n"
)


def _command(db: Path, *args: str, checker: str) -> tuple[int, str, list[str]]:
    """``resilience --db DB ARGS`` in a new interpreter: its exit code, output, and which of
    the heavy libraries (and the store module) it imported."""
    import os

    code = (
        "import sys\n"
        "from engine.cli import app\n"
        "try:\n"
        "    status = app(sys.argv[1:], standalone_mode=False) or 0\n"  # typer.Exit's code
        "except SystemExit as exc:\n"
        "    status = exc.code or 0\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "loaded += ['engine.store'] if 'engine.store' in sys.modules else []\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('STATUS %s LOADED %s\\n' % (status, ','.join(loaded)))\n"
    )
    env = {**os.environ, "RESILIENCE_CHECKER": checker, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", code, "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
        check=False,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("STATUS "), done.stdout + done.stderr
    status, _, loaded = last.removeprefix("STATUS ").partition(" LOADED")
    errors = "\n".join(done.stderr.strip().splitlines()[:-1])
    return int(status), done.stdout + errors, [m for m in loaded.strip().split(",") if m]


@pytest.mark.slow  # a checker service and sandboxed checkers warm up (seconds)
def test_a_dry_run_through_the_service_prints_what_the_command_works_out_itself(
    tmp_path: Path,
) -> None:
    """``upload --dry-run`` with the store's checker service: the same words, ``--json`` keys,
    preview, problems and errors as the command working it out in its own process, and the
    command imports none of DuckDB, polars, pandas, numpy, pyarrow, shapely or the store."""
    import json

    from engine.context import Context
    from engine.models import ClientSpec
    from exposures.upload import checker

    db = tmp_path / "store.duckdb"
    with Context(db) as ctx:
        ctx.init()
        ctx.upsert_client(
            ClientSpec(client_id="c1", name="C One", sector="retail", hq_country="GBR")
        )
    files = {}
    for name, text in (("sites.csv", SITES), ("upsert.csv", UPSERT), ("bad.csv", BAD)):
        files[name] = tmp_path / name
        files[name].write_text(text, "utf-8")
    code, out, _ = _command(
        db, "upload", str(files["sites.csv"]), "--client", "c1", checker="local"
    )
    assert code == 0 and "Loaded 3 assets as version 1" in out, out
    upsert, bad = str(files["upsert.csv"]), str(files["bad.csv"])
    cases = {
        "preview": ("upload", upsert, "--client", "c1", "--mode", "upsert", "--dry-run"),
        "json": ("upload", upsert, "--client", "c1", "--dry-run", "--json"),
        "bad": ("upload", bad, "--client", "c1", "--mode", "upsert", "--dry-run", "--json"),
        "unknown": ("upload", upsert, "--client", "nobody", "--dry-run"),
    }
    folder = checker.service_dir(db)
    served = {}
    try:
        for case, args in cases.items():
            served[case] = _command(db, *args, checker="service")
            assert served[case][2] == [], (case, served[case])  # none of the heavy libraries
    finally:
        checker.stop(folder)
    for case, args in cases.items():
        assert served[case][:2] == _command(db, *args, checker="local")[:2], case
    code, out, _ = served["preview"]
    assert code == 0
    assert (
        "Preview (upsert): 1 added, 1 updated, 0 removed, 2 unchanged; 4 assets after; rating "
        in out
    )
    assert "Nothing loaded: dry run: nothing was loaded" in out
    code, out, _ = served["json"]
    doc = json.loads(out)
    assert code == 0
    assert doc["plan"]["summary"] == "1 added, 1 updated, 2 removed"
    assert doc["plan"]["added_ids"] == ["S9"] and doc["plan"]["updated_ids"] == ["S1"]
    assert doc["accepted"] == [2, 3]
    assert doc["loaded"] is False and doc["reason"] == "dry run: nothing was loaded"
    code, out, _ = served["bad"]
    doc = json.loads(out)
    assert code == 1 and doc["plan"] is None and doc["rows_rejected"] == 1
    assert [(p["row"], p["column"]) for p in doc["problems"]] == [(2, "value_usd")]
    code, out, _ = served["unknown"]
    assert code == 1 and out.startswith("Error: ") and "nobody" in out
    with Context(db) as ctx:
        assert ctx.exposure_version("c1") == 1  # a dry run loads nothing
