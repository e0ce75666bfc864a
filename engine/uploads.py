"""Client uploads into the store: versions, diffs and roll-back.

The untrusted file is read and validated in a child process (exposures.upload.sandbox); what
comes back is a report and the valid rows as a canonical frame. Loading makes a new exposure
version current in one transaction (Context.load_exposures): an upload of assets keeps the
client's current routes and the other way round. Earlier versions are kept; rolling back moves
the pointer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from engine.errors import ExposureError, NotFoundError
from engine.models import Rating
from exposures.prepare import ASSET_COLUMNS, ROUTE_COLUMNS

if TYPE_CHECKING:
    from engine.context import Context
    from exposures.upload.pipeline import PreparedUpload
    from exposures.upload.report import ValidationReport

Kind = Literal["assets", "routes"]
KINDS: tuple[Kind, ...] = ("assets", "routes")

# what distinguishes two versions of an item (besides its id)
_ASSET_FIELDS = ASSET_COLUMNS[1:]
_ROUTE_FIELDS = ROUTE_COLUMNS[1:]


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
        }


def prepare(
    ctx: Context,
    client_id: str,
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None = None,
) -> PreparedUpload:
    """Read, map and validate an uploaded file in a sandboxed child process. Nothing is stored."""
    from exposures.upload import prepare_upload

    if kind not in KINDS:
        raise ExposureError(f"unknown upload kind {kind!r}; use assets or routes")
    ctx.client(client_id)
    return prepare_upload(data, filename, kind, mapping)


def current_frames(ctx: Context, client_id: str, version: int | None) -> dict[str, pl.DataFrame]:
    """A version's assets and routes as canonical frames (what a new version starts from)."""
    if version is None:
        return {}
    p = {"c": client_id, "v": version}
    assets = ctx.store.frame(
        "SELECT asset_id, name, asset_type, lat, lon, city, country, value_usd, criticality, "
        "headcount, service_id, array_to_string(mitigations, ';') AS mitigations "
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


def commit(
    ctx: Context,
    client_id: str,
    prepared: PreparedUpload,
    kind: Kind,
    *,
    valid_only: bool = False,
    note: str = "",
    source: str = "",
) -> UploadOutcome:
    """Load a checked upload as a new version, or nothing.

    Without ``valid_only`` a file with any rejected row loads nothing; with it, the valid rows
    replace the client's list of that kind. A file that could not be read loads nothing.
    """
    report = prepared.report
    outcome = UploadOutcome(
        client_id=client_id,
        kind=kind,
        report=report,
        loaded=False,
        quarantine_csv=prepared.quarantine_csv,
    )
    if report.file_errors:
        outcome.reason = "the file could not be used: " + "; ".join(report.file_errors)
        return outcome
    if report.rows_accepted == 0:
        outcome.reason = "no row of the file is valid"
        return outcome
    if report.rows_rejected and not valid_only:
        outcome.reason = (
            f"{report.rows_rejected} of {report.rows_total} rows have problems; nothing was "
            "loaded. Fix them and upload again, or choose to load only the valid rows"
        )
        return outcome
    old_version = ctx.exposure_version(client_id)
    before = _rating_now(ctx, client_id) if old_version is not None else None
    frames = current_frames(ctx, client_id, old_version)
    frames[kind] = prepared.frame
    version = ctx.load_exposures(
        client_id,
        frames.get("assets"),
        frames.get("routes"),
        note=note or f"upload of {kind} ({report.rows_accepted} rows)",
        source=source or report.filename,
    )
    outcome.loaded = True
    outcome.version = version
    outcome.rows_loaded = prepared.frame.height
    outcome.before = before
    outcome.after = _rating_now(ctx, client_id)
    if old_version is not None:
        outcome.diff = diff(ctx, client_id, old_version, version)
    return outcome


def _rating_now(ctx: Context, client_id: str) -> Rating | None:
    try:
        run = ctx.current_run()
        return ctx.rating(run.run_id, client_id)
    except NotFoundError:
        return None


def versions(ctx: Context, client_id: str) -> list[VersionInfo]:
    ctx.client(client_id)
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


def _require_version(ctx: Context, client_id: str, version: int) -> None:
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
        _require_version(ctx, client_id, v)
    a, b = current_frames(ctx, client_id, old), current_frames(ctx, client_id, new)
    changes: list[ItemChange] = []
    for kind, key, fields in (
        ("asset", "asset_id", _ASSET_FIELDS),
        ("route", "route_id", _ROUTE_FIELDS),
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


def rollback(ctx: Context, client_id: str, version: int) -> int:
    """Make an earlier version current again (versions are never changed or deleted)."""
    _require_version(ctx, client_id, version)
    with ctx.store.transaction() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO exposure_current VALUES ($c, $v)",
            {"c": client_id, "v": version},
        )
    return version
