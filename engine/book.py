"""Load a book of clients from files: a clients YAML and assets and routes tables (Parquet or CSV).

The demo book (engine/demo/) is one such book; so is a synthetic book of millions of sites
(bench/book.py). Each client's assets and routes become a new exposure version.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import ValidationError

from engine.context import Context
from engine.errors import ExposureError, RuleError
from engine.models import ClientSpec
from engine.store import Scope
from engine.uploads import upload_bounds
from exposures.bulk import CHUNK_ROWS, ROW, BookChunk, book_chunks, book_file, port_pairs
from exposures.ports import Port, resolve_port
from exposures.prepare import assign_classes, prepare_assets, prepare_routes
from exposures.routes import RouteInfo
from scoring_rules.threats import format_validation_error

log = logging.getLogger(__name__)

LOADING = "loading (book load not finished) from "
"""The note of a version a book load has reserved but not yet made current."""

DEMO_DIR = Path(__file__).parent / "demo"


def read_clients(directory: Path) -> list[ClientSpec]:
    """The clients of a book (``clients.yaml``), checked against the client model."""
    path = directory / "clients.yaml"
    if not path.exists():
        raise ExposureError(f"{path} is missing: a book needs its clients list")
    doc = yaml.safe_load(path.read_text("utf-8"))
    specs = []
    for i, item in enumerate(doc or []):
        try:
            specs.append(ClientSpec.model_validate(item))
        except ValidationError as exc:
            raise ExposureError(format_validation_error(f"{path}[{i}]", exc)) from exc
    return specs


def load_book(ctx: Context, directory: Path, *, chunk_rows: int = CHUNK_ROWS) -> list[str]:
    """Create or update every client of the book and load its exposures as a new version.

    ``directory`` holds ``clients.yaml`` and ``assets.parquet`` / ``assets.csv`` and
    ``routes.parquet`` / ``routes.csv`` (each with a ``client_id`` column). The files are read
    in chunks of whole clients (``exposures.bulk``) and each chunk is written in a transaction of
    its own, so a book of millions of rows loads in bounded memory. The new versions' numbers
    are reserved first and made current (with the clients' new details) only in the last
    transaction: until then no page, run or export sees any of the book. A problem anywhere
    (reported with its file, row and column) removes what the load wrote, so the database is as
    it was; a load that was killed leaves reserved versions that the next load removes.
    """
    specs = read_clients(directory)
    assets_path = book_file(directory, "assets")
    routes_path = book_file(directory, "routes")
    staged = stage_book(ctx, specs)
    route_pairs(ctx, staged, routes_path)
    note, source = f"loaded from {directory.name}", str(directory)
    reserve_versions(ctx, staged, source)
    try:
        # the file stays open from chunk to chunk (no close, checkpoint and open between them)
        # unless another process asks for it
        with ctx.store.held() as hand_over:
            for chunk in book_chunks(
                assets_path,
                routes_path,
                set(staged.versions),
                bounds=upload_bounds(),
                rows=chunk_rows,
            ):
                with ctx.store.transaction() as cur:
                    write_book_chunk(ctx, cur, staged, chunk)
                hand_over()
            with ctx.store.transaction() as cur:
                write_book_clients(ctx, cur, staged)
                finish_book(ctx, cur, staged, note=note, source=source)
    except BaseException:
        discard_versions(ctx, dict(staged.versions))
        raise
    log.info("loaded the book in %s: %d clients", directory, len(specs))
    return [s.client_id for s in specs]


def demo_client_ids() -> list[str]:
    """The client ids of the demo book, in file order."""
    doc = yaml.safe_load((DEMO_DIR / "clients.yaml").read_text("utf-8")) or []
    return [str(c["client_id"]) for c in doc]


def load_demo(ctx: Context, *, reload: bool = False) -> list[str]:
    """Load the demo book; when it is already there, leave it as it is unless ``reload``."""
    ctx.init()
    if not reload:
        wanted = set(demo_client_ids())
        present = {
            c.client_id
            for c in ctx.clients(scope=Scope.everything())
            if ctx.exposure_version(c.client_id)
        }
        if wanted <= present:
            log.info("the demo book is already loaded")
            return sorted(wanted)
    ids = load_book(ctx, DEMO_DIR)
    from engine.history import ensure_baseline

    ensure_baseline(ctx)  # the ratings a rating history starts from
    return ids


@dataclass
class StagedBook:
    """What loading a book will write: its clients and the version each client gets."""

    specs: list[ClientSpec]
    versions: dict[str, int]
    assets: dict[str, int] = field(default_factory=dict)  # rows written per client
    routes: dict[str, int] = field(default_factory=dict)
    paths: dict[tuple[Port, Port], RouteInfo] = field(default_factory=dict)  # pairs routed


def stage_book(ctx: Context, specs: list[ClientSpec]) -> StagedBook:
    """Check the clients against the rules and work out each one's new version number."""
    rules = ctx.rules()
    seen: set[str] = set()
    for spec in specs:
        if spec.client_id in seen:
            raise ExposureError(f"client {spec.client_id} is listed twice in the book")
        seen.add(spec.client_id)
        if spec.sector not in rules.sectors:
            raise RuleError(
                f"client {spec.client_id}: sector {spec.sector!r} is not known "
                f"(allowed: {', '.join(rules.sectors)})"
            )
        for a in spec.affiliations:
            if a not in rules.affiliations:
                raise RuleError(
                    f"client {spec.client_id}: affiliation {a!r} is not known "
                    f"(allowed: {', '.join(rules.affiliations)})"
                )
    leftovers = ctx.store.rows(
        "SELECT client_id, version FROM exposure_versions v WHERE starts_with(note, $mark) "
        "AND NOT EXISTS (SELECT 1 FROM exposure_current c "
        "WHERE c.client_id = v.client_id AND c.version = v.version)",
        {"mark": LOADING},
    )
    if leftovers:
        log.warning("removing %d versions an interrupted book load reserved", len(leftovers))
        discard_versions(ctx, dict(leftovers))
    latest = dict(
        ctx.store.rows("SELECT client_id, max(version) FROM exposure_versions GROUP BY client_id")
    )
    versions = {s.client_id: int(latest.get(s.client_id) or 0) + 1 for s in specs}
    return StagedBook(specs, versions)


def route_pairs(ctx: Context, staged: StagedBook, routes: Path | None) -> None:
    """Route every port pair of the book (from the cache, else computed and cached) before the
    load's transaction opens; ports that do not resolve are reported, with their rows, by the
    chunk checks."""
    for origin, destination in port_pairs(routes):
        try:
            o, d = resolve_port(origin), resolve_port(destination)
        except ExposureError:
            continue
        if (o, d) not in staged.paths:
            staged.paths[(o, d)] = ctx.route(o, d)


def write_book_clients(ctx: Context, cur: Any, staged: StagedBook) -> None:
    """Create or replace the book's clients and their services (inside the caller's transaction)."""
    ids = [s.client_id for s in staged.specs]
    made = dict(
        cur.execute(
            "SELECT client_id, created_at FROM clients WHERE client_id IN (SELECT unnest($ids))",
            {"ids": ids},
        ).fetchall()
    )
    cur.execute("DELETE FROM services WHERE client_id IN (SELECT unnest($ids))", {"ids": ids})
    cur.execute("DELETE FROM clients WHERE client_id IN (SELECT unnest($ids))", {"ids": ids})
    now = dt.datetime.now()
    clients = pl.DataFrame(
        {
            "client_id": ids,
            "name": [s.name for s in staged.specs],
            "sector": [s.sector for s in staged.specs],
            "hq_country": [s.hq_country for s in staged.specs],
            "affiliations": [list(s.affiliations) for s in staged.specs],
            "description": [s.description for s in staged.specs],
            "created_at": [made.get(s.client_id, now) for s in staged.specs],
            "business_value_usd": [s.business_value_usd for s in staged.specs],
        },
        schema_overrides={
            "affiliations": pl.List(pl.String),
            "created_at": pl.Datetime("us"),
            "business_value_usd": pl.Float64,
        },
    )
    ctx.store.insert_frame(cur, "clients", clients)
    services = [
        (s.client_id, v.service_id, v.name, v.tolerance_days)
        for s in staged.specs
        for v in s.services
    ]
    if services:
        ctx.store.insert_frame(
            cur,
            "services",
            pl.DataFrame(
                services,
                schema={
                    "client_id": pl.String,
                    "service_id": pl.String,
                    "name": pl.String,
                    "tolerance_days": pl.Float64,
                },
                orient="row",
            ),
        )


def write_book_chunk(ctx: Context, cur: Any, staged: StagedBook, chunk: BookChunk) -> None:
    """Place, class and write one chunk of whole clients (their reserved versions' rows)."""
    versions = pl.DataFrame(
        {"client_id": list(staged.versions), "version": list(staged.versions.values())},
        schema={"client_id": pl.String, "version": pl.Int32},
    )

    def lookup(origin: Port, destination: Port) -> RouteInfo:
        return staged.paths[(origin, destination)]  # every pair was routed by route_pairs

    asset_rows = route_rows = None
    regions = []
    if chunk.assets.height:
        assets = chunk.assets.drop(ROW).join(versions, on="client_id", maintain_order="left")
        asset_rows, geo = prepare_assets(None, None, assets)
        regions.append(geo)
    if chunk.routes.height:
        routes = chunk.routes.drop(ROW).join(versions, on="client_id", maintain_order="left")
        route_rows, geo = prepare_routes(None, None, routes, lookup)
        regions.append(geo)
    classes, asset_rows, route_rows = assign_classes(None, None, asset_rows, route_rows)
    for frame, counts in ((asset_rows, staged.assets), (route_rows, staged.routes)):
        if frame is not None:
            for client_id, n in frame.group_by("client_id").len().iter_rows():
                counts[client_id] = counts.get(client_id, 0) + int(n)
    for geo in regions:
        ctx.store.insert_frame(cur, "geo_regions", geo, skip_existing=True)
    ctx.store.insert_frame(cur, "exposure_classes", classes)
    if asset_rows is not None:
        ctx.store.insert_frame(cur, "assets", asset_rows)
    if route_rows is not None:
        ctx.store.insert_frame(cur, "routes", route_rows)


def reserve_versions(ctx: Context, staged: StagedBook, source: str) -> None:
    """Take the new versions' numbers, so that no upload meanwhile can: rows marked as loading,
    which nothing shows as current."""
    rows = pl.DataFrame(
        {
            "client_id": list(staged.versions),
            "version": list(staged.versions.values()),
            "created_at": [dt.datetime.now()] * len(staged.versions),
            "note": [LOADING + source] * len(staged.versions),
            "source": [source] * len(staged.versions),
            "n_assets": [0] * len(staged.versions),
            "n_routes": [0] * len(staged.versions),
        },
        schema_overrides={
            "version": pl.Int32,
            "created_at": pl.Datetime("us"),
            "n_assets": pl.Int32,
            "n_routes": pl.Int32,
        },
    )
    with ctx.store.transaction() as cur:
        ctx.store.insert_frame(cur, "exposure_versions", rows)


def discard_versions(ctx: Context, versions: dict[str, int]) -> None:
    """Remove every row of these (client, version) pairs that a book load reserved or wrote."""
    if not versions:
        return
    params = {"c": list(versions), "v": list(versions.values()), "mark": LOADING}
    pairs = "(SELECT unnest($c) AS c, unnest($v) AS v)"
    with ctx.store.transaction() as cur:
        for table in ("assets", "routes", "exposure_classes"):
            cur.execute(
                f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {pairs} k "  # noqa: S608
                "WHERE k.c = t.client_id AND k.v = t.version)",
                {"c": params["c"], "v": params["v"]},
            )
        cur.execute(
            f"DELETE FROM exposure_versions t WHERE starts_with(t.note, $mark) AND EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {pairs} k WHERE k.c = t.client_id AND k.v = t.version)",
            params,
        )


def finish_book(ctx: Context, cur: Any, staged: StagedBook, *, note: str, source: str) -> None:
    """Make every client's new version current, with its counts (inside the caller's
    transaction); clients without rows in either file get an empty version, as before."""
    ids = list(staged.versions)
    rows = pl.DataFrame(
        {
            "client_id": ids,
            "version": [staged.versions[c] for c in ids],
            "created_at": [dt.datetime.now()] * len(ids),
            "note": [note] * len(ids),
            "source": [source] * len(ids),
            "n_assets": [staged.assets.get(c, 0) for c in ids],
            "n_routes": [staged.routes.get(c, 0) for c in ids],
        },
        schema_overrides={
            "version": pl.Int32,
            "created_at": pl.Datetime("us"),
            "n_assets": pl.Int32,
            "n_routes": pl.Int32,
        },
    )
    cur.execute(
        "DELETE FROM exposure_versions t WHERE starts_with(t.note, $mark) AND EXISTS "
        "(SELECT 1 FROM (SELECT unnest($c) AS c, unnest($v) AS v) k "
        "WHERE k.c = t.client_id AND k.v = t.version)",
        {"c": ids, "v": rows["version"].to_list(), "mark": LOADING},
    )
    ctx.store.insert_frame(cur, "exposure_versions", rows)
    cur.execute(
        "DELETE FROM exposure_current WHERE client_id IN (SELECT unnest($ids))", {"ids": ids}
    )
    ctx.store.insert_frame(cur, "exposure_current", rows.select("client_id", "version"))
    from engine import publication

    for c in ids:  # who loaded which client's list, as an upload records it
        publication.record_exposures(
            cur,
            c,
            staged.versions[c],
            note=note,
            detail={
                "source": source,
                "assets": staged.assets.get(c, 0),
                "routes": staged.routes.get(c, 0),
            },
        )
