"""Downloads on the pages: the client report (PDF, HTML), the client export (CSV, XLSX) and the
portfolio report (PDF).

Every file is made from one run, and runs never change, so each is made once per server process
and kept in memory under (database, run, client or the user's scope, format): a second download,
by the same user or another allowed one, is served at once. The client's PDF and HTML reports are
started in the background (one worker thread) as soon as the Client page shows, and the renderer
is warmed up when the server starts, so a click mostly finds the file ready; a click never starts
a second render of a file already being made. The worker takes the file asked for last first (the
page the person looks at now before a page they left), and a click on a file still waiting in the
queue makes it at once, in the click's own thread, instead of waiting behind other reports.

A download address exists only after a click (``st.download_button`` with a callable): the
callable checks the user again in the database, so someone disabled or taken off the client
since the page was drawn gets nothing, and the address expires soon after
(``data.expire_downloads_soon``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from app import data
from app.session import AppUser
from engine.auth import active_user, scope_for
from engine.context import Context
from engine.errors import AccessDenied
from engine.store import Scope

log = logging.getLogger(__name__)

Kind = Literal["pdf", "html", "csv", "xlsx"]
KEEP = 64  # files kept per process (a demo-book client PDF is about 0.4 MB)
WAIT_S = 300.0

_JOBS: dict[tuple[object, ...], Future[bytes]] = {}
_PENDING: dict[tuple[object, ...], Callable[[], bytes]] = {}  # not started, oldest first
_LOCK = threading.Lock()
_READY = threading.Condition(_LOCK)
_WORKER: list[threading.Thread] = []
_WARM: list[Future[float]] = []


def _run(future: Future[Any], make: Callable[[], Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(make())
    except BaseException as exc:  # handed to whoever waits for the file
        log.warning("preparing a download failed: %s", exc)
        future.set_exception(exc)


def _work() -> None:
    """The background worker: the job asked for last runs first (the page the person looks at
    now goes before a report prepared for a page they have left)."""
    while True:
        with _READY:
            while not _PENDING:
                _READY.wait()
            key = next(reversed(_PENDING))
            make = _PENDING.pop(key)
            future = _JOBS[key]
        _run(future, make)


def _submit(key: tuple[object, ...], make: Callable[[], Any]) -> Future[Any]:
    """Queue ``make`` under ``key`` (the caller holds the lock)."""
    future: Future[Any] = Future()
    _JOBS[key] = future
    _PENDING[key] = make
    if not _WORKER:
        worker = threading.Thread(target=_work, name="report", daemon=True)
        _WORKER.append(worker)
        worker.start()
    _READY.notify()
    return future


@dataclass(frozen=True)
class Export:
    kind: Kind
    label: str
    mime: str
    icon: str


CLIENT_EXPORTS = (
    Export("pdf", "Download the report (PDF)", "application/pdf", ":material/picture_as_pdf:"),
    Export("html", "Download the report (HTML)", "text/html", ":material/html:"),
    Export(
        "xlsx",
        "Download the workbook (XLSX)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ":material/table_view:",
    ),
    Export("csv", "Download the items (CSV)", "text/csv", ":material/csv:"),
)


def warm_up() -> None:
    """Load the report renderer in the background, once per server process
    (``RESILIENCE_REPORT_WARMUP=0`` turns it off, as the page tests do)."""
    if os.environ.get("RESILIENCE_REPORT_WARMUP", "1") == "0":
        return
    with _LOCK:
        if _WARM:
            return
        from engine.report.render import warm_up as warm

        _WARM.append(_submit(("warm-up",), warm))


def _job(key: tuple[object, ...], make: Callable[[], bytes]) -> Future[bytes]:
    """The file under ``key``: made once (a failed attempt is tried again), kept for reuse. A
    file asked for again before it started moves to the front of the queue."""
    with _LOCK:
        job = _JOBS.get(key)
        if job is None or (job.done() and job.exception() is not None):
            job = _submit(key, make)
            done = [k for k, f in _JOBS.items() if f.done()]
            for k in done[: max(0, len(_JOBS) - KEEP)]:
                _JOBS.pop(k)
        elif key in _PENDING:
            _PENDING[key] = _PENDING.pop(key)  # last asked for: next to run
            _READY.notify()
        return job


def _now(key: tuple[object, ...], make: Callable[[], bytes]) -> Future[bytes]:
    """The file under ``key`` for a click: when it is still waiting in the queue (behind the
    report of another page), it is made at once in the click's own thread."""
    job = _job(key, make)
    with _LOCK:
        waiting = _PENDING.pop(key, None)
    if waiting is not None:
        _run(job, waiting)
    return job


def _client_file(
    ctx: Context, client_id: str, run_id: int, kind: Kind, *, now: bool = False
) -> Future[bytes]:
    from engine import report

    def make() -> bytes:
        if kind in ("pdf", "html"):
            fmt: Literal["pdf", "html"] = "pdf" if kind == "pdf" else "html"
            return bytes(report.render_client_report(ctx, client_id, fmt=fmt, run_id=run_id))
        table: Literal["csv", "xlsx"] = "csv" if kind == "csv" else "xlsx"
        return bytes(report.export_client(ctx, client_id, table, run_id=run_id))

    return (_now if now else _job)((data.db_key(), "client", run_id, client_id, kind), make)


def prepare_client(user: AppUser, client_id: str, run_id: int) -> None:
    """Start the client's reports in the background (nothing is shown or sent); the PDF is
    queued last, so it is the next to be made."""
    user.scope.require(client_id)
    ctx = data.context()
    for kind in ("html", "pdf"):
        _client_file(ctx, client_id, run_id, kind)


def _allowed(ctx: Context, username: str) -> Scope:
    """The user's scope as the database has it now (a click can come long after the page)."""
    now = active_user(ctx, username)
    if now is None:
        raise AccessDenied("signed out")
    return scope_for(now)


def client_downloads(user: AppUser, client_id: str, run_id: int) -> None:
    """One button per export of the client, each usable again and again."""
    if not data.has_report():
        st.caption("The downloadable client report is not available in this build yet.")
        return
    user.scope.require(client_id)
    ctx = data.context()
    username = user.username
    prepare_client(user, client_id, run_id)
    cols = st.columns(len(CLIENT_EXPORTS))
    for col, export in zip(cols, CLIENT_EXPORTS, strict=True):

        def build(kind: Kind = export.kind) -> bytes:
            # runs on a server thread when the button is clicked
            _allowed(ctx, username).require(client_id)
            out = _client_file(ctx, client_id, run_id, kind, now=True).result(timeout=WAIT_S)
            data.expire_downloads_soon()
            return out

        col.download_button(
            export.label,
            build,
            file_name=f"{client_id}-resilience-run{run_id}.{export.kind}",
            mime=export.mime,
            key=f"download_{export.kind}",
            on_click="ignore",
            icon=export.icon,
            width="stretch",
        )
    st.caption(
        "The report explains the rating for the client (ready to send); the workbook and the CSV "
        "hold every site and route with its risk, top threat and region."
    )


def portfolio_download(user: AppUser, run_id: int) -> None:
    """The portfolio report of the user's book (its scope now, at the click)."""
    if not data.has_report():
        return
    ctx = data.context()
    username = user.username

    def make_for(scope: Scope) -> Callable[[], bytes]:
        def make() -> bytes:
            from engine import report

            ids = None if scope.client_ids is None else sorted(scope.client_ids)
            return bytes(report.render_portfolio_report(ctx, fmt="pdf", client_ids=ids))

        return make

    def build() -> bytes:
        scope = _allowed(ctx, username)
        key = (data.db_key(), "portfolio", run_id, data.scope_key(scope))
        out = _now(key, make_for(scope)).result(timeout=WAIT_S)
        data.expire_downloads_soon()
        return out

    key = (data.db_key(), "portfolio", run_id, data.scope_key(user.scope))
    _job(key, make_for(user.scope))  # start it now: ready by the time it is asked for
    st.download_button(
        "Portfolio report (PDF)",
        build,
        file_name=f"portfolio-resilience-run{run_id}.pdf",
        mime="application/pdf",
        key="download_portfolio",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
    )
