"""Everything the pages read, cached by the versions that produced it and by the tenant.

One ``Context`` per database file lives in ``st.cache_resource`` (DuckDB allows one read-write
process; each Streamlit session thread gets its own cursor from the store). Results of a run never
change, so they are cached in ``st.cache_data`` under the run id, and always under the caller's
scope or client id: tenant data is never cached under a key that lacks the tenant.

The reads themselves are the engine's (engine/context.py and engine/insights.py); this module
only caches them and holds no SQL.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
import streamlit as st

from engine.context import Context, default_db_path
from engine.errors import StoreError
from engine.insights import (
    ImpactRow,
    Improvement,
    MapData,
    exposure_index,
    exposure_map,
    impact,
    improvements,
    previous_run_id,
    top_drivers,
)
from engine.models import Explanation, Rating, RunInfo, ScenarioRow
from engine.review import Flag, outside_places
from engine.store import Scope, postgres_url

ScopeKey = tuple[str, ...] | None
ReportFormat = Literal["pdf", "html"]


# -- the database ---------------------------------------------------------------------------------


def db_path(argv: list[str] | None = None) -> Path:
    """``--db PATH`` after ``--`` on the streamlit command line, else $RESILIENCE_DB, else the
    default ``data/resilience.duckdb``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.db:
        return Path(args.db)
    if os.environ.get("RESILIENCE_DB"):
        return Path(os.environ["RESILIENCE_DB"])
    return default_db_path()


@st.cache_resource(show_spinner="Opening the database...")
def _open(db: str) -> Context:
    _start_checker(db)
    ctx = Context(db)
    try:
        ctx.rules_version()
    except StoreError:
        ctx.init()  # an empty file: default rules and the seed register
    from engine.history import ensure_baseline

    ensure_baseline(ctx)  # the ratings a rating history starts from (once)
    return ctx


def _start_checker(db: str) -> None:
    """Start the store's upload checker service now (in the background) and keep it alive while
    this server runs, so that the first upload finds a warmed-up checker waiting."""
    from exposures.upload import checker, sandbox

    if checker.mode() == "local":
        sandbox.keep_warm(True)  # a warmed-up sandbox child of this process waits instead
        return

    def start() -> None:
        try:
            checker.ensure_started(checker.service_dir(db), keep_alive_pid=os.getpid())
        except Exception:  # an upload will say why (or check the file in a child of its own)
            logging.getLogger(__name__).exception("the upload checker did not start")

    threading.Thread(target=start, name="upload-checker-start", daemon=True).start()


def context() -> Context:
    """The one open context of this process (for the database chosen on the command line)."""
    return _open(db_key())


def db_key() -> str:
    """The database file's absolute path, or the PostgreSQL URL (``--db postgresql://...``)."""
    chosen = db_path()
    return postgres_url(chosen) or str(chosen.resolve())


def scope_key(scope: Scope) -> ScopeKey:
    return None if scope.client_ids is None else tuple(sorted(scope.client_ids))


def scope_from_key(key: ScopeKey) -> Scope:
    return Scope.everything() if key is None else Scope.of(*key)


# -- runs -----------------------------------------------------------------------------------------


def current_run(scenario_id: str | None = None) -> RunInfo:
    """The run on the current register, rules and exposures (scored once, then reused)."""
    return context().current_run(scenario_id)


@st.cache_data(max_entries=512, show_spinner=False)
def ratings(db: str, run_id: int, scope: ScopeKey) -> list[Rating]:
    return _open(db).ratings(run_id, scope_from_key(scope))


@st.cache_data(max_entries=256, show_spinner=False)
def _top_drivers(db: str, run_id: int, scope: ScopeKey) -> dict[str, tuple[str, str, float]]:
    return top_drivers(_open(db), run_id, scope_from_key(scope))


@dataclass(frozen=True)
class PortfolioRow:
    rank: int
    rating: Rating
    previous_score: float | None
    previous_band: str | None
    driver: str
    driver_share: float

    @property
    def change(self) -> float | None:
        if self.previous_score is None:
            return None
        return self.rating.score - self.previous_score


@st.cache_data(max_entries=256, show_spinner=False)
def portfolio(db: str, run_id: int, scope: ScopeKey) -> tuple[list[PortfolioRow], int | None]:
    """Every client in scope ranked worst first, with the change since the previous run."""
    ctx = _open(db)
    run = ctx.run_info(run_id)
    prev_id = previous_run_id(ctx, run)
    prev = {r.client_id: r for r in ratings(db, prev_id, scope)} if prev_id else {}
    drivers = _top_drivers(db, run_id, scope)
    rows = []
    for i, r in enumerate(ratings(db, run_id, scope), start=1):
        p = prev.get(r.client_id)
        d = drivers.get(r.client_id)
        rows.append(
            PortfolioRow(
                rank=i,
                rating=r,
                previous_score=p.score if p else None,
                previous_band=p.band if p else None,
                driver=f"{d[1]} ({d[2]:.0%})" if d else "-",
                driver_share=d[2] if d else 0.0,
            )
        )
    return rows, prev_id


@st.cache_data(max_entries=256, show_spinner=False)
def explanation(db: str, run_id: int, client_id: str, top: int = 10) -> Explanation:
    """Cached under the client id (the tenant); callers check the scope first."""
    return _open(db).explain(client_id, run_id, top=top, scope=Scope.of(client_id))


def explain_for(scope: Scope, client_id: str, run_id: int, top: int = 10) -> Explanation:
    scope.require(client_id)
    return explanation(db_key(), run_id, client_id, top)


@st.cache_data(max_entries=128, show_spinner=False)
def _compare(
    db: str, scenario_id: str, scenario_version: int, base_run_id: int, scope: ScopeKey
) -> list[ScenarioRow]:
    # The base run id pins the register, rules, exposures and date the scenario is applied to;
    # the scenario version, which text of the scenario (an analyst's edit is a new version).
    return _open(db).compare_scenario(scenario_id, scope=scope_from_key(scope))


def compare_scenario(scenario_id: str, scope: Scope) -> list[ScenarioRow]:
    version = context().scenario_version(scenario_id)
    return _compare(db_key(), scenario_id, version, current_run().run_id, scope_key(scope))


@st.cache_data(max_entries=256, show_spinner=False)
def _index(db: str, run_id: int, scope: ScopeKey) -> pl.DataFrame:
    return exposure_index(_open(db), run_id, scope_from_key(scope))


def index_for(scope: Scope, run_id: int) -> pl.DataFrame:
    """Which threats reach which of the scope's clients, and in which regions."""
    return _index(db_key(), run_id, scope_key(scope))


# -- maps -----------------------------------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def _map(db: str, run_id: int, scope: ScopeKey) -> MapData:
    return exposure_map(_open(db), run_id, scope_from_key(scope))


def map_for(scope: Scope, run_id: int) -> MapData:
    return _map(db_key(), run_id, scope_key(scope))


def client_map(scope: Scope, client_id: str, run_id: int) -> MapData:
    scope.require(client_id)
    return _map(db_key(), run_id, (client_id,))


# -- what would most improve a rating -------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def _improvements(db: str, run_id: int, client_id: str) -> list[Improvement]:
    return improvements(_open(db), run_id, client_id)


def improvements_for(scope: Scope, client_id: str, run_id: int) -> list[Improvement]:
    scope.require(client_id)
    return _improvements(db_key(), run_id, client_id)


# -- register, rules and exposures ----------------------------------------------------------------


def section_headings(ctx: Context, register_version: int) -> dict[tuple[str | None, str], str]:
    """Section headings by (brief id, section id); (None, section id) for the first brief, which
    runs scored before briefs were recorded cite without an id."""
    reg = ctx.register(register_version)
    out: dict[tuple[str | None, str], str] = {}
    for b in reg.all_briefs():
        for s in b.outline:
            out[(b.id, s.id)] = s.heading
    for s in reg.outline:
        out[(None, s.id)] = s.heading
    return out


def exposure_versions(ctx: Context, client_id: str, scope: Scope) -> pl.DataFrame:
    """A client's exposure versions, newest first, with which one is current."""
    versions = ctx.exposure_history(client_id, scope=scope)
    rows = [
        {
            "version": v.version,
            "created": v.created_at,
            "note": v.note,
            "assets": v.n_assets,
            "routes": v.n_routes,
            "current": v.current,
        }
        for v in sorted(versions, key=lambda v: -v.version)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "version": pl.Int64,
            "created": pl.Datetime,
            "note": pl.String,
            "assets": pl.Int64,
            "routes": pl.Int64,
            "current": pl.Boolean,
        },
    )


def has_report() -> bool:
    try:
        from engine import report
    except ImportError:
        return False
    return hasattr(report, "render_client_report")


@st.cache_data(max_entries=64, show_spinner="Rendering the report...")
def client_report(db: str, run_id: int, client_id: str, fmt: ReportFormat = "pdf") -> bytes:
    """The client report of one run (cached per run and client: the tenant is in the key)."""
    from engine import report

    return bytes(report.render_client_report(_open(db), client_id, fmt=fmt, run_id=run_id))


def report_for(scope: Scope, client_id: str, run_id: int, fmt: ReportFormat = "pdf") -> bytes:
    scope.require(client_id)
    return client_report(db_key(), run_id, client_id, fmt)


def _download_ttl_s() -> float:
    try:
        return max(1.0, float(os.environ.get("RESILIENCE_DOWNLOAD_TTL_S", "60")))
    except ValueError:
        return 60.0


DOWNLOAD_TTL_S = _download_ttl_s()


def expire_downloads_soon() -> None:
    """Make the file a download button just generated unreachable after ``DOWNLOAD_TTL_S``.

    A deferred download (``st.download_button(data=callable)``) is generated when its session
    clicks, served once at a fresh random URL, and kept by Streamlit until later script runs
    sweep it. This sweeps twice after the TTL (Streamlit marks an unreferenced download, then
    deletes it), so the URL works for the browser that asked for it and not for long after.
    """
    from streamlit import runtime

    if not runtime.exists():
        return
    manager = runtime.get_instance().media_file_mgr

    def sweep() -> None:
        manager.remove_orphaned_files()
        manager.remove_orphaned_files()

    timer = threading.Timer(DOWNLOAD_TTL_S, sweep)
    timer.daemon = True
    timer.start()


# -- what a draft would change --------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def _impact(db: str, before_run: int, after_run: int, scope: ScopeKey) -> list[ImpactRow]:
    return impact(_open(db), before_run, after_run, scope_from_key(scope))


def impact_for(scope: Scope, before_run: int, after_run: int) -> list[ImpactRow]:
    return _impact(db_key(), before_run, after_run, scope_key(scope))


@st.cache_data(max_entries=64, show_spinner=False)
def _brief_flags(
    db: str,
    before_run: int,
    after_run: int,
    register_version: int,
    threat_ids: tuple[str, ...],
    scope: ScopeKey,
) -> list[Flag]:
    ctx = _open(db)
    who = scope_from_key(scope)
    rows = ctx.compare_runs(before_run, after_run, who)
    return outside_places(ctx, rows, after_run, ctx.register(register_version), threat_ids, who)


def brief_flags(
    scope: Scope, before_run: int, after_run: int, register_version: int, threat_ids: list[str]
) -> list[Flag]:
    """Moved clients none of whose places the brief's accepted threats name."""
    return _brief_flags(
        db_key(),
        before_run,
        after_run,
        register_version,
        tuple(sorted(threat_ids)),
        scope_key(scope),
    )
