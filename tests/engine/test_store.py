"""The store's connection is locked down: it reads only its own folders and cannot be reopened."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from engine.errors import AccessDenied, StoreError
from engine.store import BUSY, Scope, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db" / "r.duckdb")
    yield s
    s.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
        ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
        ("ATTACH '/tmp/elsewhere.duckdb' AS other", "file system operations are disabled"),
        ("INSTALL httpfs", "Cannot access directory"),
        ("LOAD httpfs", "Loading external extensions is disabled"),
        ("SET enable_external_access = true", "the configuration has been locked"),
        ("SET allowed_directories = ['/']", "the configuration has been locked"),
        ("SET autoinstall_known_extensions = true", "the configuration has been locked"),
        ("SET lock_configuration = false", "the configuration has been locked"),
        ("RESET lock_configuration", "the configuration has been locked"),
        ("COPY (SELECT 1) TO '/tmp/outside.csv'", "file system operations are disabled"),
    ],
)
def test_connection_refuses(store: Store, sql: str, message: str) -> None:
    with pytest.raises(StoreError) as refused:
        store.execute(sql)
    # the library's words stay in the log and the chained cause; the visitor reads plain words
    assert isinstance(refused.value.__cause__, duckdb.Error)
    assert message in str(refused.value.__cause__)
    assert message not in str(refused.value)
    assert "/" not in str(refused.value) and "Error:" not in str(refused.value)


def test_every_thread_cursor_is_locked_too(store: Store) -> None:
    errors: list[str] = []

    def attempt() -> None:
        try:
            store.execute("SELECT * FROM read_csv('/etc/passwd')")
        except StoreError as exc:
            errors.append(str(exc.__cause__))

    t = threading.Thread(target=attempt)
    t.start()
    t.join()
    assert len(errors) == 1 and "file system operations are disabled" in errors[0]


def test_python_replacement_scans_are_off(store: Store) -> None:
    secret = [1, 2, 3]  # noqa: F841 - a local a replacement scan would pick up
    with pytest.raises(StoreError) as refused:
        store.execute("SELECT * FROM secret")
    assert isinstance(refused.value.__cause__, duckdb.CatalogException)
    assert "secret" in str(refused.value.__cause__)


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "m" / "r.duckdb"
    Store(path).close()
    s = Store(path)
    from engine.store import MIGRATIONS

    assert s.rows("SELECT name FROM schema_migrations ORDER BY name") == [(m,) for m in MIGRATIONS]
    assert MIGRATIONS[0] == "schema_001.sql"
    s.close()


_OTHER_PROCESS = """
import sys, time
from engine.store import Store
from engine.errors import StoreError
started = time.monotonic()
try:
    n = Store(sys.argv[1]).one("SELECT count(*) FROM pointers")
    print('READ', n, time.monotonic() - started)
except StoreError as e:
    print('REFUSED', type(e).__name__, e)
"""


def _other_process(path: Path, wait_s: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"RESILIENCE_LOCK_WAIT_S": wait_s}
    return subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )


def test_a_second_process_opens_the_file_while_the_first_is_idle(tmp_path: Path) -> None:
    """Issue 10: the file is open only for a unit of work, so a store that is idle (as the app is
    between requests) no longer locks every other process out."""
    s = Store(tmp_path / "lock" / "r.duckdb")
    try:
        assert s.one("SELECT count(*) FROM pointers") == 0
        out = _other_process(s.path, "30")
        assert out.stdout.startswith("READ 0 "), out.stdout + out.stderr
        assert "waiting" not in out.stderr
        assert s.one("SELECT count(*) FROM pointers") == 0  # and the first one carries on
    finally:
        s.close()


def _hold(store: Store, holding: threading.Event, release: threading.Event) -> None:
    """A write transaction held open until ``release`` (so the other process's start-up time,
    long on a loaded machine, never decides whether it meets the lock)."""
    with store.transaction() as cur:
        cur.execute("INSERT INTO pointers VALUES ('rules', 7)")
        holding.set()
        release.wait(120)


def _start_other_process(path: Path, wait_s: str, err: Path) -> subprocess.Popen[str]:
    env = os.environ | {"RESILIENCE_LOCK_WAIT_S": wait_s}
    return subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, str(path)],
        stdout=subprocess.PIPE,
        stderr=err.open("w"),
        text=True,
        env=env,
    )


WAITING = (
    "waiting for another program (the app or another command) to finish its work on r.duckdb ..."
)


def test_a_process_waits_for_a_write_in_progress_and_says_so(tmp_path: Path) -> None:
    s = Store(tmp_path / "lock" / "r.duckdb")
    holding, release = threading.Event(), threading.Event()
    writer = threading.Thread(target=_hold, args=(s, holding, release))
    writer.start()
    try:
        assert holding.wait(30)
        err = tmp_path / "err.txt"
        proc = _start_other_process(s.path, "60", err)
        deadline = time.monotonic() + 90
        while WAITING not in err.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        time.sleep(1.0)  # it keeps waiting while the write goes on
    finally:
        release.set()
        writer.join()
    stdout, _ = proc.communicate(timeout=120)
    s.close()
    assert stdout.startswith("READ 1 "), stdout + err.read_text()  # it saw the committed write
    assert float(stdout.split()[2]) >= 1.0  # it waited for the write to end
    assert WAITING in err.read_text()


def test_a_wait_that_runs_out_is_a_plain_busy_error(tmp_path: Path) -> None:
    s = Store(tmp_path / "lock" / "r.duckdb")
    holding, release = threading.Event(), threading.Event()
    writer = threading.Thread(target=_hold, args=(s, holding, release))
    writer.start()
    try:
        assert holding.wait(30)
        proc = _start_other_process(s.path, "1", tmp_path / "err.txt")
        stdout, _ = proc.communicate(timeout=120)  # the write is held until it gives up
    finally:
        release.set()
        writer.join()
    s.close()
    assert stdout.strip() == f"REFUSED StoreBusy {BUSY}", stdout
    # no path, PID or library words for a visitor to read
    assert str(tmp_path) not in stdout and "PID" not in stdout


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute("INSERT INTO pointers VALUES ('rules', 7)")
        raise RuntimeError("boom")
    assert store.one("SELECT count(*) FROM pointers") == 0


def test_scope_filter() -> None:
    everyone = Scope.everything()
    assert everyone.sql() == ("TRUE", None)
    one = Scope.of("acme")
    assert one.sql("c.client_id") == ("c.client_id IN (SELECT unnest($scope_ids))", ["acme"])
    one.require("acme")
    with pytest.raises(AccessDenied, match="client 'globex' is not available to you"):
        one.require("globex")


def test_store_error_is_a_resilience_error() -> None:
    from engine.errors import ResilienceError

    assert issubclass(StoreError, ResilienceError)


def test_db_in_a_shared_folder_cannot_read_its_neighbours(tmp_path: Path) -> None:
    """Regression (issue 13): with --db /tmp/x.duckdb, SQL could read any file under /tmp, and
    the store created /tmp/staging. The allowed folders are the database's own, not its parent's."""
    shared = tmp_path / "shared"  # stands for /tmp: other programs' files sit beside the database
    shared.mkdir()
    (shared / "neighbour.csv").write_text("secret\nhunter2\n", "utf-8")
    (shared / "sub").mkdir()
    (shared / "sub" / "deeper.csv").write_text("secret\nhunter3\n", "utf-8")
    s = Store(shared / "x.duckdb")
    try:
        for target in (shared / "neighbour.csv", shared / "sub" / "deeper.csv"):
            with pytest.raises(StoreError, match="may read and write only its own folders"):
                s.execute("SELECT * FROM read_csv($p)", {"p": str(target)})
        # the database's own data folder is allowed, once the product writes there
        own = s.data_dir
        own.mkdir(parents=True)
        (own / "mine.csv").write_text("a\n1\n", "utf-8")
        assert s.rows("SELECT a FROM read_csv($p)", {"p": str(own / "mine.csv")}) == [(1,)]
    finally:
        s.close()
    assert s.files == shared / "x.duckdb.files"
    assert s.staging == shared / "x.duckdb.files" / "staging"
    assert sorted(p.name for p in shared.iterdir()) == [
        "neighbour.csv",
        "sub",
        "x.duckdb",
        "x.duckdb.files",
    ]
    assert not (shared / "staging").exists()


def test_opening_a_database_creates_no_staging_folder_beside_it(tmp_path: Path) -> None:
    """Regression (issue 13): the product created a 'staging' folder in the database's parent."""
    Store(tmp_path / "x.duckdb").close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.duckdb"]


def test_a_constraint_error_logs_no_values_of_the_row(caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL quotes the failing row (a user's password hash, a client's figures) in its
    message: the log keeps the constraint and the columns, never the values."""
    from engine.store import product_error

    message = (
        'Constraint Error: new row for relation "users" violates check constraint '
        '"users_role_check"\nDETAIL:  Failing row contains (meridian, scrypt$16384$8$1$c2FsdA, '
        "boss).\nKey (username)=(meridian) already exists."
    )
    with caplog.at_level("INFO", logger="engine.store"):
        err = product_error(duckdb.ConstraintException(message))
    assert str(err) == (
        "the change breaks a rule of the stored data (a missing or duplicate value); "
        "nothing was changed"
    )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert 'violates check constraint "users_role_check"' in logged
    assert "Failing row contains (values withheld)" in logged
    assert "Key (username)=(values withheld)" in logged
    assert "scrypt" not in logged and "meridian" not in logged and "boss" not in logged


def test_migration_019_keeps_every_class_and_drops_only_the_primary_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.store as store_module

    path = tmp_path / "old.duckdb"
    before = tuple(m for m in store_module.MIGRATIONS if m != "schema_019_bulk_classes.sql")
    monkeypatch.setattr(store_module, "MIGRATIONS", before)
    old = Store(path)
    old.execute(
        "INSERT INTO exposure_classes VALUES ('c1', 2, 1, 'asset', 'g1', 'office', 'office', NULL, "
        "['insurance'], NULL, 3, 1.5e6, 4, 120), ('c1', 1, 1, 'route', 'g2', 'crude_oil', NULL, "
        "'crude_oil', [], 'svc', 1, 2e6, 5, 0)"
    )
    kinds = (
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'exposure_classes' ORDER BY ALL"
    )
    was = old.rows(kinds)
    assert ("PRIMARY KEY", ["client_id", "version", "class_id"]) in was
    old.close()
    monkeypatch.undo()
    s = Store(path)
    assert s.migrations_applied == ["schema_019_bulk_classes.sql"]
    assert s.rows("SELECT * FROM exposure_classes") == [  # every row, in key order
        ("c1", 1, 1, "route", "g2", "crude_oil", None, "crude_oil", [], "svc", 1, 2e6, 5, 0),
        (
            "c1",
            2,
            1,
            "asset",
            "g1",
            "office",
            "office",
            None,
            ["insurance"],
            None,
            3,
            1.5e6,
            4,
            120,
        ),
    ]
    # the same NOT NULL columns as before, and no index
    assert s.rows(kinds) == [c for c in was if c[0] == "NOT NULL"]
    assert (
        s.rows("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'exposure_classes'")
        == []
    )
    with pytest.raises(StoreError):  # a missing value is still refused
        s.execute("INSERT INTO exposure_classes (client_id, version, class_id) VALUES ('c1', 3, 1)")
    s.close()
