"""Recommendations that follow from a client's drivers: rules of thumb, in code.

Each rule of thumb is keyed by item kind (site or route) and threat category and names the
actions that answer it. An action that is a mitigation the rules know (backup site, continuity
plan, cyber certification, insurance) is recommended only for items that lack it, and its effect
is worked out with the rules' own credits: every contribution r(x, t) of a threat of category c
shrinks to r(x, t) x (1 - credit(m, c)), so the item's risk becomes 1 - prod(1 - r'). Actions
outside the rules (routing, buffers, hedging, staff security) are shown with the expected
disruption they address, without a modelled cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.report.facts import ClientFacts, Contribution, Item, region_phrase
from engine.report.fmt import join_words, usd

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


def _item_risk(contribs: Iterable[Contribution], scale: dict[str, float] | None = None) -> float:
    keep = 1.0
    for c in contribs:
        r = c.r_central * (1.0 - (scale or {}).get(c.category, 0.0))
        keep *= 1.0 - r
    return 1.0 - keep


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
    credits = {c: facts.rules.mitigation.credits.get(mitigation, c) for c in facts.rules.categories}
    cut = 0.0
    for item in items:
        contribs = facts.contributions.get(item.class_id, [])
        cut += item.value_usd * (_item_risk(contribs) - _item_risk(contribs, credits))
    return cut


def _names(items: list[Item], limit: int = 6) -> list[str]:
    ordered = sorted(items, key=lambda i: -i.expected_disruption_usd)
    names = [i.name for i in ordered[:limit]]
    if len(ordered) > limit:
        names.append(f"and {len(ordered) - limit} more")
    return names


def _route_situation(
    facts: ClientFacts, item: Item
) -> tuple[list[str], list[str], list[tuple[str, float]]]:
    """Where the chokepoint threats bear on a route: passages with no sea alternative, end ports
    and inner waters (no way around them either), and passages with a detour (name, days)."""
    contribs = facts.contributions.get(item.class_id, [])
    hit = {c.region_id for c in contribs if c.category in CHOKEPOINT_CATEGORIES and c.r_central}
    no_alt: set[str] = set()
    detours: list[tuple[str, float]] = []
    chokepoints = set()
    if item.route is not None:
        for d in item.route.detours:
            rid = d.region_id or d.passage
            chokepoints.add(rid)
            if rid not in hit:
                continue
            if d.no_alternative:
                no_alt.add(region_phrase(rid))
            elif d.extra_days is not None:
                detours.append((region_phrase(rid), d.extra_days))
    inner = {region_phrase(rid) for rid in hit - chokepoints if rid != "world"}
    return sorted(no_alt), sorted(inner), detours


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
        credit_note = f"Under the rules' credits this cuts expected disruption by about {usd(cut)}."
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
                "The brief names Iranian cyber operations against US and allied organisations; "
                "these systems have no certified controls. " + credit_note,
                names,
                at_stake,
                cut,
            )
        if action == "insurance":
            if kind == "route":
                return Recommendation(
                    key,
                    "Insure cargoes against war risk",
                    "Place marine war-risk and cargo cover on the routes that lack it, and check "
                    "the listed-area exclusions for the Gulf and the Red Sea.",
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
        if facts.client.sector == "oil_gas":
            return Recommendation(
                key,
                "Hedge oil price volatility",
                "Hedge part of the exposure to oil price swings over the threats' horizon "
                "(collars or swaps) and review the price terms of offtake and supply contracts.",
                "The brief warns that attacks on Gulf shipping may hinder global oil markets; "
                "no mitigation in the rules answers a price shock.",
                names,
                at_stake,
            )
        return Recommendation(
            key,
            "Hedge fuel and energy costs",
            "If not already hedged, hedge fuel and energy exposure over the threats' horizon "
            "(swaps or options) and review fuel and energy surcharge clauses with customers.",
            "The brief warns that attacks on Gulf shipping may hinder global oil markets; "
            "no mitigation in the rules answers a price shock.",
            names,
            at_stake,
        )
    if action == "sanctions_screening":
        return Recommendation(
            key,
            "Screen counterparties against new sanctions",
            "Screen counterparties, vessels and payment routes against the sanctions "
            "announced after the strikes, and add sanctions clauses to new contracts.",
            "The brief reports further US economic sanctions on Iran.",
            names,
            at_stake,
        )
    if action == "airspace_review":
        return Recommendation(
            key,
            "Review routings over conflict-zone airspace",
            "Re-plan flight routings away from Iranian and Iraqi airspace while the "
            "conflict-zone warnings stand, and agree station contingency plans.",
            "The brief recalls the airliner downed after take-off from Tehran.",
            names,
            at_stake,
        )
    if action == "sea_routing":
        return _routing(facts, items, at_stake)
    return None


def _routing(facts: ClientFacts, items: list[Item], at_stake: float) -> Recommendation | None:
    stuck: list[Item] = []
    passages: set[str] = set()
    inner: set[str] = set()
    notes = []
    for item in sorted(items, key=lambda i: -i.expected_disruption_usd):
        no_alt, waters, detours = _route_situation(facts, item)
        tol = item.tolerance_days or facts.rules.routes.default_tolerance_days
        if no_alt or waters:
            stuck.append(item)
            passages.update(no_alt)
            inner.update(waters)
        for name, extra in detours:
            gap = extra - tol
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
            where.append(f"there is no sea alternative at {join_words(sorted(passages))}")
        if inner:
            where.append(
                f"the threats bear on the end ports and inner waters themselves "
                f"({join_words(sorted(inner))})"
            )
        bypass = (
            " or contract bypass capacity (the Saudi East–West pipeline to Yanbu and the "
            "Habshan–Fujairah line avoid Hormuz, about 2.6 million barrels a day between them)"
            if energy and "the Strait of Hormuz" in passages
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
            if energy
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
        return Recommendation(
            "route:sea_routing",
            "Pre-agree alternative routing",
            "Agree alternative routing (around the Cape of Good Hope where needed) with "
            "carriers in advance, and hold buffer stock for any days by which the detour "
            "exceeds the service's impact tolerance.",
            "The detours below are what a closure of each passage would cost.",
            _names(items),
            at_stake,
            None,
            notes,
        )
    return None
