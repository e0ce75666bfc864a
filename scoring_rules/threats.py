"""The threat register: what the briefs judge, typed at the edge.

A register file (YAML) records the brief it was started from at its top level (title, source,
publisher, date, outline: sections and how many paragraphs each has, so every citation can be
checked), any further briefs under ``briefs:`` (each with its own outline), and one entry per
judgement. A threat names its brief (``brief:``; none means the top-level one), so its horizon
counts from that brief's date and its evidence cites that brief's paragraphs; ``expires:`` may end
it earlier. A reviewed brief adds threats, supersedes named older ones or retires them; those
leave the active list for ``retired:``, which keeps each as it stood, when and by which brief.
Likelihood is stored as the brief's own word mapped to a yardstick term; the numbers for each term
live in the rules file, never here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import RuleError
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
    brief: str | None = None  # id of the brief it comes from; None: the register's top-level brief
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
    expires: dt.date | None = None  # the judgement lapses after this day (before its horizon ends)
    supersedes: list[str] = Field(default_factory=list)  # ids of older threats this one replaces


class OutlineSection(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    heading: str
    paragraphs: int = Field(ge=1)


BRIEF_ID = r"^[a-z0-9][a-z0-9-]*$"


class Brief(_Strict):
    """One brief the register holds threats from: what it is, who published it, when."""

    id: str = Field(pattern=BRIEF_ID)
    title: str = Field(min_length=3)
    publisher: str = ""
    date: dt.date  # the brief's date: its threats' horizons count from it
    source: str  # file name or address of the brief
    outline: list[OutlineSection] = Field(min_length=1)

    @property
    def label(self) -> str:
        """'PGI, 14 January 2020': how a citation names the brief."""
        day = f"{self.date.day} {self.date:%B %Y}"
        return f"{self.publisher}, {day}" if self.publisher else f"{self.title}, {day}"


class Retired(_Strict):
    """A threat taken off the active register: as it stood, when, by which brief, and what (if
    anything) replaced it."""

    threat: Threat
    retired_on: dt.date
    by_brief: str
    superseded_by: str | None = None
    note: str = ""


def brief_id_for(source: str) -> str:
    """A brief id from its file name or address: 'register_2021-01_red_sea.yaml' -> ..."""
    stem = source.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    slug = "".join(c if c.isalnum() else "-" for c in stem).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug or "brief"


class Register(_Strict):
    """One version of the threat register: threats from one or more briefs.

    The top-level ``title``/``source``/``publisher``/``outline`` describe the brief the register
    was started from (its date is ``brief_date``, or ``as_of`` when that is not given); ``as_of``
    is the date the register speaks for, which runs default to.
    """

    title: str
    source: str  # the first brief's file name or address
    as_of: dt.date
    publisher: str = ""
    brief_id: str | None = Field(default=None, pattern=BRIEF_ID)
    brief_date: dt.date | None = None
    outline: list[OutlineSection] = Field(min_length=1)
    briefs: list[Brief] = Field(default_factory=list)  # further briefs
    threats: list[Threat] = Field(min_length=1)
    retired: list[Retired] = Field(default_factory=list)

    def threat(self, threat_id: str) -> Threat:
        for t in self.threats:
            if t.id == threat_id:
                return t
        raise KeyError(threat_id)

    @property
    def first_brief(self) -> Brief:
        """The top-level brief as a :class:`Brief`."""
        return Brief(
            id=self.brief_id or brief_id_for(self.source),
            title=self.title,
            publisher=self.publisher,
            date=self.brief_date or self.as_of,
            source=self.source,
            outline=self.outline,
        )

    def all_briefs(self) -> list[Brief]:
        """Every brief the register holds, the top-level one first."""
        return [self.first_brief, *self.briefs]

    def brief(self, brief_id: str | None) -> Brief:
        """The brief with this id (None: the top-level one); KeyError when there is none."""
        first = self.first_brief
        if brief_id is None or brief_id == first.id:
            return first
        for b in self.briefs:
            if b.id == brief_id:
                return b
        raise KeyError(brief_id)

    def brief_of(self, threat: Threat) -> Brief:
        return self.brief(threat.brief)

    def expiry(self, threat: Threat, days_per_month: float) -> dt.date:
        """The last day the judgement applies: its ``expires``, else its horizon's end."""
        end = self.brief_of(threat).date + dt.timedelta(
            days=threat.horizon.to_months * days_per_month
        )
        return min(end, threat.expires) if threat.expires is not None else end

    def check_references(self, where: str = "register") -> None:
        """Every threat id unique, every brief and region known, every citation inside the
        outline of the threat's own brief."""
        briefs: dict[str, Brief] = {}
        for n, b in enumerate(self.all_briefs()):
            bkey = "outline" if n == 0 else f"briefs[{n - 1}] ({b.id})"
            if b.id in briefs:
                raise RuleError(f"{where}, {bkey}: brief id {b.id!r} appears twice")
            briefs[b.id] = b
            ids = [s.id for s in b.outline]
            dup = next((i for i in ids if ids.count(i) > 1), None)
            if dup is not None:
                raise RuleError(
                    f"{where}, {bkey}: section id {dup!r} appears twice; ids must be unique"
                )
        seen: set[str] = set()
        gazetteer = load_gazetteer()
        entries = [(f"threats[{i}]", t) for i, t in enumerate(self.threats)]
        entries += [(f"retired[{i}].threat", r.threat) for i, r in enumerate(self.retired)]
        for label, t in entries:
            key = f"{where}, {label} ({t.id})"
            if label.startswith("threats"):
                if t.id in seen:
                    raise RuleError(f"{key}: duplicate threat id; give each threat its own id")
                seen.add(t.id)
            brief_key = t.brief or self.first_brief.id
            if brief_key not in briefs:
                raise RuleError(
                    f"{key}.brief: unknown brief {t.brief!r} (known: {', '.join(briefs)})"
                )
            sections = {s.id: s for s in briefs[brief_key].outline}
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
                        f"of brief {brief_key!r} (known: {', '.join(sections)})"
                    )
                if ev.paragraph > sec.paragraphs:
                    raise RuleError(
                        f"{key}.evidence: section {ev.section!r} has {sec.paragraphs} paragraphs, "
                        f"not {ev.paragraph}"
                    )
        for i, r in enumerate(self.retired):
            if r.by_brief not in briefs:
                raise RuleError(
                    f"{where}, retired[{i}].by_brief: unknown brief {r.by_brief!r} "
                    f"(known: {', '.join(briefs)})"
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
