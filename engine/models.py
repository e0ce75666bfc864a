"""Typed objects the facade takes and returns (the API of the engine)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Service(_Strict):
    service_id: str
    name: str
    tolerance_days: float = Field(gt=0)


class ClientSpec(_Strict):
    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)
    sector: str
    hq_country: str = Field(pattern=r"^[A-Z]{3}$")
    affiliations: list[str] = Field(default_factory=list)
    description: str = ""
    # The size of the business (annual revenue or enterprise value): every item weighs by its
    # value against it in the expected disruption; without it the rules' default applies.
    business_value_usd: float | None = Field(default=None, gt=0)
    services: list[Service] = Field(default_factory=list)


class RunInfo(_Strict):
    run_id: int
    created_at: dt.datetime
    register_version: int
    rules_version: int
    scenario_id: str | None
    as_of: dt.date
    n_clients: int
    seconds: float
    # what else the run used, so it can be reproduced (None for runs scored before these were kept)
    scenario_version: int | None = None
    gazetteer_version: int | None = None
    gazetteer_sha256: str | None = None


class Rating(_Strict):
    client_id: str
    name: str
    sector: str
    hq_country: str
    band: str
    score: float
    score_low: float
    score_high: float
    band_low: str
    band_high: str
    risk: float
    n_items: int
    total_value_usd: float
    exposure_version: int | None = None


class EvidenceRef(_Strict):
    section: str
    paragraph: int
    summary: str
    brief: str | None = None  # the brief's id in the register (runs scored before: None)
    brief_title: str | None = None
    publisher: str | None = None
    brief_date: dt.date | None = None

    @property
    def brief_label(self) -> str:
        """'PGI, 14 January 2020' (or the brief's title when it names no publisher)."""
        if self.brief_date is None:
            return self.brief_title or self.brief or ""
        day = f"{self.brief_date.day} {self.brief_date:%B %Y}"
        who = self.publisher or self.brief_title or self.brief or ""
        return f"{who}, {day}" if who else day


class ThreatDriver(_Strict):
    threat_id: str
    title: str
    category: str
    likelihood: str
    likelihood_words: str
    share: float  # of the client's value-weighted expected disruption (central)
    expected_disruption_usd: float
    main_region: str
    evidence: list[EvidenceRef]
    status: str = "current"  # current | expired | upcoming (see run_threats.status)


class ItemDriver(_Strict):
    item_kind: str
    item_id: str
    name: str
    value_usd: float
    criticality: int
    risk: float
    risk_low: float
    risk_high: float
    top_threat: str | None
    detail: str  # asset type and place, or route ports and chokepoints


class RegionDriver(_Strict):
    region_id: str
    name: str
    share: float


class PeopleByThreat(_Strict):
    threat_id: str
    title: str
    headcount: int  # people at the client's sites that this threat reaches


class PeopleAtRisk(_Strict):
    """Duty of care: the client's staff at sites that threats to people's safety reach."""

    total_headcount: int  # everyone at the client's sites
    exposed_headcount: int  # at sites reached by at least one such threat
    by_threat: list[PeopleByThreat]
    in_rating: bool  # the rules count people in the expected disruption


class Explanation(_Strict):
    rating: Rating
    run: RunInfo
    register_title: str
    threats: list[ThreatDriver]
    items: list[ItemDriver]
    regions: list[RegionDriver]
    expired_threats: list[str] = []  # judgements past their horizon, counted as last judged
    people: PeopleAtRisk | None = None


class ScenarioRow(_Strict):
    client_id: str
    name: str
    before: Rating
    after: Rating

    @property
    def delta(self) -> float:
        return self.after.score - self.before.score


class ScenarioInfo(_Strict):
    """A stored scenario and where it stands."""

    scenario_id: str
    title: str
    version: int  # the current version (for a retired scenario: the last one current)
    n_versions: int
    retired: bool
    changed_at: dt.datetime
    changed_by: str


class ScenarioVersion(_Strict):
    """One stored version of a scenario: who wrote it, when and why."""

    scenario_id: str
    version: int
    created_at: dt.datetime
    created_by: str
    note: str
    title: str
    sha256: str
    current: bool
    status: str = "published"  # or "draft": saved, never current, never a roll-back target


class ScenarioEvent(_Strict):
    """One change to a scenario (create, edit, rollback, retire), with who, when and why."""

    scenario_id: str
    changed_at: dt.datetime
    by_user: str
    action: str
    version: int
    note: str
