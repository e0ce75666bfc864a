"""Small books scored through the engine's own SQL: the rules' worked examples and the tests.

A ``Workbench`` is a scratch database (in a temporary folder) with one rules version published.
``score`` writes a small book and a few threats into the real tables and runs ``score_run``, the
statements every run of the product executes, so a worked example checks the SQL that scores
clients, not a second copy of the method. ``run_examples`` evaluates every worked example of a
rules file this way (``resilience rules examples``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine import queries
from engine.context import REGION_SCHEMA
from engine.scoring import only, score_params, score_run
from exposures.prepare import GEO_SCHEMA
from scoring_rules.rules import Example, Rules


@dataclass(frozen=True)
class Place:
    """A region that contains an item. A hotspot has a radius and the item's distance from it;
    a chokepoint on a route has the detour's extra days, its length ratio or no alternative."""

    region_id: str
    distance_km: float | None = None
    radius_km: float | None = None
    extra_days: float | None = None
    no_alternative: bool = False
    alt_ratio: float | None = None


@dataclass(frozen=True)
class Item:
    item_id: str
    kind: str  # asset | route
    key: str  # asset type or commodity
    value_usd: float
    places: tuple[Place, ...]
    criticality: int = 3
    headcount: int = 0
    mitigations: tuple[str, ...] = ()
    tolerance_days: float | None = None


@dataclass(frozen=True)
class Client:
    client_id: str
    sector: str
    items: tuple[Item, ...]
    affiliations: tuple[str, ...] = ("NEUTRAL",)
    business_value_usd: float | None = None


@dataclass(frozen=True)
class Threat:
    threat_id: str
    category: str
    likelihood: str
    severity: int
    regions: tuple[tuple[str, float], ...]  # (region id, intensity)
    from_months: float = 0.0
    to_months: float | None = None  # None: as long as the rules' outlook window
    affiliations: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    asset_types: tuple[str, ...] = ()
    commodities: tuple[str, ...] = ()


@dataclass
class Result:
    """One scored book: each client's run_clients row, each item's risk and contributions."""

    clients: dict[str, dict[str, Any]]
    item_risk: dict[tuple[str, str], dict[str, float]]
    contributions: dict[tuple[str, str], dict[str, dict[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExampleResult:
    name: str
    kind: str
    expected: dict[str, object]
    computed: dict[str, object]
    tolerance: float

    @property
    def ok(self) -> bool:
        for key, want in self.expected.items():
            got = self.computed.get(key)
            if isinstance(want, str) or isinstance(got, str):
                if got != want:
                    return False
            elif got is None or abs(float(str(got)) - float(str(want))) > self.tolerance:
                return False
        return True


class Workbench:
    """A scratch database to score small books with the product's SQL under one rules version."""

    def __init__(self, rules: Rules) -> None:
        from engine.context import Context

        self._dir = tempfile.TemporaryDirectory(prefix="resilience-workbench-")
        self.ctx = Context(Path(self._dir.name) / "workbench.duckdb", threads=1, memory_limit="1GB")
        self.rules = rules
        self.rules_version = self.ctx.publish_rules(rules, note="workbench", publish=False)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.ctx.close()
        self._dir.cleanup()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def score(
        self,
        clients: Sequence[Client],
        threats: Sequence[Threat],
        *,
        months_elapsed: float = 0.0,
    ) -> Result:
        """Score a book through ``score_run``; ids are kept apart from earlier books."""
        n = next(self._ids)
        run_id = n
        pre = f"b{n}:"
        store = self.ctx.store
        regions: dict[str, dict[str, Any]] = {}
        client_rows, service_rows, class_rows, geo_rows = [], [], [], []
        for c in clients:
            client_rows.append(
                {
                    "client_id": pre + c.client_id,
                    "name": c.client_id,
                    "sector": c.sector,
                    "hq_country": "GBR",
                    "affiliations": list(c.affiliations),
                    "description": "",
                    "created_at": dt.datetime(2020, 1, 1),
                    "business_value_usd": c.business_value_usd,
                }
            )
            for class_id, it in enumerate(c.items, start=1):
                geo_key = f"{pre}{c.client_id}/{it.item_id}"
                service_id = None
                if it.tolerance_days is not None:
                    service_id = f"svc-{it.item_id}"
                    service_rows.append(
                        {
                            "client_id": pre + c.client_id,
                            "service_id": service_id,
                            "name": service_id,
                            "tolerance_days": it.tolerance_days,
                        }
                    )
                class_rows.append(
                    {
                        "client_id": pre + c.client_id,
                        "version": 1,
                        "class_id": class_id,
                        "item_kind": it.kind,
                        "geo_key": geo_key,
                        "vkey": it.key,
                        "asset_type": it.key if it.kind == "asset" else None,
                        "commodity": it.key if it.kind == "route" else None,
                        "mitigations": sorted(it.mitigations),
                        "service_id": service_id,
                        "n_items": 1,
                        "value_usd": float(it.value_usd),
                        "max_criticality": it.criticality,
                        "headcount": it.headcount,
                    }
                )
                for p in it.places:
                    region_id = p.region_id
                    if p.radius_km is not None:  # each hotspot place is its own region
                        region_id = f"{pre}{p.region_id}@{p.radius_km:g}"
                        regions[region_id] = {"radius": p.radius_km, "base": p.region_id}
                    geo_rows.append(
                        {
                            "geo_key": geo_key,
                            "region_id": region_id,
                            "distance_km": p.distance_km,
                            "extra_days": p.extra_days,
                            "no_alternative": p.no_alternative,
                            "alt_ratio": p.alt_ratio,
                        }
                    )
        threat_rows, threat_regions = [], []
        for t in threats:
            rng = self.rules.likelihood.range_for(t.likelihood)
            to_months = (
                t.from_months + self.rules.horizon.outlook_months
                if t.to_months is None
                else t.to_months
            )
            targets = (t.affiliations, t.sectors, t.asset_types, t.commodities)
            threat_rows.append(
                {
                    "run_id": run_id,
                    "threat_id": t.threat_id,
                    "category": t.category,
                    "title": t.threat_id,
                    "likelihood": t.likelihood,
                    "likelihood_words": t.likelihood,
                    "p_low": rng.low,
                    "p_central": rng.central,
                    "p_high": rng.high,
                    "severity": t.severity,
                    "in_horizon": t.from_months <= months_elapsed <= to_months,
                    "months_elapsed": months_elapsed,
                    "horizon_from": t.from_months,
                    "horizon_to": to_months,
                    "untargeted": not any(targets),
                    "t_affiliations": list(t.affiliations),
                    "t_sectors": list(t.sectors),
                    "t_asset_types": list(t.asset_types),
                    "t_commodities": list(t.commodities),
                    "evidence": json.dumps([]),
                    "from_scenario": False,
                }
            )
            for region_id, intensity in t.regions:
                hits = [rid for rid, r in regions.items() if r["base"] == region_id] or [region_id]
                threat_regions += [
                    {
                        "run_id": run_id,
                        "threat_id": t.threat_id,
                        "region_id": rid,
                        "intensity": intensity,
                    }
                    for rid in hits
                ]
        with store.transaction() as cur:
            cur.execute(
                "INSERT INTO runs BY NAME SELECT $r AS run_id, now() AS created_at, "
                "0 AS register_version, $rules AS rules_version, NULL AS scenario_id, "
                "DATE '2020-01-01' AS as_of, 0 AS n_clients, 0.0 AS seconds",
                {"r": run_id, "rules": self.rules_version},
            )
            if regions:
                store.insert_frame(
                    cur,
                    "regions",
                    pl.DataFrame(
                        [
                            {
                                "region_id": rid,
                                "kind": "hotspot",
                                "name": rid,
                                "country": None,
                                "lat": 0.0,
                                "lon": 0.0,
                                "radius_km": r["radius"],
                            }
                            for rid, r in regions.items()
                        ],
                        schema=REGION_SCHEMA,
                    ),
                )
            store.insert_frame(cur, "clients", pl.DataFrame(client_rows, schema=_CLIENT_SCHEMA))
            if service_rows:
                store.insert_frame(cur, "services", pl.DataFrame(service_rows))
            if class_rows:
                store.insert_frame(
                    cur, "exposure_classes", pl.DataFrame(class_rows, schema=_CLASS_SCHEMA)
                )
            if geo_rows:
                store.insert_frame(cur, "geo_regions", pl.DataFrame(geo_rows, schema=GEO_SCHEMA))
            cur.execute(
                "INSERT INTO run_exposures SELECT $r, client_id, 1 FROM clients "
                "WHERE starts_with(client_id, $pre)",
                {"r": run_id, "pre": pre},
            )
            if threat_rows:
                store.insert_frame(cur, "run_threats", pl.DataFrame(threat_rows))
            if threat_regions:
                store.insert_frame(cur, "run_threat_regions", pl.DataFrame(threat_regions))
            score_run(cur, score_params(run_id, self.rules_version, self.rules))
        return self._result(run_id, pre, clients)

    def _result(self, run_id: int, pre: str, clients: Sequence[Client]) -> Result:
        store = self.ctx.store
        rows = store.frame("SELECT * FROM run_clients WHERE run_id = $r", {"r": run_id})
        out = Result(
            clients={r["client_id"][len(pre) :]: r for r in rows.iter_rows(named=True)},
            item_risk={},
        )
        items = {
            (pre + c.client_id, class_id): (c.client_id, it.item_id)
            for c in clients
            for class_id, it in enumerate(c.items, start=1)
        }
        risks = store.frame(
            "SELECT k.client_id, k.class_id, p.risk_low, p.risk_central, p.risk_high "
            "FROM run_classes k JOIN run_profiles p USING (run_id, profile_id) WHERE run_id = $r",
            {"r": run_id},
        )
        for r in risks.iter_rows(named=True):
            key = items[(r["client_id"], r["class_id"])]
            out.item_risk[key] = {
                "low": r["risk_low"],
                "central": r["risk_central"],
                "high": r["risk_high"],
            }
        contrib = store.frame(
            "SELECT k.client_id, k.class_id, c.threat_id, c.r_low, c.r_central, c.r_high "
            "FROM run_classes k JOIN run_contributions c USING (run_id, profile_id) "
            "WHERE run_id = $r",
            {"r": run_id},
        )
        for r in contrib.iter_rows(named=True):
            key = items[(r["client_id"], r["class_id"])]
            out.contributions.setdefault(key, {})[r["threat_id"]] = {
                "low": r["r_low"],
                "central": r["r_central"],
                "high": r["r_high"],
            }
        return out

    # -- the rules' worked examples --------------------------------------------------------------

    def example(self, ex: Example) -> ExampleResult:
        """Evaluate one worked example through the engine's SQL."""
        computed: dict[str, object]
        if ex.kind == "contribution":
            computed = {"r": self._contribution(ex.inputs)}
        elif ex.kind == "item_risk":
            computed = {"R": self._item_risk([float(str(r)) for r in _list(ex.inputs["r"])])}
        elif ex.kind == "expected_disruption":
            pairs = [(float(v), float(r)) for v, r in _list(ex.inputs["items"])]
            bv = ex.inputs.get("business_value_usd")
            row = self._aggregate(pairs, [], None if bv is None else float(str(bv)))
            computed = {"ead": row["ead_central"]}
        else:
            ead, worst = float(str(ex.inputs["ead"])), float(str(ex.inputs["worst"]))
            b = self.rules.aggregation.default_business_value_usd
            row = self._aggregate([(b, ead)], [worst], None)
            computed = {"risk": row["risk_central"], "score": row["score"], "band": row["band"]}
        return ExampleResult(ex.name, ex.kind, dict(ex.expected), computed, ex.tolerance)

    def _contribution(self, x: dict[str, object]) -> float:
        commodity = x.get("commodity")
        place = Place(
            "ex.region",
            distance_km=_opt_float(x.get("distance_km")),
            radius_km=_opt_float(x.get("radius_km")),
            extra_days=_opt_float(x.get("extra_days")),
            no_alternative=bool(x.get("no_alternative", False)),
            alt_ratio=_opt_float(x.get("alt_ratio")),
        )
        item = Item(
            "x",
            "route" if commodity is not None else "asset",
            str(commodity if commodity is not None else x.get("asset_type")),
            1.0,
            (place,),
            mitigations=tuple(str(m) for m in _list(x.get("mitigations", []))),
            tolerance_days=_opt_float(x.get("tolerance_days")),
        )
        client = Client("ex", str(x["sector"]), (item,), affiliations=("NEUTRAL",))
        threat = Threat(
            "t",
            str(x["category"]),
            str(x["likelihood"]),
            int(str(x["severity"])),
            (("ex.region", float(str(x["intensity"]))),),
            from_months=float(str(x.get("from_months", 0.0))),
            to_months=_opt_float(x.get("to_months")),
            # an untargeted threat matches everyone; one aimed at the US does not match NEUTRAL
            affiliations=() if x.get("targeted") else ("US",),
        )
        res = self.score([client], [threat], months_elapsed=float(str(x.get("months_elapsed", 0))))
        point = str(x.get("point", "central"))
        return res.contributions.get(("ex", "x"), {}).get("t", {}).get(point, 0.0)

    def _item_risk(self, rs: list[float]) -> float:
        with self.ctx.store.session() as cur:
            classes = (
                "(SELECT 1::UBIGINT AS profile_id, 'x' AS sector, ['NEUTRAL'] AS affiliations, "
                "'asset' AS item_kind, 'g' AS geo_key, 'office' AS vkey, '' AS mkey, NULL AS tol)"
            )
            contrib = (
                "(SELECT 1::UBIGINT AS profile_id, r AS r_low, r AS r_central, r AS r_high "
                "FROM (SELECT unnest($rs) AS r))"
            )
            row = cur.execute(
                "SELECT risk_central FROM (" + queries.profiles_sql(classes, contrib) + ")",  # noqa: S608
                {"rs": rs},
            ).fetchone()
            return float(row[0]) if row else 0.0

    def _aggregate(
        self, items: list[tuple[float, float]], critical: list[float], bv: float | None
    ) -> dict[str, Any]:
        """A client's rating from items of given value and risk, through CLASS_ROWS and CLIENTS;
        ``critical`` adds critical items of no value with these risks (the worst-item term)."""
        n = next(self._ids)
        pre = f"a{n}:"
        all_items = [(v, r, 1) for v, r in items] + [(0.0, r, 5) for r in critical]
        store = self.ctx.store
        with store.transaction() as cur:
            store.insert_frame(
                cur,
                "clients",
                pl.DataFrame(
                    [
                        {
                            "client_id": pre + "agg",
                            "name": "agg",
                            "sector": "banking",
                            "hq_country": "GBR",
                            "affiliations": ["NEUTRAL"],
                            "description": "",
                            "created_at": dt.datetime(2020, 1, 1),
                            "business_value_usd": bv,
                        }
                    ],
                    schema=_CLIENT_SCHEMA,
                ),
            )
            store.insert_frame(
                cur,
                "exposure_classes",
                pl.DataFrame(
                    [
                        {
                            "client_id": pre + "agg",
                            "version": 1,
                            "class_id": i,
                            "item_kind": "asset",
                            "geo_key": f"{pre}{i}",
                            "vkey": "office",
                            "asset_type": "office",
                            "commodity": None,
                            "mitigations": [],
                            "service_id": None,
                            "n_items": 1,
                            "value_usd": v,
                            "max_criticality": c,
                            "headcount": 0,
                        }
                        for i, (v, _, c) in enumerate(all_items, start=1)
                    ],
                    schema=_CLASS_SCHEMA,
                ),
            )
        params = score_params(0, self.rules_version, self.rules) | {"client_id": pre + "agg"}
        source = f"(SELECT '{pre}agg' AS client_id, 1 AS version)"
        cls_sql = queries.class_rows_sql(one_client=True, source=source)
        with store.session() as cur:
            cur.execute("CREATE OR REPLACE TEMP TABLE agg_cls AS " + cls_sql, only(params, cls_sql))
            risks = pl.DataFrame(
                {"class_id": list(range(1, len(all_items) + 1)), "r": [r for _, r, _ in all_items]}
            )
            cur.register("agg_risk", risks.to_arrow())
            # every item has its own risk here, so each class is its own profile
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE agg_cls AS SELECT * REPLACE (hash(class_id) AS "
                "profile_id) FROM agg_cls"
            )
            profiles = (
                "(SELECT hash(a.class_id) AS profile_id, a.r AS risk_low, a.r AS risk_central, "
                "a.r AS risk_high FROM agg_risk a)"
            )
            sql = queries.clients_sql("agg_cls", profiles)
            row = store.frame(sql, only(params, sql)).row(0, named=True)
            cur.unregister("agg_risk")
            cur.execute("DROP TABLE agg_cls")
            return row


def run_examples(rules: Rules) -> list[ExampleResult]:
    """Every worked example of a rules file, evaluated through the engine's SQL."""
    with Workbench(rules) as wb:
        return [wb.example(ex) for ex in rules.examples]


def _list(value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {value!r}")
    return list(value)


def _opt_float(value: object) -> float | None:
    return None if value is None else float(str(value))


_CLIENT_SCHEMA: dict[str, Any] = {
    "client_id": pl.String,
    "name": pl.String,
    "sector": pl.String,
    "hq_country": pl.String,
    "affiliations": pl.List(pl.String),
    "description": pl.String,
    "created_at": pl.Datetime,
    "business_value_usd": pl.Float64,
}
_CLASS_SCHEMA: dict[str, Any] = {
    "client_id": pl.String,
    "version": pl.Int32,
    "class_id": pl.Int32,
    "item_kind": pl.String,
    "geo_key": pl.String,
    "vkey": pl.String,
    "asset_type": pl.String,
    "commodity": pl.String,
    "mitigations": pl.List(pl.String),
    "service_id": pl.String,
    "n_items": pl.Int32,
    "value_usd": pl.Float64,
    "max_criticality": pl.Int32,
    "headcount": pl.Int64,
}
