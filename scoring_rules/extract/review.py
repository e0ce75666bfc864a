"""Analyst review of draft threats, publishing a new register version, and the drafts YAML file.

    review = Review.from_result(ingest("brief.md"))
    review.accept(draft)                      # as proposed
    review.edit(draft, likelihood="likely", severity=4, regions={"IRQ": 1.0})   # accepted, edited
    review.reject(draft)
    register = publish(review, base_register)  # validated with Register.check_references

A published register is ``base_register`` with the accepted threats added. When the drafts come
from a brief the register does not hold yet (``brief=`` a :class:`Brief`: its id, title,
publisher and date), the brief joins the register's briefs with its own outline, its threats
count their horizons from its date, and they may supersede or retire named older threats
(``scoring_rules.briefs.add_brief``). When they come from a brief the register already holds, a
threat with the same id replaces the base's one and the brief's sections extend that brief's
outline. With ``replace=True`` the register holds the accepted threats only, under the brief's own
outline, source and title.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from core.errors import RuleError
from exposures.gazetteer import load_gazetteer
from scoring_rules.briefs import add_brief
from scoring_rules.extract.document import Document, ExtractError
from scoring_rules.extract.drafts import DraftThreat
from scoring_rules.extract.vocabulary import Vocabulary, default_vocabulary
from scoring_rules.threats import (
    NOT_ASSESSED,
    Brief,
    Horizon,
    OutlineSection,
    RegionWeight,
    Register,
    Targets,
    format_validation_error,
)

Decision = Literal["pending", "accepted", "rejected"]
DRAFTS_FORMAT = "resilience/draft-threats@1"


# --- coercing edits -------------------------------------------------------------------------------


def _regions(value: Any) -> list[RegionWeight]:
    if isinstance(value, Mapping):
        return [RegionWeight(region=str(k), intensity=float(v)) for k, v in value.items()]
    out = []
    for item in value:
        if isinstance(item, RegionWeight):
            out.append(item)
        elif isinstance(item, str):
            out.append(RegionWeight(region=item, intensity=1.0))
        elif isinstance(item, Mapping):
            out.append(RegionWeight.model_validate(item))
        else:
            region, intensity = item
            out.append(RegionWeight(region=str(region), intensity=float(intensity)))
    return out


def _horizon(value: Any) -> Horizon:
    if isinstance(value, Horizon):
        return value
    if isinstance(value, Mapping):
        return Horizon.model_validate(value)
    lo, hi = value
    return Horizon(from_months=float(lo), to_months=float(hi))


def _targets(value: Any) -> Targets:
    if isinstance(value, Targets):
        return value
    if isinstance(value, Mapping):
        return Targets.model_validate(value)
    return Targets(affiliations=list(value))


_COERCE = {"regions": _regions, "horizon": _horizon, "targets": _targets}


def check_draft(draft: DraftThreat, vocab: Vocabulary | None = None, where: str = "draft") -> None:
    """Regions known to the gazetteer, likelihood a yardstick term (or not_assessed)."""
    vocab = vocab or default_vocabulary()
    gaz = load_gazetteer()
    for rw in draft.regions:
        if not gaz.is_known(rw.region):
            raise ExtractError(
                f"{where} {draft.id}: unknown region {rw.region!r}; use 'world', an ISO alpha-3 "
                "country, an ISO 3166-2 subdivision or a hotspot./sea. id of the gazetteer"
            )
    terms = [*vocab.terms(), NOT_ASSESSED]
    if draft.likelihood not in terms:
        raise ExtractError(
            f"{where} {draft.id}: likelihood {draft.likelihood!r} is not a yardstick term "
            f"(use one of: {', '.join(terms)})"
        )


def edit_draft(draft: DraftThreat, **changes: Any) -> DraftThreat:
    """A copy of ``draft`` with ``changes`` applied and validated (the draft itself is frozen)."""
    fields = set(DraftThreat.model_fields)
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise ExtractError(
            f"draft {draft.id}: cannot edit {', '.join(unknown)}; editable fields are "
            f"{', '.join(sorted(fields))}"
        )
    data = draft.model_dump()
    try:
        for key, value in changes.items():
            data[key] = _COERCE[key](value) if key in _COERCE else value
        edited = DraftThreat.model_validate(data)
    except (ValidationError, ValueError, TypeError) as exc:
        detail = (
            format_validation_error(f"draft {draft.id}", exc)
            if isinstance(exc, ValidationError)
            else f"draft {draft.id}: {exc}"
        )
        raise ExtractError(detail) from exc
    check_draft(edited)
    return edited


# --- review ---------------------------------------------------------------------------------------


class Review:
    """The analyst's decisions over one brief's drafts."""

    def __init__(
        self,
        drafts: Iterable[DraftThreat],
        outline: Sequence[OutlineSection] = (),
        source: str = "",
        title: str = "",
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self._drafts: dict[str, DraftThreat] = {}
        self._decisions: dict[str, Decision] = {}
        for d in drafts:
            if d.id in self._drafts:
                raise ExtractError(f"two drafts share the id {d.id!r}")
            self._drafts[d.id] = d
            self._decisions[d.id] = "pending"
        self.outline = list(outline)
        self.source = source
        self.title = title
        self.vocabulary = vocabulary or default_vocabulary()

    @classmethod
    def from_result(cls, result: Any, vocabulary: Vocabulary | None = None) -> Review:
        """From an ``IngestResult``."""
        doc: Document = result.document
        return cls(result.drafts, doc.outline(), doc.source, doc.title, vocabulary)

    @classmethod
    def from_file(cls, path: Path | str, vocabulary: Vocabulary | None = None) -> Review:
        """From a drafts YAML file written by ``save_drafts``/``ingest_to_yaml``."""
        f = load_draft_file(path)
        return cls(f.drafts, f.outline, f.source, f.title, vocabulary)

    def _id(self, draft: DraftThreat | str) -> str:
        did = draft if isinstance(draft, str) else draft.id
        if did not in self._drafts:
            raise ExtractError(
                f"no draft {did!r} in this review (known: {', '.join(self._drafts)})"
            )
        return did

    @property
    def drafts(self) -> list[DraftThreat]:
        return list(self._drafts.values())

    def get(self, draft_id: str) -> DraftThreat:
        return self._drafts[self._id(draft_id)]

    def status(self, draft: DraftThreat | str) -> Decision:
        return self._decisions[self._id(draft)]

    def accept(self, draft: DraftThreat | str) -> DraftThreat:
        did = self._id(draft)
        check_draft(self._drafts[did], self.vocabulary)
        self._decisions[did] = "accepted"
        return self._drafts[did]

    def edit(self, draft: DraftThreat | str, **changes: Any) -> DraftThreat:
        """Apply ``changes`` (any draft field) and accept the edited draft."""
        did = self._id(draft)
        edited = edit_draft(self._drafts[did], **changes)
        check_draft(edited, self.vocabulary)
        if edited.id != did:
            if edited.id in self._drafts:
                raise ExtractError(f"cannot rename {did!r} to {edited.id!r}: that id is taken")
            del self._drafts[did]
            del self._decisions[did]
        self._drafts[edited.id] = edited
        self._decisions[edited.id] = "accepted"
        return edited

    def reject(self, draft: DraftThreat | str) -> None:
        self._decisions[self._id(draft)] = "rejected"

    def accepted(self) -> list[DraftThreat]:
        return [d for d in self._drafts.values() if self._decisions[d.id] == "accepted"]

    def rejected(self) -> list[DraftThreat]:
        return [d for d in self._drafts.values() if self._decisions[d.id] == "rejected"]

    def pending(self) -> list[DraftThreat]:
        return [d for d in self._drafts.values() if self._decisions[d.id] == "pending"]


def publish(
    review: Review,
    base_register: Register,
    *,
    as_of: dt.date | None = None,
    title: str | None = None,
    replace: bool = False,
    brief: Brief | None = None,
    supersede: Mapping[str, Sequence[str]] | None = None,
    retire: Sequence[str] = (),
    note: str = "",
) -> Register:
    """A new register version holding the accepted (and edited) drafts.

    Raises ``ExtractError`` when nothing is accepted, and ``RuleError`` (from
    ``Register.check_references``) when the result cites a section or region it should not, or
    supersedes or retires a threat the register does not hold.
    """
    accepted = review.accepted()
    if not accepted:
        raise ExtractError("nothing to publish: accept or edit at least one draft first")
    new = [d.to_threat() for d in accepted]
    if brief is not None and not replace:
        return add_brief(base_register, brief, new, supersede=supersede, retire=retire, note=note)
    if supersede or retire:
        raise ExtractError(
            "superseding or retiring threats needs the new brief named (its date, publisher "
            "and title): only a later brief can replace an earlier judgement"
        )
    if replace:
        threats = new
        outline = list(review.outline)
        source = review.source or base_register.source
        reg_title = title or review.title or base_register.title
    else:
        by_id = {t.id: t for t in new}
        threats = [by_id.pop(t.id, t) for t in base_register.threats] + list(by_id.values())
        sections = {s.id: s for s in base_register.outline}
        for s in review.outline:
            old = sections.get(s.id)
            if old is None:
                sections[s.id] = s
            elif s.paragraphs > old.paragraphs:
                sections[s.id] = OutlineSection(
                    id=s.id, heading=old.heading, paragraphs=s.paragraphs
                )
        outline = list(sections.values())
        source = base_register.source
        reg_title = title or base_register.title
    data: dict[str, Any] = {
        "title": reg_title,
        "source": source,
        "as_of": as_of or (brief.date if brief is not None else base_register.as_of),
        "outline": [s.model_dump() for s in outline],
        "threats": [t.model_dump() for t in threats],
    }
    if replace and brief is not None:
        data.update(publisher=brief.publisher, brief_id=brief.id, brief_date=brief.date)
    elif not replace:
        keep = ("publisher", "brief_id", "brief_date", "briefs", "retired")
        data.update({k: v for k, v in base_register.model_dump().items() if k in keep})
    try:
        register = Register.model_validate(data)
    except ValidationError as exc:
        raise RuleError(format_validation_error("published register", exc)) from exc
    register.check_references("published register")
    return register


# --- drafts YAML ----------------------------------------------------------------------------------


@dataclass
class DraftFile:
    source: str
    title: str
    outline: list[OutlineSection]
    drafts: list[DraftThreat]
    date: dt.date | None = None  # the brief's date, when known
    publisher: str = ""
    brief_id: str | None = None


def save_drafts(
    drafts: Sequence[DraftThreat],
    path: Path | str,
    *,
    document: Document | None = None,
    outline: Sequence[OutlineSection] | None = None,
    source: str = "",
    title: str = "",
    date: dt.date | None = None,
    publisher: str = "",
    brief_id: str | None = None,
) -> Path:
    """Write drafts (and the brief's outline, date and publisher, so they can be published
    later) as YAML."""
    path = Path(path)
    if document is not None:
        outline = document.outline()
        source = source or document.source
        title = title or document.title
    doc = {
        "format": DRAFTS_FORMAT,
        "source": source,
        "title": title,
        **({"date": date.isoformat()} if date is not None else {}),
        **({"publisher": publisher} if publisher else {}),
        **({"brief_id": brief_id} if brief_id else {}),
        "outline": [s.model_dump() for s in outline or []],
        "drafts": [d.model_dump(mode="json") for d in drafts],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    return path


def load_draft_file(path: Path | str) -> DraftFile:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ExtractError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise ExtractError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(doc, list):
        doc = {"drafts": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("drafts"), list):
        raise ExtractError(f"{path}: a drafts file has a 'drafts:' list")
    drafts = []
    for i, item in enumerate(doc["drafts"]):
        try:
            drafts.append(DraftThreat.model_validate(item))
        except ValidationError as exc:
            raise ExtractError(format_validation_error(f"{path}, drafts[{i}]", exc)) from exc
    try:
        outline = [OutlineSection.model_validate(s) for s in doc.get("outline") or []]
    except ValidationError as exc:
        raise ExtractError(format_validation_error(f"{path}, outline", exc)) from exc
    raw_date = doc.get("date")
    try:
        day = (
            raw_date
            if isinstance(raw_date, dt.date) or raw_date is None
            else dt.date.fromisoformat(str(raw_date))
        )
    except ValueError as exc:
        raise ExtractError(f"{path}, date: {raw_date!r} is not a date; use YYYY-MM-DD") from exc
    return DraftFile(
        str(doc.get("source") or ""),
        str(doc.get("title") or ""),
        outline,
        drafts,
        day,
        str(doc.get("publisher") or ""),
        str(doc["brief_id"]) if doc.get("brief_id") else None,
    )


def load_drafts(path: Path | str) -> list[DraftThreat]:
    return load_draft_file(path).drafts
