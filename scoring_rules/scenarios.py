"""Scenarios: named sets of overrides applied to the register for one run.

A scenario can change a threat's likelihood, severity or the intensity of its regions, and add
threats of its own (a chokepoint closure is a threat that is certain for the scenario). Added
threats still cite the paragraph of the brief that motivates them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import RuleError
from scoring_rules.threats import (
    RegionWeight,
    Register,
    Threat,
    format_validation_error,
    load_yaml,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThreatOverride(_Strict):
    threat: str
    likelihood: str | None = None
    likelihood_words: str | None = None
    severity: int | None = Field(default=None, ge=1, le=5)
    intensity_scale: float | None = Field(default=None, ge=0.0)
    add_regions: list[RegionWeight] = Field(default_factory=list)


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str
    overrides: list[ThreatOverride] = Field(default_factory=list)
    added_threats: list[Threat] = Field(default_factory=list)

    def missing_threats(self, register: Register) -> list[str]:
        """The threats this scenario overrides that the register does not hold."""
        known = {t.id for t in register.threats}
        return [o.threat for o in self.overrides if o.threat not in known]

    def applies_to(self, register: Register) -> bool:
        """Whether the scenario can run on this register (it names only threats it holds)."""
        return not self.missing_threats(register)

    def apply(self, register: Register, where: str = "scenario") -> Register:
        """The register as this scenario sees it (the original is not changed)."""
        threats = {t.id: t for t in register.threats}
        for i, o in enumerate(self.overrides):
            if o.threat not in threats:
                raise RuleError(
                    f"{where}, overrides[{i}].threat: {o.threat!r} is not in the register "
                    f"(known: {', '.join(sorted(threats))})"
                )
            t = threats[o.threat]
            changes: dict[str, object] = {}
            if o.likelihood is not None:
                changes["likelihood"] = o.likelihood
                changes["likelihood_words"] = o.likelihood_words or f"scenario: {o.likelihood}"
            if o.severity is not None:
                changes["severity"] = o.severity
            regions = list(t.regions)
            if o.intensity_scale is not None:
                regions = [
                    RegionWeight(
                        region=r.region, intensity=min(1.0, r.intensity * o.intensity_scale)
                    )
                    for r in regions
                ]
            if o.add_regions:
                extra = {r.region: r for r in o.add_regions}
                regions = [r for r in regions if r.region not in extra] + list(extra.values())
            changes["regions"] = regions
            threats[o.threat] = t.model_copy(update=changes)
        for t in self.added_threats:
            if t.id in threats:
                raise RuleError(f"{where}, added_threats: {t.id!r} already exists in the register")
            threats[t.id] = t
        out = register.model_copy(update={"threats": list(threats.values())})
        out.check_references(where)
        return out


def scenario_dir() -> Path:
    return Path(__file__).parent / "data" / "scenarios"


def load_scenario(path: Path) -> Scenario:
    try:
        return Scenario.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise RuleError(format_validation_error(str(path), exc)) from exc


def builtin_scenarios() -> dict[str, Scenario]:
    out = {}
    for path in sorted(scenario_dir().glob("*.yaml")):
        s = load_scenario(path)
        out[s.id] = s
    return out
