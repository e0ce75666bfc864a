"""Everything the pages read, cached by the versions that produced it and by the tenant.

One ``Context`` per database file lives in ``st.cache_resource`` (DuckDB allows one read-write
process; each Streamlit session thread gets its own cursor from the store). Results of a run never
change, so they are cached in ``st.cache_data`` under the run id, and always under the caller's
scope or client id: tenant data is never cached under a key that lacks the tenant.

The few reads the facade does not offer yet are written here as functions that take the context
and use ``ctx.store.frame`` with bound parameters and the store's tenant filter (``Scope.sql``).
They are marked ``ENGINE-CANDIDATE``: the engine should own them (see the lead's notes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
import streamlit as st

from engine.context import Context, default_db_path, describe_route
from engine.errors import StoreError
from engine.models import Explanation, Rating, RunInfo, ScenarioRow
from engine.store import Scope
from exposures.gazetteer import load_gazetteer
from exposures.routes import RouteInfo

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
    ctx = Context(db)
    try:
        ctx.rules_version()
    except StoreError:
        ctx.init()  # an empty file: default rules and the seed register
    return ctx


def context() -> Context:
    """The one open context of this process (for the database chosen on the command line)."""
    return _open(str(db_path().resolve()))


def db_key() -> str:
    return str(db_path().resolve())


def scope_key(scope: Scope) -> ScopeKey:
    return None if scope.client_ids is None else tuple(sorted(scope.client_ids))


def scope_from_key(key: ScopeKey) -> Scope:
    return Scope.everything() if key is None else Scope.of(*key)


# -- runs -----------------------------------------------------------------------------------------


def current_run(scenario_id: str | None = None) -> RunInfo:
    """The run on the current register, rules and exposures (scored once, then reused)."""
    return context().current_run(scenario_id)


def previous_run_id(ctx: Context, run: RunInfo) -> int | None:
    """ENGINE-CANDIDATE: the latest earlier run of the same scenario and date on published
    versions (draft previews are not "previous runs"), or None."""
    v = ctx.store.one(
        """
        SELECT max(r.run_id) FROM runs r
        WHERE r.run_id < $r AND r.scenario_id IS NOT DISTINCT FROM $sc AND r.as_of = $as_of
          AND (r.rules_version = $rules OR EXISTS (SELECT 1 FROM rules_versions v
               WHERE v.version = r.rules_version AND v.status = 'published'))
          AND (r.register_version = $reg OR EXISTS (SELECT 1 FROM register_versions v
               WHERE v.version = r.register_version AND v.status = 'published'))
        """,
        {
            "r": run.run_id,
            "sc": run.scenario_id,
            "as_of": run.as_of,
            "rules": run.rules_version,
            "reg": run.register_version,
        },
    )
    return None if v is None else int(v)


@st.cache_data(max_entries=512, show_spinner=False)
def ratings(db: str, run_id: int, scope: ScopeKey) -> list[Rating]:
    return _open(db).ratings(run_id, scope_from_key(scope))


@st.cache_data(max_entries=256, show_spinner=False)
def _top_drivers(db: str, run_id: int, scope: ScopeKey) -> dict[str, tuple[str, str, float]]:
    return top_drivers(_open(db), run_id, scope_from_key(scope))


def top_drivers(ctx: Context, run_id: int, scope: Scope) -> dict[str, tuple[str, str, float]]:
    """ENGINE-CANDIDATE: each client's biggest threat driver: (threat id, title, share)."""
    where, ids = scope.sql("k.client_id")
    frame = ctx.store.frame(
        f"""
        WITH t AS (
            SELECT k.client_id, c.threat_id, sum(k.value_usd * c.r_central) AS ed
            FROM run_classes k
            JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
            WHERE k.run_id = $r AND {where}
            GROUP BY ALL
        )
        SELECT t.client_id, arg_max(t.threat_id, t.ed) AS threat_id,
               max(t.ed) / nullif(sum(t.ed), 0) AS share
        FROM t GROUP BY t.client_id
        """,  # noqa: S608 - the fragment is the store's tenant filter
        {"r": run_id} | ({"scope_ids": ids} if ids is not None else {}),
    )
    titles = dict(
        ctx.store.rows("SELECT threat_id, title FROM run_threats WHERE run_id = $r", {"r": run_id})
    )
    return {
        r["client_id"]: (
            r["threat_id"],
            titles.get(r["threat_id"], r["threat_id"]),
            float(r["share"] or 0.0),
        )
        for r in frame.iter_rows(named=True)
    }


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
    return _open(db).explain(client_id, run_id, top=top)


def explain_for(scope: Scope, client_id: str, run_id: int, top: int = 10) -> Explanation:
    scope.require(client_id)
    return explanation(db_key(), run_id, client_id, top)


@st.cache_data(max_entries=128, show_spinner=False)
def _compare(db: str, scenario_id: str, base_run_id: int, scope: ScopeKey) -> list[ScenarioRow]:
    # The base run id pins the register, rules, exposures and date the scenario is applied to.
    return _open(db).compare_scenario(scenario_id, scope=scope_from_key(scope))


def compare_scenario(scenario_id: str, scope: Scope) -> list[ScenarioRow]:
    return _compare(db_key(), scenario_id, current_run().run_id, scope_key(scope))


# -- maps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapData:
    assets: pl.DataFrame  # client, name, kind, lat, lon, risk, value_usd, detail
    routes: pl.DataFrame  # client, route, name, seq, lon, lat, risk
    chokepoints: pl.DataFrame  # region_id, name, lon, lat, routes (count)


def exposure_map(ctx: Context, run_id: int, scope: Scope) -> MapData:
    """ENGINE-CANDIDATE: every site and sea route of the clients in scope in a run, with the
    item's central risk, for a map. Route geometry: routes.route_key -> route_cache.info."""
    where_a, ids = scope.sql("a.client_id")
    where_r, _ = scope.sql("r.client_id")
    p = {"r": run_id} | ({"scope_ids": ids} if ids is not None else {})
    assets = ctx.store.frame(
        f"""
        SELECT a.client_id, c.name AS client, a.asset_id AS item_id, a.name, a.asset_type,
               coalesce(a.city, '') || CASE WHEN a.city IS NULL THEN '' ELSE ', ' END
                   || coalesce(a.country_iso3, '?') AS place,
               a.lat, a.lon, a.value_usd, a.criticality, p.risk_central AS risk
        FROM assets a
        JOIN run_exposures x ON x.run_id = $r AND x.client_id = a.client_id
             AND x.version = a.version
        JOIN clients c ON c.client_id = a.client_id
        JOIN run_classes k ON k.run_id = $r AND k.client_id = a.client_id
             AND k.class_id = a.class_id
        JOIN run_profiles p ON p.run_id = $r AND p.profile_id = k.profile_id
        WHERE a.lat IS NOT NULL AND a.lon IS NOT NULL AND {where_a}
        ORDER BY p.risk_central DESC
        """,  # noqa: S608 - the fragment is the store's tenant filter
        p,
    )
    routes = ctx.store.frame(
        f"""
        SELECT r.client_id, c.name AS client, r.route_id AS item_id, r.name, r.commodity,
               r.annual_value_usd AS value_usd, p.risk_central AS risk, rc.info
        FROM routes r
        JOIN run_exposures x ON x.run_id = $r AND x.client_id = r.client_id
             AND x.version = r.version
        JOIN clients c ON c.client_id = r.client_id
        JOIN run_classes k ON k.run_id = $r AND k.client_id = r.client_id
             AND k.class_id = r.class_id
        JOIN run_profiles p ON p.run_id = $r AND p.profile_id = k.profile_id
        LEFT JOIN route_cache rc ON rc.route_key = r.route_key
        WHERE {where_r}
        ORDER BY p.risk_central
        """,  # noqa: S608 - the fragment is the store's tenant filter
        p,
    )
    gaz = load_gazetteer()
    points: list[dict[str, Any]] = []
    chokes: dict[str, int] = {}
    for r in routes.iter_rows(named=True):
        if not r["info"]:
            continue
        info = RouteInfo.from_json(r["info"])
        key = f"{r['client_id']}/{r['item_id']}"
        part = 0
        prev_lon: float | None = None
        for seq, (lon, lat) in enumerate(info.geometry):
            # a line crossing the antimeridian is cut there, not drawn across the world
            if prev_lon is not None and abs(lon - prev_lon) > 180:
                part += 1
            prev_lon = lon
            points.append(
                {
                    "key": f"{key}#{part}",
                    "client": r["client"],
                    "name": r["name"],
                    "commodity": r["commodity"],
                    "seq": seq,
                    "lon": lon,
                    "lat": lat,
                    "risk": r["risk"],
                    "value_usd": r["value_usd"],
                    "detail": describe_route(info),
                }
            )
        for cp in info.chokepoints:
            chokes[cp] = chokes.get(cp, 0) + 1
    cp_rows = []
    for region_id, n in sorted(chokes.items()):
        region = gaz.get(region_id)
        if region is None or region.lat is None or region.lon is None:
            continue
        cp_rows.append(
            {
                "region_id": region_id,
                "name": region.name,
                "lon": region.lon,
                "lat": region.lat,
                "routes": n,
            }
        )
    route_schema = {
        "key": pl.String,
        "client": pl.String,
        "name": pl.String,
        "commodity": pl.String,
        "seq": pl.Int64,
        "lon": pl.Float64,
        "lat": pl.Float64,
        "risk": pl.Float64,
        "value_usd": pl.Float64,
        "detail": pl.String,
    }
    cp_schema = {
        "region_id": pl.String,
        "name": pl.String,
        "lon": pl.Float64,
        "lat": pl.Float64,
        "routes": pl.Int64,
    }
    return MapData(
        assets=assets,
        routes=pl.DataFrame(points, schema=route_schema),
        chokepoints=pl.DataFrame(cp_rows, schema=cp_schema),
    )


@st.cache_data(max_entries=256, show_spinner=False)
def _map(db: str, run_id: int, scope: ScopeKey) -> MapData:
    return exposure_map(_open(db), run_id, scope_from_key(scope))


def map_for(scope: Scope, run_id: int) -> MapData:
    return _map(db_key(), run_id, scope_key(scope))


def client_map(scope: Scope, client_id: str, run_id: int) -> MapData:
    scope.require(client_id)
    return _map(db_key(), run_id, (client_id,))


# -- what would most improve a rating -------------------------------------------------------------


@dataclass(frozen=True)
class Improvement:
    item_id: str
    item_name: str
    item_kind: str
    action: str  # what to do, in words
    score_before: float
    score_after: float
    band_after: str
    why: str

    @property
    def gain(self) -> float:
        return self.score_after - self.score_before


def improvements(ctx: Context, run_id: int, client_id: str, top: int = 5) -> list[Improvement]:
    """ENGINE-CANDIDATE: for the items that weigh most on a client's rating, the score the
    client would have if one thing changed and nothing else did, under the run's own rules:

    - an asset gains the mitigation it lacks that helps most (the rules' credit scales its
      vulnerability, and so every contribution of that category, by 1 - credit);
    - any item is taken out of reach of every threat (moved, re-sourced or rerouted away from
      the threatened regions): an upper bound of what acting on it can gain.

    The aggregation (materiality-weighted expected disruption and the worst critical item) is the
    method of ``scoring_rules/rules.py``; ``baseline_score`` checks that it reproduces the run.
    """
    model = _client_model(ctx, run_id, client_id)
    if model is None:
        return []
    base = model.score(model.items)
    rules = model.rules
    out: list[Improvement] = []
    for i, item in enumerate(model.items):
        if item["risk"] <= 0:
            continue
        options: list[tuple[str, str, float]] = []
        if item["kind"] == "asset":
            for m in rules.mitigations:
                if m in item["mitigations"]:
                    continue
                contribs = [
                    (cat, r * (1 - rules.mitigation.credits.get(m, cat)))
                    for cat, r in item["contribs"]
                ]
                risk = 1 - math.prod(1 - r for _, r in contribs)
                if risk < item["risk"] - 1e-12:
                    cats = sorted(
                        {
                            cat
                            for cat, _ in item["contribs"]
                            if rules.mitigation.credits.get(m, cat) > 0
                        }
                    )
                    options.append(
                        (
                            f"add {m.replace('_', ' ')}",
                            f"cuts its vulnerability to {', '.join(cats)}",
                            risk,
                        )
                    )
        away = "reroute or re-source it away from" if item["kind"] == "route" else "move it out of"
        options.append(
            (
                f"{away} the threatened regions",
                "upper bound: the item no longer touched by any threat",
                0.0,
            )
        )
        for action, why, risk in options:
            changed = list(model.items)
            changed[i] = item | {"risk": risk}
            after = model.score(changed)
            if after - base > 0.05:
                out.append(
                    Improvement(
                        item_id=item["item_id"],
                        item_name=item["name"],
                        item_kind=item["kind"],
                        action=action,
                        score_before=base,
                        score_after=after,
                        band_after=rules.band_for(after),
                        why=why,
                    )
                )
    out.sort(key=lambda x: (-x.gain, x.item_id, x.action))
    best: list[Improvement] = []
    seen: set[tuple[str, bool]] = set()
    for imp in out:
        key = (imp.item_id, imp.action.startswith("add"))
        if key in seen:
            continue
        seen.add(key)
        best.append(imp)
    mitigations = [b for b in best if b.action.startswith("add")][:top]
    removals = [b for b in best if not b.action.startswith("add")][:top]
    return sorted(mitigations + removals, key=lambda x: (-x.gain, x.item_id))[: 2 * top]


@dataclass
class _ClientModel:
    rules: Any
    m: float
    items: list[dict[str, Any]]

    def score(self, items: list[dict[str, Any]]) -> float:
        agg = self.rules.aggregation
        log_keep = 0.0
        worst = 0.0
        for it in items:
            w = it["weight"]
            log_keep += w * math.log(max(1e-12, 1 - it["risk"]))
            if it["criticality"] >= agg.worst_item_min_criticality:
                worst = max(worst, it["risk"])
        ead = 1 - math.exp(log_keep)
        risk = 1 - (1 - ead) * (1 - agg.worst_item_weight * worst)
        return float(100 * (1 - risk) ** agg.score_exponent)


def _client_model(ctx: Context, run_id: int, client_id: str) -> _ClientModel | None:
    run = ctx.run_info(run_id)
    rules = ctx.rules(run.rules_version)
    p = {"r": run_id, "c": client_id}
    bv = ctx.store.one(
        "SELECT business_value_usd FROM clients WHERE client_id = $c", {"c": client_id}
    )
    m = float(bv) * rules.aggregation.materiality_share if bv else rules.aggregation.materiality_usd
    items = ctx.store.frame(
        """
        SELECT 'asset' AS kind, a.asset_id AS item_id, a.name, a.class_id, a.value_usd AS value,
               a.criticality, a.mitigations
        FROM assets a JOIN run_exposures x USING (client_id, version)
        WHERE x.run_id = $r AND a.client_id = $c
        UNION ALL
        SELECT 'route', r.route_id, r.name, r.class_id, r.annual_value_usd, r.criticality,
               []::VARCHAR[]
        FROM routes r JOIN run_exposures x USING (client_id, version)
        WHERE x.run_id = $r AND r.client_id = $c
        ORDER BY 1, 2
        """,
        p,
    )
    if items.height == 0:
        return None
    classes = {
        int(cid): (float(risk), float(weight))
        for cid, risk, weight in ctx.store.rows(
            """
            SELECT k.class_id, p.risk_central, k.weight FROM run_classes k
            JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
            WHERE k.run_id = $r AND k.client_id = $c
            """,
            p,
        )
    }
    contribs: dict[int, list[tuple[str, float]]] = {}
    for class_id, category, r in ctx.store.rows(
        """
        SELECT k.class_id, t.category, c.r_central FROM run_classes k
        JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
        JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
        WHERE k.run_id = $r AND k.client_id = $c
        """,
        p,
    ):
        contribs.setdefault(int(class_id), []).append((str(category), float(r)))
    # each item's share of its class's materiality weight (the run's own weights, split by
    # value / (value + m) among the class's items)
    raw: dict[int, float] = {}
    for r in items.iter_rows(named=True):
        raw[int(r["class_id"])] = raw.get(int(r["class_id"]), 0.0) + r["value"] / (r["value"] + m)
    rows = []
    for r in items.iter_rows(named=True):
        cid = int(r["class_id"])
        risk, weight = classes.get(cid, (0.0, 0.0))
        share = (r["value"] / (r["value"] + m)) / raw[cid] if raw[cid] else 0.0
        rows.append(
            {
                "kind": r["kind"],
                "item_id": r["item_id"],
                "name": r["name"],
                "value": float(r["value"]),
                "criticality": int(r["criticality"]),
                "mitigations": list(r["mitigations"] or []),
                "risk": risk,
                "weight": weight * share,
                "contribs": contribs.get(cid, []),
            }
        )
    return _ClientModel(rules=rules, m=m, items=rows)


def baseline_score(ctx: Context, run_id: int, client_id: str) -> float | None:
    """The client's score as ``improvements`` recomputes it (equals the run's, or it is wrong)."""
    model = _client_model(ctx, run_id, client_id)
    return None if model is None else model.score(model.items)


@st.cache_data(max_entries=256, show_spinner=False)
def _improvements(db: str, run_id: int, client_id: str) -> list[Improvement]:
    return improvements(_open(db), run_id, client_id)


def improvements_for(scope: Scope, client_id: str, run_id: int) -> list[Improvement]:
    scope.require(client_id)
    return _improvements(db_key(), run_id, client_id)


# -- register, rules and exposures ----------------------------------------------------------------


def section_headings(ctx: Context, register_version: int) -> dict[str, str]:
    return {s.id: s.heading for s in ctx.register(register_version).outline}


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


def rules_document(ctx: Context, version: int | None = None) -> dict[str, Any]:
    """The rules as a plain document (what the rules editor edits)."""
    return json.loads(ctx.rules(version).model_dump_json())


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


# -- what a draft would change --------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactRow:
    client_id: str
    name: str
    before: Rating
    after: Rating
    why: str

    @property
    def delta(self) -> float:
        return self.after.score - self.before.score


def impact(
    ctx: Context, before_run: int, after_run: int, scope: Scope, min_change: float = 0.05
) -> list[ImpactRow]:
    """Clients whose rating differs between two runs (a draft against the current one), each with
    the threat drivers whose expected disruption changed most: the "why"."""
    before = {r.client_id: r for r in ctx.ratings(before_run, scope)}
    out = []
    for a in ctx.ratings(after_run, scope):
        b = before.get(a.client_id)
        if b is None or (abs(a.score - b.score) < min_change and a.band == b.band):
            continue
        eb = ctx.explain(a.client_id, before_run, scope=scope, top=1)
        ea = ctx.explain(a.client_id, after_run, scope=scope, top=1)
        ed_b = {t.threat_id: (t.title, t.expected_disruption_usd) for t in eb.threats}
        ed_a = {t.threat_id: (t.title, t.expected_disruption_usd) for t in ea.threats}
        moves = []
        for tid in set(ed_b) | set(ed_a):
            title = (ed_a.get(tid) or ed_b[tid])[0]
            old = ed_b.get(tid, ("", 0.0))[1]
            new = ed_a.get(tid, ("", 0.0))[1]
            if abs(new - old) > 1e-6:
                moves.append((abs(new - old), title, old, new))
        moves.sort(reverse=True)
        why = (
            "; ".join(
                f"{title}: expected disruption {_pct(old, new)}" for _, title, old, new in moves[:2]
            )
            or "aggregation or band thresholds changed"
        )
        out.append(ImpactRow(client_id=a.client_id, name=a.name, before=b, after=a, why=why))
    return sorted(out, key=lambda r: (-abs(r.delta), r.client_id))


def _pct(old: float, new: float) -> str:
    if old <= 0:
        return f"new, {new:,.0f} USD"
    return f"{(new - old) / old:+.0%}"


@st.cache_data(max_entries=64, show_spinner=False)
def _impact(db: str, before_run: int, after_run: int, scope: ScopeKey) -> list[ImpactRow]:
    return impact(_open(db), before_run, after_run, scope_from_key(scope))


def impact_for(scope: Scope, before_run: int, after_run: int) -> list[ImpactRow]:
    return _impact(db_key(), before_run, after_run, scope_key(scope))
