"""Runs: score the book on a set of inputs once, store every result, and reuse it after.

A run's inputs (register, rules, scenario and gazetteer versions, the as-of date, the clients and
their exposure versions and details) digest into a key (``run_key``); the table ``run_keys``
holds one run per key, so every caller asking for the same inputs gets the same run
(engine/sql/schema_007_concurrency.sql). The ``Context``'s run methods call these.

A caller about to score first claims the key, in a short transaction of its own (``run_claims``,
engine/sql/schema_010_claims_drafts.sql); a second caller with the same key, in this process or
another, finds the claim and waits for the run instead of scoring it too, then reuses it. The
scorer renews its claim while it works; a claim not renewed for ``CLAIM_TTL_S`` (its process was
killed) is taken over. Runs of different keys go ahead side by side.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import queries_runs as q
from engine import versions
from engine.errors import ConflictError, NotFoundError, RuleError, StoreError
from engine.models import RunInfo
from engine.scoring import score_params, score_run
from scoring_rules.briefs import in_force
from scoring_rules.rules import Rules, check_register
from scoring_rules.scenarios import Scenario
from scoring_rules.threats import Register

if TYPE_CHECKING:
    from engine.context import Context

log = logging.getLogger(__name__)

# Runs of the same inputs in one process wait for each other (striped: a fixed set of locks);
# runs of different inputs go ahead side by side.
_RUN_LOCKS = tuple(threading.Lock() for _ in range(64))
# A claim whose scorer has not said it is alive for this long is taken over (a process killed
# mid-run); the scorer says so every third of it.
CLAIM_TTL_S = float(os.environ.get("RESILIENCE_RUN_CLAIM_S", "20"))
_OWNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class _Claim:
    """What claiming a key found: the stored run (``done``), our own claim, or another's."""

    key: str
    run_id: int
    done: bool = False
    mine: bool = False


def _claim(ctx: Context, inputs: dict[str, Any]) -> _Claim:
    """In one short transaction: the stored run of the inputs' key, else the key claimed for a
    new run (a claim left by a scorer that stopped saying it is alive is taken over), else the
    live claim of another caller."""
    with ctx.store.transaction() as cur:
        key = run_key(cur, inputs)
        found = cur.execute(q.RUN_OF_KEY, {"k": key}).fetchone()
        if found is not None:
            return _Claim(key, int(found[0]), done=True)
        held = cur.execute(q.CLAIM_OF_KEY, {"k": key}).fetchone()
        now = time.time()
        if held is not None and now - float(held[2]) < CLAIM_TTL_S:
            return _Claim(key, int(held[0]))
        run_id = ctx.store.next_value("run_ids")
        mine = {"k": key, "r": run_id, "o": f"{_OWNER}:{threading.get_ident()}", "t": now}
        if held is None:
            cur.execute(q.INSERT_CLAIM, mine)
        else:
            log.warning(
                "run key %s: %s stopped scoring run %s %.0f s ago; taking it over",
                key[:12],
                held[1],
                held[0],
                now - float(held[2]),
            )
            cur.execute(q.TAKE_OVER_CLAIM, mine | {"old": int(held[0])})
    return _Claim(key, run_id, mine=True)


def run_key(cur: Any, inputs: dict[str, Any]) -> str:
    """The key of a run's inputs, read inside the caller's transaction."""
    row = cur.execute(q.RUN_INPUTS, {"ids": inputs["ids"]}).fetchone()
    text = json.dumps(inputs | {"book": row[0] if row else ""}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(
    ctx: Context,
    scenario_id: str | None,
    as_of: dt.date | None,
    *,
    register_version: int | None,
    rules_version: int | None,
    client_ids: Iterable[str] | None,
    scenario_version: int | None,
) -> RunInfo:
    """The run of these inputs: the stored one, else scored and stored now."""
    started = time.perf_counter()
    reg_v, rules_v = versions.require_init(ctx)
    reg_v = register_version or reg_v
    rules_v = rules_version or rules_v
    register = ctx.register(reg_v)
    rules = ctx.rules(rules_v)
    scenario, sc_v = None, None
    if scenario_id:
        sc_v = scenario_version or ctx.scenario_version(scenario_id)
        scenario = ctx.scenario(scenario_id, sc_v)
        register = scenario.apply(register, f"scenario {scenario_id} v{sc_v}")
        check_register(register, rules, f"scenario {scenario_id} v{sc_v}")
    as_of = as_of or register.as_of
    _check_date(register, as_of)
    ids = sorted(set(client_ids)) if client_ids is not None else None
    inputs = _inputs(ctx, reg_v, rules_v, scenario_id, sc_v, as_of, ids)
    with _RUN_LOCKS[hash(json.dumps(inputs, sort_keys=True)) % len(_RUN_LOCKS)]:
        run_id = _obtain(ctx, inputs, register, rules, scenario, as_of, started)
    return run_info(ctx, run_id)


def _obtain(
    ctx: Context,
    inputs: dict[str, Any],
    register: Register,
    rules: Rules,
    scenario: Scenario | None,
    as_of: dt.date,
    started: float,
) -> int:
    """The id of the run for these inputs: the stored one, the one another caller is scoring
    (waited for), else claimed and scored now."""
    pause, failures = 0.02, 0
    while True:
        try:
            claim = _claim(ctx, inputs)
        except ConflictError:  # another caller claimed the same key at the same moment
            claim = None
        if claim is not None and claim.done:
            return claim.run_id
        if claim is not None and claim.mine:
            run_id = _score(ctx, claim, inputs, register, rules, scenario, as_of, started)
            if run_id is not None:
                return run_id
            failures += 1  # the book changed meanwhile, or a take-over raced ours: again
            if failures >= 8:
                raise ConflictError(
                    "the book kept changing while this run was being scored; nothing was "
                    "stored, try again"
                )
            continue
        time.sleep(pause)  # another caller scores this run: wait for it
        pause = min(pause * 2, 0.25)


def _inputs(
    ctx: Context,
    reg_v: int,
    rules_v: int,
    scenario_id: str | None,
    sc_v: int | None,
    as_of: dt.date,
    ids: list[str] | None,
) -> dict[str, Any]:
    return {
        "reg": reg_v,
        "rules": rules_v,
        "sc": scenario_id,
        "sc_v": sc_v,
        "as_of": as_of.isoformat(),
        "gaz": ctx.gazetteer_version(),
        "ids": ids,
    }


def _score(
    ctx: Context,
    claim: _Claim,
    inputs: dict[str, Any],
    register: Register,
    rules: Rules,
    scenario: Scenario | None,
    as_of: dt.date,
    started: float,
) -> int | None:
    """Score and store the claimed run, in one transaction with its key (so the exposure versions
    in the key are the run's own); none when the inputs' key moved since the claim."""
    threats, regions = run_threats(claim.run_id, register, rules, as_of, scenario)
    beat = _Heartbeat(ctx, claim)
    beat.start()
    try:
        with ctx.store.transaction() as cur:
            if run_key(cur, inputs) != claim.key:  # a client's exposures changed meanwhile
                return None
            cur.execute(q.INSERT_KEY, {"k": claim.key, "r": claim.run_id})
            ctx.scored_runs.append(claim.run_id)
            _score_in(ctx, cur, claim.run_id, inputs, threats, regions, rules, as_of, started)
    except ConflictError:
        # another caller took the claim over and stored the run first: reuse it
        taken = ctx.store.one(q.RUN_OF_KEY, {"k": claim.key})
        return None if taken is None else int(taken)
    finally:
        beat.stop()
        _release(ctx, claim)
    return claim.run_id


class _Heartbeat:
    """Renews a claim every third of ``CLAIM_TTL_S`` while its run is scored."""

    def __init__(self, ctx: Context, claim: _Claim) -> None:
        self._ctx, self._claim = ctx, claim
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-claim", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        params = {"k": self._claim.key, "r": self._claim.run_id}
        while not self._stopped.wait(CLAIM_TTL_S / 3):
            try:
                self._ctx.store.execute(q.RENEW_CLAIM, params | {"t": time.time()})
            except StoreError as exc:  # a take-over raced it: the run's commit decides
                log.info("run claim %s not renewed: %s", self._claim.key[:12], exc)


def _release(ctx: Context, claim: _Claim) -> None:
    """The claim ends (the run is stored, or scoring failed: another caller may score it)."""
    try:
        ctx.store.execute(q.RELEASE_CLAIM, {"k": claim.key, "r": claim.run_id})
    except StoreError as exc:  # left behind, it expires: CLAIM_TTL_S
        log.warning("run claim %s not released: %s", claim.key[:12], exc)


def _score_in(
    ctx: Context,
    cur: Any,
    run_id: int,
    inputs: dict[str, Any],
    threats: pl.DataFrame,
    regions: pl.DataFrame,
    rules: Rules,
    as_of: dt.date,
    started: float,
) -> None:
    """Store and score a run inside the caller's transaction."""
    cur.execute(
        q.INSERT_RUN,
        {
            "r": run_id,
            "reg": inputs["reg"],
            "rules": inputs["rules"],
            "sc": inputs["sc"],
            "as_of": as_of,
            "sc_v": inputs["sc_v"],
            "gaz_v": inputs["gaz"],
        },
    )
    cur.execute(q.RUN_EXPOSURES, {"r": run_id, "ids": inputs["ids"]})
    ctx.store.insert_frame(cur, "run_threats", threats)
    ctx.store.insert_frame(cur, "run_threat_regions", regions)
    score_run(cur, score_params(run_id, inputs["rules"], rules))
    n = cur.execute(q.RUN_CLIENT_COUNT, {"r": run_id}).fetchone()
    cur.execute(
        q.FINISH_RUN, {"n": n[0] if n else 0, "s": time.perf_counter() - started, "r": run_id}
    )


def run_info(ctx: Context, run_id: int) -> RunInfo:
    row = ctx.store.execute(q.RUN_INFO, {"r": run_id}).fetchone()
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return RunInfo(**dict(zip(q.RUN_INFO_COLUMNS, row, strict=True)))


def current_run(ctx: Context, scenario_id: str | None, as_of: dt.date | None) -> RunInfo:
    """The run whose key is that of the current inputs (the same versions, clients, exposure
    versions and client details); scored now if there is none. The look-up is one unit of work
    (every page asks it on every rerun)."""
    with ctx.store.session():
        reg_v, rules_v = versions.require_init(ctx)
        as_of = as_of or ctx.register(reg_v).as_of
        sc_v = ctx.scenario_version(scenario_id) if scenario_id else None
        inputs = _inputs(ctx, reg_v, rules_v, scenario_id, sc_v, as_of, None)
        with ctx.store.transaction() as cur:
            row = cur.execute(q.RUN_OF_KEY, {"k": run_key(cur, inputs)}).fetchone()
        if row is not None:
            return run_info(ctx, int(row[0]))
    return ctx.run(scenario_id, as_of, scenario_version=sc_v)


# -- the threats a run scores ----------------------------------------------------------------------

_LIST_STR = pl.List(pl.String)
_THREAT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.Int32,
    "threat_id": pl.String,
    "category": pl.String,
    "title": pl.String,
    "likelihood": pl.String,
    "likelihood_words": pl.String,
    "p_low": pl.Float64,
    "p_central": pl.Float64,
    "p_high": pl.Float64,
    "severity": pl.Int32,
    "in_horizon": pl.Boolean,
    "months_elapsed": pl.Float64,
    "horizon_from": pl.Float64,
    "horizon_to": pl.Float64,
    "untargeted": pl.Boolean,
    "t_affiliations": _LIST_STR,
    "t_sectors": _LIST_STR,
    "t_asset_types": _LIST_STR,
    "t_commodities": _LIST_STR,
    "evidence": pl.String,
    "from_scenario": pl.Boolean,
}


def _check_date(register: Register, as_of: dt.date) -> None:
    first = min(b.date for b in register.all_briefs())
    if as_of < first:
        raise RuleError(
            f"as of {as_of}: the register's earliest brief is dated {first}; a run cannot look "
            "at a date before the brief was written"
        )


def run_threats(
    run_id: int, register: Register, rules: Rules, as_of: dt.date, scenario: Scenario | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of run_threats and run_threat_regions: each judgement with its likelihood range,
    its horizon in months from its own brief, its targets and the evidence it cites."""
    _check_date(register, as_of)
    added = set()
    if scenario is not None:  # the stored version the run records
        added = {t.id for t in scenario.added_threats}
    days = rules.horizon.days_per_month
    threats, regions = [], []
    for t in register.threats:
        rng = rules.likelihood.range_for(t.likelihood)
        brief = register.brief_of(t)
        cited = {
            "brief": brief.id,
            "brief_title": brief.title,
            "publisher": brief.publisher,
            "brief_date": brief.date.isoformat(),
        }
        # months from the threat's own brief; an analyst's expiry ends the horizon early (after
        # it the judgement is expired and counts as last judged until retired)
        horizon_to = (register.expiry(t, days) - brief.date).days / days
        threats.append(
            {
                "run_id": run_id,
                "threat_id": t.id,
                "category": t.category,
                "title": t.title,
                "likelihood": t.likelihood,
                "likelihood_words": t.likelihood_words,
                "p_low": rng.low,
                "p_central": rng.central,
                "p_high": rng.high,
                "severity": t.severity,
                "in_horizon": in_force(register, t, as_of, days),
                "months_elapsed": (as_of - brief.date).days / days,
                "horizon_from": t.horizon.from_months,
                "horizon_to": max(horizon_to, t.horizon.from_months + 1e-6),
                "untargeted": t.targets.is_empty(),
                "t_affiliations": t.targets.affiliations,
                "t_sectors": t.targets.sectors,
                "t_asset_types": t.targets.asset_types,
                "t_commodities": t.targets.commodities,
                "evidence": json.dumps([{**e.model_dump(), **cited} for e in t.evidence]),
                "from_scenario": t.id in added,
            }
        )
        regions += [
            {"run_id": run_id, "threat_id": t.id, "region_id": r.region, "intensity": r.intensity}
            for r in t.regions
        ]
    return pl.DataFrame(threats, schema=_THREAT_SCHEMA), pl.DataFrame(regions)
