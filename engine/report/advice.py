"""Recommendations that follow from a client's drivers: rules of thumb, in code.

Each rule of thumb is keyed by item kind (site or route) and threat category and names the
actions that answer it. An action that is a mitigation the rules know (backup site, continuity
plan, cyber certification, insurance) is recommended only for items that lack it, and its effect
is worked out with the rules' own credits: every contribution r(x, t) of a threat of category c
shrinks to r(x, t) x (1 - credit(m, c)), so the item's risk becomes 1 - prod(1 - r'). Actions
outside the rules (routing, buffers, hedging, staff security) are shown with the expected
disruption they address, without a modelled cut.

Every number comes from the run and the method (``scoring_rules.method``); every word that names a
place, an actor or an event comes from the register (threat titles, their brief references) or the
gazetteer (region names, the bypass a chokepoint has), never from this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.report.facts import ClientFacts, Contribution, Item, region_phrase
from engine.report.fmt import brief_refs, join_words, usd
from exposures.gazetteer import load_gazetteer
from scoring_rules import method

# Share of an item's summed contributions a category must reach to call for its rules of thumb.
CATEGORY_SHARE = 0.05
# Recommendations addressing less than this share of the client's expected disruption are dropped.
MIN_SHARE = 0.01
MAX_RECOMMENDATIONS = 7

VIOLENCE = ("armed_conflict", "militia_attack", "terrorism")
CHOKEPOINT_CATEGORIES = ("shipping_disruption", "armed_conflict", "militia_attack", "terrorism")
ENERGY_COMMODITIES = {"crude_oil", "refined_products", "lng"}

# (item kind, threat category) -> actions, most effective first.
RULES_OF_THUMB: dict[tuple[str, str], tuple[str, ...]] = {
    **{
        ("asset", c): ("backup_site", "continuity_plan", "insurance", "staff_security")
        for c in VIOLENCE
    },
    ("asset", "civil_unrest"): ("backup_site", "continuity_plan", "insurance"),
    ("asset", "cyber_attack"): ("cyber_certification", "backup_site", "continuity_plan"),
    ("asset", "shipping_disruption"): ("continuity_plan", "insurance"),
    ("asset", "oil_market_shock"): ("energy_hedge", "continuity_plan"),
    ("asset", "sanctions"): ("sanctions_screening",),
    ("asset", "aviation_security"): ("airspace_review", "insurance"),
    **{("route", c): ("sea_routing", "insurance") for c in CHOKEPOINT_CATEGORIES},
    ("route", "oil_market_shock"): ("energy_hedge",),
    ("route", "sanctions"): ("sanctions_screening",),
}

MITIGATIONS = ("backup_site", "continuity_plan", "cyber_certification", "insurance")

# The threat categories each action outside the rules answers (mitigations: those they credit).
ADDRESSES: dict[str, tuple[str, ...]] = {
    "staff_security": VIOLENCE,
    "energy_hedge": ("oil_market_shock",),
    "sanctions_screening": ("sanctions",),
    "airspace_review": ("aviation_security",),
    "sea_routing": CHOKEPOINT_CATEGORIES,
}


@dataclass
class Recommendation:
    key: str
    title: str
    action: str
    why: str
    items: list[str]  # item names (client text: escaped by the template)
    at_stake_usd: float  # expected disruption (value x risk) of the items concerned
    cut_usd: float | None = None  # modelled cut under the rules' credits, when there is one
    notes: list[str] = field(default_factory=list)


def _item_risk(
    facts: ClientFacts, contribs: Iterable[Contribution], mitigation: str | None = None
) -> float:
    """The item's risk from its run contributions, with ``mitigation`` added when given."""
    return method.item_risk(
        c.r_central
        * (
            method.mitigation_multiplier(facts.rules, c.category, (mitigation,))
            if mitigation
            else 1.0
        )
        for c in contribs
    )


def _categories(contribs: list[Contribution]) -> dict[str, float]:
    total = sum(c.r_central for c in contribs)
    out: dict[str, float] = {}
    for c in contribs:
        out[c.category] = out.get(c.category, 0.0) + (c.r_central / total if total else 0.0)
    return out


def _addressed(facts: ClientFacts, items: list[Item], categories: set[str]) -> float:
    """The part of the items' expected disruption that threats of these categories bring, with
    each item's value x risk split between threats in proportion to their contributions."""
    out = 0.0
    for item in items:
        contribs = facts.contributions.get(item.class_id, [])
        total = sum(c.r_central for c in contribs)
        part = sum(c.r_central for c in contribs if c.category in categories)
        out += item.expected_disruption_usd * (part / total if total else 0.0)
    return out


def _categories_for(facts: ClientFacts, action: str) -> set[str]:
    if action in MITIGATIONS:
        return {
            c for c in facts.rules.categories if facts.rules.mitigation.credits.get(action, c) > 0
        }
    return set(ADDRESSES.get(action, ()))


def _mitigation_cut(facts: ClientFacts, items: list[Item], mitigation: str) -> float:
    """Value x (the run's item risk - the item risk with the mitigation's credits)."""
    cut = 0.0
    for item in items:
        contribs = facts.contributions.get(item.class_id, [])
        cut += item.value_usd * max(0.0, item.risk - _item_risk(facts, contribs, mitigation))
    return cut


def _driving(facts: ClientFacts, items: list[Item], categories: Iterable[str]) -> list[str]:
    """Ids of the threats of these categories that reach the items, the largest value x r first."""
    wanted = set(categories)
    weight: dict[str, float] = {}
    for item in items:
        for c in facts.contributions.get(item.class_id, []):
            if c.category in wanted and c.r_central > 0:
                weight[c.threat_id] = weight.get(c.threat_id, 0.0) + item.value_usd * c.r_central
    return sorted(weight, key=lambda t: (-weight[t], t))


def _cited(facts: ClientFacts, threat_ids: list[str], limit: int = 2) -> str:
    """'“Title” (brief refs) and “Title” (brief refs)': the register's words for the drivers."""
    parts = []
    for tid in threat_ids[:limit]:
        driver = facts.driver(tid)
        title = driver.title if driver is not None else facts.threat_title(tid)
        refs = brief_refs(driver.evidence, facts.many_briefs) if driver is not None else ""
        parts.append(f"“{title}”" + (f" ({refs})" if refs else ""))
    more = len(threat_ids) - limit
    if more > 0:
        parts.append(f"{more} more {'threat' if more == 1 else 'threats'}")
    return join_words(parts)


def _countries(facts: ClientFacts, threat_ids: list[str]) -> list[str]:
    """The countries a set of threats names (directly, or through a subdivision or hotspot)."""
    gaz = load_gazetteer()
    out: dict[str, str] = {}
    for tid in threat_ids:
        for rid in facts.threat_regions(tid):
            region = gaz.get(rid)
            if region is None or region.kind in ("world", "maritime", "chokepoint"):
                continue
            iso3 = region.id if region.kind == "country" else region.country
            if iso3:
                out.setdefault(iso3, region_phrase(iso3))
    return [out[k] for k in sorted(out, key=lambda k: out[k])]


def _waters(facts: ClientFacts, items: list[Item], categories: Iterable[str]) -> list[str]:
    """The sea zones and chokepoints where threats of these categories reach the items."""
    gaz = load_gazetteer()
    cats = set(categories)
    found: set[str] = set()
    for item in items:
        on_route = set(item.route.sea_zones) | set(item.route.chokepoints) if item.route else set()
        for rid in facts.threatened_regions(item, cats):
            region = gaz.get(rid)
            sea = region is not None and region.kind in ("maritime", "chokepoint")
            if sea and (not on_route or rid in on_route):
                found.add(rid)
    return sorted(region_phrase(r) for r in found)


def _names(items: list[Item], limit: int = 6) -> list[str]:
    ordered = sorted(items, key=lambda i: -i.expected_disruption_usd)
    names = [i.name for i in ordered[:limit]]
    if len(ordered) > limit:
        names.append(f"and {len(ordered) - limit} more")
    return names


@dataclass(frozen=True)
class _Situation:
    """Where the chokepoint threats bear on a route."""

    no_alt: list[str]  # region ids of passages with no sea alternative
    inner: list[str]  # end ports and inner waters (no way around them either), as phrases
    detours: list[tuple[str, float]]  # passages with a detour: (phrase, extra days)
    via: list[str]  # passages the detours use that the route itself does not cross, as phrases


def _route_situation(facts: ClientFacts, item: Item) -> _Situation:
    contribs = facts.contributions.get(item.class_id, [])
    main = {c.region_id for c in contribs if c.category in CHOKEPOINT_CATEGORIES and c.r_central}
    hit = facts.threatened_regions(item, CHOKEPOINT_CATEGORIES)
    gaz = load_gazetteer()
    no_alt: set[str] = set()
    detours: list[tuple[str, float]] = []
    via: set[str] = set()
    chokepoints = set()
    if item.route is not None:
        own = set(item.route.passages)
        for d in item.route.detours:
            rid = d.region_id or d.passage
            chokepoints.add(rid)
            if rid not in hit:
                continue
            if d.no_alternative:
                no_alt.add(rid)
            elif d.extra_days is not None:
                detours.append((region_phrase(rid), d.extra_days))
                for p in d.alt_passages:
                    region = gaz.chokepoint_for_passage(p)
                    if p not in own and region is not None:
                        via.add(region_phrase(region.id))
    inner = {region_phrase(rid) for rid in main - chokepoints if rid != "world"}
    return _Situation(sorted(no_alt), sorted(inner), detours, sorted(via))


def recommendations(facts: ClientFacts) -> list[Recommendation]:
    buckets: dict[str, list[Item]] = {}
    for item in facts.items:
        if item.risk <= 0:
            continue
        cats = _categories(facts.contributions.get(item.class_id, []))
        for cat, share in cats.items():
            if share < CATEGORY_SHARE:
                continue
            for action in RULES_OF_THUMB.get((item.kind, cat), ()):
                if action in MITIGATIONS and action in item.mitigations:
                    continue
                if action == "staff_security" and not (item.headcount or 0):
                    continue
                bucket = buckets.setdefault(f"{item.kind}:{action}", [])
                if item not in bucket:
                    bucket.append(item)
    total_ed = facts.expected_disruption[1]
    out = []
    for key, items in buckets.items():
        kind, action = key.split(":", 1)
        rec = _write(facts, kind, action, items)
        if rec is None:
            continue
        if total_ed and rec.at_stake_usd < MIN_SHARE * total_ed:
            continue
        out.append(rec)
    out.sort(key=lambda r: (-(r.cut_usd or 0.0) - 0.25 * r.at_stake_usd, r.key))
    return out[:MAX_RECOMMENDATIONS]


def _write(facts: ClientFacts, kind: str, action: str, items: list[Item]) -> Recommendation | None:
    at_stake = _addressed(facts, items, _categories_for(facts, action))
    n = len(items)
    sites = "site" if n == 1 else "sites"
    names = _names(items)
    key = f"{kind}:{action}"
    if action in MITIGATIONS:
        cut = _mitigation_cut(facts, items, action)
        if cut <= 0:
            return None
        credit_note = f"Under the rules' credits this cuts the value at risk by about {usd(cut)}."
        if action == "backup_site":
            dc = any(i.item_type == "data_centre" for i in items)
            return Recommendation(
                key,
                "Set up backup sites",
                f"Designate and equip a backup {'site or failover data centre' if dc else 'site'} "
                f"outside the threatened area for the {n} {sites} that have none, so that their "
                "business services can move there within their impact tolerance.",
                "Sites without a backup carry the full force of the violence, unrest and cyber "
                "threats where they stand. " + credit_note,
                names,
                at_stake,
                cut,
            )
        if action == "continuity_plan":
            return Recommendation(
                key,
                "Write and test continuity plans",
                f"Write a business continuity plan for the {n} "
                f"{'item' if n == 1 else 'items'} without one and test it against the "
                "scenarios in this report (loss of the site, closure of the sea lane).",
                "A tested plan shortens every kind of disruption. " + credit_note,
                names,
                at_stake,
                cut,
            )
        if action == "cyber_certification":
            return Recommendation(
                key,
                "Raise cyber controls to a certified standard",
                "Bring the exposed systems to a certified standard (ISO/IEC 27001 or "
                "equivalent): network segmentation, offline backups, phishing-resistant "
                "multi-factor authentication and a tested incident-response plan.",
                f"The register's cyber threats reach these systems: "
                f"{_cited(facts, _driving(facts, items, ('cyber_attack',)))}. They have no "
                "certified controls. " + credit_note,
                names,
                at_stake,
                cut,
            )
        if action == "insurance":
            if kind == "route":
                waters = _waters(facts, items, CHOKEPOINT_CATEGORIES)
                check = (
                    f", and check the listed-area exclusions for {join_words(waters)}"
                    if waters
                    else ", and check the policies' listed-area exclusions"
                )
                return Recommendation(
                    key,
                    "Insure cargoes against war risk",
                    f"Place marine war-risk and cargo cover on the routes that lack it{check}.",
                    "These routes carry no insurance against the shipping threats. " + credit_note,
                    names,
                    at_stake,
                    cut,
                )
            return Recommendation(
                key,
                "Insure against political violence",
                "Place political-violence, terrorism and strikes-riots-civil-commotion cover, "
                f"with business interruption, on the {n} {sites} that have none.",
                "Insurance does not stop the event but pays for the disruption. " + credit_note,
                names,
                at_stake,
                cut,
            )
    if action == "staff_security":
        heads = sum(i.headcount or 0 for i in items)
        return Recommendation(
            key,
            "Review staff security and evacuation",
            f"Review travel-risk management, shelter and evacuation plans for the {heads:,} "
            f"people at {n} {sites} exposed to armed conflict, militia or terrorist attack.",
            "People are not in the value figures, but they come first.",
            names,
            at_stake,
        )
    if action == "energy_hedge":
        why = (
            f"The register judges {_cited(facts, _driving(facts, items, ('oil_market_shock',)))}; "
            "no mitigation in the rules answers a price shock."
        )
        if facts.client.sector == "oil_gas":
            return Recommendation(
                key,
                "Hedge oil price volatility",
                "Hedge part of the exposure to oil price swings over the threats' horizon "
                "(collars or swaps) and review the price terms of offtake and supply contracts.",
                why,
                names,
                at_stake,
            )
        return Recommendation(
            key,
            "Hedge fuel and energy costs",
            "If not already hedged, hedge fuel and energy exposure over the threats' horizon "
            "(swaps or options) and review fuel and energy surcharge clauses with customers.",
            why,
            names,
            at_stake,
        )
    if action == "sanctions_screening":
        driving = _driving(facts, items, ("sanctions",))
        countries = _countries(facts, driving)
        tied = f" tied to {join_words(countries)}" if countries else ""
        return Recommendation(
            key,
            "Screen counterparties against new sanctions",
            f"Screen counterparties, vessels and payment routes{tied} against the sanctions the "
            "register records, and add sanctions clauses to new contracts.",
            f"The register records {_cited(facts, driving)}.",
            names,
            at_stake,
        )
    if action == "airspace_review":
        driving = _driving(facts, items, ("aviation_security",))
        countries = _countries(facts, driving)
        away = (
            f"away from the airspace of {join_words(countries)}"
            if countries
            else "away from the airspace the threats name"
        )
        return Recommendation(
            key,
            "Review routings over conflict-zone airspace",
            f"Re-plan flight routings {away} while the conflict-zone warnings stand, and agree "
            "station contingency plans.",
            f"The register records {_cited(facts, driving)}.",
            names,
            at_stake,
        )
    if action == "sea_routing":
        return _routing(facts, items, at_stake)
    return None


def _routing(facts: ClientFacts, items: list[Item], at_stake: float) -> Recommendation | None:
    gaz = load_gazetteer()
    stuck: list[Item] = []
    passages: set[str] = set()
    inner: set[str] = set()
    via: set[str] = set()
    notes = []
    for item in sorted(items, key=lambda i: -i.expected_disruption_usd):
        situation = _route_situation(facts, item)
        tol = item.tolerance_days or facts.rules.routes.default_tolerance_days
        if situation.no_alt or situation.inner:
            stuck.append(item)
            passages.update(situation.no_alt)
            inner.update(situation.inner)
        via.update(situation.via)
        for name, extra in situation.detours:
            gap = round(extra) - tol
            verdict = (
                f"{gap:.0f} days beyond its {tol:.0f}-day impact tolerance"
                if gap > 0
                else f"within its {tol:.0f}-day impact tolerance"
            )
            notes.append(f"{item.name}: closing {name} adds {extra:.0f} days, {verdict}.")
    if stuck:
        energy = any(i.item_type in ENERGY_COMMODITIES for i in stuck)
        where = []
        if passages:
            names = sorted(region_phrase(p) for p in passages)
            where.append(f"there is no sea alternative at {join_words(names)}")
        if inner:
            where.append(
                f"the threats bear on the end ports and inner waters themselves "
                f"({join_words(sorted(inner))})"
            )
        bypasses = []
        for rid in sorted(passages):
            region = gaz.get(rid)
            if region is not None and region.bypass:
                bypasses.append(region.bypass)
        bypass = (
            f" or contract bypass capacity ({'; '.join(bypasses)})"
            if energy and bypasses
            else " or arrange supply from outside the threatened waters"
        )
        action = (
            f"For {len(stuck)} {'route' if len(stuck) == 1 else 'routes'} "
            f"{' and '.join(where)}: hold an inventory buffer at destination sized to cover a "
            f"closure{bypass}."
        )
        if notes:
            action += " Where a detour exists, pre-agree alternative routing with carriers."
        title = (
            "Buffer stock or pipeline bypass where no sea alternative exists"
            if energy and bypasses
            else "Buffer stock where no sea alternative exists"
        )
        return Recommendation(
            "route:sea_routing",
            title,
            action,
            "A closure stops these routes outright: rerouting at sea cannot help.",
            _names(items),
            at_stake,
            None,
            notes,
        )
    if notes:
        around = f" (via {join_words(sorted(via))} where needed)" if via else ""
        return Recommendation(
            "route:sea_routing",
            "Pre-agree alternative routing",
            f"Agree alternative routing{around} with carriers in advance, and hold buffer "
            "stock for any days by which the detour exceeds the service's impact tolerance.",
            "The detours below are what a closure of each passage would cost.",
            _names(items),
            at_stake,
            None,
            notes,
        )
    return None
