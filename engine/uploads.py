"""Client uploads into the store: versions, diffs and roll-back.

The untrusted file is read and validated in a child process (exposures.upload.sandbox); what
comes back is a report and the valid rows as a canonical frame. Loading makes a new exposure
version current in one transaction (Context.load_exposures): an upload of assets keeps the
client's current routes and the other way round. Earlier versions are kept; rolling back moves
the pointer.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import ExposureError, NotFoundError, ResilienceError
from exposures.upload import checker

if TYPE_CHECKING:  # imported where used: a CLI dry run through the service loads neither
    import polars as pl

    from engine.context import Context, StagedVersion
    from engine.models import Rating
    from exposures.upload.pipeline import PreparedUpload
    from exposures.upload.report import ValidationReport

# the checker service this process starts also works out dry runs (engine/upload_service.py)
checker.extend("engine.upload_service")

log = logging.getLogger(__name__)

Kind = Literal["assets", "routes"]
KINDS: tuple[Kind, ...] = ("assets", "routes")
Mode = Literal["replace", "upsert", "delete"]
MODES: tuple[Mode, ...] = ("replace", "upsert", "delete")


def _fields(kind: str) -> list[str]:
    """What distinguishes two versions of an item of ``kind`` (besides its id)."""
    from exposures.prepare import ASSET_COLUMNS, ROUTE_COLUMNS  # heavy: only when comparing

    return ASSET_COLUMNS[1:] if kind in ("assets", "asset") else ROUTE_COLUMNS[1:]


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: dt.datetime
    note: str
    source: str
    n_assets: int
    n_routes: int
    current: bool


@dataclass(frozen=True)
class ItemChange:
    kind: str  # asset | route
    item_id: str
    change: Literal["added", "removed", "changed"]
    fields: tuple[str, ...] = ()  # for "changed": which fields differ


@dataclass(frozen=True)
class ExposureDiff:
    client_id: str
    old_version: int
    new_version: int
    changes: tuple[ItemChange, ...]
    old_score: float | None = None
    new_score: float | None = None
    old_band: str | None = None
    new_band: str | None = None

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "added": self.count("added"),
            "removed": self.count("removed"),
            "changed": self.count("changed"),
            "rating": {
                "old_score": self.old_score,
                "new_score": self.new_score,
                "old_band": self.old_band,
                "new_band": self.new_band,
            },
            "changes": [
                {"kind": c.kind, "item_id": c.item_id, "change": c.change, "fields": list(c.fields)}
                for c in self.changes
            ],
        }


@dataclass
class UploadOutcome:
    client_id: str
    kind: Kind
    report: ValidationReport
    loaded: bool
    version: int | None = None
    rows_loaded: int = 0
    reason: str = ""  # why nothing was loaded
    before: Rating | None = None
    after: Rating | None = None
    diff: ExposureDiff | None = None
    quarantine_csv: bytes = field(default=b"", repr=False)
    plan: UploadPlan | None = None
    accepted_rows: list[int] = field(default_factory=list)  # the file's row numbers, all valid

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "client_id": self.client_id,
            "kind": self.kind,
            "loaded": self.loaded,
            "version": self.version,
            "reason": self.reason,
            "rows_total": r.rows_total,
            "rows_accepted": r.rows_accepted,
            "rows_rejected": r.rows_rejected,
            "rows_loaded": self.rows_loaded,
            "file_errors": list(r.file_errors),
            "warnings": list(r.warnings),
            "problems": [p.model_dump() for p in r.problems],
            "before": None if self.before is None else self.before.model_dump(),
            "after": None if self.after is None else self.after.model_dump(),
            "diff": None if self.diff is None else self.diff.as_dict(),
            "plan": None if self.plan is None else self.plan.as_dict(),
            "accepted": list(self.accepted_rows),
        }


def prepare(
    ctx: Context,
    client_id: str,
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None = None,
    *,
    values: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    mode: str = "replace",
) -> PreparedUpload:
    """Read, map and validate an uploaded file in the sandboxed checker. Nothing is stored.

    The checker is the store's checker service (``exposures.upload.checker``: pre-started,
    shared by the app and every CLI command), or with ``RESILIENCE_CHECKER=local`` a sandbox
    child of this process's own; both give the same result.
    """
    from engine.store import Scope

    if kind not in KINDS:
        raise ExposureError(f"unknown upload kind {kind!r}; use assets or routes")
    if mode not in MODES:
        raise ExposureError(f"unknown upload mode {mode!r}; use {', '.join(MODES)}")
    ctx.client(client_id, Scope.of(client_id))
    options: dict[str, Any] = {
        "values": values,
        "sheet": sheet,
        "ids_only": mode == "delete",
        "bounds": upload_bounds(),
    }
    if checker.mode() == "service":
        try:
            folder = checker.service_dir(ctx.store.url or ctx.db_path)
            return checker.prepare_upload(folder, data, filename, kind, mapping, **options)
        except checker.Unavailable as exc:
            log.warning("%s; checking the file in a sandbox child of this process", exc)
    from exposures.upload.sandbox import prepare_upload

    return prepare_upload(data, filename, kind, mapping, **options)


def upload_bounds() -> dict[str, tuple[float | None, float | None]]:
    """Per canonical column, the (min, max) the current rules allow in an upload."""
    from exposures.upload_bounds import load_upload_bounds

    return load_upload_bounds().as_dict()


def current_frames(ctx: Context, client_id: str, version: int | None) -> dict[str, pl.DataFrame]:
    """A version's assets and routes as canonical frames (what a new version starts from).

    Assets carry where they were placed (``country_iso3``, ``subdivision``, ``geo_precision``),
    so that rows kept in a new version are not located again.
    """
    if version is None:
        return {}
    p = {"c": client_id, "v": version}
    assets = ctx.store.frame(
        "SELECT asset_id, name, asset_type, lat, lon, city, country, value_usd, criticality, "
        "headcount, service_id, array_to_string(mitigations, ';') AS mitigations, "
        "country_iso3, subdivision, geo_precision "
        "FROM assets WHERE client_id = $c AND version = $v ORDER BY asset_id",
        p,
    )
    routes = ctx.store.frame(
        "SELECT route_id, name, origin, destination, commodity, annual_value_usd, "
        "shipments_per_year, service_id, criticality "
        "FROM routes WHERE client_id = $c AND version = $v ORDER BY route_id",
        p,
    )
    return {"assets": assets, "routes": routes}


def id_key(item_id: str) -> str:
    """How two ids are compared: Unicode NFKC, trimmed, case ignored (full-width ``ＬＯＮ-01``
    and ``lon-01 `` are the same id)."""
    return unicodedata.normalize("NFKC", item_id).strip().casefold()


class _Preview(Exception):
    """Raised inside the preview transaction so that everything it wrote is rolled back."""


@dataclass
class UploadPlan:
    """What loading a checked file would do, worked out before anything is stored."""

    client_id: str
    kind: Kind
    mode: Mode
    old_version: int | None
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    not_found: list[str]  # delete mode: ids of the file the current list does not have
    n_items: int  # items of the kind in the new list
    before: dict[str, Any] | None = None  # band, score, score_low, score_high before
    after: dict[str, Any] | None = None  # the same, after
    staged: StagedVersion | None = field(default=None, repr=False)

    @property
    def changes(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed"

    def rating_line(self) -> str:
        if self.after is None:
            return "rating not computed"
        after = f"{self.after['band']} {self.after['score']:.1f}"
        if self.before is None:
            return f"rating {after} (the client's first exposures)"
        before = f"{self.before['band']} {self.before['score']:.1f}"
        delta = self.after["score"] - self.before["score"]
        return f"rating {before} -> {after} ({delta:+.1f})"

    @classmethod
    def from_dict(cls, client_id: str, kind: Kind, data: dict[str, Any]) -> UploadPlan:
        """The plan ``as_dict`` describes (without the staged version it was worked out on)."""
        return cls(
            client_id,
            kind,
            data["mode"],
            data["old_version"],
            list(data["added_ids"]),
            list(data["updated_ids"]),
            list(data["removed_ids"]),
            int(data["unchanged"]),
            list(data["not_found_ids"]),
            int(data["items_after"]),
            data["rating_before"],
            data["rating_after"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "old_version": self.old_version,
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "added_ids": list(self.added),
            "updated_ids": list(self.updated),
            "removed_ids": list(self.removed),
            "not_found_ids": list(self.not_found),
            "items_after": self.n_items,
            "summary": self.summary(),
            "rating_before": self.before,
            "rating_after": self.after,
        }


def _refusal(report: ValidationReport, valid_only: bool) -> str:
    if report.file_errors:
        return "the file could not be used: " + "; ".join(report.file_errors)
    if report.rows_accepted == 0:
        return "no row of the file is valid"
    if report.rows_rejected and not valid_only:
        return (
            f"{report.rows_rejected} of {report.rows_total} rows have problems; nothing was "
            "loaded. Fix them and upload again, or choose to load only the valid rows"
        )
    return ""


def _merged(
    kind: Kind, mode: Mode, old: pl.DataFrame | None, new: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """The new list of ``kind`` under ``mode``, and (delete) the ids the old list lacks.

    Ids match after ``id_key``; a matched row keeps the stored id's spelling.
    """
    import polars as pl

    from exposures.upload.schema import ROW_COLUMN

    key = "asset_id" if kind == "assets" else "route_id"
    fields = [c for c in (old.columns if old is not None else new.columns) if c != ROW_COLUMN]
    upload = new.drop(ROW_COLUMN, strict=False)
    if old is None or old.height == 0:
        if mode == "delete":
            return upload.head(0).select([c for c in fields if c in upload.columns]), sorted(
                upload[key].to_list()
            )
        return upload, []
    stored = {id_key(i): i for i in old[key].to_list()}
    upload_keys = [id_key(i) for i in upload[key].to_list()]
    if mode == "delete":
        gone = set(upload_keys)
        missing = sorted(
            i for i, k in zip(upload[key].to_list(), upload_keys, strict=True) if k not in stored
        )
        keep = old.filter(~pl.col(key).map_elements(id_key, return_dtype=pl.String).is_in(gone))
        return keep, missing
    upload = upload.with_columns(
        pl.Series(
            key,
            [stored.get(k, i) for k, i in zip(upload_keys, upload[key].to_list(), strict=True)],
            dtype=pl.String,
        )
    )
    if mode == "replace":
        return upload, []
    kept = old.filter(
        ~pl.col(key).map_elements(id_key, return_dtype=pl.String).is_in(set(upload_keys))
    )
    common = [c for c in upload.columns if c in kept.columns]
    return pl.concat([kept.select(common), upload.select(common)], how="vertical_relaxed"), []


def _compare(
    kind: Kind, old: pl.DataFrame | None, new: pl.DataFrame
) -> tuple[list[str], list[str], list[str], int]:
    key = "asset_id" if kind == "assets" else "route_id"
    fields = _fields(kind)
    if old is None or old.height == 0:
        return sorted(new[key].to_list()), [], [], 0
    old_rows = {r[key]: r for r in old.iter_rows(named=True)}
    new_rows = {r[key]: r for r in new.iter_rows(named=True)}
    added = sorted(new_rows.keys() - old_rows.keys())
    removed = sorted(old_rows.keys() - new_rows.keys())
    updated, same = [], 0
    for item_id in sorted(old_rows.keys() & new_rows.keys()):
        if any(_differs(old_rows[item_id].get(f), new_rows[item_id].get(f)) for f in fields):
            updated.append(item_id)
        else:
            same += 1
    return added, updated, removed, same


def _differs(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) != float(b)
    if a in ("", None) and b in ("", None):
        return False
    return a != b


def plan(
    ctx: Context,
    client_id: str,
    prepared: PreparedUpload,
    kind: Kind,
    *,
    mode: Mode = "replace",
    valid_only: bool = False,
    rate: bool = True,
) -> UploadPlan:
    """What loading ``prepared`` with ``mode`` would do: counts, ids and the rating change.

    Nothing is stored: the new version is written and scored inside a transaction that is then
    rolled back. Raises ``ExposureError`` when the file cannot be loaded at all.
    """
    if mode not in MODES:
        raise ExposureError(f"unknown upload mode {mode!r}; use {', '.join(MODES)}")
    reason = _refusal(prepared.report, valid_only)
    if reason:
        raise ExposureError(reason)
    old_version = ctx.exposure_version(client_id)
    frames = current_frames(ctx, client_id, old_version)
    old = frames.get(kind)
    merged, not_found = _merged(kind, mode, old, prepared.frame)
    added, updated, removed, same = _compare(kind, old, merged)
    result = UploadPlan(
        client_id,
        kind,
        mode,
        old_version,
        added,
        updated,
        removed,
        same,
        not_found,
        merged.height,
    )
    if not result.changes:
        return result
    frames[kind] = merged
    if not any(f is not None and f.height for f in frames.values()):
        return result  # the new version would hold nothing: commit refuses it
    assets, regions = _placed(ctx, frames.get("assets"))
    result.staged = ctx.stage_exposures(client_id, assets, frames.get("routes"))
    if regions is not None:
        result.staged.regions.append(regions)
    if kind == "routes" and mode != "delete":
        _add_route_notes(ctx, prepared)
    if rate:
        run = ctx.current_run()
        if old_version is not None:
            result.before = _score_dict(ctx.rescore_client(run.run_id, client_id))
        try:
            with ctx.store.transaction() as cur:
                ctx.write_staged(cur, result.staged)
                result.after = _score_dict(
                    ctx.rescore_client(run.run_id, client_id, version=result.staged.version)
                )
                raise _Preview
        except _Preview:
            pass
    return result


def _placed(
    ctx: Context, assets: pl.DataFrame | None
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """Located asset rows with their geo profile's key, placed by the store's checker service
    (which keeps the region index loaded, so this process never loads it), and the region rows
    of those profiles; the rows unchanged and None when the service cannot be used (they are
    placed in this process while staging, with the same result)."""
    from exposures.prepare import GEO_COLUMNS, PLACED

    if (
        assets is None
        or assets.height == 0
        or checker.mode() != "service"
        or not all(c in assets.columns for c in GEO_COLUMNS)
        or assets["geo_precision"].null_count()
    ):
        return assets, None
    try:
        keys, regions = checker.place_assets(checker.service_dir(ctx.db_path), assets)
    except checker.Unavailable as exc:
        log.warning("%s; placing the rows in this process", exc)
        return assets, None
    return assets.with_columns(keys.alias(PLACED)), regions


def _add_route_notes(ctx: Context, prepared: PreparedUpload) -> None:
    """Each note of a file's route (an end port far from the sea lanes, such as an offshore
    terminal) as a warning of its row and column in the report (routes were just computed and
    cached by the staging, so this looks them up)."""
    from exposures.ports import resolve_port
    from exposures.upload.report import Problem, value_repr
    from exposures.upload.schema import ROW_COLUMN

    report = prepared.report
    headers = {canonical: header for header, canonical in report.columns.items()}
    frame = prepared.frame
    if ROW_COLUMN not in frame.columns:
        return
    for rec in frame.iter_rows(named=True):
        try:
            info = ctx.route(resolve_port(rec["origin"]), resolve_port(rec["destination"]))
        except ExposureError:
            continue  # not routable: the plan itself says so
        for column, note in info.notes():
            problem = Problem(
                row=int(rec[ROW_COLUMN]),
                column=column,
                header=headers.get(column),
                value=value_repr(rec[column]),
                message=f"(route {rec['route_id']}): {note}",
                accepted="a port on the coast, or the UN/LOCODE of the nearest coastal port",
                severity="warning",
            )
            if problem not in report.problems:
                report.problems.append(problem)
    report.problems.sort(key=lambda p: p.row)


def check_and_plan(
    ctx: Context,
    client_id: str,
    data: bytes,
    filename: str,
    kind: Kind,
    columns: dict[str, str | None],
    values: dict[str, dict[str, str]],
    *,
    template: str | None = None,
    save_template: str | None = None,
    sheet: str | None = None,
    mode: Mode = "replace",
    valid_only: bool = False,
    scope: Any,
) -> tuple[PreparedUpload, UploadOutcome]:
    """What ``resilience upload`` does before it loads anything: the client's saved mapping
    ``template`` under the given ``columns`` and ``values``, the check, ``save_template`` (when
    the file could be read), and the plan with the rating change (``outcome.plan``; when the
    file cannot be loaded at all, ``outcome.reason`` says why). Stores nothing but the template.
    """
    from engine import clients as onboarding

    if template:
        saved = onboarding.load_template(ctx, client_id, template, kind)
        columns = {**saved.columns, **columns}
        values = dict(values)
        for col, m in saved.values.items():
            values[col] = {**m, **values.get(col, {})}
    prepared = ctx.prepare_upload(
        client_id,
        data,
        filename,
        kind,
        columns or None,
        values=values or None,
        sheet=sheet,
        mode=mode,
        scope=scope,
    )
    if save_template and prepared.report.ok:
        onboarding.save_template(ctx, client_id, save_template, kind, columns, values)
    outcome = UploadOutcome(
        client_id=client_id,
        kind=kind,
        report=prepared.report,
        loaded=False,
        accepted_rows=accepted_rows(prepared),
    )
    try:
        outcome.plan = ctx.plan_upload(
            client_id, prepared, kind, mode=mode, valid_only=valid_only, scope=scope
        )
    except ResilienceError as exc:
        outcome.reason = str(exc)
    return prepared, outcome


def dry_run_reason(plan: UploadPlan) -> str:
    """Why a dry run loaded nothing."""
    if plan.changes:
        return "dry run: nothing was loaded"
    return (
        f"the file changes nothing: its rows match the current version {plan.old_version}; "
        "nothing would be loaded"
    )


def accepted_rows(prepared: PreparedUpload) -> list[int]:
    """The row numbers (in the user's file) of every valid row."""
    from exposures.upload.schema import ROW_COLUMN

    if ROW_COLUMN not in prepared.frame.columns:
        return []
    return [int(n) for n in prepared.frame[ROW_COLUMN].to_list()]


def _score_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k] for k in ("band", "score", "band_low", "score_low", "band_high", "score_high")
    }


def commit(
    ctx: Context,
    client_id: str,
    prepared: PreparedUpload,
    kind: Kind,
    *,
    mode: Mode = "replace",
    valid_only: bool = False,
    note: str = "",
    source: str = "",
    planned: UploadPlan | None = None,
    by: str = "",
) -> UploadOutcome:
    """Load a checked upload as a new version, or nothing.

    ``mode``: ``replace`` (the file is the new list of its kind), ``upsert`` (the file's rows are
    added or replace the stored rows with the same id; the others stay) or ``delete`` (the rows
    with the file's ids are removed). The other kind's stored rows are kept exactly as stored.
    Without ``valid_only`` a file with any rejected row loads nothing; a file that changes
    nothing loads nothing and says so. ``planned`` reuses a plan made for a preview.
    """
    report = prepared.report
    outcome = UploadOutcome(
        client_id=client_id,
        kind=kind,
        report=report,
        loaded=False,
        quarantine_csv=prepared.quarantine_csv,
        accepted_rows=accepted_rows(prepared),
    )
    reason = _refusal(report, valid_only)
    if reason:
        outcome.reason = reason
        return outcome
    if planned is not None and planned.old_version != ctx.exposure_version(client_id):
        planned = None  # another upload came first: work it out again
    p = planned or plan(
        ctx, client_id, prepared, kind, mode=mode, valid_only=valid_only, rate=False
    )
    outcome.plan = p
    if not p.changes:
        outcome.reason = (
            f"the file changes nothing: its rows match the current version {p.old_version}"
            if mode != "delete"
            else "none of the file's ids is in the current list"
        )
        return outcome
    if p.staged is None:
        outcome.reason = (
            f"the client would be left with no {kind} and no other exposures; nothing was "
            "changed (remove the client instead, or upload a new list)"
        )
        return outcome
    old_version = p.old_version
    before = _rating_now(ctx, client_id) if old_version is not None else None
    staged = p.staged

    def write() -> None:
        with ctx.store.transaction() as cur:
            ctx.write_staged(
                cur,
                staged,
                note=note or f"{mode} of {kind}: {p.summary()}",
                source=source or report.filename,
                by=by,
            )

    # another upload sharing its place rows may commit first: the version is written again
    ctx.store.retrying(write)
    version = staged.version
    outcome.loaded = True
    outcome.version = version
    outcome.rows_loaded = prepared.frame.height
    outcome.before = before
    outcome.after = _rating_now(ctx, client_id)
    if old_version is not None:
        outcome.diff = diff(ctx, client_id, old_version, version)
    return outcome


def _rating_now(ctx: Context, client_id: str) -> Rating | None:
    from engine.store import Scope

    try:
        run = ctx.current_run()
        return ctx.rating(run.run_id, client_id, Scope.of(client_id))
    except NotFoundError:
        return None


def versions(ctx: Context, client_id: str) -> list[VersionInfo]:
    from engine.store import Scope

    ctx.client(client_id, Scope.of(client_id))
    current = ctx.exposure_version(client_id)
    rows = ctx.store.rows(
        "SELECT version, created_at, note, source, n_assets, n_routes FROM exposure_versions "
        "WHERE client_id = $c ORDER BY version",
        {"c": client_id},
    )
    return [
        VersionInfo(
            version=r[0],
            created_at=r[1],
            note=r[2],
            source=r[3],
            n_assets=r[4],
            n_routes=r[5],
            current=r[0] == current,
        )
        for r in rows
    ]


def require_version(ctx: Context, client_id: str, version: int) -> None:
    found = ctx.store.one(
        "SELECT count(*) FROM exposure_versions WHERE client_id = $c AND version = $v",
        {"c": client_id, "v": version},
    )
    if not found:
        known = ", ".join(str(v.version) for v in versions(ctx, client_id)) or "none"
        raise NotFoundError(
            f"client {client_id} has no exposure version {version} (versions: {known})"
        )


def diff(ctx: Context, client_id: str, old: int, new: int) -> ExposureDiff:
    """Items added, removed and changed from one version to another, and how the rating moved."""
    for v in (old, new):
        require_version(ctx, client_id, v)
    a, b = current_frames(ctx, client_id, old), current_frames(ctx, client_id, new)
    changes: list[ItemChange] = []
    for kind, key, fields in (
        ("asset", "asset_id", _fields("assets")),
        ("route", "route_id", _fields("routes")),
    ):
        fa, fb = a[kind + "s"], b[kind + "s"]
        old_rows = {r[key]: r for r in fa.iter_rows(named=True)}
        new_rows = {r[key]: r for r in fb.iter_rows(named=True)}
        for item_id in sorted(new_rows.keys() - old_rows.keys()):
            changes.append(ItemChange(kind, item_id, "added"))
        for item_id in sorted(old_rows.keys() - new_rows.keys()):
            changes.append(ItemChange(kind, item_id, "removed"))
        for item_id in sorted(old_rows.keys() & new_rows.keys()):
            differ = tuple(f for f in fields if old_rows[item_id][f] != new_rows[item_id][f])
            if differ:
                changes.append(ItemChange(kind, item_id, "changed", differ))
    run = ctx.current_run()
    old_score = ctx.rescore_client(run.run_id, client_id, version=old)
    new_score = ctx.rescore_client(run.run_id, client_id, version=new)
    return ExposureDiff(
        client_id,
        old,
        new,
        tuple(changes),
        old_score["score"],
        new_score["score"],
        old_score["band"],
        new_score["band"],
    )
