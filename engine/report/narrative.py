"""The executive summary, written from the drivers in plain English by code.

The summary answers four questions in order: how resilient is the client, what threatens it,
where, and how much of the business is at risk of disruption (probability-weighted, never a loss
forecast). Every figure comes from the run; every likelihood is quoted in the brief's own words.
The result is plain text in small pieces: the template escapes it and adds the emphasis, so no
markup is ever built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.models import ThreatDriver
from engine.report.advice import Recommendation
from engine.report.facts import ClientFacts, Item, region_in, region_phrase
from engine.report.fmt import (
    band_label,
    brief_refs,
    join_words,
    likelihood_phrase,
    long_date,
    pct,
    sentence,
    usd,
)

THREAT_COVER = 0.7  # describe threats until they account for this share...
MAX_THREATS = 4  # ...but no more than this many
MAX_ROUTES = 5


@dataclass(frozen=True)
class Point:
    title: str
    text: str
    ref: str = ""


@dataclass
class Summary:
    headline: str
    threats_intro: str
    threats: list[Point] = field(default_factory=list)
    where: str = ""
    cost: str = ""
    routes: list[Point] = field(default_factory=list)
    next_steps: str = ""


def _worst_critical(facts: ClientFacts) -> Item | None:
    floor = facts.rules.aggregation.worst_item_min_criticality
    critical = [i for i in facts.items if i.criticality >= floor and i.risk > 0]
    return max(critical, key=lambda i: (i.risk, i.value_usd), default=None)


def _headline(facts: ClientFacts) -> str:
    r = facts.rating
    label = band_label(facts.rules, r.band)
    bands = (
        f"band {r.band_low}"
        if r.band_low == r.band_high
        else f"bands {r.band_low} to {r.band_high}"
    )
    text = (
        f"{facts.client.name} rates {r.band}{f' ({label})' if label else ''} with a resilience "
        f"score of {r.score:.0f} out of 100 as of {long_date(facts.run.as_of)}. Taking every "
        f"likelihood in the brief at the low and then the high end of its range, the score lies "
        f"between {r.score_low:.0f} and {r.score_high:.0f} ({bands})."
    )
    worst = _worst_critical(facts)
    if worst is not None and worst.risk >= 0.2:
        text += (
            f" The rating is held down by its most exposed critical "
            f"{'route' if worst.kind == 'route' else 'site'}, {worst.name}, with a "
            f"{pct(worst.risk)} chance of disruption: a sound portfolio elsewhere cannot offset it."
        )
    return text


def _threats(facts: ClientFacts) -> tuple[str, list[Point]]:
    drivers = [t for t in facts.explanation.threats if t.share > 0]
    if not drivers:
        return (
            "None of the threats in the brief reaches this client's sites or routes in the run.",
            [],
        )
    chosen: list[ThreatDriver] = []
    covered = 0.0
    for t in drivers:
        if len(chosen) >= MAX_THREATS or (covered >= THREAT_COVER and len(chosen) >= 2):
            break
        chosen.append(t)
        covered += t.share
    n = len(chosen)
    intro = (
        f"{'One threat accounts' if n == 1 else f'{_number(n)} threats account'} for "
        f"{pct(covered)} of the value at risk of disruption:"
    )
    points = []
    for t in chosen:
        rt = facts.threats.get(t.threat_id)
        phrase = (
            likelihood_phrase(t.likelihood, t.likelihood_words, rt.p_low, rt.p_high, facts.rules)
            if rt is not None
            else t.likelihood_words
        )
        where_text = (
            "worldwide"
            if t.main_region == "world"
            else f"bearing hardest on {region_phrase(t.main_region)}"
        )
        points.append(
            Point(
                title=t.title,
                text=f"{pct(t.share)} of the value at risk, {where_text}; {phrase}.",
                ref=brief_refs(t.evidence, facts.many_briefs),
            )
        )
    return intro, points


def _where(facts: ClientFacts) -> str:
    regions = [g for g in facts.explanation.regions if g.share >= 0.05][:4]
    if not regions:
        return ""
    parts = [
        f"{pct(g.share)} "
        + (
            "arises worldwide, from global threats"
            if g.region_id == "world" and i == 0
            else region_in(g.region_id)
        )
        for i, g in enumerate(regions)
    ]
    if regions[0].region_id != "world":
        parts[0] = parts[0].replace(" in ", " arises in ", 1).replace(" at ", " arises at ", 1)
    return f"Of the value at risk, {join_words(parts)}."


def _cost(facts: ClientFacts) -> str:
    low, central, high = facts.expected_disruption
    total = facts.total_value
    n_sites = sum(1 for i in facts.items if i.kind == "asset")
    n_routes = sum(1 for i in facts.items if i.kind == "route")
    counted = _counted(n_sites, "site") + (
        f" and {_counted(n_routes, 'sea route')}" if n_routes else ""
    )
    months = facts.rules.horizon.outlook_months
    text = (
        f"{usd(central)} of the business is at risk of disruption, probability-weighted (range "
        f"{usd(low)} to {usd(high)}): the sum over its {counted} of each one's value times its "
        f"chance of disruption over the next {months:.0f} months. This measures exposure, not a "
        f"forecast of loss: a disruption usually costs only part of what it touches. It is "
        f"{pct(central / total if total else 0.0)} of the {usd(total)} exposed"
    )
    if n_routes:
        text += " (route values are annual trade)"
    text += "."
    top = max(facts.items, key=lambda i: i.expected_disruption_usd, default=None)
    if top is not None and top.expected_disruption_usd > 0:
        text += (
            f" The largest single exposure is {top.name}: {usd(top.value_usd)} at "
            f"{pct(top.risk)} risk, {usd(top.expected_disruption_usd)} probability-weighted."
        )
    return text


def _routes(facts: ClientFacts) -> list[Point]:
    routes = [i for i in facts.items if i.kind == "route" and i.risk > 0]
    routes.sort(key=lambda i: -i.expected_disruption_usd)
    out = []
    for item in routes[:MAX_ROUTES]:
        tol = item.tolerance_days or facts.rules.routes.default_tolerance_days
        service = f" ({item.service_name})" if item.service_name else ""
        no_alt: list[str] = []
        by_days: dict[int, list[str]] = {}
        threatened = facts.threatened_regions(item)
        if item.route is not None:
            for d in item.route.detours:
                if (d.region_id or d.passage) not in threatened:
                    continue  # a passage no threat of the register reaches
                name = region_phrase(d.region_id or d.passage)
                if d.no_alternative:
                    no_alt.append(name)
                elif d.extra_days is not None:
                    by_days.setdefault(round(d.extra_days), []).append(name)
        parts = []
        if no_alt:
            parts.append(f"no sea alternative at {join_words(no_alt)}")
        for days, names in sorted(by_days.items(), reverse=True):
            closure = "a closure of " + (
                " or ".join(names)
                if len(names) <= 2
                else ", ".join(names[:-1]) + " or " + names[-1]
            )
            verdict = "beyond" if days > tol else "within"
            parts.append(
                f"{closure} adds {days} days, {verdict} the {tol:.0f}-day impact tolerance{service}"
            )
        main = {c.region_id for c in facts.contributions.get(item.class_id, []) if c.r_central}
        if not parts and main <= {"world"}:
            parts.append("no threat bears on its passages or ports; only worldwide ones reach it")
        elif not parts:
            parts.append(
                "no threatened chokepoint on the way, but the threats bear on its end ports or "
                "inner waters, where there is no sea alternative"
            )
        text = f"{usd(item.value_usd)} a year at {pct(item.risk)} risk. " + sentence(
            "; ".join(parts)
        )
        out.append(Point(title=item.name, text=text + "."))
    return out


def _number(n: int) -> str:
    words = {2: "Two", 3: "Three", 4: "Four", 5: "Five"}
    return words.get(n, str(n))


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summarise(facts: ClientFacts, recs: list[Recommendation]) -> Summary:
    intro, threats = _threats(facts)
    steps = ""
    if recs:
        titles = [r.title[0].lower() + r.title[1:] for r in recs[:3]]
        joined = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
        steps = f"The first steps we recommend: {joined} (section 6)."
    return Summary(
        headline=_headline(facts),
        threats_intro=intro,
        threats=threats,
        where=_where(facts),
        cost=_cost(facts),
        routes=_routes(facts),
        next_steps=steps,
    )
