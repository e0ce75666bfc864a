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
from engine.uploads import upload_bounds
from exposures.bulk import CHUNK_ROWS, ROW, BookChunk, book_chunks, book_file, port_pairs
from exposures.ports import Port, resolve_port
from exposures.prepare import assign_classes, prepare_assets, prepare_routes
from exposures.routes import RouteInfo
from scoring_rules.threats import format_validation_error

log = logging.getLogger(__name__)

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
    in chunks of whole clients (``exposures.bulk``), so a book of millions of rows loads in
    bounded memory; everything is written in one transaction, so a problem anywhere (reported
    with its file, row and column) leaves the database as it was.
    """
    specs = read_clients(directory)
    assets_path = book_file(directory, "assets")
    routes_path = book_file(directory, "routes")
    staged = stage_book(ctx, specs)
    route_pairs(ctx, staged, routes_path)
    note, source = f"loaded from {directory.name}", str(directory)
    with ctx.store.transaction() as cur:
        write_book_clients(ctx, cur, staged)
        for chunk in book_chunks(
            assets_path,
            routes_path,
            set(staged.versions),
            bounds=upload_bounds(),
            rows=chunk_rows,
        ):
            write_book_chunk(ctx, cur, staged, chunk, note=note, source=source)
        finish_book(ctx, cur, staged, note=note, source=source)
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
        present = {c.client_id for c in ctx.clients() if ctx.exposure_version(c.client_id)}
        if wanted <= present:
            log.info("the demo book is already loaded")
            return sorted(wanted)
    return load_book(ctx, DEMO_DIR)


@dataclass
class StagedBook:
    """What loading a book will write: its clients and the version each client gets."""

    specs: list[ClientSpec]
    versions: dict[str, int]
    loaded: set[str] = field(default_factory=set)  # clients whose version is written
    routes: dict[tuple[Port, Port], RouteInfo] = field(default_factory=dict)  # pairs routed


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
        if (o, d) not in staged.routes:
            staged.routes[(o, d)] = ctx.route(o, d)


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


def write_book_chunk(
    ctx: Context, cur: Any, staged: StagedBook, chunk: BookChunk, *, note: str, source: str
) -> None:
    """Place, class and write one chunk of whole clients as their new versions."""
    versions = pl.DataFrame(
        {"client_id": list(staged.versions), "version": list(staged.versions.values())},
        schema={"client_id": pl.String, "version": pl.Int32},
    )

    def lookup(origin: Port, destination: Port) -> RouteInfo:
        return staged.routes[(origin, destination)]  # every pair was routed by route_pairs

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
    _write_versions(ctx, cur, staged, list(chunk.client_ids), asset_rows, route_rows, note, source)
    for geo in regions:
        ctx.store.insert_frame(cur, "geo_regions", geo, skip_existing=True)
    ctx.store.insert_frame(cur, "exposure_classes", classes)
    if asset_rows is not None:
        ctx.store.insert_frame(cur, "assets", asset_rows)
    if route_rows is not None:
        ctx.store.insert_frame(cur, "routes", route_rows)


def finish_book(ctx: Context, cur: Any, staged: StagedBook, *, note: str, source: str) -> None:
    """Give the book's clients that have no rows in either file an empty new version."""
    rest = [s.client_id for s in staged.specs if s.client_id not in staged.loaded]
    if rest:
        _write_versions(ctx, cur, staged, rest, None, None, note, source)


def _write_versions(
    ctx: Context,
    cur: Any,
    staged: StagedBook,
    ids: list[str],
    assets: pl.DataFrame | None,
    routes: pl.DataFrame | None,
    note: str,
    source: str,
) -> None:
    def counts(frame: pl.DataFrame | None, name: str) -> pl.DataFrame:
        if frame is None:
            return pl.DataFrame(schema={"client_id": pl.String, name: pl.Int32})
        return frame.group_by("client_id").agg(pl.len().cast(pl.Int32).alias(name))

    rows = (
        pl.DataFrame({"client_id": ids}, schema={"client_id": pl.String})
        .join(counts(assets, "n_assets"), on="client_id", how="left")
        .join(counts(routes, "n_routes"), on="client_id", how="left")
        .with_columns(
            pl.col("client_id")
            .replace_strict(staged.versions, return_dtype=pl.Int32)
            .alias("version"),
            pl.lit(dt.datetime.now(), pl.Datetime("us")).alias("created_at"),
            pl.lit(note).alias("note"),
            pl.lit(source).alias("source"),
            pl.col("n_assets").fill_null(0),
            pl.col("n_routes").fill_null(0),
        )
    )
    ctx.store.insert_frame(cur, "exposure_versions", rows)
    cur.execute(
        "DELETE FROM exposure_current WHERE client_id IN (SELECT unnest($ids))", {"ids": ids}
    )
    ctx.store.insert_frame(cur, "exposure_current", rows.select("client_id", "version"))
    staged.loaded.update(ids)
