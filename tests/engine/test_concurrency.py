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

from engine import runs
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
print(ctx.run(as_of=dt.date(2020, 3, 1)).run_id, len(ctx.scored_runs))
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
    ids = {o[0].split()[0] for o in outs}
    assert len(ids) == 1, outs
    # the second process found the first's claim and waited: the run was scored once in all
    assert sum(int(o[0].split()[1]) for o in outs) == 1, outs
    assert all("Error" not in o[1] and "Traceback" not in o[1] for o in outs), outs
    assert demo_book.store.one("SELECT count(*) FROM runs") == before + 1


def test_two_threads_with_different_keys_score_side_by_side(demo_book: Context) -> None:
    """No process-wide lock: runs of different inputs are not queued behind each other."""
    scored = len(demo_book.scored_runs)
    barrier = threading.Barrier(2)
    spans: dict[int, tuple[float, float]] = {}

    def go(day: int) -> None:
        barrier.wait()
        began = time.monotonic()
        demo_book.run(as_of=dt.date(2020, 4, day))
        spans[day] = (began, time.monotonic())

    threads = [threading.Thread(target=go, args=(d,)) for d in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(spans) == [1, 2]
    (a0, a1), (b0, b1) = spans[1], spans[2]
    assert max(a0, b0) < min(a1, b1)  # the two runs were in progress at the same moment
    assert len(demo_book.scored_runs) == scored + 2


def _key(ctx: Context, as_of: dt.date) -> str:
    inputs = runs._inputs(ctx, ctx.register_version(), ctx.rules_version(), None, None, as_of, None)
    with ctx.store.transaction() as cur:
        return runs.run_key(cur, inputs)


def test_a_live_claim_is_waited_for_and_a_dead_one_taken_over(
    demo_book: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim another process holds makes a caller wait; once it is not renewed for the bound
    (that process was killed mid-run), the caller takes it over and scores the run itself."""
    monkeypatch.setattr(runs, "CLAIM_TTL_S", 1.5)
    as_of = dt.date(2020, 5, 1)
    key = _key(demo_book, as_of)
    scored = len(demo_book.scored_runs)
    demo_book.store.execute(
        "INSERT INTO run_claims VALUES ($k, 999999, 'otherhost:4242:1', $t)",
        {"k": key, "t": time.time()},
    )
    began = time.monotonic()
    run = demo_book.run(as_of=as_of)
    waited = time.monotonic() - began
    assert waited >= 1.4  # it waited for the other claim to go stale
    assert run.as_of == as_of and run.run_id != 999999
    assert demo_book.scored_runs[scored:] == [run.run_id]
    assert demo_book.store.one("SELECT run_id FROM run_keys WHERE run_key = $k", {"k": key}) == (
        run.run_id
    )
    assert demo_book.store.one("SELECT count(*) FROM run_claims") == 0  # released once stored
    assert demo_book.run(as_of=as_of).run_id == run.run_id  # reused, not scored again
    assert demo_book.scored_runs[scored:] == [run.run_id]


def test_a_claim_is_released_when_scoring_fails(
    demo_book: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails leaves no claim behind: the next caller scores at once."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(runs, "score_run", broken)
    before = demo_book.store.one("SELECT count(*) FROM run_keys")
    with pytest.raises(RuntimeError, match="scoring broke"):
        demo_book.run(as_of=dt.date(2020, 6, 1))
    assert demo_book.store.one("SELECT count(*) FROM run_claims") == 0
    assert demo_book.store.one("SELECT count(*) FROM run_keys") == before  # nothing stored
    monkeypatch.undo()
    began = time.monotonic()
    assert demo_book.run(as_of=dt.date(2020, 6, 1)).as_of == dt.date(2020, 6, 1)
    assert time.monotonic() - began < 60


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
