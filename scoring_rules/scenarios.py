"""Scenarios: named sets of overrides applied to the register for one run.

A scenario can change a threat's likelihood, severity or the intensity of its regions, and add
threats of its own (a chokepoint closure is a threat that is certain for the scenario). Added
threats still cite the paragraph of the brief that motivates them.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import RuleError
from scoring_rules.threats import (
    NOT_ASSESSED,
    RegionWeight,
    Register,
    Threat,
    format_validation_error,
)

if TYPE_CHECKING:
    from scoring_rules.rules import Rules

MAX_SCENARIO_BYTES = 100_000


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


# What a new scenario looks like: an analyst starts from this text (the app's "New scenario").
TEMPLATE = """\
id: my-scenario
title: A short title for the account managers
description: >-
  What happens in this scenario, and why it matters to clients.
overrides:
  # change threats of the register (ids as in `resilience explain`): likelihood, severity,
  # intensity_scale, add_regions; say why in likelihood_words and cite the brief
  - threat: iran-cyber-attacks
    likelihood: likely
    likelihood_words: "scenario: why the likelihood changes (brief section and paragraph)"
    severity: 4
added_threats: []
"""


def scenario_dir() -> Path:
    return Path(__file__).parent / "data" / "scenarios"


def parse_scenario(text: str, where: str) -> Scenario:
    """A scenario from YAML text; errors name ``where`` (a file name), the key and the fix."""
    size = len(text.encode("utf-8"))
    if size > MAX_SCENARIO_BYTES:
        raise RuleError(
            f"{where}: {size:,} bytes is over the {MAX_SCENARIO_BYTES:,}-byte limit for a "
            "scenario; a scenario is a few overrides and added threats"
        )
    try:
        if any(isinstance(tok, yaml.AliasToken) for tok in yaml.scan(text)):
            raise RuleError(
                f"{where}: YAML aliases (*name) are not allowed in a scenario; write the values out"
            )
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise RuleError(
            f"{where}: expected a mapping with the keys id, title, description, overrides and "
            "added_threats at the top level"
        )
    _check_keys(doc, where)
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        raise RuleError(format_validation_error(where, exc)) from exc


def _check_keys(doc: dict[object, object], where: str) -> None:
    """Unknown keys of the scenario, its overrides and its added threats, named with the key that
    was probably meant and the keys allowed there."""
    places: list[tuple[str, object, type[BaseModel]]] = [("", doc, Scenario)]
    lists: list[tuple[str, type[BaseModel]]] = [
        ("overrides", ThreatOverride),
        ("added_threats", Threat),
    ]
    for name, model in lists:
        items = doc.get(name)
        if isinstance(items, list):
            places += [(f"{name}[{i}].", item, model) for i, item in enumerate(items)]
    for prefix, item, model in places:
        if not isinstance(item, dict):
            continue
        allowed = list(model.model_fields)
        for key in item:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RuleError(
                f"{where}, {prefix}{key}: unknown key; {hint}(allowed: {', '.join(allowed)})"
            )


def check_scenario(scenario: Scenario, register: Register, rules: Rules, where: str) -> Register:
    """The register as the scenario sees it, when the scenario fits the register and the rules:
    every override names a threat of the register and a likelihood term of the rules, and every
    added threat speaks the rules' vocabulary."""
    from scoring_rules.rules import check_register

    terms = [*rules.likelihood.terms, NOT_ASSESSED]
    for i, o in enumerate(scenario.overrides):
        if o.likelihood is not None and o.likelihood not in terms:
            raise RuleError(
                f"{where}, overrides[{i}].likelihood: {o.likelihood!r} is not a likelihood term of "
                f"rules {rules.version} (allowed: {', '.join(terms)})"
            )
    applied = scenario.apply(register, where)
    check_register(applied, rules, where)
    return applied


def builtin_files() -> list[Path]:
    """The built-in scenario files, seeded into a new database as version 1 of each."""
    return sorted(scenario_dir().glob("*.yaml"))


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise RuleError(f"{path}: file not found") from exc
    return parse_scenario(text, str(path))


def builtin_scenarios() -> dict[str, Scenario]:
    out = {}
    for path in builtin_files():
        s = load_scenario(path)
        out[s.id] = s
    return out
