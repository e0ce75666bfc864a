"""From canonical exposure frames to the rows the store keeps.

Assets are geocoded offline and assigned to every region that contains them; routes are resolved
to ports, routed at sea (through a cache the caller supplies) and assigned to their chokepoints,
the sea zones they cross and the regions of their end ports. Pure: no database access here.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from engine.errors import ExposureError
from exposures.geocode import assign_regions, geocode
from exposures.ports import Port, resolve_port
from exposures.routes import RouteInfo

RouteLookup = Callable[[Port, Port], RouteInfo]

ASSET_COLUMNS = [
    "asset_id", "name", "asset_type", "lat", "lon", "city", "country", "value_usd",
    "criticality", "headcount", "service_id", "mitigations",
]
ROUTE_COLUMNS = [
    "route_id", "name", "origin", "destination", "commodity", "annual_value_usd",
    "shipments_per_year", "service_id", "criticality",
]
ITEM_REGION_SCHEMA = {
    "client_id": pl.String, "version": pl.Int32, "item_kind": pl.String, "item_id": pl.String,
    "region_id": pl.String, "distance_km": pl.Float64, "extra_days": pl.Float64,
    "no_alternative": pl.Boolean,
}


def _mitigation_list(col: pl.Expr) -> pl.Expr:
    return (
        col.cast(pl.String).fill_null("").str.replace_all(",", ";").str.split(";")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.eval(pl.element().filter(pl.element() != "")).list.unique().list.sort()
    )


def _dedupe_regions(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.group_by(["client_id", "version", "item_kind", "item_id", "region_id"])
        .agg(
            pl.col("distance_km").min(),
            pl.col("extra_days").max(),
            pl.col("no_alternative").any(),
        )
        .select(list(ITEM_REGION_SCHEMA))
        .cast(ITEM_REGION_SCHEMA)  # type: ignore[arg-type]
    )


def prepare_assets(client_id: str, version: int, assets: pl.DataFrame) -> tuple[
    pl.DataFrame, pl.DataFrame
]:
    """Asset rows (geocoded) and their region memberships. Unlocatable rows are an error."""
    for col in ASSET_COLUMNS:
        if col not in assets.columns:
            assets = assets.with_columns(pl.lit(None).alias(col))
    base = assets.select(ASSET_COLUMNS).with_columns(
        pl.col("asset_id").cast(pl.String),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        pl.col("city").cast(pl.String),
        pl.col("country").cast(pl.String),
        pl.col("value_usd").cast(pl.Float64).fill_null(0.0),
        pl.col("criticality").cast(pl.Int32).fill_null(3),
        pl.col("headcount").cast(pl.Int32).fill_null(0),
        pl.col("service_id").cast(pl.String),
        _mitigation_list(pl.col("mitigations")).alias("mitigations"),
    )
    geo = geocode(base)
    bad = geo.filter(pl.col("geo_error").is_not_null())
    if bad.height:
        first = bad.row(0, named=True)
        raise ExposureError(
            f"asset {first['asset_id']!r}: {first['geo_error']} ({bad.height} asset(s) cannot be "
            "located)"
        )
    rows = geo.with_columns(
        pl.lit(client_id).alias("client_id"), pl.lit(version, pl.Int32).alias("version")
    ).select(
        "client_id", "version", "asset_id", "name", "asset_type", "lat", "lon", "city",
        "country", "country_iso3", "subdivision", "geo_precision", "value_usd", "criticality",
        "headcount", "service_id", "mitigations",
    )
    memb = assign_regions(
        geo.select(
            pl.col("asset_id").alias("item_id"), "lat", "lon", "country_iso3", "subdivision"
        )
    ).with_columns(
        pl.lit(client_id).alias("client_id"),
        pl.lit(version).alias("version"),
        pl.lit("asset").alias("item_kind"),
        pl.lit(None, pl.Float64).alias("extra_days"),
        pl.lit(False).alias("no_alternative"),
    )
    return rows, _dedupe_regions(memb)


def route_regions(item_id: str, info: RouteInfo) -> list[dict[str, object]]:
    """Where a threat can reach a route: chokepoints, sea zones crossed, end-port regions."""
    out: list[dict[str, object]] = []
    detours = {d.region_id: d for d in info.detours if d.region_id}
    worst_extra = max((d.extra_days or 0.0 for d in info.detours), default=None)
    any_no_alt = any(d.no_alternative for d in info.detours)
    for region in info.chokepoints:
        d = detours.get(region)
        out.append({
            "item_id": item_id, "region_id": region, "distance_km": None,
            "extra_days": None if d is None else d.extra_days,
            "no_alternative": bool(d is not None and d.no_alternative),
        })
    for region in info.sea_zones:
        if region in info.chokepoints:
            continue
        out.append({
            "item_id": item_id, "region_id": region, "distance_km": None,
            "extra_days": worst_extra if info.detours else None,
            "no_alternative": any_no_alt,
        })
    return out


def prepare_routes(
    client_id: str, version: int, routes: pl.DataFrame, lookup: RouteLookup
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Route rows and their region memberships; each distinct port pair is routed once."""
    for col in ROUTE_COLUMNS:
        if col not in routes.columns:
            routes = routes.with_columns(pl.lit(None).alias(col))
    base = routes.select(ROUTE_COLUMNS).with_columns(
        pl.col("route_id").cast(pl.String),
        pl.col("annual_value_usd").cast(pl.Float64).fill_null(0.0),
        pl.col("shipments_per_year").cast(pl.Int32).fill_null(0),
        pl.col("criticality").cast(pl.Int32).fill_null(3),
        pl.col("service_id").cast(pl.String),
    )
    ports: dict[str, Port] = {}
    for text in set(base["origin"].to_list()) | set(base["destination"].to_list()):
        ports[text] = resolve_port(str(text))
    keys: list[str] = []
    memberships: list[dict[str, object]] = []
    end_points: list[dict[str, object]] = []
    infos: dict[tuple[str, str], RouteInfo] = {}
    for row in base.iter_rows(named=True):
        o, d = ports[row["origin"]], ports[row["destination"]]
        pair = (row["origin"], row["destination"])
        if pair not in infos:
            infos[pair] = lookup(o, d)
        info = infos[pair]
        keys.append(f"{o.locode or (o.lat, o.lon)}->{d.locode or (d.lat, d.lon)}")
        memberships.extend(route_regions(row["route_id"], info))
        for port in (o, d):
            end_points.append({
                "item_id": row["route_id"], "lat": port.lat, "lon": port.lon,
                "country_iso3": port.country_iso3, "subdivision": None,
            })
    rows = base.with_columns(
        pl.lit(client_id).alias("client_id"),
        pl.lit(version, pl.Int32).alias("version"),
        pl.Series("route_key", keys, dtype=pl.String),
    ).select(
        "client_id", "version", "route_id", "name", "origin", "destination", "route_key",
        "commodity", "annual_value_usd", "shipments_per_year", "service_id", "criticality",
    )
    ends = assign_regions(
        pl.DataFrame(end_points, schema={
            "item_id": pl.String, "lat": pl.Float64, "lon": pl.Float64,
            "country_iso3": pl.String, "subdivision": pl.String,
        })
    ).with_columns(pl.lit(None, pl.Float64).alias("extra_days"), pl.lit(True).alias("no_alternative"))
    path = pl.DataFrame(memberships, schema={
        "item_id": pl.String, "region_id": pl.String, "distance_km": pl.Float64,
        "extra_days": pl.Float64, "no_alternative": pl.Boolean,
    })
    memb = pl.concat([path, ends.select(path.columns)]).with_columns(
        pl.lit(client_id).alias("client_id"),
        pl.lit(version).alias("version"),
        pl.lit("route").alias("item_kind"),
    )
    return rows, _dedupe_regions(memb)
