"""The pool of sandboxed checkers: files are checked side by side, the number of children is
bounded, and a file that finds every checker busy past its wait is told so plainly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import CheckerBusy, ExposureError
from exposures.upload import checker, sandbox
from exposures.upload.pipeline import check_upload
from tests.exposures.upload import sandbox_hooks

from .conftest import BADFILES

pytestmark = pytest.mark.slow  # every pool warms sandboxed checkers (seconds each)

BUSY = "the checker is busy, try again in a moment"
DATA = (BADFILES / "valid_assets.csv").read_bytes()


@pytest.fixture
def warm_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A kept-warm pool of this process, of the size the test sets, stopped afterwards."""
    yield
    sandbox.keep_warm(False)


def _check(results: list[Any], **kwargs: Any) -> None:
    started = time.monotonic()
    try:
        payload = sandbox.run_in_child(
            DATA, "a.csv", "assets", None, {}, pipeline=sandbox_hooks.naps, **kwargs
        )
        results.append(("ok", sandbox.unpack(payload), started, time.monotonic()))
    except ExposureError as exc:
        results.append(("error", exc, started, time.monotonic()))


def _at_once(n: int, **kwargs: Any) -> list[Any]:
    results: list[Any] = []
    threads = [threading.Thread(target=_check, args=(results,), kwargs=kwargs) for _ in range(n)]
    for t in threads:
        t.start()
        time.sleep(0.2)  # in this order: the first threads take the checkers
    for t in threads:
        t.join(300)
    return sorted(results, key=lambda r: r[2])


def test_two_files_are_checked_at_once(warm_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENCE_CHECKER_POOL", "2")
    sandbox.keep_warm(True)
    sandbox.wait_warm(300)
    assert sandbox.pool_state() == {"size": 2, "ready": 2, "warming": 0, "checking": 0}
    results = _at_once(2)
    expected = check_upload(DATA, "a.csv", "assets").report
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert [r[1].report for r in results] == [expected, expected]
    # each took NAP_S; one after the other would need twice that
    first_start, last_end = results[0][2], max(r[3] for r in results)
    assert last_end - first_start < 2 * sandbox_hooks.NAP_S
    overlap = min(r[3] for r in results) - results[1][2]
    assert overlap > 0  # the second check started before the first ended
    # after the checks the pool warms two new children, and never holds more than two
    state = sandbox.pool_state()
    assert state["size"] == 2
    assert state["ready"] + state["warming"] + state["checking"] == 2


def test_a_file_that_finds_every_checker_busy_is_told_to_try_again(
    warm_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESILIENCE_CHECKER_POOL", "1")
    sandbox.keep_warm(True)
    sandbox.wait_warm(300)
    results = _at_once(2, queue_s=1.0)
    assert [r[0] for r in results] == ["ok", "error"], results
    busy = results[1][1]
    assert isinstance(busy, CheckerBusy)
    assert str(busy) == (
        "the checker is busy, try again in a moment: every upload checker is working on other "
        "files; nothing was changed"
    )
    assert results[1][3] - results[1][2] == pytest.approx(1.0, abs=0.9)  # the wait, then no
    assert sandbox.pool_state()["checking"] == 0
    # the next file, once the checker is free, is checked as usual
    again: list[Any] = []
    _check(again, queue_s=1.0)
    assert again[0][0] == "ok", again
    assert (
        again[0][1].report.rows_accepted
        == check_upload(DATA, "a.csv", "assets").report.rows_accepted
    )


def test_a_file_waits_in_line_for_a_free_checker(
    warm_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one checker and a long enough wait, the second file is checked after the first."""
    monkeypatch.setenv("RESILIENCE_CHECKER_POOL", "1")
    sandbox.keep_warm(True)
    sandbox.wait_warm(300)
    results = _at_once(2, queue_s=600.0)
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert results[1][3] - results[0][3] >= sandbox_hooks.NAP_S - 0.5  # one after the other


@pytest.mark.parametrize(
    ("value", "size"), [("", 2), ("3", 3), ("0", 1), ("-4", 1), ("99", 8), ("two", 2)]
)
def test_the_pool_size_comes_from_the_setting_within_bounds(
    monkeypatch: pytest.MonkeyPatch, value: str, size: int
) -> None:
    monkeypatch.setenv("RESILIENCE_CHECKER_POOL", value)
    assert sandbox.pool_size() == size


def test_a_busy_answer_crosses_the_socket_as_checker_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service of a one-checker pool, checking a slow file, answers a second caller who
    will not wait: the caller gets ``CheckerBusy`` with the plain words, not a timeout."""
    monkeypatch.setenv("RESILIENCE_CHECKER_POOL", "1")
    folder = checker.service_dir(tmp_path / "store.duckdb")
    checker._secure_dir(folder)
    real = sandbox.run_in_child

    def slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return real(*args, **kwargs, pipeline=sandbox_hooks.naps)

    monkeypatch.setattr(sandbox, "run_in_child", slow)
    service = checker._Service(folder, idle_s=600)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (folder / checker.SOCKET_NAME).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        checker.wait_warm(folder, 300)
        assert checker.status(folder)["pool"]["size"] == 1
        first: list[Any] = []

        def call() -> None:
            first.append(checker.prepare_upload(folder, DATA, "a.csv", "assets"))

        busy_thread = threading.Thread(target=call)
        busy_thread.start()
        time.sleep(1.0)  # the first file is in the checker now
        monkeypatch.setenv("RESILIENCE_CHECKER_QUEUE_S", "0.5")
        with pytest.raises(CheckerBusy, match=f"^{BUSY}"):
            checker.prepare_upload(folder, DATA, "a.csv", "assets")
        busy_thread.join(300)
        assert first and first[0].report == check_upload(DATA, "a.csv", "assets").report
    finally:
        checker.stop(folder)
        thread.join(60)
