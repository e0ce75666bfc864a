"""Everything a client report or export shows, read once from the facade and the store.

The report modules never query the database themselves: they take a :class:`ClientFacts` (or
:class:`BookFacts`) built here, so one set of numbers feeds the PDF, the HTML and the exports.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.context import Context
from engine.errors import ExposureError, NotFoundError
from engine.insights import top_drivers
from engine.models import ClientSpec, Explanation, Rating, RunInfo, ThreatDriver
from engine.report import sql
from engine.store import Scope
from exposures.gazetteer import load_gazetteer
from exposures.routes import RouteInfo
from scoring_rules.rules import Rules
from scoring_rules.threats import Register

log = logging.getLogger(__name__)


def region_name(region_id: str | None) -> str:
    """A region's name from the gazetteer ('world' reads 'worldwide')."""
    if not region_id:
        return "-"
    if region_id == "world":
        return "worldwide"
    region = load_gazetteer().get(region_id)
    return region.name if region is not None else region_id


def _region_kind(region_id: str) -> str:
    region = load_gazetteer().get(region_id)
    return region.kind if region is not None else ""


def region_phrase(region_id: str | None) -> str:
    """A region as it reads inside a sentence: 'the Strait of Hormuz', 'Iraq', 'worldwide'."""
    name = region_name(region_id)
    if not region_id or region_id == "world":
        return name
    region = load_gazetteer().get(region_id)
    kind = region.kind if region is not None else ""
    if (
        kind in ("maritime", "chokepoint")
        or (kind == "hotspot" and ("air base" in name or "Zone" in name))
        or name.startswith(("United ", "Netherlands"))
    ):
        return "the " + name
    return name


def region_in(region_id: str | None) -> str:
    """'in Iraq', 'at the Strait of Hormuz', 'in the Persian Gulf', 'worldwide'."""
    if not region_id or region_id == "world":
        return "worldwide"
    region = load_gazetteer().get(region_id)
    kind = region.kind if region is not None else ""
    return ("at " if kind in ("chokepoint", "hotspot") else "in ") + region_phrase(region_id)


@dataclass(frozen=True)
class RunThreat:
    threat_id: str
    category: str
    title: str
    likelihood: str
    likelihood_words: str
    p_low: float
    p_central: float
    p_high: float
    severity: int
    in_horizon: bool
    from_scenario: bool


@dataclass(frozen=True)
class Contribution:
    threat_id: str
    category: str
    region_id: str
    r_low: float
    r_central: float
    r_high: float


@dataclass(frozen=True)
class Item:
    """One site or sea route of the client, as scored in the run."""

    kind: str  # asset | route
    item_id: str
    name: str
    item_type: str  # asset type or commodity
    value_usd: float
    criticality: int
    risk_low: float
    risk: float
    risk_high: float
    class_id: int
    mitigations: tuple[str, ...]
    service_id: str | None = None
    service_name: str | None = None
    tolerance_days: float | None = None
    top_threat: str | None = None
    top_region: str | None = None
    lat: float | None = None
    lon: float | None = None
    city: str | None = None
    country: str | None = None
    country_iso3: str | None = None
    headcount: int | None = None
    origin: str | None = None
    destination: str | None = None
    route: RouteInfo | None = None

    @property
    def expected_disruption_usd(self) -> float:
        return self.value_usd * self.risk

    @property
    def place(self) -> str:
        """Where the item is, in words: city and country, or origin -> destination."""
        if self.kind == "route":
            if self.route is not None:
                return f"{self.route.origin.name} → {self.route.destination.name}"
            return f"{self.origin} → {self.destination}"
        parts = [p for p in (self.city, self.country_iso3 or self.country) if p]
        return ", ".join(parts) if parts else "-"


@dataclass(frozen=True)
class ScenarioResult:
    scenario_id: str
    title: str
    description: str
    before: Rating
    after: Rating
    main_threat: str | None  # title of the threat driving the client under the scenario

    @property
    def delta(self) -> float:
        return self.after.score - self.before.score


@dataclass
class ClientFacts:
    client: ClientSpec
    run: RunInfo
    rating: Rating
    explanation: Explanation
    items: list[Item]
    contributions: dict[int, list[Contribution]]  # by class id
    threats: dict[str, RunThreat]
    register: Register
    rules: Rules
    exposure_loaded_at: dt.datetime | None
    exposure_note: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    scenario_title: str | None = None  # the scenario the run assumes, in its own words

    @cached_property
    def expected_disruption(self) -> tuple[float, float, float]:
        """Sum over items of value x item risk at the low, central and high likelihoods."""
        return (
            sum(i.value_usd * i.risk_low for i in self.items),
            sum(i.value_usd * i.risk for i in self.items),
            sum(i.value_usd * i.risk_high for i in self.items),
        )

    @property
    def total_value(self) -> float:
        return sum(i.value_usd for i in self.items)

    def threat_title(self, threat_id: str | None) -> str:
        if threat_id is None:
            return "-"
        t = self.threats.get(threat_id)
        return t.title if t is not None else threat_id

    @property
    def many_briefs(self) -> bool:
        """Whether the register holds threats from more than one brief (citations name it)."""
        return len(self.register.all_briefs()) > 1

    def driver(self, threat_id: str) -> ThreatDriver | None:
        """The threat as the explanation reports it (title, likelihood words, evidence)."""
        return next((t for t in self.explanation.threats if t.threat_id == threat_id), None)

    def threat_regions(self, threat_id: str) -> list[str]:
        """Every region the threat touches (the register's, or the scenario's added threat)."""
        for t in self.register.threats:
            if t.id == threat_id:
                return [r.region for r in t.regions]
        found = (c for cs in self.contributions.values() for c in cs)
        return sorted({c.region_id for c in found if c.threat_id == threat_id})

    def threatened_regions(self, item: Item, categories: Iterable[str] | None = None) -> set[str]:
        """The regions of the threats (of these categories) that reach the item in the run."""
        wanted = set(categories) if categories is not None else None
        out: set[str] = set()
        for c in self.contributions.get(item.class_id, []):
            if c.r_central <= 0 or (wanted is not None and c.category not in wanted):
                continue
            out.add(c.region_id)
            out.update(self.threat_regions(c.threat_id))
        return out


def _run_threats(ctx: Context, run_id: int) -> dict[str, RunThreat]:
    frame = ctx.store.frame(sql.RUN_THREATS, {"r": run_id})
    return {r["threat_id"]: RunThreat(**r) for r in frame.iter_rows(named=True)}


def _items(ctx: Context, run_id: int, client_id: str) -> list[Item]:
    frame = ctx.store.frame(sql.CLIENT_ITEMS, {"r": run_id, "c": client_id})
    out = []
    for r in frame.iter_rows(named=True):
        route = None
        if r["info"]:
            try:
                route = RouteInfo.from_json(r["info"])
            except ExposureError as exc:  # an unreadable cache entry must not sink the report
                log.warning("route %s of %s: %s", r["item_id"], client_id, exc)
        out.append(
            Item(
                kind=r["item_kind"],
                item_id=r["item_id"],
                name=r["name"],
                item_type=r["item_type"],
                value_usd=float(r["value_usd"] or 0.0),
                criticality=int(r["criticality"] or 0),
                risk_low=float(r["risk_low"]),
                risk=float(r["risk"]),
                risk_high=float(r["risk_high"]),
                class_id=int(r["class_id"]),
                mitigations=tuple(r["mitigations"] or ()),
                service_id=r["service_id"],
                service_name=r["service_name"],
                tolerance_days=r["tolerance_days"],
                top_threat=r["top_threat"],
                top_region=r["top_region"],
                lat=r["lat"],
                lon=r["lon"],
                city=r["city"],
                country=r["country"],
                country_iso3=r["country_iso3"],
                headcount=r["headcount"],
                origin=r["origin"],
                destination=r["destination"],
                route=route,
            )
        )
    return out


def _contributions(ctx: Context, run_id: int, client_id: str) -> dict[int, list[Contribution]]:
    frame = ctx.store.frame(sql.CLIENT_CONTRIBUTIONS, {"r": run_id, "c": client_id})
    out: dict[int, list[Contribution]] = {}
    for r in frame.iter_rows(named=True):
        out.setdefault(int(r["class_id"]), []).append(
            Contribution(
                threat_id=r["threat_id"],
                category=r["category"],
                region_id=r["region_id"],
                r_low=r["r_low"],
                r_central=r["r_central"],
                r_high=r["r_high"],
            )
        )
    return out


def _scenarios(ctx: Context, client_id: str, as_of: dt.date) -> list[ScenarioResult]:
    """The client's rating under each scenario that applies, against the current baseline run
    (its rating, each scenario's run and rating, and the threat driving it there: one query
    each, instead of a whole comparison and explanation per scenario)."""
    out: list[ScenarioResult] = []
    scope = Scope.of(client_id)
    base = ctx.current_run(None, as_of)
    before = next(iter(ctx.ratings(base.run_id, scope)), None)
    if before is None:
        return out
    for sid, scenario in sorted(ctx.applicable_scenarios().items()):
        after_run = ctx.current_run(sid, as_of)
        after = next(iter(ctx.ratings(after_run.run_id, scope)), None)
        if after is None:
            continue
        top = ctx.store.execute(
            sql.TOP_THREAT_TITLE, {"r": after_run.run_id, "c": client_id}
        ).fetchone()
        out.append(
            ScenarioResult(
                scenario_id=sid,
                title=scenario.title,
                description=scenario.description,
                before=before,
                after=after,
                main_threat=str(top[0]) if top else None,
            )
        )
    return out


def client_facts(
    ctx: Context, client_id: str, run_id: int | None = None, *, scenarios: bool = True
) -> ClientFacts:
    """Everything about one client in one run (the current baseline run by default)."""
    client = ctx.client(client_id, Scope.of(client_id))
    run = ctx.run_info(run_id) if run_id is not None else ctx.current_run()
    scope = Scope.of(client_id)
    rating = ctx.rating(run.run_id, client_id, scope)
    explanation = ctx.explain(client_id, run.run_id, scope=scope, top=10)
    loaded = ctx.store.execute(
        sql.EXPOSURE_VERSION, {"c": client_id, "v": rating.exposure_version}
    ).fetchone()
    facts = ClientFacts(
        client=client,
        run=run,
        rating=rating,
        explanation=explanation,
        items=_items(ctx, run.run_id, client_id),
        contributions=_contributions(ctx, run.run_id, client_id),
        threats=_run_threats(ctx, run.run_id),
        register=ctx.register(run.register_version),
        rules=ctx.rules(run.rules_version),
        exposure_loaded_at=loaded[1] if loaded else None,
        exposure_note=str(loaded[2]) if loaded else "",
        scenario_title=(
            ctx.scenario(run.scenario_id, run.scenario_version).title
            if run.scenario_id is not None
            else None
        ),
    )
    if scenarios and run.scenario_id is None:
        facts.scenarios = _scenarios(ctx, client_id, run.as_of)
    return facts


# -- the book ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    rank: int
    rating: Rating
    ed_low: float
    ed: float
    ed_high: float
    top_threat: str | None  # id of the client's top threat (engine.insights.top_drivers)
    top_title: str | None
    top_share: float  # the top threat's share of the client's value at risk
    previous: dict[str, Any] | None  # band, score, run_id, versions of the previous run


@dataclass(frozen=True)
class Concentration:
    region_id: str
    name: str
    kind: str
    ed: float
    n_clients: int
    share: float


@dataclass(frozen=True)
class Chokepoint:
    region_id: str
    name: str
    n_routes: int
    n_clients: int
    annual_value_usd: float
    ed: float
    no_alternative: int  # routes with no sea way around it


@dataclass
class BookFacts:
    run: RunInfo
    rows: list[BookRow]
    unrated: list[ClientSpec]
    regions: list[Concentration]
    chokepoints: list[Chokepoint]
    threats: dict[str, RunThreat]
    register: Register
    rules: Rules

    @property
    def total_ed(self) -> float:
        return sum(r.ed for r in self.rows)

    @property
    def total_value(self) -> float:
        return sum(r.rating.total_value_usd for r in self.rows)


def book_facts(ctx: Context, client_ids: list[str] | None = None) -> BookFacts:
    """The book (or the chosen clients) in the current baseline run."""
    known = {c.client_id: c for c in ctx.clients(scope=Scope.everything())}
    if client_ids is not None:
        unknown = [c for c in client_ids if c not in known]
        if unknown:
            raise NotFoundError(f"unknown client {unknown[0]!r}; `resilience clients` lists them")
        chosen = sorted(set(client_ids))
    else:
        chosen = sorted(known)
    run = ctx.current_run()
    scope = Scope.of(*chosen)
    ratings = ctx.ratings(run.run_id, scope)
    ids = [r.client_id for r in ratings]
    p = {"r": run.run_id, "ids": ids}
    summary = {
        r["client_id"]: r for r in ctx.store.frame(sql.BOOK_SUMMARY, p).iter_rows(named=True)
    }
    previous = {
        r["client_id"]: r for r in ctx.store.frame(sql.PREVIOUS_RATINGS, p).iter_rows(named=True)
    }
    drivers = top_drivers(ctx, run.run_id, scope)
    rows = []
    for rank, rating in enumerate(ratings, start=1):
        s = summary.get(rating.client_id, {})
        top = drivers.get(rating.client_id)
        rows.append(
            BookRow(
                rank=rank,
                rating=rating,
                ed_low=float(s.get("ed_low") or 0.0),
                ed=float(s.get("ed") or 0.0),
                ed_high=float(s.get("ed_high") or 0.0),
                top_threat=top[0] if top else None,
                top_title=top[1] if top else None,
                top_share=top[2] if top else 0.0,
                previous=previous.get(rating.client_id),
            )
        )
    conc = ctx.store.frame(sql.CONCENTRATION, p)
    total = float(conc["ed"].sum() or 0.0) if conc.height else 0.0
    regions = [
        Concentration(
            region_id=r["region_id"],
            name=region_name(r["region_id"]),
            kind=_region_kind(r["region_id"]),
            ed=float(r["ed"]),
            n_clients=int(r["n_clients"]),
            share=float(r["ed"]) / total if total else 0.0,
        )
        for r in conc.iter_rows(named=True)
    ]
    return BookFacts(
        run=run,
        rows=rows,
        unrated=[known[c] for c in chosen if c not in set(ids)],
        regions=regions,
        chokepoints=_chokepoints(ctx, p, {r.region_id: r.ed for r in regions}),
        threats=_run_threats(ctx, run.run_id),
        register=ctx.register(run.register_version),
        rules=ctx.rules(run.rules_version),
    )


def _chokepoints(
    ctx: Context, p: dict[str, Any], ed_by_region: dict[str, float]
) -> list[Chokepoint]:
    acc: dict[str, dict[str, Any]] = {}
    for r in ctx.store.frame(sql.BOOK_ROUTES, p).iter_rows(named=True):
        if not r["info"]:
            continue
        info = RouteInfo.from_json(r["info"])
        for d in info.detours:
            rid = d.region_id or d.passage
            a = acc.setdefault(rid, {"routes": 0, "clients": set(), "value": 0.0, "no_alt": 0})
            a["routes"] += 1
            a["clients"].add(r["client_id"])
            a["value"] += float(r["annual_value_usd"] or 0.0)
            a["no_alt"] += int(d.no_alternative)
    out = [
        Chokepoint(
            region_id=rid,
            name=region_name(rid),
            n_routes=a["routes"],
            n_clients=len(a["clients"]),
            annual_value_usd=a["value"],
            ed=ed_by_region.get(rid, 0.0),
            no_alternative=a["no_alt"],
        )
        for rid, a in acc.items()
    ]
    return sorted(out, key=lambda c: (-c.ed, -c.annual_value_usd, c.region_id))
