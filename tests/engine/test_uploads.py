"""Uploads into the store: all or nothing, versions, diff, roll-back, crash safety, concurrency."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.book import load_demo
from engine.cli import app
from engine.context import EVERYONE, Context
from engine.errors import NotFoundError, RuleError
from engine.models import ClientSpec
from exposures.upload.pipeline import check_upload
from tests.conftest import Stores
from tests.exposures.badfiles.make_corpus import BINARY_FILES, TEXT_FILES, write_binary_files

BADFILES = Path(__file__).resolve().parents[1] / "exposures" / "badfiles"
CLIENT = "cedar-souk-retail"
GOOD = (
    "asset_id,name,asset_type,lat,lon,country,value_usd,criticality\n"
    "N1,Basra depot,warehouse,30.5085,47.7804,Iraq,5000000,3\n"
    "N2,Tyre store,retail_store,33.2705,35.2038,Lebanon,2000000,2\n"
)
ONE_BAD = GOOD + "N3,Nowhere,warehouse,95,47.8,Iraq,10,3\n"


@pytest.fixture
def book(stores: Stores, tmp_path: Path) -> Iterator[Context]:
    c = Context(stores.new(tmp_path / "db"))
    load_demo(c)
    yield c
    c.close()


def _state(ctx: Context) -> tuple[object, ...]:
    """Everything an upload may change."""
    return (
        ctx.store.rows("SELECT * FROM exposure_current ORDER BY 1"),
        ctx.store.one("SELECT count(*) FROM exposure_versions"),
        ctx.store.one("SELECT count(*) FROM assets"),
        ctx.store.one("SELECT count(*) FROM routes"),
        ctx.store.one("SELECT count(*) FROM exposure_classes"),
    )


def test_a_clean_file_becomes_the_new_current_version(book: Context) -> None:
    prepared = check_upload(GOOD.encode(), "sites.csv", "assets")
    out = book.commit_upload(CLIENT, prepared, "assets", scope=EVERYONE)
    assert out.loaded and out.version == 2 and out.rows_loaded == 2
    assert book.exposure_version(CLIENT) == 2
    # the routes of version 1 are carried over; the assets are replaced
    assert book.store.rows(
        "SELECT count(*) FROM assets WHERE client_id = $c AND version = 2", {"c": CLIENT}
    ) == [(2,)]
    assert book.store.rows(
        "SELECT count(*) FROM routes WHERE client_id = $c AND version = 2", {"c": CLIENT}
    ) == [(3,)]
    assert out.before is not None and out.after is not None
    assert out.after.score != out.before.score
    assert out.diff is not None and out.diff.count("added") == 2
    assert out.diff.count("removed") == 8


def test_a_file_with_a_bad_row_loads_nothing_unless_asked(book: Context) -> None:
    before = _state(book)
    prepared = check_upload(ONE_BAD.encode(), "sites.csv", "assets")
    out = book.commit_upload(CLIENT, prepared, "assets", scope=EVERYONE)
    assert not out.loaded
    assert out.reason.startswith("1 of 3 rows have problems; nothing was loaded")
    assert _state(book) == before
    out = book.commit_upload(CLIENT, prepared, "assets", valid_only=True, scope=EVERYONE)
    assert out.loaded and out.rows_loaded == 2
    assert b"N3,Nowhere" in out.quarantine_csv


@pytest.fixture(scope="module")
def binary_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_binary_files(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def corpus_book(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(stores.new(tmp_path_factory.mktemp("corpus")))
    load_demo(c)
    yield c
    c.close()


@pytest.mark.parametrize("name", sorted(TEXT_FILES) + sorted(BINARY_FILES))
def test_no_bad_file_changes_the_database(
    name: str, corpus_book: Context, binary_corpus: dict[str, Path]
) -> None:
    data = (
        (BADFILES / name).read_bytes() if name in TEXT_FILES else binary_corpus[name].read_bytes()
    )
    kind = "routes" if "route" in name or "port" in name else "assets"
    before = _state(corpus_book)
    prepared = check_upload(data, name, kind)
    out = corpus_book.commit_upload(CLIENT, prepared, kind, scope=EVERYONE)  # type: ignore[arg-type]
    if prepared.report.rows_rejected or prepared.report.file_errors or not prepared.frame.height:
        assert not out.loaded, name
        assert _state(corpus_book) == before, name
    elif out.loaded:  # a valid file (the corpus has a few, e.g. other encodings): it loads whole
        assert out.rows_loaded == prepared.report.rows_total, name
    else:  # the same rows as another valid file loaded before: nothing to load, nothing changes
        assert out.reason.startswith("the file changes nothing: its rows match"), name
        assert _state(corpus_book) == before, name


def test_versions_diff_and_rollback(book: Context) -> None:
    book.commit_upload(
        CLIENT, check_upload(GOOD.encode(), "a.csv", "assets"), "assets", scope=EVERYONE
    )
    changed = GOOD.replace("5000000", "7000000")
    book.commit_upload(
        CLIENT, check_upload(changed.encode(), "b.csv", "assets"), "assets", scope=EVERYONE
    )
    history = book.exposure_history(CLIENT, scope=EVERYONE)
    assert [(v.version, v.current) for v in history] == [(1, False), (2, False), (3, True)]
    d = book.diff_versions(CLIENT, 2, 3, scope=EVERYONE)
    assert [(c.item_id, c.change, c.fields) for c in d.changes] == [
        ("N1", "changed", ("value_usd",))
    ]
    with pytest.raises(RuleError) as no_note:
        book.rollback_exposures(CLIENT, 1, scope=EVERYONE)
    assert str(no_note.value) == (
        f"rolling back the exposures of {CLIENT} needs a note saying why; nothing was changed"
    )
    assert book.exposure_version(CLIENT) == 3
    book.rollback_exposures(CLIENT, 1, note="the new values were wrong", by="am", scope=EVERYONE)
    assert book.exposure_version(CLIENT) == 1
    run = book.current_run()
    assert (
        book.rating(run.run_id, CLIENT, scope=EVERYONE).n_items == 11
    )  # 8 sites and 3 routes again
    with pytest.raises(NotFoundError, match=r"has no exposure version 9 \(versions: 1, 2, 3\)"):
        book.rollback_exposures(CLIENT, 9, scope=EVERYONE)


def test_cli_upload_exit_codes_and_json(book: Context, tmp_path: Path) -> None:
    db = book.store.url or str(book.db_path)  # the PostgreSQL URL, or the DuckDB file
    book.close()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, "utf-8")
    bad.write_text(ONE_BAD, "utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["--db", db, "upload", str(bad), "--client", CLIENT, "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["loaded"] is False and data["rows_rejected"] == 1 and data["rows_accepted"] == 2
    assert data["problems"] == [
        {
            "row": 4,
            "column": "lat",
            "header": "lat",
            "value": "'95'",
            "message": "is above 90",
            "accepted": "a number from -90 to 90 (decimal degrees)",
            "severity": "error",
        }
    ]
    r = runner.invoke(app, ["--db", db, "upload", str(good), "--client", CLIENT, "--dry-run"])
    assert r.exit_code == 0 and "Nothing loaded: dry run" in r.output
    r = runner.invoke(app, ["--db", db, "upload", str(good), "--client", CLIENT])
    assert r.exit_code == 0, r.output
    assert "Loaded 2 assets as version 2" in r.output
    r = runner.invoke(app, ["--db", db, "versions", CLIENT, "--json"])
    assert [v["version"] for v in json.loads(r.stdout)] == [1, 2]
    r = runner.invoke(app, ["--db", db, "diff", CLIENT, "1", "2", "--json"])
    assert json.loads(r.stdout)["added"] == 2
    r = runner.invoke(app, ["--db", db, "rollback", CLIENT, "1", "--note", "back"])
    assert r.exit_code == 0 and f"{CLIENT}: version 1 is current" in r.output
    r = runner.invoke(app, ["--db", db, "upload", str(good), "--client", "nobody"])
    assert r.exit_code == 1 and "Error: unknown client 'nobody'" in r.output
    r = runner.invoke(
        app,
        [
            "--db",
            db,
            "template",
            "--kind",
            "routes",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "t.csv"),
        ],
    )
    assert r.exit_code == 0
    assert (tmp_path / "t.csv").read_text("utf-8-sig").startswith("route_id,")


# -- crash safety --------------------------------------------------------------------------------

LOADER = textwrap.dedent(
    """
    import sys, polars as pl
    from engine.context import Context
    from exposures.prepare import prepare_assets
    ctx = Context(sys.argv[1])
    warm = pl.DataFrame({
        "asset_id": ["W"], "name": ["w"], "asset_type": ["office"], "lat": [30.4], "lon": [47.78],
        "country": ["Iraq"], "value_usd": [1e6], "criticality": [3],
    })
    prepare_assets("crash-test", 0, warm)  # imports and tables, stores nothing: kills land in loads
    k = 0
    print("ready", flush=True)
    while True:
        k += 1
        n = 200 + (k * 37) % 300
        frame = pl.DataFrame({
            "asset_id": [f"A{i}" for i in range(n)], "name": [f"load {k}"] * n,
            "asset_type": ["office"] * n, "lat": [30.40 + i / 5000 for i in range(n)],
            "lon": [47.78] * n, "country": ["Iraq"] * n, "value_usd": [1e6] * n,
            "criticality": [3] * n,
        })
        ctx.load_exposures("crash-test", frame, note=f"load {k}")
    """
)


def _check_whole(ctx: Context) -> int:
    """The current version is complete and unmixed; returns it."""
    version = ctx.exposure_version("crash-test")
    assert version is not None
    n_declared = ctx.store.one(
        "SELECT n_assets FROM exposure_versions WHERE client_id = 'crash-test' AND version = $v",
        {"v": version},
    )
    rows = ctx.store.rows(
        "SELECT count(*), count(DISTINCT name), min(name) FROM assets "
        "WHERE client_id = 'crash-test' AND version = $v",
        {"v": version},
    )
    n, names, _name = rows[0]
    assert n == n_declared and names == 1
    classes = ctx.store.one(
        "SELECT sum(n_items) FROM exposure_classes WHERE client_id = 'crash-test' AND version = $v",
        {"v": version},
    )
    assert classes == n
    # no version is half there: every version row has all its assets
    broken = ctx.store.rows(
        "SELECT v.version FROM exposure_versions v LEFT JOIN (SELECT version, count(*) AS n "
        "FROM assets WHERE client_id = 'crash-test' GROUP BY version) a USING (version) "
        "WHERE v.client_id = 'crash-test' AND coalesce(a.n, 0) <> v.n_assets"
    )
    assert broken == []
    return version


@pytest.mark.slow
def test_kill_the_loader_mid_load_twenty_times(tmp_path: Path) -> None:
    db = tmp_path / "crash" / "r.duckdb"
    ctx = Context(db)
    ctx.init()
    ctx.upsert_client(
        ClientSpec(
            client_id="crash-test",
            name="Crash test",
            sector="retail",
            hq_country="IRQ",
            affiliations=["NEUTRAL"],
        )
    )
    ctx.load_exposures(
        "crash-test",
        pl.DataFrame(
            {
                "asset_id": ["A0"],
                "name": ["load 0"],
                "asset_type": ["office"],
                "lat": [30.5],
                "lon": [47.78],
                "country": ["Iraq"],
                "value_usd": [1e6],
                "criticality": [3],
            }
        ),
    )
    ctx.close()
    script = tmp_path / "loader.py"
    script.write_text(LOADER, "utf-8")
    rng = random.Random(20200114)
    seen = set()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db)], stdout=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 2.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        ctx = Context(db)
        seen.add(_check_whole(ctx))
        ctx.close()
    # the loads went on between kills, so the kills landed at different points of the history
    assert len(seen) >= 2 and max(seen) >= 3


def test_readers_always_see_one_whole_version(tmp_path: Path) -> None:
    ctx = Context(tmp_path / "conc" / "r.duckdb")
    ctx.init()
    ctx.upsert_client(
        ClientSpec(
            client_id="conc",
            name="Concurrency",
            sector="retail",
            hq_country="LBN",
            affiliations=["NEUTRAL"],
        )
    )

    def frame(k: int) -> pl.DataFrame:
        n = 50 + k % 7
        return pl.DataFrame(
            {
                "asset_id": [f"A{i}" for i in range(n)],
                "name": [f"v{k}"] * n,
                "asset_type": ["office"] * n,
                "lat": [33.89] * n,
                "lon": [35.5] * n,
                "country": ["Lebanon"] * n,
                "value_usd": [1e6] * n,
                "criticality": [3] * n,
            }
        )

    ctx.load_exposures("conc", frame(0))
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0] * 8

    def reader(i: int) -> None:
        try:
            while not stop.is_set():
                rows = ctx.store.rows(
                    "SELECT v.n_assets, count(a.asset_id), count(DISTINCT a.name) "
                    "FROM exposure_current c JOIN exposure_versions v USING (client_id, version) "
                    "JOIN assets a USING (client_id, version) WHERE c.client_id = 'conc' "
                    "GROUP BY v.n_assets"
                )
                assert len(rows) == 1
                declared, n, names = rows[0]
                assert declared == n and names == 1
                reads[i] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for k in range(1, 51):
        ctx.load_exposures("conc", frame(k))
    stop.set()
    for t in threads:
        t.join()
    ctx.close()
    assert errors == []
    assert all(r > 0 for r in reads)
