"""Runs started at the same moment (two threads, two processes) both get the same result.

Issue 10: ``Store.next_id`` computed max+1 outside the transaction, so two threads calling
``ctx.run()`` at once collided with a raw ``duckdb.TransactionException``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context
from engine.models import RunInfo


@pytest.fixture
def demo_book(tmp_path: Path) -> Iterator[Context]:
    c = Context(tmp_path / "db" / "r.duckdb")
    load_demo(c)
    yield c
    c.close()


def _run_in_threads(ctx: Context, n: int = 2) -> tuple[list[RunInfo], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[RunInfo] = []
    errors: list[BaseException] = []

    def go() -> None:
        barrier.wait()
        try:
            results.append(ctx.run())
        except BaseException as exc:  # the test reports whatever escaped
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_two_threads_starting_the_same_run_get_one_result(demo_book: Context) -> None:
    for _ in range(3):
        results, errors = _run_in_threads(demo_book)
        assert errors == []
        assert len(results) == 2
        assert results[0].run_id == results[1].run_id
