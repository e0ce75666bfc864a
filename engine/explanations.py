"""Why a client is rated as it is: the threats, items and regions that weigh most in a run, the
people its sites put at risk, and the words that name places (the ``Context``'s ``explain``
calls these; the CLI, the app and the reports show what comes back).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pycountry

from engine import queries, queries_runs
from engine.errors import ResilienceError
from engine.models import (
    EvidenceRef,
    Explanation,
    ItemDriver,
    PeopleAtRisk,
    PeopleByThreat,
    RegionDriver,
    ThreatDriver,
)
from engine.store import Scope
from exposures.gazetteer import load_gazetteer

if TYPE_CHECKING:
    from engine.context import Context
    from exposures.routes import RouteInfo


def explain(ctx: Context, client_id: str, run_id: int | None, *, top: int) -> Explanation:
    """The drivers of a client's rating in a run (the current run by default); the caller has
    checked that the client is in its scope."""
    run = ctx.run_info(run_id) if run_id is not None else ctx.current_run()
    rating = ctx.rating(run.run_id, client_id, Scope.of(client_id))
    p = {"r": run.run_id, "c": client_id}
    threat_rows = ctx.store.frame(queries_runs.THREAT_DRIVERS, p)
    total = float(threat_rows["ed"].sum() or 0.0) if threat_rows.height else 0.0
    threats = [
        ThreatDriver(
            threat_id=r["threat_id"],
            title=r["title"],
            category=r["category"],
            likelihood=r["likelihood"],
            likelihood_words=r["likelihood_words"],
            share=(r["ed"] / total) if total else 0.0,
            expected_disruption_usd=r["ed"],
            main_region=r["main_region"],
            evidence=[EvidenceRef(**e) for e in json.loads(r["evidence"])],
            status=r["status"],
        )
        for r in threat_rows.iter_rows(named=True)
    ]
    region_rows = ctx.store.frame(queries_runs.REGION_DRIVERS, p)
    regions = [
        RegionDriver(
            region_id=r["region_id"],
            name=_region_name(r["region_id"], r["name"]),
            share=(r["ed"] / total) if total else 0.0,
        )
        for r in region_rows.head(top).iter_rows(named=True)
    ]
    return Explanation(
        rating=rating,
        run=run,
        register_title=ctx.register(run.register_version).title,
        threats=threats,
        items=item_drivers(ctx, run.run_id, client_id, top),
        regions=regions,
        expired_threats=expired_threats(ctx, run.run_id),
        people=people_at_risk(ctx, run.run_id, client_id),
    )


def expired_threats(ctx: Context, run_id: int) -> list[str]:
    """Judgements whose horizon ended before the run's date: they count as last judged, and the
    brief they come from needs a refresh."""
    return [str(r[0]) for r in ctx.store.rows(queries_runs.EXPIRED_THREATS, {"r": run_id})]


def people_at_risk(ctx: Context, run_id: int, client_id: str) -> PeopleAtRisk:
    """Staff at the client's sites that threats to people's safety (rules: people.categories)
    reach in this run, in total and by threat."""
    rules = ctx.rules(ctx.run_info(run_id).rules_version)
    p = {"r": run_id, "c": client_id, "cats": list(rules.people.categories)}
    frame = ctx.store.frame(queries.CLIENT_PEOPLE, p)
    by_threat = ctx.store.frame(queries.CLIENT_PEOPLE_BY_THREAT, p)
    return PeopleAtRisk(
        total_headcount=int(frame["total"][0]) if frame.height else 0,
        exposed_headcount=int(frame["exposed"][0]) if frame.height else 0,
        by_threat=[
            PeopleByThreat(threat_id=r["threat_id"], title=r["title"], headcount=r["headcount"])
            for r in by_threat.iter_rows(named=True)
        ],
        in_rating=rules.people.value_per_person_usd > 0,
    )


def item_drivers(ctx: Context, run_id: int, client_id: str, top: int) -> list[ItemDriver]:
    """The client's items at most risk in the run, each described in words."""
    frame = ctx.store.frame(queries.CLIENT_ITEMS, {"r": run_id, "c": client_id}).head(top)
    out = []
    for r in frame.iter_rows(named=True):
        kind = str(r["item_type"]).replace("_", " ")
        if r["item_kind"] == "asset":
            place = f"{r['city']}, " if r["city"] else ""
            detail = f"{kind}, {place}{country_name(r['country_iso3'])}"
        else:
            detail = f"{kind}, {port_name(r['origin'])} to {port_name(r['destination'])}"
        if r["info"]:
            from exposures.routes import RouteInfo

            detail += "; " + describe_route(RouteInfo.from_json(r["info"]))
        out.append(
            ItemDriver(
                item_kind=r["item_kind"],
                item_id=r["item_id"],
                name=r["name"],
                value_usd=r["value_usd"],
                criticality=r["criticality"],
                risk=r["risk"],
                risk_low=r["risk_low"],
                risk_high=r["risk_high"],
                top_threat=r["top_threat"],
                detail=detail,
            )
        )
    return out


# -- places in words -------------------------------------------------------------------------------


def _region_name(region_id: str, name: str) -> str:
    if name != region_id:
        return name
    region = load_gazetteer().get(region_id)
    return region.name if region is not None else region_id


def country_name(iso3: str | None) -> str:
    """GBR -> United Kingdom (pycountry's common name where it has one)."""
    if not iso3:
        return "unknown country"
    found = pycountry.countries.get(alpha_3=iso3)
    return str(getattr(found, "common_name", None) or found.name) if found else iso3


def port_name(text: str | None) -> str:
    """IQUQR -> Umm Qasr (the port's name where the LOCODE is known; the text as given else)."""
    if not text:
        return "-"
    from exposures.ports import resolve_port

    try:
        port = resolve_port(text)
    except ResilienceError:
        return text
    return port.name if port.locode == text.strip().upper() else text


def describe_route(info: RouteInfo) -> str:
    """Chokepoints on a route and what closing each would cost, in words."""
    gaz = load_gazetteer()
    parts = []
    for d in info.detours:
        region = gaz.get(d.region_id) if d.region_id else None
        name = region.name if region is not None else d.passage
        if d.no_alternative:
            parts.append(f"{name}: no sea alternative")
        elif d.extra_days is not None:
            parts.append(f"{name}: detour +{d.extra_days:.0f} days")
        else:
            parts.append(f"{name}: detour not computed")
    via = "; ".join(parts) if parts else "no chokepoint"
    return f"{info.length_km:,.0f} km, {info.days:.1f} days; {via}"
