"""The scoring method as plain scalar functions.

The engine scores a book in set-based SQL (engine/sql/score.sql); these functions state the same
method one number at a time. They run the rules file's worked examples and serve as the oracle the
SQL is tested against. They are never used to score a book.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from scoring_rules.rules import Rules

Point = Literal["low", "central", "high"]


def likelihood(rules: Rules, term: str, point: Point) -> float:
    rng = rules.likelihood.range_for(term)
    return {"low": rng.low, "central": rng.central, "high": rng.high}[point]


def window_share(
    rules: Rules, months_elapsed: float, from_months: float, to_months: float
) -> float:
    """Share of a judgement's horizon that the run's outlook window covers (0..1).

    The window runs from the run's date (``months_elapsed`` after the brief's) for the rules'
    outlook. Time in the window on or after the horizon's start counts, up to the horizon's
    length: a judgement whose horizon has ended keeps standing as last judged.
    """
    if months_elapsed < 0:  # the brief was written after the run's date
        return 0.0
    outlook = rules.horizon.outlook_months
    covered = max(0.0, min(outlook, months_elapsed + outlook - from_months))
    return min(1.0, covered / (to_months - from_months))


def window_probability(p: float, share: float) -> float:
    """Probability within the window when p is spread at a constant hazard over the horizon."""
    return 1.0 - (1.0 - p) ** share if share > 0 else 0.0


def expired(months_elapsed: float, to_months: float) -> bool:
    """The horizon ended before the run's date: the judgement needs a refresh."""
    return to_months < months_elapsed


def hotspot_factor(rules: Rules, distance_km: float | None, radius_km: float | None) -> float:
    """Share of a hotspot's intensity felt at this distance from its centre."""
    if distance_km is None or radius_km is None:
        return 1.0
    inner = rules.hotspots.full_within * radius_km
    if distance_km <= inner:
        return 1.0
    return max(0.0, (radius_km - distance_km) / (radius_km - inner))


def detour_factor(
    rules: Rules,
    category: str,
    *,
    no_alternative: bool = False,
    extra_days: float | None = None,
    tolerance_days: float | None = None,
) -> float:
    """How much of a route's vulnerability a threat at this point of the route brings to bear."""
    if category not in rules.routes.detour_categories:
        return 1.0
    if no_alternative:
        return rules.routes.no_alternative
    if extra_days is None:
        return 1.0
    tolerance = tolerance_days or rules.routes.default_tolerance_days
    floor = rules.routes.detour_floor
    return min(1.0, floor + (1.0 - floor) * extra_days / tolerance)


def mitigation_multiplier(rules: Rules, category: str, mitigations: Iterable[str]) -> float:
    out = 1.0
    for m in set(mitigations):
        out *= 1.0 - rules.mitigation.credits.get(m, category)
    return out


@dataclass(frozen=True)
class ContributionInput:
    category: str
    likelihood: str
    point: Point
    intensity: float
    targeted: bool
    sector: str
    severity: int
    asset_type: str | None = None
    commodity: str | None = None
    mitigations: Sequence[str] = ()
    distance_km: float | None = None
    radius_km: float | None = None
    no_alternative: bool = False
    extra_days: float | None = None
    tolerance_days: float | None = None
    alt_ratio: float | None = None  # detour length over the usual route's
    months_elapsed: float = 0.0  # the run's date, in months after the brief's
    from_months: float = 0.0
    to_months: float | None = None  # None: a horizon as long as the outlook window


def contribution(rules: Rules, x: ContributionInput) -> float:
    to_months = x.from_months + rules.horizon.outlook_months if x.to_months is None else x.to_months
    share = window_share(rules, x.months_elapsed, x.from_months, to_months)
    p = window_probability(likelihood(rules, x.likelihood, x.point), share)
    e = x.intensity * hotspot_factor(rules, x.distance_km, x.radius_km)
    match = 1.0 if x.targeted else rules.targeting.collateral_factor
    g = match * rules.targeting.sector_sensitivity.get(x.category, x.sector)
    if x.commodity is not None:
        v = rules.vulnerability.routes.get(x.category, x.commodity) * detour_factor(
            rules,
            x.category,
            no_alternative=x.no_alternative
            or (x.alt_ratio is not None and x.alt_ratio > rules.routes.no_alternative_ratio),
            extra_days=x.extra_days,
            tolerance_days=x.tolerance_days,
        )
    else:
        v = rules.vulnerability.assets.get(x.category, x.asset_type or "")
    v *= mitigation_multiplier(rules, x.category, x.mitigations)
    i = x.severity / rules.impact.severity_max
    return p * e * g * v * i


def item_risk(contributions: Iterable[float]) -> float:
    return 1.0 - math.prod(1.0 - r for r in contributions)


def business_value(rules: Rules, business_value_usd: float | None) -> float:
    """B, the value every item is weighed against: the client's own, or the rules' default."""
    if business_value_usd is None:
        return rules.aggregation.default_business_value_usd
    return business_value_usd


def item_value(rules: Rules, value_usd: float, headcount: float = 0.0) -> float:
    """An item's value in the expected disruption: its book value plus any value for people."""
    return value_usd + rules.people.value_per_person_usd * headcount


def expected_disruption(
    rules: Rules, items: Iterable[tuple[float, float]], business_value_usd: float | None = None
) -> float:
    """Share of the business value expected to be disrupted; items are (value_usd, R).

    Each item weighs by value / B, linear in value, so splitting an item into parts with the same
    risk (or merging them) leaves the result unchanged, and adding an item never lowers it.
    """
    b = business_value(rules, business_value_usd)
    return 1.0 - math.prod((1.0 - r) ** (v / b) for v, r in items)


def client_risk(rules: Rules, ead: float, worst: float) -> float:
    return 1.0 - (1.0 - ead) * (1.0 - rules.aggregation.worst_item_weight * worst)


def score(rules: Rules, risk: float) -> float:
    return 100.0 * (1.0 - risk) ** rules.aggregation.score_exponent


def run_example(rules: Rules, kind: str, inputs: dict[str, object]) -> dict[str, object]:
    """Evaluate one worked example of a rules file."""
    if kind == "contribution":
        args = dict(inputs)
        args["mitigations"] = tuple(args.get("mitigations", ()))  # type: ignore[arg-type]
        return {"r": contribution(rules, ContributionInput(**args))}  # type: ignore[arg-type]
    if kind == "item_risk":
        return {"R": item_risk(inputs["r"])}  # type: ignore[arg-type]
    if kind == "expected_disruption":
        pairs = [(float(v), float(r)) for v, r in inputs["items"]]  # type: ignore[attr-defined]
        bv = inputs.get("business_value_usd")
        return {"ead": expected_disruption(rules, pairs, None if bv is None else float(str(bv)))}
    ead, worst = float(inputs["ead"]), float(inputs["worst"])  # type: ignore[arg-type]
    risk = client_risk(rules, ead, worst)
    s = score(rules, risk)
    return {"risk": risk, "score": s, "band": rules.band_for(s)}
