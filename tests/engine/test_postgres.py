"""The shared store on PostgreSQL gives the same ratings as the embedded DuckDB file.

``RESILIENCE_DB=postgresql://...`` puts the system of record on a PostgreSQL server; the scoring
SQL is the same DuckDB SQL, run through DuckDB's postgres extension on the attached database.
These tests start a throwaway cluster (tests/pgcluster.py) and skip, with the reason, where
PostgreSQL is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from engine.context import Context
from engine.errors import StoreError
from engine.store import display_name, postgres_url
from tests.pgcluster import Cluster

RESILIENCE = str(Path(sys.executable).parent / "resilience")


def cli(*args: str, db: str) -> str:
    env = os.environ | {"RESILIENCE_DB": db, "COLUMNS": "200"}
    done = subprocess.run([RESILIENCE, *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sorted_ratings(score_json: str) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in json.loads(score_json)["ratings"])


@pytest.mark.slow
def test_init_demo_score_give_the_embedded_ratings_byte_for_byte(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    outputs = {}
    for name, db in (("duckdb", str(tmp_path / "r.duckdb")), ("pg", pg_cluster.new_database())):
        assert "register version 1, rules version 1" in cli("init", db=db)
        cli("demo", db=db)
        outputs[name] = cli("score", "--json", db=db)
    embedded, shared = sorted_ratings(outputs["duckdb"]), sorted_ratings(outputs["pg"])
    assert len(embedded) == 10
    assert shared == embedded
    run = json.loads(outputs["pg"])["run"]
    assert (run["register_version"], run["rules_version"], run["n_clients"]) == (1, 1, 10)


def test_a_url_keeps_its_slashes_and_messages_hide_the_password() -> None:
    url = "postgresql://risk:s3cret@db.internal:5432/resilience"
    assert postgres_url(url) == url
    assert postgres_url(Path(url)) == url  # a Path collapses '//'; the store puts it back
    assert postgres_url("data/resilience.duckdb") is None
    assert display_name(url) == "postgresql://risk@db.internal:5432/resilience"


def test_an_unreachable_server_is_a_plain_error(tmp_path: Path) -> None:
    url = f"postgresql://nobody:pw@/nothing?host={tmp_path}&port=1"
    with pytest.raises(StoreError) as refused:
        Context(url)
    assert str(refused.value) == (
        "the database server cannot be reached (the server log has the details)"
    )
    assert "pw" not in str(refused.value) and str(tmp_path) not in str(refused.value)


def test_sequences_and_run_keys_live_on_the_server(pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    with Context(url) as ctx:
        ctx.init()
        assert ctx.store.next_value("run_ids") == 1
        assert ctx.store.next_value("run_ids") == 2
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    tables = pg_cluster.psql(
        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
        "WHERE relname IN ('run_ids', 'run_keys', 'runs', 'users')",
        database=name,
    )
    assert tables.strip() == "run_ids,run_keys,runs,users"


_OPEN_AT = """
import json, sys, time
from engine.store import Store
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
store = Store(sys.argv[1])
print(json.dumps(store.migrations_applied))
"""


def test_servers_opening_a_new_database_at_once_apply_each_migration_once(
    pg_cluster: Cluster,
) -> None:
    """Several app servers started together on a brand-new database: every one opens it, and
    the migrations run once between them (the others wait on the advisory lock, then find them
    applied)."""
    from engine.store import MIGRATIONS

    url = pg_cluster.new_database()
    start = time.time() + 3.0  # after the interpreters have started and imported
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    applied: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        applied += json.loads(out)
    assert sorted(applied) == sorted(MIGRATIONS)  # each once, by exactly one of the processes
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    stored = pg_cluster.psql(
        "SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations", database=name
    )
    assert stored.strip() == ",".join(sorted(MIGRATIONS))
    with Context(url) as ctx:  # the schema is whole: a new book can be loaded and scored
        assert ctx.store.migrations_applied == []
        ctx.init()
        assert ctx.rules_version() == 1


_INIT = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from engine.context import Context\n"
    "start = Path(sys.argv[2])\n"
    "while not start.exists():\n"
    "    time.sleep(0.01)\n"
    "with Context(sys.argv[1]) as ctx:\n"
    "    ctx.init()\n"
    "    print('versions', ctx.register_version(), ctx.rules_version())\n"
)


def _start_init(db: str, go: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _INIT, db, str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.slow
@pytest.mark.parametrize("store", ["postgres", "duckdb"])
def test_two_servers_starting_at_once_on_an_empty_store_set_it_up_once(
    pg_cluster: Cluster, tmp_path: Path, store: str
) -> None:
    db = pg_cluster.new_database() if store == "postgres" else str(tmp_path / "r.duckdb")
    go = tmp_path / "go"
    procs = [_start_init(db, go) for _ in range(2)]
    time.sleep(2.0)  # both imported and waiting on the same start
    go.touch()
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o.strip().splitlines()[-1] for o, _ in outs] == ["versions 1 1", "versions 1 1"]
    with Context(db) as ctx:
        counts = ctx.store.rows(
            "SELECT (SELECT count(*) FROM rules_versions), "
            "(SELECT count(*) FROM register_versions), "
            "(SELECT count(*) FROM audit_events WHERE action = 'publish' "
            "AND kind IN ('rules', 'register')), "
            "(SELECT count(*) FROM scenario_versions), (SELECT count(DISTINCT scenario_id) "
            "FROM scenario_versions)"
        )[0]
    rules, register, publishes, scenarios, distinct = counts
    assert (rules, register, publishes) == (1, 1, 2)  # one default rules, one seed register
    assert scenarios == distinct == 4  # each built-in scenario stored once, as its version 1


@pytest.mark.slow
def test_a_server_that_finds_the_store_being_set_up_waits_for_it(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    db = pg_cluster.new_database()
    go = tmp_path / "go"
    go.touch()
    with Context(db) as holder:
        holder.store.migrate()
        with holder.store.exclusive("to set up the store"):  # another server setting it up
            proc = _start_init(db, go)
            said: list[str] = []
            reader = threading.Thread(target=lambda: said.extend(proc.stderr or []), daemon=True)
            reader.start()
            deadline = time.monotonic() + 300
            while not any("waiting for another process" in line for line in said):
                assert time.monotonic() < deadline, said
                assert proc.poll() is None, said  # it must not set the store up meanwhile
                time.sleep(0.1)
            time.sleep(1.0)
            assert proc.poll() is None  # still waiting while the lock is held
            assert holder.store.one("SELECT count(*) FROM rules_versions") == 0
        proc.wait(600)
        reader.join(10)
        out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, said
    assert any("waiting for another process to set up the store" in line for line in said)
    assert out.strip().splitlines()[-1] == "versions 1 1"
