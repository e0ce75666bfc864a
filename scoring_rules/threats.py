"""The threat register: what a brief judges, typed at the edge.

A register file (YAML) records the brief it comes from, the brief's outline (sections and how many
paragraphs each has, so every citation can be checked) and one entry per judgement in the brief.
Likelihood is stored as the brief's own word mapped to a yardstick term; the numbers for each term
live in the rules file, never here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import RuleError
from exposures.gazetteer import load_gazetteer

NOT_ASSESSED = "not_assessed"

Confidence = Literal["low", "moderate", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionWeight(_Strict):
    """A region the threat touches and how strongly (1 = the threat's full force)."""

    region: str
    intensity: float = Field(ge=0.0, le=1.0)


class Targets(_Strict):
    """Who the threat is aimed at. Empty lists mean 'anyone there'.

    A client or item that matches any listed criterion is a target (targeting factor 1); one that
    matches none is collateral (the rules' collateral factor).
    """

    affiliations: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    asset_types: list[str] = Field(default_factory=list)
    commodities: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.affiliations or self.sectors or self.asset_types or self.commodities)


class Horizon(_Strict):
    """Months after the brief's date during which the threat applies."""

    from_months: float = Field(default=0.0, ge=0.0)
    to_months: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.to_months <= self.from_months:
            raise ValueError(
                f"to_months ({self.to_months}) must be after from_months ({self.from_months})"
            )
        return self


class Evidence(_Strict):
    """Where in the brief the judgement comes from, summarised in our own words."""

    section: str
    paragraph: int = Field(ge=1)
    summary: str = Field(min_length=10)


class Threat(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: str
    title: str = Field(min_length=5)
    regions: list[RegionWeight] = Field(min_length=1)
    targets: Targets = Field(default_factory=Targets)
    likelihood: str  # a yardstick term of the rules, or "not_assessed"
    likelihood_words: str  # the brief's own words ("unlikely", "may", "could")
    severity: int = Field(ge=1, le=5)
    horizon: Horizon
    confidence: Confidence = "moderate"
    evidence: list[Evidence] = Field(min_length=1)


class OutlineSection(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    heading: str
    paragraphs: int = Field(ge=1)


class Register(_Strict):
    """One version of the threat register, derived from one brief."""

    title: str
    source: str  # the brief's file name
    as_of: dt.date
    outline: list[OutlineSection] = Field(min_length=1)
    threats: list[Threat] = Field(min_length=1)

    def threat(self, threat_id: str) -> Threat:
        for t in self.threats:
            if t.id == threat_id:
                return t
        raise KeyError(threat_id)

    def check_references(self, where: str = "register") -> None:
        """Every threat id unique, every region known, every citation inside the outline."""
        sections = {s.id: s for s in self.outline}
        if len(sections) != len(self.outline):
            ids = [s.id for s in self.outline]
            dup = next(i for i in ids if ids.count(i) > 1)
            raise RuleError(
                f"{where}, outline: section id {dup!r} appears twice; ids must be unique"
            )
        seen: set[str] = set()
        gazetteer = load_gazetteer()
        for i, t in enumerate(self.threats):
            key = f"{where}, threats[{i}] ({t.id})"
            if t.id in seen:
                raise RuleError(f"{key}: duplicate threat id; give each threat its own id")
            seen.add(t.id)
            for rw in t.regions:
                if not gazetteer.is_known(rw.region):
                    raise RuleError(
                        f"{key}.regions: unknown region {rw.region!r}; use 'world', an ISO alpha-3 "
                        "country, an ISO 3166-2 subdivision or a hotspot./sea. id of the gazetteer"
                    )
            for ev in t.evidence:
                sec = sections.get(ev.section)
                if sec is None:
                    raise RuleError(
                        f"{key}.evidence: section {ev.section!r} is not in the outline "
                        f"(known: {', '.join(sections)})"
                    )
                if ev.paragraph > sec.paragraphs:
                    raise RuleError(
                        f"{key}.evidence: section {ev.section!r} has {sec.paragraphs} paragraphs, "
                        f"not {ev.paragraph}"
                    )


def _bounds_message(e: dict[str, Any], value: object) -> str | None:
    """'1.4 is above 1.0 (allowed 0..1)' for range errors, None for other kinds."""
    ctx = e.get("ctx") or {}
    kind = e["type"]
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return f"{value} is above {float(str(limit))} (allowed up to {limit})"
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return f"{value} is below {float(str(limit))} (allowed from {limit})"
    return None


def format_validation_error(where: str, err: ValidationError) -> str:
    """One line per problem: file, dotted key, message, the value given."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        value = e.get("input")
        bounds = _bounds_message(dict(e), value)
        if bounds is not None:
            lines.append(f"{where}, {key}: {bounds}")
            continue
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        lines.append(f"{where}, {key}: {e['msg']} (got {shown})")
    return "\n".join(lines)


def load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise RuleError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc


def parse_register(doc: object, where: str) -> Register:
    try:
        reg = Register.model_validate(doc)
    except ValidationError as exc:
        raise RuleError(format_validation_error(where, exc)) from exc
    reg.check_references(where)
    return reg


def load_register(path: Path) -> Register:
    return parse_register(load_yaml(path), str(path))


def default_register_path() -> Path:
    return Path(__file__).parent / "data" / "register_2020-01_us_iran.yaml"
