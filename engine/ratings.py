"""Ratings out of a run, and the what-if scores that reuse a run's rules and profiles (the
``Context``'s rating, comparison and re-scoring methods call these).

Every function that reads client data takes the caller's ``Scope``; nothing here defaults to the
whole book.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import queries, queries_runs
from engine.errors import NotFoundError
from engine.models import Rating, ScenarioRow
from engine.scoring import only, rescore_one, score_params
from engine.store import Scope

if TYPE_CHECKING:
    from engine.context import Context


def ratings(ctx: Context, run_id: int, scope: Scope) -> list[Rating]:
    where, ids = scope.sql("rc.client_id")
    frame = ctx.store.frame(
        queries_runs.ratings_sql(where),
        {"r": run_id} | ({"scope_ids": ids} if ids is not None else {}),
    )
    return [Rating(**row) for row in frame.iter_rows(named=True)]


def rating(ctx: Context, run_id: int, client_id: str, scope: Scope) -> Rating:
    scope.require(client_id)
    for r in ratings(ctx, run_id, Scope.of(client_id)):
        return r
    ctx.client(client_id, Scope.of(client_id))
    raise NotFoundError(f"client {client_id!r} has no exposures in run {run_id}")


def compare_runs(ctx: Context, before_run: int, after_run: int, scope: Scope) -> list[ScenarioRow]:
    """Each client's rating in two runs, the biggest fall first."""
    before = {r.client_id: r for r in ratings(ctx, before_run, scope)}
    rows = [
        ScenarioRow(client_id=a.client_id, name=a.name, before=before[a.client_id], after=a)
        for a in ratings(ctx, after_run, scope)
        if a.client_id in before
    ]
    return sorted(rows, key=lambda r: (r.after.score - r.before.score, r.client_id))


def compare_scenario(
    ctx: Context, scenario_id: str, as_of: dt.date | None, scope: Scope
) -> list[ScenarioRow]:
    scope.sql()  # no scope given: refused before anything is scored
    ctx.scenario(scenario_id)
    before = ctx.current_run(None, as_of).run_id
    return compare_runs(ctx, before, ctx.current_run(scenario_id, as_of).run_id, scope)


def preview(
    ctx: Context, *, register_version: int | None, rules_version: int | None, scope: Scope
) -> list[ScenarioRow]:
    """Which ratings a draft register or rules version would move, against the current run."""
    scope.sql()  # no scope given: refused before anything is scored
    before = ctx.current_run().run_id
    draft = ctx.run(register_version=register_version, rules_version=rules_version)
    return compare_runs(ctx, before, draft.run_id, scope)


def score_items(ctx: Context, run_id: int, variants: list[list[dict[str, Any]]]) -> list[float]:
    """Scores of item sets under a run's rules, aggregated by the engine's CLIENTS SQL.

    Each variant is a list of items with their ``weight`` (value over business value, as the run
    weighed them), ``criticality`` and central ``risk``; used to ask what one change to one item
    would do to a rating, without a second copy of the aggregation.
    """
    run = ctx.run_info(run_id)
    rules = ctx.rules(run.rules_version)
    rows = [
        {
            "variant": v,
            "idx": i,
            "weight": float(it["weight"]),
            "crit": int(it["criticality"]),
            "risk": float(it["risk"]),
        }
        for v, items in enumerate(variants)
        for i, it in enumerate(items)
    ]
    if not rows:
        return [100.0 for _ in variants]
    sql = queries.clients_sql(
        queries_runs.VARIANT_CLASSES, queries_runs.VARIANT_PROFILES, bands=False
    )
    params = only(score_params(run_id, run.rules_version, rules), sql)
    with ctx.store.transaction() as cur:
        cur.register("score_variants", pl.DataFrame(rows).to_arrow())
        try:
            got = dict(
                cur.execute(
                    f"SELECT client_id::INTEGER, score FROM ({sql})",  # noqa: S608
                    params,
                ).fetchall()
            )
        finally:
            cur.unregister("score_variants")
    return [float(got.get(v, 100.0)) for v in range(len(variants))]


def rescore_client(
    ctx: Context, run_id: int, client_id: str, *, version: int | None
) -> dict[str, Any]:
    """Re-score one client's exposures against a run's threats and rules (what-if).

    Scores the client's current exposure version, or ``version``. Nothing is written. Risk
    profiles the client had in the run are reused; any it has that the run did not (its
    exposures changed since) are scored on the spot (``engine.scoring.rescore_one``).
    """
    source = queries.CURRENT_EXPOSURES if version is None else queries.ONE_VERSION
    with ctx.store.session() as cur:  # one unit of work: the run's row and the re-score
        run = ctx.run_info(run_id)
        rules = ctx.rules(run.rules_version)
        params = score_params(run_id, run.rules_version, rules) | {
            "client_id": client_id,
            "version": version,
        }
        frame = rescore_one(cur, params, source)
    if frame.height == 0:
        raise NotFoundError(f"client {client_id!r} has no exposures in run {run_id}")
    row = frame.row(0, named=True)
    for key, score in (("band_low", "score_low"), ("band", "score"), ("band_high", "score_high")):
        row[key] = rules.band_for(row[score])
    return row
