"""The download queue of app/exports.py: the file asked for last is made first, and a click on
a file still waiting is made at once in the click's thread (never behind another report)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app import exports


def test_the_last_asked_for_goes_first_and_a_click_does_not_wait_in_the_queue() -> None:
    started, release = threading.Event(), threading.Event()
    order: list[str] = []
    threads: dict[str, str] = {}

    def blocker() -> bytes:
        started.set()
        release.wait(30)
        return b"busy"

    def make(name: str) -> Callable[[], bytes]:
        def run() -> bytes:
            order.append(name)
            threads[name] = threading.current_thread().name
            return name.encode()

        return run

    busy = exports._job(("test", "busy"), blocker)
    assert started.wait(30)  # the worker is busy with another page's report
    portfolio = exports._job(("test", "portfolio"), make("portfolio"))
    client = exports._job(("test", "client"), make("client"))
    html = exports._job(("test", "html"), make("html"))
    exports._job(("test", "client"), make("client"))  # the page shows again: client is next
    clicked = exports._now(("test", "html"), make("html"))  # clicked while still queued
    assert clicked is html and clicked.done() and clicked.result() == b"html"
    assert threads["html"] == threading.current_thread().name
    release.set()
    assert busy.result(30) == b"busy"
    assert client.result(30) == b"client" and portfolio.result(30) == b"portfolio"
    assert order == ["html", "client", "portfolio"]
    assert threads["client"] == threads["portfolio"] == "report"
    # made once: asking again hands back the same file, nothing is made again
    assert exports._job(("test", "client"), make("client")) is client
    assert exports._now(("test", "portfolio"), make("portfolio")).result() == b"portfolio"
    assert order == ["html", "client", "portfolio"]


def test_a_failed_file_is_made_again_when_asked_for() -> None:
    calls: list[int] = []

    def flaky() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the renderer fell over")
        return b"%PDF"

    first = exports._now(("test", "flaky"), flaky)
    assert isinstance(first.exception(30), RuntimeError)
    assert exports._now(("test", "flaky"), flaky).result(30) == b"%PDF"
    assert len(calls) == 2
