"""One publication workflow for every versioned document; the CLI and the app both call it.

A document (the threat register, the scoring rules, a scenario, a client's exposure list) moves
through the same steps:

    draft  ->  preview (which ratings move)  ->  publish, with a note  ->  roll back, with a note

* A **draft** is what an analyst edits. Saved, it is a stored version with the status ``draft``;
  it is never current and never a roll-back target.
* A **preview** scores the book with the draft against the current run. The register and the
  rules are scored from stored versions, so a preview stores the draft once, with the status
  ``preview`` (the same document previewed again reuses that version); a preview version is not
  listed in the history and is never a roll-back target.
* **Publishing** makes a version current and marks it ``published``. The document previewed or
  saved as a draft is promoted as it is stored (no second, identical version is written); a
  document that is the same as the current one is refused. A note saying what changed and why is
  required.
* **Rolling back** makes an earlier *published* version current again, with a note; a draft or a
  preview is refused, with the versions that can be chosen.

Every draft, publish and roll-back writes an audit entry (engine/audit.py: who, when, which
document and version, why) in the same transaction as the change. Scenarios (stored by
engine/scenarios.py) follow the same steps through the ``scenario`` functions below, which the
CLI (engine/scenario_cli.py) and the app's scenarios page both call: a draft is a stored version
with the status ``draft``, its preview scores the book with it against the scenario's current
version, publishing makes it current. Exposure lists (engine/uploads.py) keep their own store;
their publish and roll-back steps write the same audit entries and follow the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from engine import audit, versions
from engine import queries_versions as q
from engine import scenarios as scenario_store
from engine.audit import record_step, required_note
from engine.errors import NotFoundError, RuleError, StaleDraft

if TYPE_CHECKING:
    from engine.alerts import PublishOutcome
    from engine.context import Context
    from engine.models import ScenarioRow, ScenarioVersion
    from engine.store import Scope
    from scoring_rules.rules import Rules
    from scoring_rules.threats import Register

DocKind = Literal["register", "rules"]
Status = Literal["preview", "draft", "published"]

TABLES: dict[str, str] = {"register": "register_versions", "rules": "rules_versions"}
_RANK = {"preview": 0, "draft": 1, "published": 2}
_NAME = {"register": "register", "rules": "rules"}


@dataclass(frozen=True)
class Preview:
    """What publishing a draft would change: the ratings before (the current run) and after."""

    kind: str
    version: int  # the stored version the preview scored
    before_run: int
    after_run: int
    rows: list[ScenarioRow]


@dataclass(frozen=True)
class Published:
    """A version made current, and whom its alerts told (none when alerts were not asked for)."""

    version: int
    alerts: PublishOutcome | None


def _table(kind: str) -> str:
    try:
        return TABLES[kind]
    except KeyError:
        raise RuleError(
            f"unknown document {kind!r}; the register and the rules are published here "
            "(scenarios: `resilience scenarios`, exposure lists: `resilience upload`)"
        ) from None


# -- reading -------------------------------------------------------------------------------------


def status(ctx: Context, kind: DocKind, version: int) -> str:
    found = ctx.store.one(
        f"SELECT status FROM {_table(kind)} WHERE version = $v",  # noqa: S608
        {"v": version},
    )
    if found is None:
        raise NotFoundError(f"{kind} version {version} does not exist")
    return str(found)


def history(ctx: Context, kind: DocKind, *, previews: bool = False) -> pl.DataFrame:
    """The versions (oldest first) with their status and note; preview versions only when
    ``previews``."""
    return ctx.store.frame(
        f"SELECT version, created_at, status, note FROM {_table(kind)} "  # noqa: S608
        "WHERE $previews OR status <> 'preview' ORDER BY version",
        {"previews": previews},
    )


def rollback_targets(ctx: Context, kind: DocKind) -> list[int]:
    """The published versions other than the current one, the latest first."""
    current = versions.pointer(ctx, kind)
    rows = ctx.store.rows(
        f"SELECT version FROM {_table(kind)} WHERE status = 'published' "  # noqa: S608
        "AND version IS DISTINCT FROM $cur ORDER BY version DESC",
        {"cur": current},
    )
    return [int(r[0]) for r in rows]


def _stored(cur: Any, kind: DocKind, text: str) -> tuple[int, str] | None:
    """The latest stored version holding exactly this document, and its status."""
    # compared here, not in SQL: PostgreSQL cannot compare its JSON column with text, and a
    # filter on it would be pushed down to the server
    rows = cur.execute(
        f"SELECT version, status, CAST(document AS VARCHAR) FROM {_table(kind)} "  # noqa: S608
        "ORDER BY version DESC"
    ).fetchall()
    for version, status, stored in rows:
        if stored == text:
            return int(version), str(status)
    return None


# -- writing -------------------------------------------------------------------------------------


def _insert(
    ctx: Context, cur: Any, kind: DocKind, version: int, doc: Any, status: Status, note: str
) -> None:
    if kind == "register":
        register: Register = doc
        threats = pl.DataFrame(
            [
                {
                    "register_version": version,
                    "threat_id": t.id,
                    "category": t.category,
                    "title": t.title,
                    "likelihood": t.likelihood,
                    "likelihood_words": t.likelihood_words,
                    "severity": t.severity,
                    "horizon_from": t.horizon.from_months,
                    "horizon_to": t.horizon.to_months,
                    "confidence": t.confidence,
                }
                for t in register.threats
            ]
        )
        cur.execute(
            "INSERT INTO register_versions VALUES ($v, now(), $note, $status, $title, $src, "
            "$as_of, $doc)",
            {
                "v": version,
                "note": note,
                "status": status,
                "title": register.title,
                "src": register.source,
                "as_of": register.as_of,
                "doc": register.model_dump_json(),
            },
        )
        ctx.store.insert_frame(cur, "threats", threats)
    else:
        rules: Rules = doc
        cur.execute(
            "INSERT INTO rules_versions VALUES ($v, now(), $note, $status, $label, $doc)",
            {
                "v": version,
                "note": note,
                "status": status,
                "label": rules.version,
                "doc": rules.model_dump_json(),
            },
        )
        for table, frame in rule_tables(version, rules).items():
            ctx.store.insert_frame(cur, table, frame)


def _checked(ctx: Context, kind: DocKind, doc: Any) -> None:
    """A register is checked against the rules it will be scored with before it is stored."""
    if kind == "register":
        from scoring_rules.rules import check_register, default_rules_path, load_rules

        rules_v = versions.pointer(ctx, "rules")
        check_register(doc, ctx.rules(rules_v) if rules_v else load_rules(default_rules_path()))


def _stage(ctx: Context, kind: DocKind, doc: Any, status: Status, note: str) -> int:
    """The version holding ``doc``: the stored one when the document is stored already (its
    status raised to ``status`` when lower), else a new version."""
    _checked(ctx, kind, doc)
    text = doc.model_dump_json()

    def write() -> int:
        with ctx.store.transaction() as cur:
            found = _stored(cur, kind, text)
            if found is not None:
                old, old_status = found
                if _RANK[status] > _RANK[old_status]:
                    cur.execute(
                        f"UPDATE {_table(kind)} SET status = $s, note = $n WHERE version = $v",  # noqa: S608
                        {"s": status, "n": note, "v": old},
                    )
                return int(old)
            version = ctx.store.next_version(cur, _table(kind))
            _insert(ctx, cur, kind, version, doc, status, note)
        return version

    # a writer that took the same number at the same moment loses at its commit: number again
    return ctx.store.retrying(write)


def save_draft(ctx: Context, kind: DocKind, doc: Any, *, note: str, by: str = "") -> int:
    """Store a draft version (never current, never a roll-back target)."""
    note = required_note(note, f"saving a {_NAME[kind]} draft")
    version = _stage(ctx, kind, doc, "draft", note)
    with ctx.store.transaction() as cur:
        record_step(cur, "draft", kind, version, note=note, by=by)
    return version


def preview(ctx: Context, kind: DocKind, doc: Any, *, scope: Scope) -> Preview:
    """Score the book with a draft and compare it with the current run; publishes nothing."""
    before = ctx.current_run().run_id
    version = _stage(ctx, kind, doc, "preview", "stored to preview the ratings it moves")
    if kind == "register":
        after = ctx.run(register_version=version)
    else:
        after = ctx.run(rules_version=version)
    return Preview(
        kind, version, before, after.run_id, ctx.compare_runs(before, after.run_id, scope)
    )


def publish(
    ctx: Context,
    kind: DocKind,
    doc: Any,
    *,
    note: str,
    by: str = "",
    alert: bool = True,
    base: int | None = None,
) -> Published:
    """Make a document current, with a note; the stored draft or preview of the same document is
    the version published. Then (``alert``) the publication is recorded and followers told.

    ``base``: the published version the draft started from. When another publish or roll-back
    moved the pointer since, nothing is published: ``StaleDraft`` names the version published
    now, who published it and what it changed (the draft would silently undo that)."""
    note = required_note(note, f"publishing the {_NAME[kind]}")
    _checked(ctx, kind, doc)
    text = doc.model_dump_json()
    try:
        version = ctx.store.retrying(lambda: _publish(ctx, kind, doc, text, note, by, base))
    except _Moved as moved:  # the transaction rolled back; say why outside it
        raise StaleDraft(
            _stale_message(ctx, kind, moved.base, moved.current),
            base=moved.base,
            current=moved.current,
        ) from None
    return Published(version, announce(ctx, kind, version, by, note=note) if alert else None)


class _Moved(Exception):
    """Inside a publish's transaction: the pointer is no longer the draft's base."""

    def __init__(self, base: int, current: int | None) -> None:
        self.base = base
        self.current = current
        super().__init__(base, current)


def _publish(
    ctx: Context, kind: DocKind, doc: Any, text: str, note: str, by: str, base: int | None
) -> int:
    with ctx.store.transaction() as cur:
        # the pointer as this transaction sees it: a publish committed at the same moment makes
        # this one conflict at its commit (retried, then refused here as stale)
        row = cur.execute(q.POINTER, {"n": kind}).fetchone()
        current = None if row is None else int(row[0])
        if base is not None and current != base:
            raise _Moved(base, current)
        found = _stored(cur, kind, text)
        if found is not None and found[0] == current:
            raise RuleError(
                f"the {_NAME[kind]} is the same as version {current}, the published one; "
                "nothing to publish"
            )
        if found is None:
            version = ctx.store.next_version(cur, _table(kind))
            _insert(ctx, cur, kind, version, doc, "published", note)
        else:
            version = found[0]
            cur.execute(
                f"UPDATE {_table(kind)} SET status = 'published', note = $n "  # noqa: S608
                "WHERE version = $v",
                {"n": note, "v": version},
            )
        cur.execute("INSERT OR REPLACE INTO pointers VALUES ($n, $v)", {"n": kind, "v": version})
        record_step(cur, "publish", kind, version, note=note, by=by, detail={"previous": current})
    return version


STALE_PATHS = 6
"""How many changed keys a stale-draft refusal lists (then "and N more")."""


def _stale_message(ctx: Context, kind: DocKind, base: int, current: int | None) -> str:
    """Why a draft of ``base`` cannot be published now: who moved the published version to
    ``current``, when and why, and which keys differ between the two."""
    name = _NAME[kind]
    if current is None:
        return (
            f"the {name} draft started from version {base}, but no {name} version is published "
            "now; nothing was published"
        )
    who = ""
    step = ctx.store.rows(
        "SELECT username, logged_at, action, note FROM audit_events "
        "WHERE kind = $k AND version = $v AND action IN ('publish', 'rollback') "
        "ORDER BY entry_id DESC LIMIT 1",
        {"k": kind, "v": current},
    )
    if step:
        user, at, action, why = step[0]
        did = "rolled back to" if action == "rollback" else "published"
        when = f" at {at:%Y-%m-%d %H:%M} UTC" if hasattr(at, "strftime") else ""
        who = f"; {user} {did} version {current}{when}" + (f" ({why})" if why else "")
    before = versions.document(ctx, kind, base).model_dump(mode="json")
    now = versions.document(ctx, kind, current).model_dump(mode="json")
    changed = changed_paths(before, now)
    shown = ", ".join(changed[:STALE_PATHS]) + (
        f" and {len(changed) - STALE_PATHS} more" if len(changed) > STALE_PATHS else ""
    )
    what = f"; it changed {shown}" if changed else ""
    return (
        f"the published {name} moved from version {base} to version {current} since this draft "
        f"began{who}{what}. Nothing was published: start the draft again from version {current} "
        "and make your change there, so that it does not undo theirs"
    )


def changed_paths(before: Any, after: Any, path: str = "") -> list[str]:
    """The dotted keys whose values differ between two JSON documents (lists of objects with an
    ``id`` are compared by id: ``threats.hormuz-closure.severity``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in [*before, *(k for k in after if k not in before)]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in before or key not in after:
                out.append(sub)
            else:
                out += changed_paths(before[key], after[key], sub)
        return out
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and all(isinstance(x, dict) and "id" in x for x in [*before, *after])
    ):
        b = {str(x["id"]): x for x in before}
        a = {str(x["id"]): x for x in after}
        return changed_paths(b, a, path)
    return [] if before == after else [path or "the document"]


def rollback(ctx: Context, kind: DocKind, version: int, *, note: str, by: str = "") -> Published:
    """Make an earlier published version current again, with a note; followers are told."""
    found = status(ctx, kind, version)
    current = versions.pointer(ctx, kind)
    if version == current:
        raise RuleError(f"{kind} version {version} is already the current one")
    if found != "published":
        targets = rollback_targets(ctx, kind)
        raise RuleError(
            f"{kind} version {version} is a {found} that was never published; roll back only to "
            "a published version ("
            + (", ".join(str(v) for v in targets) if targets else "there is none but the current")
            + ")"
        )
    note = required_note(note, f"rolling back the {_NAME[kind]}")
    with ctx.store.transaction() as cur:
        cur.execute("INSERT OR REPLACE INTO pointers VALUES ($n, $v)", {"n": kind, "v": version})
        record_step(cur, "rollback", kind, version, note=note, by=by, detail={"previous": current})
    return Published(version, announce(ctx, kind, version, by, note=note))


# -- alerts --------------------------------------------------------------------------------------


def announce(
    ctx: Context,
    document: str,
    version: int | None,
    by: str,
    *,
    note: str = "",
    subject: str | None = None,
) -> PublishOutcome | None:
    """Record a publication in the rating history and alert the followers whose threshold its
    moves reach (engine/alerts.py); called once a publish or roll-back has committed. None while
    the store has no register or no rules yet: there are no ratings to move."""
    from engine import alerts  # mail, accounts: imported only when something is published

    if versions.pointer(ctx, "register") is None or versions.pointer(ctx, "rules") is None:
        return None  # a store still being set up (rules before any register): nothing is rated
    user = by.strip() or audit.os_user()
    return alerts.after_publish(ctx, document, version, user, note=note, subject=subject)


# -- scenarios -----------------------------------------------------------------------------------


def add_scenario(ctx: Context, text: str, *, note: str, by: str, where: str) -> ScenarioVersion:
    """Store a new scenario as its version 1 and make it current (published), with a note."""
    stored = scenario_store.add(ctx, text, where=where, note=note, by=by)
    announce(ctx, "scenario", stored.version, by, note=note, subject=stored.scenario_id)
    return stored


def edit_scenario(
    ctx: Context, scenario_id: str, text: str, *, note: str, by: str, where: str
) -> ScenarioVersion:
    """Store a scenario's next version and make it current (published), with a note."""
    stored = scenario_store.edit(ctx, scenario_id, text, where=where, note=note, by=by)
    announce(ctx, "scenario", stored.version, by, note=note, subject=scenario_id)
    return stored


def retire_scenario(ctx: Context, scenario_id: str, *, note: str, by: str) -> None:
    """Take a scenario out of use; its versions and past runs stay."""
    scenario_store.retire(ctx, scenario_id, by=by, note=note)
    version = scenario_store.state(ctx, scenario_id).version
    announce(ctx, "scenario", version, by, note=note.strip() or "retired", subject=scenario_id)


def save_scenario_draft(
    ctx: Context, text: str, *, note: str, by: str, where: str = "scenario draft"
) -> ScenarioVersion:
    """Store a scenario's YAML (a new scenario, or a change to the one its id names) as a draft:
    checked against the register and rules, never current, never a roll-back target."""
    return scenario_store.save_draft(ctx, text, where=where, note=note, by=by)


def preview_scenario(ctx: Context, scenario_id: str, version: int, *, scope: Scope) -> Preview:
    """Which ratings publishing a stored scenario version would move: the book under that version
    against the book under the scenario's current version (for a new or retired scenario, against
    the ratings without it). Publishes nothing."""
    scope.sql()  # no scope given: refused before anything is scored
    scenario_store.document(ctx, scenario_id, version)  # a clear error when there is none
    found = scenario_store.listing(ctx, scenario_id)
    if found and not found[0].retired:
        before = ctx.current_run(scenario_id).run_id
    else:
        before = ctx.current_run().run_id
    after = ctx.run(scenario_id, scenario_version=version).run_id
    return Preview("scenario", version, before, after, ctx.compare_runs(before, after, scope))


def publish_scenario(ctx: Context, scenario_id: str, version: int, *, note: str, by: str) -> None:
    """Make a draft scenario version current, with a note."""
    scenario_store.publish_draft(ctx, scenario_id, version, note=note, by=by)
    announce(ctx, "scenario", version, by, note=note, subject=scenario_id)


def rollback_scenario(ctx: Context, scenario_id: str, version: int, *, note: str, by: str) -> None:
    """Make an earlier published scenario version current again, with a note (a draft is
    refused, with the versions that can be chosen)."""
    scenario_store.rollback(ctx, scenario_id, version, by=by, note=note)
    announce(ctx, "scenario", version, by, note=note, subject=scenario_id)


def scenario_drafts(ctx: Context) -> list[ScenarioVersion]:
    """Every draft scenario version (new scenarios too), to preview and publish."""
    return scenario_store.drafts(ctx)


def scenario_rollback_targets(ctx: Context, scenario_id: str) -> list[int]:
    """The published versions of a scenario a roll-back may choose, the latest first."""
    return scenario_store.rollback_targets(ctx, scenario_id)


# -- exposure lists ------------------------------------------------------------------------------


def rollback_exposures(
    ctx: Context, client_id: str, version: int, *, note: str, by: str = ""
) -> Published:
    """Make an earlier exposure version of a client current again, with a note. Every stored
    exposure version was published (loaded) once; versions are never changed or deleted."""
    from engine.uploads import require_version

    require_version(ctx, client_id, version)
    current = ctx.exposure_version(client_id)
    if version == current:
        raise RuleError(f"exposure version {version} of {client_id} is already the current one")
    note = required_note(note, f"rolling back the exposures of {client_id}")
    with ctx.store.transaction() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO exposure_current VALUES ($c, $v)",
            {"c": client_id, "v": version},
        )
        record_step(
            cur,
            "rollback",
            "exposures",
            version,
            note=note,
            by=by,
            subject=client_id,
            detail={"previous": current},
        )
    announced = announce(ctx, "exposures", version, by, note=note, subject=client_id)
    return Published(version, announced)


def record_exposures(
    cur: Any, client_id: str, version: int, *, note: str, by: str = "", detail: dict[str, Any]
) -> None:
    """The audit entry of a loaded exposure version (inside the load's transaction)."""
    record_step(
        cur, "publish", "exposures", version, note=note, by=by, subject=client_id, detail=detail
    )


# -- the rule tables ------------------------------------------------------------------------------


def rule_tables(version: int, rules: Rules) -> dict[str, pl.DataFrame]:
    """The rule tables of a rules version, in full (every cell, defaults filled), as the scoring
    SQL reads them."""
    lk = [
        {
            "rules_version": version,
            "term": term,
            "p_low": r.low,
            "p_central": r.central,
            "p_high": r.high,
        }
        for term, r in [
            *rules.likelihood.terms.items(),
            ("not_assessed", rules.likelihood.not_assessed),
        ]
    ]

    def cross(
        names: tuple[str, str], rows: list[str], cols: list[str], value: Any, **fixed: str
    ) -> list[dict[str, Any]]:
        """Every cell of a rows x cols table, defaults filled in, one dict per cell."""
        return [
            {"rules_version": version, **fixed, names[0]: r, names[1]: c, "v": value(r, c)}
            for r in rows
            for c in cols
        ]

    t = rules.targeting.sector_sensitivity
    sector = cross(("category", "sector"), rules.categories, rules.sectors, t.get)
    vuln = cross(
        ("category", "key"),
        rules.categories,
        rules.asset_types,
        rules.vulnerability.assets.get,
        item_kind="asset",
    ) + cross(
        ("category", "key"),
        rules.categories,
        rules.commodities,
        rules.vulnerability.routes.get,
        item_kind="route",
    )
    mit = cross(
        ("mitigation", "category"),
        rules.mitigations,
        rules.categories,
        rules.mitigation.credits.get,
    )
    bands = [
        {"rules_version": version, "band": b.band, "label": b.label, "min_score": b.min_score}
        for b in rules.bands
    ]
    return {
        "rule_likelihood": pl.DataFrame(lk),
        "rule_sector": pl.DataFrame(sector).rename({"v": "factor"}),
        "rule_vuln": pl.DataFrame(vuln).rename({"v": "factor"}),
        "rule_mitigation": pl.DataFrame(mit).rename({"v": "credit"}),
        "rule_bands": pl.DataFrame(bands),
    }
