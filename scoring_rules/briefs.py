"""A register of many briefs: adding a reviewed brief's threats to the published register.

    register = add_brief(base, brief, threats, supersede={"new-id": ["old-id"]}, retire=["x"])

The brief joins the register's briefs with its own outline; each of its threats names it, so its
horizon counts from the brief's date and its evidence cites the brief's own paragraphs. A threat
of the new brief may supersede named older ones (they leave the active list, recorded in
``retired`` with the id that replaced them); ``retire`` takes older threats off without a
replacement. A new threat that has the id of an older one of another brief supersedes it. The
register then speaks for the later of its date and the new brief's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from core.errors import RuleError
from scoring_rules.threats import Brief, Register, Retired, Threat, format_validation_error


def _known(base: Register, ids: Sequence[str], what: str) -> None:
    active = {t.id for t in base.threats}
    unknown = [i for i in ids if i not in active]
    if unknown:
        raise RuleError(
            f"cannot {what} {', '.join(repr(i) for i in unknown)}: not an active threat of the "
            f"register (active: {', '.join(sorted(active))})"
        )


def add_brief(
    base: Register,
    brief: Brief,
    threats: Sequence[Threat],
    *,
    supersede: Mapping[str, Sequence[str]] | None = None,
    retire: Sequence[str] = (),
    note: str = "",
) -> Register:
    """``base`` with ``brief`` and its ``threats`` added; see the module docstring.

    Raises ``RuleError`` naming the id when a superseded or retired threat is not active in
    ``base``, when a superseding id is not one of the new threats, or when the brief id is taken
    by another brief.
    """
    wanted: dict[str, list[str]] = {k: list(v) for k, v in (supersede or {}).items()}
    new_ids = {t.id for t in threats}
    if not threats:
        raise RuleError(f"brief {brief.id!r}: no threats to add")
    for new_id, olds in wanted.items():
        if new_id not in new_ids:
            raise RuleError(
                f"cannot supersede with {new_id!r}: it is not a threat of brief {brief.id!r} "
                f"(its threats: {', '.join(sorted(new_ids))})"
            )
        _known(base, olds, "supersede")
    _known(base, retire, "retire")
    if any(b.id == brief.id for b in base.all_briefs()):
        raise RuleError(
            f"brief id {brief.id!r} is already in the register; give the new brief its own id"
        )
    active = {t.id: t for t in base.threats}
    # A new threat with an older threat's id supersedes it.
    for t in threats:
        if t.id in active and t.id not in wanted.get(t.id, []):
            wanted.setdefault(t.id, []).append(t.id)
    replaced: dict[str, str] = {}
    for new_id, olds in wanted.items():
        for old in olds:
            replaced[old] = new_id
    clash = sorted(set(replaced) & set(retire))
    if clash:
        raise RuleError(f"{clash[0]!r} is both superseded and retired; choose one")
    retired = list(base.retired)
    for old_id, new_id in replaced.items():
        retired.append(
            Retired(
                threat=active[old_id],
                retired_on=brief.date,
                by_brief=brief.id,
                superseded_by=new_id,
                note=note,
            )
        )
    for old_id in retire:
        retired.append(
            Retired(threat=active[old_id], retired_on=brief.date, by_brief=brief.id, note=note)
        )
    gone = set(replaced) | set(retire)
    added = [
        t.model_copy(
            update={
                "brief": brief.id,
                "supersedes": sorted(
                    set(t.supersedes) | {o for o in wanted.get(t.id, []) if o != t.id}
                ),
            }
        )
        for t in threats
    ]
    kept = [t for t in base.threats if t.id not in gone]
    data = base.model_dump()
    data.update(
        as_of=max(base.as_of, brief.date),
        brief_date=base.brief_date or base.as_of,
        brief_id=base.first_brief.id,
        briefs=[b.model_dump() for b in [*base.briefs, brief]],
        threats=[t.model_dump() for t in [*kept, *added]],
        retired=[r.model_dump() for r in retired],
    )
    try:
        out = Register.model_validate(data)
    except ValidationError as exc:
        raise RuleError(format_validation_error(f"register with brief {brief.id}", exc)) from exc
    out.check_references(f"register with brief {brief.id}")
    return out


def register_as_brief(register: Register) -> tuple[Brief, list[Threat]]:
    """A single-brief register file read as one brief and its threats (to add to another)."""
    if register.briefs:
        raise RuleError(
            f"{register.source}: holds {len(register.all_briefs())} briefs; add a register of "
            "one brief at a time"
        )
    return register.first_brief, [t.model_copy(update={"brief": None}) for t in register.threats]


def in_force(register: Register, threat: Threat, day: dt.date, days_per_month: float) -> bool:
    """Whether ``day`` lies in the threat's horizon (counted from its brief's date) and not past
    its expiry."""
    months = (day - register.brief_of(threat).date).days / days_per_month
    in_window = threat.horizon.from_months <= months <= threat.horizon.to_months
    return in_window and (threat.expires is None or day <= threat.expires)
