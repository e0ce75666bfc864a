"""Reads the pages need beyond the facade's core: movers, top drivers, the exposure map, the
improvements that would most lift a rating, and what a draft changes for whom.

Pure engine code (no streamlit): every query goes through the store with bound parameters, and
every function takes the caller's tenant scope (or a client id the caller has been allowed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine import queries
from engine.context import Context, describe_route
from engine.models import Rating, RunInfo
from engine.store import Scope
from exposures.gazetteer import load_gazetteer
from exposures.routes import RouteInfo


def previous_run_id(ctx: Context, run: RunInfo) -> int | None:
    """the latest earlier run of the same scenario and date on published
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


def top_drivers(ctx: Context, run_id: int, scope: Scope) -> dict[str, tuple[str, str, float]]:
    """each client's biggest threat driver: (threat id, title, share).

    The one definition of a client's top threat, used by the app's portfolio and the portfolio
    report: the threat with the largest value-weighted contribution summed over the client's
    items (ties to the first threat id), which is also the first threat of ``Context.explain``.
    """
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
        SELECT t.client_id, t.threat_id,
               t.ed / nullif(sum(t.ed) OVER (PARTITION BY t.client_id), 0) AS share
        FROM t
        QUALIFY row_number() OVER (PARTITION BY t.client_id ORDER BY t.ed DESC, t.threat_id) = 1
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
class MapData:
    assets: pl.DataFrame  # client, name, kind, lat, lon, risk, value_usd, detail
    routes: pl.DataFrame  # one row per route: client, name, risk, parts (lists of [lon, lat])
    chokepoints: pl.DataFrame  # region_id, name, lon, lat, routes (count)


def exposure_index(ctx: Context, run_id: int, scope: Scope) -> pl.DataFrame:
    """which threats reach which clients, and where: one row per client, threat and region
    with a positive central contribution in the run (client_id, threat_id, region_id, title),
    for the portfolio's filters and search."""
    where, ids = scope.sql("k.client_id")
    return ctx.store.frame(
        f"""
        SELECT DISTINCT k.client_id, c.threat_id, c.region_id, t.title
        FROM run_classes k
        JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
        JOIN run_threats t ON t.run_id = k.run_id AND t.threat_id = c.threat_id
        WHERE k.run_id = $r AND c.r_central > 0 AND {where}
        ORDER BY ALL
        """,  # noqa: S608 - the fragment is the store's tenant filter
        {"r": run_id} | ({"scope_ids": ids} if ids is not None else {}),
    )


def exposure_map(ctx: Context, run_id: int, scope: Scope) -> MapData:
    """every site and sea route of the clients in scope in a run, with the
    item's central risk, for a map. Route geometry: routes.route_key -> route_cache.info."""
    where_a, ids = scope.sql("a.client_id")
    where_r, _ = scope.sql("r.client_id")
    p = {"r": run_id} | ({"scope_ids": ids} if ids is not None else {})
    assets = ctx.store.frame(
        f"""
        SELECT a.client_id, c.name AS client, a.asset_id AS item_id, a.name, a.asset_type,
               coalesce(a.city, '') || CASE WHEN a.city IS NULL THEN '' ELSE ', ' END
                   || coalesce(a.country_iso3, '?') AS place,
               a.lat, a.lon, a.value_usd, a.criticality, p.risk_central AS risk,
               (SELECT arg_max(c.threat_id, (c.r_central, c.threat_id)) FROM run_contributions c
                WHERE c.run_id = $r AND c.profile_id = k.profile_id) AS top_threat
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
               r.annual_value_usd AS value_usd, p.risk_central AS risk, rc.info,
               (SELECT arg_max(c.threat_id, (c.r_central, c.threat_id)) FROM run_contributions c
                WHERE c.run_id = $r AND c.profile_id = k.profile_id) AS top_threat
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
    lines: list[dict[str, Any]] = []
    chokes: dict[str, int] = {}
    for r in routes.iter_rows(named=True):
        if not r["info"]:
            continue
        info = RouteInfo.from_json(r["info"])
        parts: list[list[list[float]]] = [[]]
        prev_lon: float | None = None
        for lon, lat in info.geometry:
            # a line crossing the antimeridian is cut there, not drawn across the world
            if prev_lon is not None and abs(lon - prev_lon) > 180:
                parts.append([])
            prev_lon = lon
            parts[-1].append([round(lon, 2), round(lat, 2)])
        lines.append(
            {
                "key": f"{r['client_id']}/{r['item_id']}",
                "client": r["client"],
                "name": r["name"],
                "commodity": r["commodity"],
                "risk": r["risk"],
                "value_usd": r["value_usd"],
                "detail": describe_route(info),
                "client_id": r["client_id"],
                "item_id": r["item_id"],
                "top_threat": r["top_threat"],
                "parts": [p for p in parts if len(p) > 1],
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
    route_schema: dict[str, Any] = {
        "key": pl.String,
        "client": pl.String,
        "name": pl.String,
        "commodity": pl.String,
        "risk": pl.Float64,
        "value_usd": pl.Float64,
        "detail": pl.String,
        "client_id": pl.String,
        "item_id": pl.String,
        "top_threat": pl.String,
        "parts": pl.List(pl.List(pl.List(pl.Float64))),
    }
    cp_schema: dict[str, Any] = {
        "region_id": pl.String,
        "name": pl.String,
        "lon": pl.Float64,
        "lat": pl.Float64,
        "routes": pl.Int64,
    }
    return MapData(
        assets=assets,
        routes=pl.DataFrame(lines, schema=route_schema),
        chokepoints=pl.DataFrame(cp_rows, schema=cp_schema),
    )


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


# Sites that stay where they are: an oilfield, a refinery or a terminal cannot be moved, so the
# upper bound for them is protection where they stand, not a move.
FIXED_SITES = {"oilfield", "refinery", "terminal"}


def _out_of_reach(item: dict[str, Any]) -> str:
    """The action that takes an item out of every threat's reach, in words that fit the item."""
    if item["kind"] == "route":
        return "reroute or re-source it away from the threatened regions"
    kind = item.get("item_type")
    if kind == "flight_corridor":
        return "reroute the flights away from the threatened airspace"
    if kind in FIXED_SITES:
        return (
            "protect it where it stands (security, hardening, spare capacity elsewhere) so the "
            "threats there no longer reach it"
        )
    return "move it out of the threatened regions"


def improvements(ctx: Context, run_id: int, client_id: str, top: int = 5) -> list[Improvement]:
    """for the items that weigh most on a client's rating, the score the
    client would have if one thing changed and nothing else did, under the run's own rules:

    - an asset gains the mitigation it lacks that helps most (the rules' credit scales its
      vulnerability, and so every contribution of that category, by 1 - credit);
    - any item is taken out of reach of every threat (moved, re-sourced or rerouted away from
      the threatened regions): an upper bound of what acting on it can gain.

    The aggregation (expected disruption and the worst critical item) is the engine's own SQL
    (``Context.score_items``); ``baseline_score`` checks that it reproduces the run.
    """
    model = _client_model(ctx, run_id, client_id)
    if model is None:
        return []
    rules = model.rules
    candidates: list[tuple[int, str, str, float]] = []
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
        options.append(
            (_out_of_reach(item), "upper bound: the item no longer touched by any threat", 0.0)
        )
        candidates += [(i, action, why, risk) for action, why, risk in options]
    variants = [model.items]
    for i, _action, _why, risk in candidates:
        changed = list(model.items)
        changed[i] = model.items[i] | {"risk": risk}
        variants.append(changed)
    base, *afters = model.scores(variants)
    out: list[Improvement] = []
    for (i, action, why, _risk), after in zip(candidates, afters, strict=True):
        item = model.items[i]
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
    ctx: Context
    run_id: int
    rules: Any
    items: list[dict[str, Any]]

    def score(self, items: list[dict[str, Any]]) -> float:
        """The rating's score over these items, aggregated by the engine's SQL."""
        return self.scores([items])[0]

    def scores(self, variants: list[list[dict[str, Any]]]) -> list[float]:
        return self.ctx.score_items(self.run_id, variants)


def _client_model(ctx: Context, run_id: int, client_id: str) -> _ClientModel | None:
    run = ctx.run_info(run_id)
    rules = ctx.rules(run.rules_version)
    p = {"r": run_id, "c": client_id}
    items = (
        ctx.store.frame(queries.CLIENT_ITEMS, p)
        .rename({"item_kind": "kind", "value_usd": "value"})
        .sort(["kind", "item_id"])
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
    for class_id, _threat, category, _region, _low, r, _high in ctx.store.rows(
        queries.CLIENT_CONTRIBUTIONS, p
    ):
        contribs.setdefault(int(class_id), []).append((str(category), float(r)))
    # each item's share of its class's weight in the run (the weight is linear in value and
    # headcount, so the class's weight splits among its items in proportion to theirs)
    per_person = rules.people.value_per_person_usd
    raw: dict[int, float] = {}
    counts: dict[int, int] = {}
    for r in items.iter_rows(named=True):
        own = r["value"] + per_person * (r["headcount"] or 0)
        raw[int(r["class_id"])] = raw.get(int(r["class_id"]), 0.0) + own
        counts[int(r["class_id"])] = counts.get(int(r["class_id"]), 0) + 1
    rows = []
    for r in items.iter_rows(named=True):
        cid = int(r["class_id"])
        risk, weight = classes.get(cid, (0.0, 0.0))
        own = r["value"] + per_person * (r["headcount"] or 0)
        share = own / raw[cid] if raw[cid] else 1.0 / max(1, counts[cid])
        rows.append(
            {
                "kind": r["kind"],
                "item_type": r["item_type"],
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
    return _ClientModel(ctx=ctx, run_id=run_id, rules=rules, items=rows)


def baseline_score(ctx: Context, run_id: int, client_id: str) -> float | None:
    """The client's score as ``improvements`` recomputes it (equals the run's, or it is wrong)."""
    model = _client_model(ctx, run_id, client_id)
    return None if model is None else model.score(model.items)


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
    out = []
    for row in ctx.compare_runs(before_run, after_run, scope):
        a, b = row.after, row.before
        if abs(a.score - b.score) < min_change and a.band == b.band:
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
