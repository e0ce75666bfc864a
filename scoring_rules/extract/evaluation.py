"""Measuring the extractor: drafts against expected threats, and against a hand-made register.

Matching (the same everywhere):
- main region = the region of highest intensity (the first listed among equals);
- regions match when equal, or when one is a country and the other lies in it (a subdivision or
  hotspot of it), or both lie in the same country; sea zones and ``world`` match only themselves;
- fields cascade: ``category`` compares the category only; ``region`` adds the main region;
  ``likelihood`` adds the likelihood term to category + region; ``horizon`` adds the horizon
  (start within a month, end within a month or a quarter of its length) to category + region.

Precision of a field = drafts that match some expected threat on it / all drafts;
recall = expected threats matched by some draft / all expected threats. Several expected threats may
be matched by one draft (the extractor merges threats of one category and place by design).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scoring_rules.extract.drafts import DraftThreat
from scoring_rules.extract.ingest import ingest
from scoring_rules.extract.places import region_family
from scoring_rules.threats import Horizon, RegionWeight, Register

FIELDS = ("category", "region", "likelihood", "horizon")


@dataclass(frozen=True)
class Expected:
    category: str
    region: str
    likelihood: str
    horizon: Horizon
    note: str = ""


def main_region(regions: Sequence[RegionWeight]) -> str:
    top = max(r.intensity for r in regions)
    return next(r.region for r in regions if r.intensity == top)


def regions_match(a: str, b: str) -> bool:
    return a == b or region_family(a) == region_family(b)


def horizons_match(expected: Horizon, got: Horizon) -> bool:
    tol = max(1.0, 0.25 * expected.to_months)
    return (
        abs(expected.from_months - got.from_months) <= 1.0
        and abs(expected.to_months - got.to_months) <= tol
    )


def field_match(name: str, e: Expected, d: DraftThreat) -> bool:
    if e.category != d.category:
        return False
    if name == "category":
        return True
    if not regions_match(e.region, main_region(d.regions)):
        return False
    if name == "region":
        return True
    if name == "likelihood":
        return e.likelihood == d.likelihood
    if name == "horizon":
        return horizons_match(e.horizon, d.horizon)
    raise ValueError(f"unknown field {name!r}")


@dataclass
class Score:
    tp_precision: int = 0  # drafts matching some expected threat
    drafts: int = 0
    tp_recall: int = 0  # expected threats matched by some draft
    expected: int = 0

    @property
    def precision(self) -> float:
        return self.tp_precision / self.drafts if self.drafts else 0.0

    @property
    def recall(self) -> float:
        return self.tp_recall / self.expected if self.expected else 0.0

    def add(self, other: Score) -> None:
        self.tp_precision += other.tp_precision
        self.drafts += other.drafts
        self.tp_recall += other.tp_recall
        self.expected += other.expected


@dataclass
class BriefResult:
    brief: str
    scores: dict[str, Score]
    drafts: list[DraftThreat]
    expected: list[Expected]
    missed: dict[str, list[Expected]] = field(default_factory=dict)
    extra: list[DraftThreat] = field(default_factory=list)
    held_out: bool = False  # written after the rules were frozen, never used for tuning


def score(expected: Sequence[Expected], drafts: Sequence[DraftThreat]) -> BriefResult:
    scores: dict[str, Score] = {}
    missed: dict[str, list[Expected]] = {}
    for name in FIELDS:
        s = Score(drafts=len(drafts), expected=len(expected))
        s.tp_precision = sum(1 for d in drafts if any(field_match(name, e, d) for e in expected))
        hits = [e for e in expected if any(field_match(name, e, d) for d in drafts)]
        s.tp_recall = len(hits)
        missed[name] = [e for e in expected if e not in hits]
        scores[name] = s
    extra = [d for d in drafts if not any(field_match("region", e, d) for e in expected)]
    return BriefResult("", scores, list(drafts), list(expected), missed, extra)


def load_expected(path: Path) -> tuple[str, list[Expected]]:
    brief, expected, _ = load_expected_file(path)
    return brief, expected


def load_expected_file(path: Path) -> tuple[str, list[Expected], bool]:
    """(brief file name, expected threats, held out?) from an ``.expected.yaml`` file."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    out = [
        Expected(
            category=t["category"],
            region=t["region"],
            likelihood=t["likelihood"],
            horizon=Horizon.model_validate(t["horizon"]),
            note=str(t.get("note", "")),
        )
        for t in doc["threats"]
    ]
    return str(doc["brief"]), out, bool(doc.get("held_out", False))


def brief_date(path: Path) -> dt.date | None:
    """The brief's date from its labels file (``date: '2024-07-01'``), if it gives one."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    value = doc.get("date")
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)) if value else None


def evaluate_briefs(directory: Path, min_confidence: float = 0.0) -> list[BriefResult]:
    """Every ``*.expected.yaml`` in ``directory`` against the drafts of the brief it names."""
    results = []
    for exp_path in sorted(directory.glob("*.expected.yaml")):
        brief, expected, held_out = load_expected_file(exp_path)
        date = brief_date(exp_path)
        drafts = [
            d
            for d in ingest(directory / brief, date=date).drafts
            if d.extraction_confidence >= min_confidence
        ]
        r = score(expected, drafts)
        r.brief = brief
        r.held_out = held_out
        results.append(r)
    return results


def totals(results: Iterable[BriefResult]) -> dict[str, Score]:
    out = {name: Score() for name in FIELDS}
    for r in results:
        for name in FIELDS:
            out[name].add(r.scores[name])
    return out


def register_expected(register: Register) -> list[Expected]:
    """A hand register's threats as expected drafts (main region, term, horizon)."""
    return [
        Expected(t.category, main_region(t.regions), t.likelihood, t.horizon, t.id)
        for t in register.threats
    ]


@dataclass
class RegisterRecall:
    recall: float
    matched: list[tuple[str, str]]  # (hand threat id, draft id)
    missed: list[str]  # hand threat ids with their category and main region
    extra: list[str]  # drafts that match no hand threat


def register_recall(register: Register, drafts: Sequence[DraftThreat]) -> RegisterRecall:
    """Hand threats recalled by some draft of the same category and main region."""
    matched: list[tuple[str, str]] = []
    missed: list[str] = []
    used: set[str] = set()
    for t in register.threats:
        main = main_region(t.regions)
        hit = next(
            (
                d
                for d in drafts
                if d.category == t.category and regions_match(main, main_region(d.regions))
            ),
            None,
        )
        if hit is None:
            missed.append(f"{t.id} ({t.category}, {main})")
        else:
            matched.append((t.id, hit.id))
            used.add(hit.id)
    extra = [f"{d.id} ({d.category}, {main_region(d.regions)})" for d in drafts if d.id not in used]
    n = len(register.threats)
    return RegisterRecall(len(matched) / n if n else 0.0, matched, missed, extra)


def seed_brief_path(register: Register, repo_root: Path) -> Path | None:
    """Where the seed brief of a register lives: ../shared/seeds beside the checkout."""
    for candidate in (
        repo_root.parent / "shared" / "seeds" / register.source,
        repo_root / "shared" / "seeds" / register.source,
    ):
        if candidate.is_file():
            return candidate
    return None
