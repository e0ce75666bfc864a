"""The scoring rules: every number of the method, typed and range-checked.

The method (DESIGN.md section 4, docs/method.md), per exposure item x and threat t:

    p(t)    likelihood range from the yardstick, spread over the threat's horizon and counted by
            the share of the horizon the run's outlook window covers: 1 - (1 - p) ** share; an
            expired judgement keeps counting as last judged
    e(x,t)  the highest intensity of t over the regions that contain x (hotspots fall off with
            distance; for a route the regions are its chokepoints, sea zones and end ports)
    g(x,t)  targeting: 1 when the client or item matches the threat's targets, else the collateral
            factor; times the sector sensitivity of the client's sector to the category
    v(x,t)  vulnerability of the asset type (route: commodity) to the category, reduced by each
            mitigation's credit; for a route at a chokepoint, times the detour factor
    i(t)    severity / severity_max
    r(x,t) = p * e * g * v * i          R(x) = 1 - prod_t (1 - r(x,t))

The client's risk combines the expected disruption of the whole book of items with its worst
critical item (non-compensatory: a safe portfolio does not hide one critical exposure):
    ead  = 1 - prod_x (1 - R(x)) ** (value(x) / B)
    risk = 1 - (1 - ead) * (1 - w * worst)      score = 100 * (1 - risk) ** k
B is the client's business value (or the rules' default). Each item weighs by its own value
against B, linear in value, so splitting or merging rows changes nothing and adding an exposure
can never make a client look more resilient. The score maps to a band through the thresholds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import RuleError
from scoring_rules.threats import NOT_ASSESSED, Register, format_validation_error, load_yaml

Unit = float  # a number in 0..1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self

    @property
    def central(self) -> float:
        return (self.low + self.high) / 2


class Likelihood(_Strict):
    yardstick: str
    source: str
    terms: dict[str, Range]
    not_assessed: Range  # words outside the yardstick ("may", "could")

    def range_for(self, term: str) -> Range:
        if term == NOT_ASSESSED:
            return self.not_assessed
        return self.terms[term]


class Table(_Strict):
    """A category x key table of factors in 0..1 with a default for missing cells."""

    default: float = Field(ge=0.0, le=1.0)
    values: dict[str, dict[str, float]] = Field(default_factory=dict)

    def get(self, category: str, key: str) -> float:
        return self.values.get(category, {}).get(key, self.default)


class Targeting(_Strict):
    collateral_factor: float = Field(ge=0.0, le=1.0)
    sector_sensitivity: Table


class Mitigations(_Strict):
    """Credit of each mitigation per category (0 = no effect, 1 = removes vulnerability)."""

    credits: Table  # mitigation -> category -> credit


class Vulnerability(_Strict):
    assets: Table  # category -> asset_type -> v
    routes: Table  # category -> commodity -> v


class Hotspots(_Strict):
    """Full intensity within ``full_within`` x radius, then linear to zero at the radius."""

    full_within: float = Field(ge=0.0, lt=1.0)


class Routes(_Strict):
    speed_knots: float = Field(gt=0.0)
    default_tolerance_days: float = Field(gt=0.0)
    detour_floor: float = Field(ge=0.0, le=1.0)
    no_alternative: float = Field(ge=0.0, le=1.0)
    # A detour longer than this many times the usual route is no sea alternative.
    no_alternative_ratio: float = Field(gt=1.0)
    detour_categories: list[str]


class Horizon(_Strict):
    """The outlook window a run looks ahead over, and how a judgement's horizon fills it."""

    outlook_months: float = Field(gt=0.0)
    days_per_month: float = Field(gt=0.0)


class Impact(_Strict):
    """i(t) = severity / severity_max."""

    severity_max: int = Field(ge=1)


class Aggregation(_Strict):
    default_business_value_usd: float = Field(gt=0.0)  # when the client states none
    worst_item_min_criticality: int = Field(ge=1, le=5)
    worst_item_weight: float = Field(ge=0.0, le=1.0)
    score_exponent: float = Field(gt=0.0)


class People(_Strict):
    """Duty of care: people at sites that threats to people's safety reach."""

    categories: list[str]
    # Each person at a site adds this much to the site's value in the expected disruption; 0
    # reports people next to the rating without letting them move it.
    value_per_person_usd: float = Field(ge=0.0)


class Band(_Strict):
    band: str = Field(pattern=r"^[A-Z]$")
    label: str
    min_score: float = Field(ge=0.0, le=100.0)


class Example(_Strict):
    """A worked example: inputs and the number the method must give."""

    name: str
    kind: Literal["contribution", "item_risk", "expected_disruption", "rating"]
    inputs: dict[str, object]
    expected: dict[str, object]
    tolerance: float = 1e-6


class Rules(_Strict):
    version: str
    description: str
    categories: list[str] = Field(min_length=1)
    sectors: list[str] = Field(min_length=1)
    asset_types: list[str] = Field(min_length=1)
    commodities: list[str] = Field(min_length=1)
    affiliations: list[str] = Field(min_length=1)
    mitigations: list[str] = Field(min_length=1)
    likelihood: Likelihood
    horizon: Horizon
    hotspots: Hotspots
    targeting: Targeting
    vulnerability: Vulnerability
    mitigation: Mitigations
    routes: Routes
    impact: Impact
    aggregation: Aggregation
    people: People
    bands: list[Band] = Field(min_length=2)
    examples: list[Example] = Field(default_factory=list)

    def band_for(self, score: float) -> str:
        for b in sorted(self.bands, key=lambda b: -b.min_score):
            if score >= b.min_score:
                return b.band
        return self.bands[-1].band

    def check(self, where: str) -> None:
        """Cross-checks pydantic cannot express: table keys must be known vocabulary."""

        def known(path: str, value: str, allowed: list[str]) -> None:
            if value not in allowed:
                raise RuleError(
                    f"{where}, {path}: unknown key {value!r} (allowed: {', '.join(allowed)})"
                )

        def table(path: str, t: Table, rows: list[str], cols: list[str]) -> None:
            for row, cells in t.values.items():
                known(path, row, rows)
                for col, value in cells.items():
                    known(f"{path}.{row}", col, cols)
                    if not 0.0 <= value <= 1.0:
                        side = "above 1.0" if value > 1.0 else "below 0.0"
                        raise RuleError(
                            f"{where}, {path}.{row}.{col}: {value} is {side} (allowed 0..1)"
                        )

        table(
            "targeting.sector_sensitivity.values",
            self.targeting.sector_sensitivity,
            self.categories,
            self.sectors,
        )
        table(
            "vulnerability.assets.values",
            self.vulnerability.assets,
            self.categories,
            self.asset_types,
        )
        table(
            "vulnerability.routes.values",
            self.vulnerability.routes,
            self.categories,
            self.commodities,
        )
        table(
            "mitigation.credits.values", self.mitigation.credits, self.mitigations, self.categories
        )
        for c in self.routes.detour_categories:
            known("routes.detour_categories", c, self.categories)
        for c in self.people.categories:
            known("people.categories", c, self.categories)
        scores = [b.min_score for b in self.bands]
        if scores != sorted(scores, reverse=True) or scores[-1] != 0.0:
            raise RuleError(
                f"{where}, bands: min_score must fall from A to the last band, which starts at 0"
            )


def check_register(register: Register, rules: Rules, where: str = "register") -> None:
    """The register speaks the rules' vocabulary: categories, likelihood terms and targets."""
    terms = [*rules.likelihood.terms, NOT_ASSESSED]
    for i, t in enumerate(register.threats):
        key = f"{where}, threats[{i}] ({t.id})"
        checks: list[tuple[str, list[str], list[str]]] = [
            ("category", [t.category], rules.categories),
            ("likelihood", [t.likelihood], terms),
            ("targets.affiliations", t.targets.affiliations, rules.affiliations),
            ("targets.sectors", t.targets.sectors, rules.sectors),
            ("targets.asset_types", t.targets.asset_types, rules.asset_types),
            ("targets.commodities", t.targets.commodities, rules.commodities),
        ]
        for field, values, allowed in checks:
            for v in values:
                if v not in allowed:
                    raise RuleError(
                        f"{key}.{field}: {v!r} is not known to rules {rules.version} "
                        f"(allowed: {', '.join(allowed)})"
                    )


def parse_rules(doc: object, where: str) -> Rules:
    if not isinstance(doc, dict):
        raise RuleError(f"{where}: expected a mapping of rule sections at the top level")
    try:
        rules = Rules.model_validate(doc)
    except ValidationError as exc:
        raise RuleError(format_validation_error(where, exc)) from exc
    rules.check(where)
    return rules


def load_rules(path: Path) -> Rules:
    return parse_rules(load_yaml(path), str(path))


def default_rules_path() -> Path:
    return Path(__file__).parent / "data" / "rules_default.yaml"
