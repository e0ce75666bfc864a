"""Draft threats: findings merged per category and place, ready for an analyst's review.

Merging: findings of the same category whose main regions overlap (the same region, or a country
and its subdivisions/hotspots, or a region the other holds at full intensity) become one draft that
keeps every sentence as evidence.

The merged draft's likelihood is the brief's key judgement on it (a sentence of a "Key judgements"/
"In brief"/"Summary" section using a yardstick term), else the yardstick term the brief uses most
often for it (ties: the earliest); hedges ("may", "could") count only when the brief gives no
yardstick term. Its horizon is the time frame of the sentence that gave the likelihood, else the
first time frame any of its sentences gives, else the vocabulary's default. Titles and evidence
summaries are generated in our own words; only the brief's estimative words are quoted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import cast

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract.analysis import Analysis, Finding
from scoring_rules.extract.document import Document
from scoring_rules.extract.places import merge_family, region_country, region_family
from scoring_rules.extract.text import slugify
from scoring_rules.extract.vocabulary import Vocabulary
from scoring_rules.threats import (
    NOT_ASSESSED,
    Confidence,
    Evidence,
    Horizon,
    RegionWeight,
    Targets,
    Threat,
)


class EvidenceSpan(BaseModel):
    """One sentence of the brief behind a draft: ``text == document.text[start:end]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str
    paragraph: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    summary: str = Field(min_length=10)  # what this sentence contributes, in our words
    names_world: bool = False  # the sentence itself says the threat is worldwide ("globally")


class DraftThreat(BaseModel):
    """A threat the extractor proposes; an analyst accepts, edits or rejects it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: str = Field(min_length=1)
    title: str = Field(min_length=5)
    regions: list[RegionWeight] = Field(min_length=1)
    targets: Targets = Field(default_factory=Targets)
    likelihood: str  # a yardstick term or not_assessed
    likelihood_words: str  # the brief's own words
    likelihood_note: str = ""  # the range the term stands for, and the other words seen
    horizon: Horizon
    horizon_words: str = ""
    severity: int = Field(ge=1, le=5)
    confidence: Confidence = "moderate"  # the brief's analytic confidence, carried to the Threat
    evidence: list[EvidenceSpan] = Field(min_length=1)
    extraction_confidence: float = Field(ge=0.0, le=1.0)  # how sure the extractor is of this draft
    extraction_reasons: list[str] = Field(default_factory=list)
    extraction_basis: str = ""  # the evaluation cell its confidence comes from

    @field_validator("regions")
    @classmethod
    def _distinct_regions(cls, v: list[RegionWeight]) -> list[RegionWeight]:
        seen = [r.region for r in v]
        if len(seen) != len(set(seen)):
            raise ValueError("a region is listed twice")
        return v

    @property
    def world_evidence(self) -> EvidenceSpan | None:
        """The first sentence behind the draft that says its threat is worldwide (what a
        reviewer must see before accepting a draft set to ``world``); None where none does (a
        global category's draft is worldwide by the category's scope)."""
        return next((e for e in self.evidence if e.names_world), None)

    @property
    def main_region(self) -> str:
        """The region of highest intensity (the first such one listed)."""
        top = max(r.intensity for r in self.regions)
        return next(r.region for r in self.regions if r.intensity == top)

    def to_threat(self) -> Threat:
        """The register entry this draft becomes: evidence by paragraph, in our words."""
        evidence: list[Evidence] = []
        seen: set[tuple[str, int]] = set()
        for span in self.evidence:
            key = (span.section, span.paragraph)
            if key in seen:
                continue
            seen.add(key)
            evidence.append(
                Evidence(section=span.section, paragraph=span.paragraph, summary=span.summary)
            )
        return Threat(
            id=self.id,
            category=self.category,
            title=self.title,
            regions=self.regions,
            targets=self.targets,
            likelihood=self.likelihood,
            likelihood_words=self.likelihood_words,
            severity=self.severity,
            horizon=self.horizon,
            confidence=self.confidence,
            evidence=evidence,
        )


# --- names ----------------------------------------------------------------------------------------


@cache
def region_name(region: str) -> str:
    if region == "world":
        return "the world"
    g = load_gazetteer().get(region)
    if g is None:
        return region
    if g.kind == "country":
        c = pycountry.countries.get(alpha_3=region)
        return str(getattr(c, "common_name", None) or g.name) if c else g.name
    name = re.sub(r"\s*\(.*?\)", "", g.name)
    if g.kind in ("maritime", "chokepoint"):
        return name if name.startswith(("Bab", "Suez", "Cape")) else f"the {name}"
    return name


def _named_region(regions: Sequence[RegionWeight]) -> str:
    """The region a title names: the main one, or its country when several places share it."""
    main = regions[0].region
    family = region_family(main)
    if family != main and sum(1 for r in regions if region_family(r.region) == family) > 1:
        return family
    return main


def _where(regions: Sequence[RegionWeight]) -> str:
    main = _named_region(regions)
    if main == "world":
        return "worldwide"
    if main.startswith("hotspot."):
        return f"at {region_name(main)}"
    return f"in {region_name(main)}"


def make_title(
    vocab: Vocabulary, category: str, regions: Sequence[RegionWeight], targets: Targets
) -> str:
    label = vocab.label(category)
    aimed = ""
    if targets.affiliations:
        words = [vocab.affiliation_labels.get(a, a) for a in targets.affiliations[:3]]
        joined = (
            " and ".join(words) if len(words) <= 2 else f"{', '.join(words[:-1])} and {words[-1]}"
        )
        aimed = f", aimed at {joined} interests"
    where = _where(regions)
    place = region_name(_named_region(regions))
    words_ = vocab.categories.get(category)
    template = words_.title if words_ is not None else "{label} {where}{aimed}"
    try:
        title = template.format(label=label, where=where, place=place, aimed=aimed)
    except (KeyError, IndexError, ValueError):
        title = f"{label} {where}{aimed}"
    return title[:1].upper() + title[1:]


_TERM_WORDS = {
    "remote_chance": "a remote chance",
    "highly_unlikely": "highly unlikely",
    "unlikely": "unlikely",
    "realistic_possibility": "a realistic possibility",
    "likely": "likely",
    "highly_likely": "highly likely",
    "almost_certain": "almost certain",
}


def _horizon_phrase(h: Horizon) -> str:
    if h.from_months == 0:
        return f"within {h.to_months:g} months"
    return f"between {h.from_months:g} and {h.to_months:g} months out"


def span_summary(vocab: Vocabulary, f: Finding) -> str:
    label = vocab.label(f.category)
    where = _where([RegionWeight(region=r, intensity=i) for r, i in f.regions])
    if f.assessed:
        stance = f"judges this {_TERM_WORDS.get(f.term, f.term.replace('_', ' '))} (“{f.words}”)"
    elif f.estimated:
        stance = f"raises this as possible (“{f.words}”) without weighing its probability"
    else:
        stance = "reports related events or conditions without a forecast"
    when = f", {_horizon_phrase(f.horizon)}" if f.horizon is not None else ""
    return f"{label} {where}: the brief {stance}{when}."


# --- likelihood ranges (read from the rules file; numbers never live in code) ---------------------


@cache
def _yardstick() -> dict[str, tuple[float, float]]:
    from importlib import resources

    try:
        text = (
            resources.files("scoring_rules").joinpath("data/rules_default.yaml").read_text("utf-8")
        )
        doc = yaml.safe_load(text)
        lk = doc["likelihood"]
        out = {k: (float(v["low"]), float(v["high"])) for k, v in lk["terms"].items()}
        na = lk["not_assessed"]
        out[NOT_ASSESSED] = (float(na["low"]), float(na["high"]))
        return out
    except Exception:  # the rules file is optional here: the note then names the term only
        return {}


def likelihood_note(term: str, words: str, others: Counter[str], estimated: bool = True) -> str:
    """The range a term stands for (from the rules file) and the other estimative words seen."""
    rng = _yardstick().get(term)
    pct = f" ({rng[0] * 100:.0f}–{rng[1] * 100:.0f} % in the default rules)" if rng else ""
    if not estimated:
        head = (
            f"No estimative language in the brief; the rules' wide not-assessed range applies{pct}."
        )
    elif term == NOT_ASSESSED:
        head = (
            f"Not on the yardstick: the brief says “{words}”; "
            f"the rules' wide not-assessed range applies{pct}."
        )
    else:
        head = f"PHIA “{term.replace('_', ' ')}”{pct}, from “{words}”."
    rest = [f"“{w}” ×{n}" for w, n in others.most_common() if w != words]
    return head + (f" Also in the brief: {', '.join(rest)}." if rest else "")


# --- merging --------------------------------------------------------------------------------------


@dataclass
class _Group:
    category: str
    main_family: str
    findings: list[Finding] = field(default_factory=list)
    limited: bool = False  # a limiting judgement's own draft ("unable to threaten X")
    short: bool = False  # an outlook of days or weeks its own sentence gives ("in coming days")

    @property
    def judged(self) -> bool:
        return any(f.judged for f in self.findings)


def _worldwide(f: Finding) -> bool:
    return bool(f.regions) and f.regions[0][0] == "world"


SHORT_OUTLOOK_MONTHS = 1.0


def short_outlook(f: Finding) -> bool:
    """The finding's own sentence gives an outlook of days or weeks ("heavy fighting will likely
    take place ... in coming days"): it holds for what that sentence covers, not for the other
    places and threats of the same category the brief reports without one."""
    return (
        f.judged
        and f.horizon_source == "sentence"
        and f.horizon is not None
        and f.horizon.to_months <= SHORT_OUTLOOK_MONTHS
    )


def group_findings(
    findings: Sequence[Finding],
    basins: dict[str, list[str]] | None = None,
    local: set[str] | None = None,
) -> list[_Group]:
    """Findings of one category whose main regions overlap, together (in document order).

    Only the brief's judgements open a group; a limiting judgement opens its own. A finding that
    names no place of its own joins the category's group (the one for its inferred place if there
    is one); background, guidance, an actor's words and impacts join a group of their category
    and place as evidence. A worldwide judgement of a ``local`` category joins that category's
    first group where there is one (it opens its own only where the category has none). A
    judgement with a short outlook of its own (``short_outlook``) and one without share a group
    only where both name the same place, or the latter names no place and follows in the same
    paragraph ("Protests are
    expected to continue this week in Kenya. Even protests that seem peaceful can turn
    violent"): the days-long outlook does not spread to the rest of the brief's reports. Groups
    that hold no judgement are kept only where the brief judges nothing at all (so that an
    analyst still has drafts to review).
    """
    basins = basins or {}

    def families(f: Finding) -> tuple[str, set[str]]:
        main = merge_family(f.regions[0][0], basins)
        return main, {merge_family(r, basins) for r, i in f.regions if i >= 0.75}

    full: dict[int, set[str]] = {}
    groups: list[_Group] = []

    def place(f: Finding, may_open: bool) -> bool:
        main, fams = families(f)
        short = short_outlook(f)
        same = [g for g in groups if g.category == f.category and _fits(g, f)]
        target = next((g for g in same if g.main_family == main), None)
        if target is None:
            target = next((g for g in same if main in full[id(g)] or g.main_family in fams), None)
        if target is None and f.region_inferred and same:
            target = same[0]  # no place of its own: it speaks of the category's threat
        if target is None:
            if not may_open:
                return False
            target = _Group(f.category, main, limited=f.limited, short=short)
            groups.append(target)
            full[id(target)] = set()
        target.findings.append(f)
        full[id(target)] |= fams
        return True

    ordered = sorted(findings, key=lambda x: x.position)
    judged = [f for f in ordered if f.judged]
    worldwide = [f for f in judged if local is not None and f.category in local and _worldwide(f)]
    for f in judged:
        if not f.region_inferred and f not in worldwide:
            place(f, may_open=True)
    for f in judged:
        if f.region_inferred and f not in worldwide:
            place(f, may_open=True)
    for f in worldwide:
        # a local category's worldwide sentence ("tensions around the world, and the potential
        # for ... demonstrations") joins the category's draft where the brief has one, in
        # whatever order the sentences come: one category's sentences make one draft, not a
        # second one for the world
        same = [g for g in groups if g.category == f.category and _fits(g, f)]
        if same:
            same[0].findings.append(f)
            full[id(same[0])] |= families(f)[1]
        else:
            place(f, may_open=True)
    left = [f for f in ordered if not f.judged and not place(f, may_open=False)]
    if not groups:
        for f in left:
            place(f, may_open=True)
    for g in groups:
        g.findings.sort(key=lambda x: x.position)
    return groups


def _fits(g: _Group, f: Finding) -> bool:
    """``f`` may join ``g``: the same kind of judgement (limiting or not); and an outlook of days
    only with what speaks of the same place it names itself, or with what its paragraph goes on
    to say without a place of its own."""
    if g.limited != f.limited:
        return False
    short = short_outlook(f)
    if not f.judged or g.short == short:
        return True
    judged = [x for x in g.findings if x.judged and short_outlook(x) != short]
    shorts, others = (judged, [f]) if g.short else ([f], judged)
    for s in shorts:
        for o in others:
            if (
                not s.region_inferred
                and not o.region_inferred
                and region_family(s.regions[0][0]) == region_family(o.regions[0][0])
            ):
                return True  # "Protests in Chile are likely this week ... likely to grow"
    if short or not f.region_inferred:
        return False
    return any(
        (x.sentence.section, x.sentence.paragraph) == (f.sentence.section, f.sentence.paragraph)
        and x.position < f.position
        for x in g.findings
        if short_outlook(x)
    )


def _excluded(groups: Sequence[_Group]) -> dict[str, set[str]]:
    """Per category, the places a limiting judgement names ("unlikely to spread to Y")."""
    out: dict[str, set[str]] = {}
    for g in groups:
        if not g.limited:
            continue
        for f in g.findings:
            out.setdefault(g.category, set()).update(f.excludes)
    return out


def _inside(region: str, excluded: set[str]) -> bool:
    """``region`` is one of ``excluded`` or lies in an excluded country."""
    country = region_country(region)
    return region in excluded or (country is not None and country != region and country in excluded)


def _governing(findings: Sequence[Finding]) -> Finding:
    """The finding whose likelihood the draft takes: a key judgement with a yardstick term, else
    the yardstick term used most often (ties: the earliest), else the first hedge; always among
    the brief's own judgements where it has any (never an actor's words or background)."""
    findings = [f for f in findings if f.judged] or list(findings)
    assessed = [f for f in findings if f.assessed]
    keyed = [f for f in assessed if f.key_section]
    if keyed:
        return keyed[0]
    if assessed:
        counts = Counter(f.term for f in assessed)
        top = max(counts.values())
        return next(f for f in assessed if counts[f.term] == top)
    hedged = [f for f in findings if f.estimated]
    return (hedged or list(findings))[0]


def _merge_regions(
    findings: Sequence[Finding], excluded: set[str] | None = None
) -> list[RegionWeight]:
    excluded = excluded or set()
    intensity: dict[str, float] = {}
    support: dict[str, float] = {}
    first: dict[str, int] = {}
    for f in findings:
        for k, (r, i) in enumerate(f.regions):
            if excluded and _inside(r, excluded):
                continue  # a limiting judgement takes this place out of the likelier threat
            if not f.judged:
                i = min(i, 0.5)  # background and impacts say where, more weakly
            intensity[r] = max(intensity.get(r, 0.0), i)
            support[r] = support.get(r, 0.0) + i * (0.5 if f.region_inferred else 1.0)
            first.setdefault(r, f.position * 100 + k)
    family: dict[str, float] = {}
    for r, sup in support.items():
        family[region_family(r)] = family.get(region_family(r), 0.0) + sup
    if not intensity:
        return []
    ordered = sorted(
        intensity,
        key=lambda r: (-intensity[r], -family[region_family(r)], -support[r], first[r]),
    )[:10]
    top = intensity[ordered[0]]
    return [
        RegionWeight(region=r, intensity=round(min(1.0, intensity[r] / top), 2)) for r in ordered
    ]


def confidence_basis(findings: Sequence[Finding], gov: Finding) -> str:
    """The evaluation cell a draft falls in (stance/support/place): ``yardstick/several/named``."""
    stance = "yardstick" if gov.assessed else ("hedge" if gov.estimated else "none")
    judged = {f.sentence.start for f in findings if f.judged}
    support = "several" if len(judged) > 1 else "single"
    place = "inferred" if all(f.region_inferred for f in findings) else "named"
    return f"{stance}/{support}/{place}"


def _confidence(
    vocab: Vocabulary, findings: Sequence[Finding], gov: Finding
) -> tuple[float, str, list[str]]:
    """The calibrated confidence (from the vocabulary's table), its cell and the reasons."""
    basis = confidence_basis(findings, gov)
    stance, support, place = basis.split("/")
    table = vocab.confidence
    cell = table.cells.get(stance)  # type: ignore[call-overload]
    score = 0.5 if cell is None else (cell.several if support == "several" else cell.single)
    reasons: list[str] = []
    if gov.assessed:
        reasons.append(f"the brief uses yardstick language (“{gov.words}”)")
    elif gov.estimated:
        reasons.append(f"the brief only hedges (“{gov.words}”)")
    else:
        reasons.append("no estimative language: built from reported events only")
    if place == "inferred":
        score = min(score, table.inferred_place_cap)
        reasons.append("no place named next to the threat: region taken from the surrounding text")
    else:
        reasons.append("places named in the same sentence")
    if any(f.horizon_source == "sentence" for f in findings):
        reasons.append("explicit time frame")
    elif any(f.horizon is not None for f in findings):
        reasons.append("time frame from the section heading")
    else:
        reasons.append("no time frame: default horizon")
    judged = {f.sentence.start for f in findings if f.judged}
    if len(judged) > 1:
        reasons.append(f"{len(judged)} sentences support it")
    if any(f.key_section for f in findings):
        reasons.append("stated among the key judgements")
    if gov.inverted:
        reasons.append("likelihood mirrored from a statement about avoiding the threat")
    if _any_limited(findings):
        reasons.append("a limiting judgement: the brief rules the threat out here")
    if any(f.recategorised_from for f in findings):
        reasons.append("attacks at sea read as a threat to shipping")
    reasons.append(f"share of such drafts found right in the evaluation: {score:.2f} ({basis})")
    return round(score, 2), basis, reasons


def _any_limited(findings: Sequence[Finding]) -> bool:
    return any(f.limited for f in findings)


def build_drafts(analysis: Analysis, vocab: Vocabulary) -> list[DraftThreat]:
    doc = analysis.document
    drafts: list[DraftThreat] = []
    used: set[str] = set()
    local = {c for c, w in vocab.categories.items() if w.scope == "local"}
    groups = group_findings(analysis.findings, vocab.places.sea_basins, local)
    excluded = _excluded(groups)
    groups = merge_same_place(groups, excluded)
    for g in groups:
        draft = _draft(doc, vocab, g, used, set() if g.limited else excluded.get(g.category, set()))
        if draft is not None:
            drafts.append(draft)
    drafts.sort(key=lambda d: (-d.extraction_confidence, d.evidence[0].start))
    return drafts


def merge_same_place(groups: Sequence[_Group], excluded: dict[str, set[str]]) -> list[_Group]:
    """One draft per category and main place: groups whose findings lead to the same main region
    (two worldwide cyber judgements in different sections, a sentence with a short outlook that
    names no place and the judgement it speaks of) are one threat, so they are merged (the first
    keeps its place in the list). A limiting judgement's own group is never merged: it is the
    low term the brief gives that place, not a second report of the likelier threat."""
    out: list[_Group] = []
    by_key: dict[tuple[str, str], _Group] = {}
    for g in groups:
        if g.limited:
            out.append(g)
            continue
        regions = _merge_regions(g.findings, excluded.get(g.category, set()))
        if not regions:
            out.append(g)
            continue
        key = (g.category, regions[0].region)
        first = by_key.get(key)
        if first is None:
            by_key[key] = g
            out.append(g)
            continue
        first.findings = sorted([*first.findings, *g.findings], key=lambda x: x.position)
        first.short = first.short and g.short
    return out


def _draft(
    doc: Document, vocab: Vocabulary, g: _Group, used: set[str], excluded: set[str]
) -> DraftThreat | None:
    findings = g.findings
    gov = _governing(findings)
    if excluded:
        whole = _merge_regions(findings)
        if whole and _inside(whole[0].region, excluded):
            return None  # the brief judges the threat on its main place unlikely, or beyond reach
    regions = _merge_regions(findings, excluded)
    if not regions:
        return None  # every place it named is excluded by a limiting judgement
    if vocab.categories[g.category].scope == "local" and regions[0].region != "world":
        # a draft "in Bangladesh" is not also worldwide at full strength because one of its
        # sentences (a worldwide caution) names the world: a local threat's world is its own
        # draft, led by the sentence that says so, or none
        regions = [r for r in regions if r.region != "world"]
    own = gov.regions[0][0] if gov.regions and not gov.region_inferred else ""
    top = regions[0].intensity
    if (
        own
        and region_family(own) != region_family(regions[0].region)
        and any(r.region == own and r.intensity == top for r in regions[1:])
    ):
        # among equals, the place the governing judgement names first leads (not the one that
        # sentences without a place of their own add support to)
        regions = [r for r in regions if r.region == own] + [r for r in regions if r.region != own]
    timed = [f for f in findings if f.horizon is not None and f.term == gov.term and f.judged]
    horizon: Horizon | None
    if gov.horizon is not None:
        horizon, h_words = gov.horizon, gov.horizon_words
    elif timed:
        horizon, h_words = timed[0].horizon, timed[0].horizon_words
    else:
        d = vocab.horizons.default
        horizon = Horizon(from_months=d.from_months, to_months=d.to_months)
        h_words = d.words
    assert horizon is not None
    targets: list[str] = []
    for f in findings:
        targets += [a for a in f.targets if a not in targets]
    tg = Targets(affiliations=targets)
    words_seen = Counter(f.words for f in findings if f.estimated)
    ordered = [gov] + [f for f in findings if f is not gov]
    spans: list[EvidenceSpan] = []
    seen: set[int] = set()
    for f in ordered:
        if f.sentence.start in seen:
            continue
        seen.add(f.sentence.start)
        s = f.sentence
        spans.append(
            EvidenceSpan(
                section=s.section,
                paragraph=s.paragraph,
                start=s.start,
                end=s.end,
                text=doc.text[s.start : s.end],
                summary=span_summary(vocab, f),
                names_world=f.names_world,
            )
        )
    base = f"{g.category.replace('_', '-')}-{slugify(region_name(_named_region(regions)), 4)}"
    base = re.sub(r"^(.*?)-the-", r"\1-", base)
    did, n = base, 2
    while did in used:
        did, n = f"{base}-{n}", n + 1
    used.add(did)
    conf, basis, reasons = _confidence(vocab, findings, gov)
    stated = [f.analytic_confidence for f in findings if f.judged and f.analytic_confidence]
    analytic = gov.analytic_confidence or (Counter(stated).most_common(1)[0][0] if stated else "")
    return DraftThreat(
        id=did,
        category=g.category,
        title=make_title(vocab, g.category, regions, tg),
        regions=regions,
        targets=tg,
        likelihood=gov.term,
        likelihood_words=gov.words,
        likelihood_note=likelihood_note(gov.term, gov.words, words_seen, gov.estimated),
        horizon=horizon,
        horizon_words=h_words,
        severity=vocab.categories[g.category].severity,
        confidence=cast(Confidence, analytic or "moderate"),
        evidence=spans,
        extraction_confidence=conf,
        extraction_reasons=reasons,
        extraction_basis=basis,
    )
