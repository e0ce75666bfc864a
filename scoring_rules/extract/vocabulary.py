"""The extractor's vocabulary (``scoring_rules/data/extract_vocabulary.yaml``), typed.

An analyst extends it by editing that file, or with a file of their own that starts with
``extends: default`` (or ``extends: <path>``) and lists only additions: lists are appended to,
mappings are merged key by key, single values replace.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scoring_rules.extract.document import ExtractError
from scoring_rules.threats import format_validation_error


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryWords(_Model):
    label: str = ""  # empty: made from the category name
    severity: int = Field(default=3, ge=1, le=5)
    scope: Literal["local", "global"] = "local"
    targeted: bool = True
    objects: bool = False
    title: str = "{label} {where}{aimed}"
    triggers: list[str] = Field(min_length=1)
    place_words: list[str] = Field(default_factory=list)  # triggers that may only name a place
    weak_triggers: list[str] = Field(default_factory=list)  # count only with a yardstick term


class LikelihoodWords(_Model):
    terms: dict[str, list[str]]
    hedges: list[str]
    weak: list[str] = Field(default_factory=list)
    negations: list[str]
    avoidance: list[str] = Field(default_factory=list)
    not_assessed_words: str = "not assessed in the brief"
    set_aside: list[str] = Field(default_factory=list)
    # A term in a clause opened by one of these and closed before the sentence ends ("as the
    # election is anticipated to occur in January, protests may occur") weighs that clause's own
    # verb, not the threat words of the main clause after it.
    subordinate: list[str] = Field(default_factory=list)
    # a term right before one of these weighs an explanation ("likely reflects"), not the threat
    explains: list[str] = Field(default_factory=list)
    # a weak term ("will") right before one of these is an actor's choice ("will consider")
    choice: list[str] = Field(default_factory=list)


class HorizonPhrase(_Model):
    words: list[str]
    from_months: float = Field(ge=0)
    to_months: float = Field(gt=0)


class DefaultHorizon(_Model):
    from_months: float = 0
    to_months: float = 6
    words: str = "no time frame given"


class Horizons(_Model):
    default: DefaultHorizon = DefaultHorizon()
    phrases: list[HorizonPhrase]
    continuation: list[str] = Field(default_factory=list)
    units: dict[str, float] = Field(
        default_factory=lambda: {"day": 1 / 30, "week": 0.25, "month": 1.0, "year": 12.0}
    )
    year_end: list[str] = Field(default_factory=list)
    # "until / ahead of / in the run-up to <event>": the window runs to the event's date, named
    # in the same sentence or in another sentence of the brief that dates the same event word
    until: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    max_months: float = 24.0  # a dated frame further off than this is read as this
    # a rule's or notice's stated validity ("valid until", "extends the expiration date ...
    # until"): the horizon of every threat of the brief that gives no time frame of its own
    validity: list[str] = Field(default_factory=list)
    validity_max_months: float = 120.0  # a stated expiry further off than this is read as this


class AtSea(_Model):
    categories: list[str] = Field(default_factory=list)
    becomes: str = "shipping_disruption"


class Roles(_Model):
    judgement: list[str] = Field(default_factory=list)
    quoted_actor: list[str] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
    background: list[str] = Field(default_factory=list)
    dated_openers: list[str] = Field(default_factory=list)
    # "due to X, there is a threat to Y": X is the reason of Y, not a threat of its own
    reason: list[str] = Field(default_factory=list)
    # "no specific, credible terrorist threats ... exist": the category judged absent
    absent: list[str] = Field(default_factory=list)
    consequence: list[str] = Field(default_factory=list)
    # "The IMB reported 120 incidents": a named body's report, not the brief's judgement
    reported_by: list[str] = Field(default_factory=list)


class ConfidenceCell(_Model):
    single: float = Field(default=0.5, ge=0, le=1)
    several: float = Field(default=0.7, ge=0, le=1)


class ConfidenceTable(_Model):
    cells: dict[Literal["yardstick", "hedge", "none"], ConfidenceCell] = Field(default_factory=dict)
    inferred_place_cap: float = Field(default=0.5, ge=0, le=1)


class Limiting(_Model):
    phrases: list[str] = Field(default_factory=list)
    term: str = "highly_unlikely"


class ContextRule(_Model):
    place: str
    words: list[str]
    window: int = 3
    region: str


class Places(_Model):
    aliases: dict[str, str] = Field(default_factory=dict)
    context_rules: list[ContextRule] = Field(default_factory=list)
    demonyms: dict[str, str] = Field(default_factory=dict)
    actor_only: list[str] = Field(default_factory=list)
    locative: list[str] = Field(default_factory=list)
    strict_locative: list[str] = Field(default_factory=list)
    affiliation_suffixes: list[str] = Field(default_factory=list)
    origin_words: list[str] = Field(default_factory=list)  # "Nigerian-origin": where from
    subject_verbs: list[str] = Field(default_factory=list)  # "Cameroon faces": the place
    world_comparison: list[str] = Field(default_factory=list)  # "the world's most": no place
    location_nouns: list[str] = Field(default_factory=list)
    modifiers: list[str] = Field(default_factory=list)
    world: list[str] = Field(default_factory=list)
    the_region: list[str] = Field(default_factory=list)
    compass: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    waters: dict[str, dict[str, float]] = Field(default_factory=dict)
    sea_basins: dict[str, list[str]] = Field(default_factory=dict)
    stopwords: list[str] = Field(default_factory=list)
    mention_only: list[str] = Field(default_factory=list)
    mention_only_after: list[str] = Field(default_factory=list)
    detour: list[str] = Field(default_factory=list)
    land_regions: list[str] = Field(default_factory=list)  # "Latin America and the Caribbean"


class TargetCues(_Model):
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)


class Vocabulary(_Model):
    categories: dict[str, CategoryWords] = Field(min_length=1)
    not_triggers: list[str] = Field(default_factory=list)
    means: list[str] = Field(default_factory=list)
    means_of: list[str] = Field(default_factory=list)
    place_uses: list[str] = Field(default_factory=list)
    at_sea: AtSea = AtSea()
    roles: Roles = Roles()
    limiting: Limiting = Limiting()
    confidence: ConfidenceTable = ConfidenceTable()
    # the brief's own analytic confidence ("we assess with high confidence"): low/moderate/high
    analytic_confidence: dict[Literal["low", "moderate", "high"], list[str]] = Field(
        default_factory=dict
    )
    likelihood: LikelihoodWords
    horizons: Horizons
    places: Places = Places()
    affiliations: dict[str, list[str]] = Field(default_factory=dict)
    # How a draft's title names an affiliation it targets ("aimed at allied interests").
    affiliation_labels: dict[str, str] = Field(default_factory=dict)
    target_cues: TargetCues = TargetCues()
    object_cues: list[str] = Field(default_factory=list)
    boilerplate: list[str] = Field(default_factory=list)
    key_sections: list[str] = Field(default_factory=list)

    def terms(self) -> list[str]:
        return list(self.likelihood.terms)

    def label(self, category: str) -> str:
        words = self.categories.get(category)
        if words is not None and words.label:
            return words.label
        return category.replace("_", " ").capitalize()


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return base + [x for x in extra if x not in base]
    return extra


def _default_text() -> str:
    return (
        resources.files("scoring_rules").joinpath("data/extract_vocabulary.yaml").read_text("utf-8")
    )


def _raw(path: Path | None) -> dict[str, Any]:
    where = str(path) if path else "extract_vocabulary.yaml"
    try:
        text = _default_text() if path is None else Path(path).read_text("utf-8")
    except OSError as exc:
        raise ExtractError(f"{where}: cannot read the vocabulary ({exc})") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExtractError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ExtractError(
            f"{where}: a vocabulary file is a mapping (categories:, likelihood:, ...)"
        )
    parent = doc.pop("extends", None)
    if parent is None:
        return doc
    base_path = None if parent == "default" else (Path(where).parent / str(parent))
    merged: dict[str, Any] = _merge(_raw(base_path), doc)
    return merged


def parse_vocabulary(doc: dict[str, Any], where: str = "vocabulary") -> Vocabulary:
    try:
        return Vocabulary.model_validate(doc)
    except ValidationError as exc:
        raise ExtractError(format_validation_error(where, exc)) from exc


@cache
def default_vocabulary() -> Vocabulary:
    return parse_vocabulary(_raw(None), "extract_vocabulary.yaml")


def load_vocabulary(path: Path | str | None = None) -> Vocabulary:
    """The default vocabulary, or the one in ``path`` (which may ``extends: default``)."""
    if path is None:
        return default_vocabulary()
    return parse_vocabulary(_raw(Path(path)), str(path))


def extend_vocabulary(base: Vocabulary, additions: dict[str, Any]) -> Vocabulary:
    """A vocabulary with ``additions`` merged in (same rules as an ``extends:`` file)."""
    return parse_vocabulary(_merge(base.model_dump(), additions), "vocabulary additions")
