"""What a `resilience` command imports: `--help` no database code, a command no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
