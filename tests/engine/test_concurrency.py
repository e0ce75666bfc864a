"""Runs started at the same moment (two threads, two processes) both get the same result.

Issue 10: ``Store.next_id`` computed max+1 outside the transaction, so two threads calling
``ctx.run()`` at once collided with a raw ``duckdb.TransactionException``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context
from engine.models import RunInfo
from tests.conftest import Stores


@pytest.fixture
def demo_book(stores: Stores, tmp_path: Path) -> Iterator[Context]:
    """A fresh demo book on the store under test (DuckDB, or PostgreSQL in the second pass)."""
    c = Context(stores.new(tmp_path / "db"))
    load_demo(c)
    yield c
    c.close()


def _run_in_threads(
    ctx: Context, as_of: dt.date, n: int = 2
) -> tuple[list[RunInfo], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[RunInfo] = []
    errors: list[BaseException] = []

    def go() -> None:
        barrier.wait()
        try:
            results.append(ctx.run(as_of=as_of))
        except BaseException as exc:  # the test reports whatever escaped
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_two_threads_starting_the_same_run_get_one_result(demo_book: Context) -> None:
    for day in (1, 2, 3):  # a new as-of date each time: inputs no run has had yet
        before = demo_book.store.one("SELECT count(*) FROM runs")
        results, errors = _run_in_threads(demo_book, dt.date(2020, 2, day))
        assert errors == []
        assert len(results) == 2
        assert results[0].run_id == results[1].run_id
        assert results[0].as_of == dt.date(2020, 2, day)
        assert demo_book.store.one("SELECT count(*) FROM runs") == before + 1


_RUN_AT = """
import datetime as dt, sys, time
from engine.context import Context
ctx = Context(sys.argv[1])
ctx.register_version()  # opened and read before the start line
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(ctx.run(as_of=dt.date(2020, 3, 1)).run_id)
"""


def test_two_processes_starting_the_same_run_get_one_result(demo_book: Context) -> None:
    """Each process scores at the same second; the file is shared a unit of work at a time, and
    the second to get it finds the first's run by its key."""
    before = demo_book.store.one("SELECT count(*) FROM runs")
    demo_book.close()
    db = demo_book.store.url or str(demo_book.db_path)
    start = time.time() + 8  # both children are up and waiting by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RUN_AT, db, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ids = {o[0].strip() for o in outs}
    assert len(ids) == 1, outs
    assert all("Error" not in o[1] and "Traceback" not in o[1] for o in outs), outs
    assert demo_book.store.one("SELECT count(*) FROM runs") == before + 1


def test_one_sessions_unit_of_work_does_not_hold_up_another_session(ctx: Context) -> None:
    """An app process serves every browser session through one ``Store``. The store's guard
    covers only opening the database and handing out a cursor: while one session is inside a
    long unit of work (a transaction held open), another session's queries and writes run and
    finish, on both stores."""
    store = ctx.store
    inside, release = threading.Event(), threading.Event()
    first: list[object] = []

    def long_unit() -> None:
        with store.transaction() as cur:
            cur.execute("INSERT INTO pointers VALUES ('bench-a', 1)")
            inside.set()
            release.wait(120)
            first.append(
                cur.execute("SELECT version FROM pointers WHERE name = 'bench-a'").fetchone()
            )

    holder = threading.Thread(target=long_unit)
    holder.start()
    try:
        assert inside.wait(120)
        seen: list[object] = []

        def other_session() -> None:
            seen.append(store.one("SELECT count(*) FROM pointers WHERE name = 'bench-a'"))
            with store.transaction() as cur:
                cur.execute("INSERT INTO pointers VALUES ('bench-b', 2)")
            seen.append(store.one("SELECT version FROM pointers WHERE name = 'bench-b'"))

        other = threading.Thread(target=other_session)
        other.start()
        other.join(60)
        assert not other.is_alive(), "the second session waited for the first one's unit of work"
        # it ran while the first transaction was open: it did not see that uncommitted row
        assert seen == [0, 2]
    finally:
        release.set()
        holder.join(120)
    assert first == [(1,)]
    assert store.one("SELECT count(*) FROM pointers WHERE name LIKE 'bench-%'") == 2
