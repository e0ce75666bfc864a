"""The book: clients, their services and their exposure versions (the ``Context``'s client and
exposure methods call these).

A new exposure version is staged first (geocoded and routed: everything slow or fallible, before
any transaction opens), then written and made current in one transaction with its audit entry,
so the previous version stays current and complete until the commit. Uploads
(engine/uploads.py) and book loads (engine/book.py) write through ``write_staged`` too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import publication
from engine import queries_book as q
from engine.errors import NotFoundError, RuleError, StoreError
from engine.models import ClientSpec, Service
from engine.store import Scope

if TYPE_CHECKING:
    from engine.context import Context
    from exposures.ports import Port
    from exposures.routes import RouteInfo

# one sea route computed at a time in this process (searoute is heavy; the cache is shared)
_ROUTE_LOCK = threading.Lock()


@dataclass(frozen=True)
class StagedVersion:
    """The rows of an exposure version not yet written (``Context.stage_exposures``)."""

    client_id: str
    version: int
    assets: pl.DataFrame | None
    routes: pl.DataFrame | None
    classes: pl.DataFrame
    regions: list[pl.DataFrame]


# -- clients -------------------------------------------------------------------------------------


def upsert_client(
    ctx: Context, spec: ClientSpec, *, audit: tuple[str, str, dict[str, Any]] | None
) -> None:
    """Create or replace a client and its services, checked against the current rules; ``audit``
    = (actor, action, detail) writes an audit entry in the same transaction."""
    rules = ctx.rules()
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
    with ctx.store.transaction() as cur:
        c = {"c": spec.client_id}
        made = cur.execute(q.CLIENT_CREATED, c).fetchone()
        cur.execute(q.DELETE_CLIENT, c)
        cur.execute(q.DELETE_SERVICES, c)
        cur.execute(
            q.INSERT_CLIENT,
            c
            | {
                "name": spec.name,
                "sector": spec.sector,
                "hq": spec.hq_country,
                "aff": spec.affiliations,
                "desc": spec.description,
                "bv": spec.business_value_usd,
                "made": made[0] if made else None,
            },
        )
        for s in spec.services:
            cur.execute(
                q.INSERT_SERVICE, c | {"s": s.service_id, "n": s.name, "t": s.tolerance_days}
            )
        if audit is not None:
            from engine.clients import _audit

            _audit(cur, audit[0], audit[1], spec.client_id, audit[2])


def clients(ctx: Context, scope: Scope) -> list[ClientSpec]:
    where, ids = scope.sql("c.client_id")
    rows = ctx.store.rows(q.clients_sql(where), {"scope_ids": ids} if ids is not None else None)
    services: dict[str, list[Service]] = {}
    for cid, sid, name, tol in ctx.store.rows(q.SERVICES):
        services.setdefault(cid, []).append(Service(service_id=sid, name=name, tolerance_days=tol))
    return [
        ClientSpec(
            client_id=r[0],
            name=r[1],
            sector=r[2],
            hq_country=r[3],
            affiliations=list(r[4]),
            description=r[5],
            business_value_usd=r[6],
            services=services.get(r[0], []),
        )
        for r in rows
    ]


def client(ctx: Context, client_id: str, scope: Scope) -> ClientSpec:
    scope.require(client_id)
    for c in clients(ctx, Scope.of(client_id)):
        return c
    raise NotFoundError(f"unknown client {client_id!r}; `resilience clients` lists them")


# -- exposures -----------------------------------------------------------------------------------


def route(ctx: Context, origin: Port, destination: Port) -> RouteInfo:
    """The sea route between two ports, from the cache or computed once and cached."""
    from exposures.routes import RouteInfo, compute_route, route_key  # searoute: heavy

    speed = ctx.rules().routes.speed_knots
    key = {"k": route_key(origin, destination, speed)}
    cached = ctx.store.one(q.ROUTE, key)
    if cached is not None:
        return RouteInfo.from_json(cached)
    with _ROUTE_LOCK:
        cached = ctx.store.one(q.ROUTE, key)
        if cached is not None:
            return RouteInfo.from_json(cached)
        info = compute_route(origin, destination, speed_knots=speed)
        ctx.store.execute(q.STORE_ROUTE, key | {"info": info.to_json()})
        return info


def exposure_version(ctx: Context, client_id: str) -> int | None:
    v = ctx.store.one(q.CURRENT_VERSION, {"c": client_id})
    return None if v is None else int(v)


def stage(
    ctx: Context, client_id: str, assets: pl.DataFrame | None, routes: pl.DataFrame | None
) -> StagedVersion:
    """The rows of a new exposure version, ready to write (nothing is written).

    Asset rows that already carry their location (``country_iso3``, ``subdivision``,
    ``geo_precision``: rows checked by an upload, or kept from the stored version) are not
    geocoded again, so a site given only by its country stays a country-level site.
    """
    from exposures.prepare import assign_classes, prepare_assets, prepare_routes

    client(ctx, client_id, Scope.of(client_id))
    # The number this version will take; ``write_staged`` refuses it, with words, if another
    # upload for the client took it first.
    with ctx.store.transaction() as cur:
        version = ctx.store.next_version(
            cur, "exposure_versions", where="client_id = $c", params={"c": client_id}
        )
    asset_rows = route_rows = None
    geo_parts = []
    if assets is not None and assets.height:
        asset_rows, regions = prepare_assets(client_id, version, assets)
        geo_parts.append(regions)
    if routes is not None and routes.height:
        route_rows, regions = prepare_routes(client_id, version, routes, ctx.route)
        geo_parts.append(regions)
    classes, asset_rows, route_rows = assign_classes(client_id, version, asset_rows, route_rows)
    return StagedVersion(client_id, version, asset_rows, route_rows, classes, geo_parts)


def write_staged(
    ctx: Context, cur: Any, staged: StagedVersion, *, note: str, source: str, by: str
) -> None:
    """Write a staged version and make it current, inside the caller's transaction, with its
    audit entry (``by``: who loads it)."""
    c = {"c": staged.client_id, "v": staged.version}
    taken = cur.execute(q.VERSION_TAKEN, c).fetchone()
    if taken and taken[0]:
        raise StoreError(
            f"client {staged.client_id}: version {staged.version} was written by another upload "
            "meanwhile; nothing was changed, try again"
        )
    n_assets = 0 if staged.assets is None else staged.assets.height
    n_routes = 0 if staged.routes is None else staged.routes.height
    cur.execute(q.INSERT_VERSION, c | {"note": note, "src": source, "na": n_assets, "nr": n_routes})
    for regions in staged.regions:
        ctx.store.insert_frame(cur, "geo_regions", regions, skip_existing=True)
    ctx.store.insert_frame(cur, "exposure_classes", staged.classes)
    if staged.assets is not None:
        ctx.store.insert_frame(cur, "assets", staged.assets)
    if staged.routes is not None:
        ctx.store.insert_frame(cur, "routes", staged.routes)
    previous = cur.execute(q.CURRENT_VERSION, {"c": staged.client_id}).fetchone()
    cur.execute(q.SET_CURRENT, c)
    publication.record_exposures(
        cur,
        staged.client_id,
        staged.version,
        note=note or f"exposures loaded from {source or 'the command line'}",
        by=by,
        detail={
            "previous": previous[0] if previous else None,
            "source": source,
            "assets": n_assets,
            "routes": n_routes,
        },
    )


def load(
    ctx: Context,
    client_id: str,
    assets: pl.DataFrame | None,
    routes: pl.DataFrame | None,
    *,
    note: str,
    source: str,
    by: str,
) -> int:
    """Make a new exposure version current for a client, in one transaction."""
    staged = stage(ctx, client_id, assets, routes)

    def write() -> None:
        with ctx.store.transaction() as cur:
            write_staged(ctx, cur, staged, note=note, source=source, by=by)

    # an upload of another client sharing place rows may commit first: write again
    ctx.store.retrying(write)
    return staged.version
