"""Scenarios as versioned documents in the store (the Context's scenario methods call these).

The built-in files in ``scoring_rules/data/scenarios/`` become version 1 of each scenario when a
database is initialised; from then on the database is the system of record. An analyst adds a
scenario, edits one (the next version), rolls back to an earlier version or retires one. Versions
are never changed or deleted. Which version is current, or that a scenario is retired, is the
latest entry of ``scenario_events``, and each entry records who, when and why
(engine/sql/schema_004_scenarios.sql).

Every text an analyst gives is checked before anything is stored: the YAML against the pydantic
model (``extra="forbid"``), then the scenario against the published register and rules (its
overrides must name threats of the register). A refused text changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb

from engine.audit import record_step, required_note
from engine.errors import ConflictError, NotFoundError, RuleError, StoreError
from engine.models import ScenarioEvent, ScenarioInfo, ScenarioVersion
from scoring_rules.scenarios import Scenario, builtin_files, check_scenario, parse_scenario

if TYPE_CHECKING:
    from engine.context import Context

log = logging.getLogger(__name__)

SEED_AUTHOR = "resilience init"

# Reads: scenario_events, scenario_versions. Produces: per scenario its latest event (which
# version is current, or that it is retired), the current version's title and its version count.
_STATE = """
    WITH latest AS (
        SELECT scenario_id, arg_max(version, event_id) AS version,
               arg_max(action, event_id) AS action, arg_max(changed_at, event_id) AS changed_at,
               arg_max(by_user, event_id) AS changed_by
        FROM scenario_events GROUP BY scenario_id
    )
    SELECT l.scenario_id, v.title, l.version,
           (SELECT count(*) FROM scenario_versions n WHERE n.scenario_id = l.scenario_id),
           l.action = 'retire', l.changed_at, l.changed_by
    FROM latest l
    JOIN scenario_versions v ON v.scenario_id = l.scenario_id AND v.version = l.version
    WHERE $id IS NULL OR l.scenario_id = $id
    ORDER BY l.scenario_id
"""


def _sha256(scenario: Scenario) -> str:
    return hashlib.sha256(scenario.model_dump_json().encode("utf-8")).hexdigest()


def _required(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise RuleError(f"{what} is empty; say {_WHY[what]}")
    return text


_WHY = {
    "the note": "what changed and why",
    "the author": "who makes the change",
}


# -- reading -------------------------------------------------------------------------------------


def listing(ctx: Context, scenario_id: str | None = None) -> list[ScenarioInfo]:
    keys = ["scenario_id", "title", "version", "n_versions", "retired", "changed_at", "changed_by"]
    rows = ctx.store.rows(_STATE, {"id": scenario_id})
    return [ScenarioInfo(**dict(zip(keys, r, strict=True))) for r in rows]


def state(ctx: Context, scenario_id: str) -> ScenarioInfo:
    """Where one scenario stands; a clear error naming the known ones when it does not exist."""
    for info in listing(ctx, scenario_id):
        return info
    known = [i.scenario_id for i in listing(ctx) if not i.retired]
    if not known:
        raise NotFoundError(
            f"unknown scenario {scenario_id!r}: the database holds no scenarios yet; "
            "run `resilience init` to store the built-in ones"
        )
    raise NotFoundError(f"unknown scenario {scenario_id!r}; known: {', '.join(known)}")


def current_version(ctx: Context, scenario_id: str) -> int:
    """The version a run of this scenario uses now; a retired scenario cannot be run."""
    info = state(ctx, scenario_id)
    if info.retired:
        raise NotFoundError(
            f"scenario {scenario_id!r} is retired; `resilience scenarios rollback {scenario_id} "
            f"{info.version}` makes it current again"
        )
    return info.version


def _row(ctx: Context, scenario_id: str, version: int) -> tuple[Any, ...]:
    row = ctx.store.execute(
        "SELECT document, source_yaml FROM scenario_versions "
        "WHERE scenario_id = $id AND version = $v",
        {"id": scenario_id, "v": version},
    ).fetchone()
    if row is None:
        state(ctx, scenario_id)  # unknown scenario: say so first
        raise NotFoundError(
            f"scenario {scenario_id!r} has no version {version}; "
            f"`resilience scenarios history {scenario_id}` lists its versions"
        )
    return tuple(row)


def document(ctx: Context, scenario_id: str, version: int) -> Scenario:
    """A stored version, parsed once per context: versions never change."""
    return ctx.cached_document(
        f"scenario {scenario_id}",
        version,
        lambda: Scenario.model_validate(json.loads(_row(ctx, scenario_id, version)[0])),
    )


def source(ctx: Context, scenario_id: str, version: int) -> str:
    text: str = _row(ctx, scenario_id, version)[1]
    return text


def active(ctx: Context) -> dict[str, Scenario]:
    """Every scenario that is not retired, at its current version."""
    return {
        i.scenario_id: document(ctx, i.scenario_id, i.version)
        for i in listing(ctx)
        if not i.retired
    }


_VERSIONS = (
    "SELECT scenario_id, version, created_at, created_by, note, title, sha256, status "
    "FROM scenario_versions WHERE $id IS NULL OR scenario_id = $id ORDER BY scenario_id, version"
)


def history(ctx: Context, scenario_id: str) -> list[ScenarioVersion]:
    """Every stored version, drafts included (a new scenario may have only drafts so far)."""
    found = listing(ctx, scenario_id)
    rows = ctx.store.frame(_VERSIONS, {"id": scenario_id})
    if not found and rows.height == 0:
        state(ctx, scenario_id)  # unknown: the error names the known ones
    info = found[0] if found else None
    return [
        ScenarioVersion(
            **r, current=info is not None and not info.retired and r["version"] == info.version
        )
        for r in rows.iter_rows(named=True)
    ]


def drafts(ctx: Context) -> list[ScenarioVersion]:
    """Every draft version of every scenario (new ones too), oldest first per scenario."""
    rows = ctx.store.frame(_VERSIONS, {"id": None})
    return [
        ScenarioVersion(**r, current=False)
        for r in rows.iter_rows(named=True)
        if r["status"] == "draft"
    ]


def rollback_targets(ctx: Context, scenario_id: str) -> list[int]:
    """The published versions a roll-back may make current (not the current one; drafts never),
    the latest first."""
    return [
        v.version
        for v in reversed(history(ctx, scenario_id))
        if v.status == "published" and not v.current
    ]


def events(ctx: Context, scenario_id: str) -> list[ScenarioEvent]:
    if not _stored_any(ctx, scenario_id):
        state(ctx, scenario_id)  # unknown: the error names the known ones
    rows = ctx.store.frame(
        "SELECT scenario_id, changed_at, by_user, action, version, note FROM scenario_events "
        "WHERE scenario_id = $id ORDER BY event_id",
        {"id": scenario_id},
    )
    return [ScenarioEvent(**r) for r in rows.iter_rows(named=True)]


# -- writing -------------------------------------------------------------------------------------


def _checked(ctx: Context, text: str, where: str) -> Scenario:
    scenario = parse_scenario(text, where)
    check_scenario(scenario, ctx.register(), ctx.rules(), where)
    return scenario


def _store(
    ctx: Context,
    scenario: Scenario,
    text: str,
    *,
    action: str,
    note: str,
    by: str,
    expect_version: int,
    status: str = "published",
) -> int:
    """Insert the next version and (published) its event in one transaction; ``expect_version``
    is the version the caller saw as the latest (0 for a new scenario), so that two edits made at
    once cannot both become current. A draft is stored with no event: it is not current."""
    params = {"id": scenario.id}
    with _writing(ctx, scenario.id) as cur:  # the version and its event, or neither
        found = cur.execute(
            "SELECT coalesce(max(version), 0) FROM scenario_versions WHERE scenario_id = $id",
            params,
        ).fetchone()
        latest = int(found[0]) if found else 0
        if latest != expect_version:
            raise StoreError(
                f"scenario {scenario.id}: version {latest} was stored by someone else "
                "meanwhile; nothing was changed, look at it and try again"
            )
        version = latest + 1
        cur.execute(
            "INSERT INTO scenario_versions VALUES ($id, $v, now(), $by, $note, $title, $src, "
            "$doc, $sha, $status)",
            params
            | {
                "v": version,
                "by": by,
                "note": note,
                "title": scenario.title,
                "src": text,
                "doc": scenario.model_dump_json(),
                "sha": _sha256(scenario),
                "status": status,
            },
        )
        if status == "draft":
            record_step(cur, "draft", "scenario", version, note=note, by=by, subject=scenario.id)
            return version
        _event(cur, scenario.id, action, version, by, note)
        record_step(
            cur,
            "publish",
            "scenario",
            version,
            note=note,
            by=by,
            subject=scenario.id,
            detail={"change": action},
        )
    return version


@contextlib.contextmanager
def _writing(ctx: Context, scenario_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction; a change another session committed at the same moment refuses this one
    with words, not a database error."""
    try:
        with ctx.store.transaction() as cur:
            yield cur
    except ConflictError as exc:
        raise StoreError(
            f"scenario {scenario_id}: another change was stored at the same moment; nothing "
            "was changed, try again"
        ) from exc


def _event(
    cur: duckdb.DuckDBPyConnection, scenario_id: str, action: str, version: int, by: str, note: str
) -> None:
    cur.execute(
        "INSERT INTO scenario_events SELECT coalesce(max(event_id), 0) + 1, $id, now(), $by, "
        "$action, $v, $note FROM scenario_events",
        {"id": scenario_id, "by": by, "action": action, "v": version, "note": note},
    )


def seed(ctx: Context) -> list[str]:
    """Store each built-in scenario the database has never held as its version 1."""
    held = {i.scenario_id for i in listing(ctx)}
    added = []
    for path in builtin_files():
        text = path.read_text("utf-8")
        where = f"scoring_rules/data/scenarios/{path.name}"
        scenario = parse_scenario(text, where)
        if scenario.id in held:  # edited, rolled back or retired since: the database decides
            continue
        try:
            check_scenario(scenario, ctx.register(), ctx.rules(), where)
        except RuleError as exc:  # stored all the same: a run of it says what to fix
            log.warning("built-in scenario %s does not fit the published register: %s", where, exc)
        _store(
            ctx,
            scenario,
            text,
            action="create",
            note=f"built-in scenario from {where}",
            by=SEED_AUTHOR,
            expect_version=0,
        )
        added.append(scenario.id)
    return added


def _stored(ctx: Context, scenario_id: str, version: int) -> ScenarioVersion:
    return next(h for h in history(ctx, scenario_id) if h.version == version)


def add(ctx: Context, text: str, *, where: str, note: str, by: str) -> ScenarioVersion:
    note, by = _required(note, "the note"), _required(by, "the author")
    scenario = _checked(ctx, text, where)
    if listing(ctx, scenario.id):
        raise RuleError(
            f"{where}, id: scenario {scenario.id!r} already exists; change it with "
            f"`resilience scenarios edit {scenario.id} FILE`, or give the new scenario another id"
        )
    version = _store(ctx, scenario, text, action="create", note=note, by=by, expect_version=0)
    return _stored(ctx, scenario.id, version)


def edit(
    ctx: Context, scenario_id: str, text: str, *, where: str, note: str, by: str
) -> ScenarioVersion:
    note, by = _required(note, "the note"), _required(by, "the author")
    current = current_version(ctx, scenario_id)
    scenario = _checked(ctx, text, where)
    if scenario.id != scenario_id:
        raise RuleError(
            f"{where}, id: {scenario.id!r} is not the scenario being edited; write "
            f"id: {scenario_id} (a scenario's id never changes; add a new one with "
            "`resilience scenarios add`)"
        )
    if _sha256(scenario) == _sha256(document(ctx, scenario_id, current)):
        raise RuleError(
            f"{where}: the same as version {current} of {scenario_id}, the current one; "
            "nothing to store"
        )
    latest = state(ctx, scenario_id).n_versions
    version = _store(ctx, scenario, text, action="edit", note=note, by=by, expect_version=latest)
    return _stored(ctx, scenario_id, version)


def rollback(ctx: Context, scenario_id: str, version: int, *, by: str, note: str) -> None:
    """Make an earlier version current again (a retired scenario comes back with it); the note
    says why."""
    by = _required(by, "the author")
    info = state(ctx, scenario_id)
    if not info.retired and info.version == version:
        raise RuleError(f"version {version} of {scenario_id} is already the current one")
    scenario = document(ctx, scenario_id, version)  # a clear error when there is no such version
    if _status(ctx, scenario_id, version) != "published":
        targets = rollback_targets(ctx, scenario_id)
        raise RuleError(
            f"version {version} of {scenario_id} is a draft that was never published; roll back "
            "only to a published version ("
            + (", ".join(str(v) for v in targets) if targets else "there is none but the current")
            + f"), or publish the draft with `resilience scenarios publish {scenario_id} "
            f"{version}`"
        )
    note = required_note(note, f"rolling back scenario {scenario_id}")
    check_scenario(scenario, ctx.register(), ctx.rules(), f"scenario {scenario_id} v{version}")
    with _writing(ctx, scenario_id) as cur:
        _event(cur, scenario_id, "rollback", version, by, note)
        record_step(
            cur,
            "rollback",
            "scenario",
            version,
            note=note,
            by=by,
            subject=scenario_id,
            detail={"previous": None if info.retired else info.version},
        )


def retire(ctx: Context, scenario_id: str, *, by: str, note: str) -> None:
    """Take a scenario out of use; its versions and the runs made with them stay."""
    by = _required(by, "the author")
    version = current_version(ctx, scenario_id)
    with _writing(ctx, scenario_id) as cur:
        _event(cur, scenario_id, "retire", version, by, note.strip() or "retired")
        record_step(
            cur,
            "retire",
            "scenario",
            version,
            note=note.strip() or "retired",
            by=by,
            subject=scenario_id,
        )


def _status(ctx: Context, scenario_id: str, version: int) -> str:
    return str(
        ctx.store.one(
            "SELECT status FROM scenario_versions WHERE scenario_id = $id AND version = $v",
            {"id": scenario_id, "v": version},
        )
    )


# -- drafts --------------------------------------------------------------------------------------


def save_draft(ctx: Context, text: str, *, where: str, note: str, by: str) -> ScenarioVersion:
    """Store a scenario's YAML as a draft version (of a new scenario, or of the one its id
    names): checked like any version, never current until it is published. The same text saved
    as a draft already is that draft."""
    note, by = _required(note, "the note"), _required(by, "the author")
    scenario = _checked(ctx, text, where)
    known = history(ctx, scenario.id) if _stored_any(ctx, scenario.id) else []
    sha = _sha256(scenario)
    for v in reversed(known):
        if v.sha256 == sha and v.current:
            raise RuleError(
                f"{where}: the same as version {v.version} of {scenario.id}, the current one; "
                "nothing to store"
            )
        if v.sha256 == sha and v.status == "draft":
            return v
    latest = max((v.version for v in known), default=0)
    version = _store(
        ctx,
        scenario,
        text,
        action="edit" if known else "create",
        note=note,
        by=by,
        expect_version=latest,
        status="draft",
    )
    return _stored(ctx, scenario.id, version)


def _stored_any(ctx: Context, scenario_id: str) -> bool:
    return bool(
        ctx.store.one(
            "SELECT count(*) FROM scenario_versions WHERE scenario_id = $id", {"id": scenario_id}
        )
    )


def publish_draft(ctx: Context, scenario_id: str, version: int, *, note: str, by: str) -> None:
    """Make a draft version current, with a note saying what changed and why; it is a published
    version from then on (a roll-back target once another is current)."""
    by = _required(by, "the author")
    if not _stored_any(ctx, scenario_id):
        state(ctx, scenario_id)  # unknown: the error names the known ones
    scenario = document(ctx, scenario_id, version)  # a clear error when there is no such version
    if _status(ctx, scenario_id, version) != "draft":
        raise RuleError(
            f"version {version} of {scenario_id} is published already; to make it current "
            f"again, roll back to it (`resilience scenarios rollback {scenario_id} {version}`)"
        )
    note = required_note(note, f"publishing scenario {scenario_id}")
    check_scenario(scenario, ctx.register(), ctx.rules(), f"scenario {scenario_id} v{version}")
    found = listing(ctx, scenario_id)
    previous = found[0].version if found and not found[0].retired else None
    with _writing(ctx, scenario_id) as cur:
        cur.execute(
            "UPDATE scenario_versions SET status = 'published', note = $note "
            "WHERE scenario_id = $id AND version = $v",
            {"id": scenario_id, "v": version, "note": note},
        )
        _event(cur, scenario_id, "edit" if found else "create", version, by, note)
        record_step(
            cur,
            "publish",
            "scenario",
            version,
            note=note,
            by=by,
            subject=scenario_id,
            detail={"previous": previous, "change": "draft published"},
        )
