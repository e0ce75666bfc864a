"""From canonical exposure frames to the rows the store keeps.

Assets are geocoded offline and assigned to every region that contains them; routes are resolved
to ports, routed at sea (through a cache the caller supplies) and assigned to their chokepoints,
the sea zones they cross and the regions of their end ports. Pure: no database access here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import polars as pl

from core.errors import ExposureError
from exposures.geocode import assign_regions, geocode
from exposures.ports import Port, resolve_port
from exposures.routes import RouteInfo, route_key
from exposures.upload_bounds import default_criticality

RouteLookup = Callable[[Port, Port], RouteInfo]

ASSET_COLUMNS = [
    "asset_id",
    "name",
    "asset_type",
    "lat",
    "lon",
    "city",
    "country",
    "value_usd",
    "criticality",
    "headcount",
    "service_id",
    "mitigations",
]
GEO_COLUMNS = ["country_iso3", "subdivision", "geo_precision"]
"""Where an asset was placed, and how precisely (added by ``exposures.geocode.geocode``)."""
ROUTE_COLUMNS = [
    "route_id",
    "name",
    "origin",
    "destination",
    "commodity",
    "annual_value_usd",
    "shipments_per_year",
    "service_id",
    "criticality",
]
GEO_SCHEMA = {
    "geo_key": pl.String,
    "region_id": pl.String,
    "distance_km": pl.Float64,
    "extra_days": pl.Float64,
    "no_alternative": pl.Boolean,
    "alt_ratio": pl.Float64,
}


def _mitigation_list(col: pl.Expr) -> pl.Expr:
    return (
        col.cast(pl.String)
        .fill_null("")
        .str.replace_all(",", ";")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique()
        .list.sort()
    )


def geo_profiles(memberships: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Group items by the exact set of regions that contain them.

    ``memberships`` has item_id, region_id, distance_km, extra_days, no_alternative (several rows
    may name the same region; the closest distance and the worst detour win). Returns
    (item_id -> geo_key, the geo_regions rows of every profile). Distances and detours are
    rounded to 0.1 so that items at practically the same place share a profile.
    """
    m = (
        memberships.group_by(["item_id", "region_id"])
        .agg(
            pl.col("distance_km").min().round(1),
            pl.col("extra_days").max().round(1),
            pl.col("no_alternative").any(),
            pl.col("alt_ratio").max().round(2),
        )
        .sort(["item_id", "region_id"])
    )
    token = pl.concat_str(
        [
            pl.col("region_id"),
            pl.col("distance_km").cast(pl.String).fill_null("-"),
            pl.col("extra_days").cast(pl.String).fill_null("-"),
            pl.col("no_alternative").cast(pl.String),
            pl.col("alt_ratio").cast(pl.String).fill_null("-"),
        ],
        separator="@",
    )
    sig = (
        m.with_columns(token.alias("token"))
        .group_by("item_id", maintain_order=True)
        .agg(pl.col("token").str.join("|").alias("signature"))
    )
    unique = sig.select("signature").unique()
    unique = unique.with_columns(
        pl.col("signature")
        .map_elements(
            lambda s: hashlib.blake2b(s.encode(), digest_size=10).hexdigest(),
            return_dtype=pl.String,
        )
        .alias("geo_key")
    )
    keyed = sig.join(unique, on="signature").select("item_id", "geo_key")
    regions = (
        m.join(keyed, on="item_id")
        .select(list(GEO_SCHEMA))
        .unique(subset=["geo_key", "region_id"])
        .cast(GEO_SCHEMA)  # type: ignore[arg-type]
    )
    return keyed, regions


def prepare_assets(
    client_id: str, version: int, assets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Asset rows (geocoded, with their geo_key) and the geo profiles they use.

    Unlocatable rows are an error (uploads reject them row by row before this point).
    """
    for col in ASSET_COLUMNS:
        if col not in assets.columns:
            assets = assets.with_columns(pl.lit(None).alias(col))
    located = all(c in assets.columns for c in GEO_COLUMNS) and (
        assets["geo_precision"].null_count() == 0
    )
    keep = ASSET_COLUMNS + (GEO_COLUMNS if located else [])
    base = assets.select(keep).with_columns(
        pl.col("asset_id").cast(pl.String),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        pl.col("city").cast(pl.String),
        pl.col("country").cast(pl.String),
        pl.col("value_usd").cast(pl.Float64).fill_null(0.0),
        pl.col("criticality").cast(pl.Int32).fill_null(default_criticality()),
        pl.col("headcount").cast(pl.Int32).fill_null(0),
        pl.col("service_id").cast(pl.String),
        _mitigation_list(pl.col("mitigations")).alias("mitigations"),
    )
    if located:
        # checked by an upload or kept from the stored version: located once, never again (a
        # country-level site must not become an exact site at the capital)
        geo = base.with_columns(pl.col(c).cast(pl.String) for c in GEO_COLUMNS)
    else:
        geo = geocode(base)
        bad = geo.filter(pl.col("geo_error").is_not_null())
        if bad.height:
            first = bad.row(0, named=True)
            raise ExposureError(
                f"asset {first['asset_id']!r}: {first['geo_error']} ({bad.height} asset(s) "
                "cannot be located)"
            )
    rows = geo.with_columns(
        pl.lit(client_id).alias("client_id"), pl.lit(version, pl.Int32).alias("version")
    ).select(
        "client_id",
        "version",
        "asset_id",
        "name",
        "asset_type",
        "lat",
        "lon",
        "city",
        "country",
        "country_iso3",
        "subdivision",
        "geo_precision",
        "value_usd",
        "criticality",
        "headcount",
        "service_id",
        "mitigations",
    )
    memb = assign_regions(
        geo.select(
            pl.col("asset_id").alias("item_id"),
            "lat",
            "lon",
            "country_iso3",
            "subdivision",
            "geo_precision",
        )
    ).with_columns(
        pl.lit(None, pl.Float64).alias("extra_days"),
        pl.lit(False).alias("no_alternative"),
        pl.lit(None, pl.Float64).alias("alt_ratio"),
    )
    keyed, regions = geo_profiles(memb)
    rows = rows.join(keyed.rename({"item_id": "asset_id"}), on="asset_id", how="left")
    return rows, regions


def route_regions(item_id: str, info: RouteInfo) -> list[dict[str, object]]:
    """Where a threat can reach a route: chokepoints, sea zones crossed, end-port regions."""
    out: list[dict[str, object]] = []
    detours = {d.region_id: d for d in info.detours if d.region_id}
    worst_extra = max((d.extra_days or 0.0 for d in info.detours), default=None)
    any_no_alt = any(d.no_alternative for d in info.detours)
    ratios = [r for r in (info.alt_ratio(d) for d in info.detours) if r is not None]
    worst_ratio = max(ratios) if ratios else None
    for region in info.chokepoints:
        d = detours.get(region)
        out.append(
            {
                "item_id": item_id,
                "region_id": region,
                "distance_km": None,
                "extra_days": None if d is None else d.extra_days,
                "no_alternative": bool(d is not None and d.no_alternative),
                "alt_ratio": None if d is None else info.alt_ratio(d),
            }
        )
    for region in info.sea_zones:
        if region in info.chokepoints:
            continue
        out.append(
            {
                "item_id": item_id,
                "region_id": region,
                "distance_km": None,
                "extra_days": worst_extra if info.detours else None,
                "no_alternative": any_no_alt,
                "alt_ratio": worst_ratio,
            }
        )
    return out


def prepare_routes(
    client_id: str, version: int, routes: pl.DataFrame, lookup: RouteLookup
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Route rows (with their geo_key) and the geo profiles they use.

    Each distinct port pair is routed once (and ``lookup`` caches across uploads).
    """
    for col in ROUTE_COLUMNS:
        if col not in routes.columns:
            routes = routes.with_columns(pl.lit(None).alias(col))
    base = routes.select(ROUTE_COLUMNS).with_columns(
        pl.col("route_id").cast(pl.String),
        pl.col("annual_value_usd").cast(pl.Float64).fill_null(0.0),
        pl.col("shipments_per_year").cast(pl.Int32).fill_null(0),
        pl.col("criticality").cast(pl.Int32).fill_null(default_criticality()),
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
        keys.append(route_key(info.origin, info.destination, info.speed_knots))
        memberships.extend(route_regions(row["route_id"], info))
        for port in (o, d):
            end_points.append(
                {
                    "item_id": row["route_id"],
                    "lat": port.lat,
                    "lon": port.lon,
                    "country_iso3": port.country_iso3,
                    "subdivision": None,
                }
            )
    rows = base.with_columns(
        pl.lit(client_id).alias("client_id"),
        pl.lit(version, pl.Int32).alias("version"),
        pl.Series("route_key", keys, dtype=pl.String),
    ).select(
        "client_id",
        "version",
        "route_id",
        "name",
        "origin",
        "destination",
        "route_key",
        "commodity",
        "annual_value_usd",
        "shipments_per_year",
        "service_id",
        "criticality",
    )
    ends = assign_regions(
        pl.DataFrame(
            end_points,
            schema={
                "item_id": pl.String,
                "lat": pl.Float64,
                "lon": pl.Float64,
                "country_iso3": pl.String,
                "subdivision": pl.String,
            },
        )
    ).with_columns(
        pl.lit(None, pl.Float64).alias("extra_days"),
        pl.lit(True).alias("no_alternative"),
        pl.lit(None, pl.Float64).alias("alt_ratio"),
    )
    path = pl.DataFrame(
        memberships,
        schema={
            "item_id": pl.String,
            "region_id": pl.String,
            "distance_km": pl.Float64,
            "extra_days": pl.Float64,
            "no_alternative": pl.Boolean,
            "alt_ratio": pl.Float64,
        },
    )
    memb = pl.concat([path, ends.select(path.columns)])
    keyed, regions = geo_profiles(memb)
    rows = rows.join(keyed.rename({"item_id": "route_id"}), on="route_id", how="left")
    return rows, regions


CLASS_KEY = ["item_kind", "geo_key", "vkey", "asset_type", "commodity", "mitigations", "service_id"]


def assign_classes(
    client_id: str,
    version: int,
    assets: pl.DataFrame | None,
    routes: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """Number the exposure classes of one client version and tag each item with its class.

    Items every threat treats alike (same geo profile, asset type or commodity, mitigations and
    business service) share a class; the engine scores classes, not rows. Each class carries its
    item count, value, highest criticality and headcount; its weight in the client's rating
    (value / business value) is worked out by the run, under the run's rules.
    """
    keys = []
    if assets is not None:
        keys.append(
            assets.select(
                pl.lit("asset").alias("item_kind"),
                "geo_key",
                pl.col("asset_type").alias("vkey"),
                "asset_type",
                pl.lit(None, pl.String).alias("commodity"),
                "mitigations",
                "service_id",
                pl.col("asset_id").alias("item_id"),
                pl.col("value_usd").alias("value"),
                "criticality",
                pl.col("headcount").cast(pl.Int64),
            )
        )
    if routes is not None:
        keys.append(
            routes.select(
                pl.lit("route").alias("item_kind"),
                "geo_key",
                pl.col("commodity").alias("vkey"),
                pl.lit(None, pl.String).alias("asset_type"),
                "commodity",
                pl.lit([], pl.List(pl.String)).alias("mitigations"),
                "service_id",
                pl.col("route_id").alias("item_id"),
                pl.col("annual_value_usd").alias("value"),
                "criticality",
                pl.lit(0, pl.Int64).alias("headcount"),
            )
        )
    if not keys:
        return pl.DataFrame(schema={"client_id": pl.String}), assets, routes
    items = pl.concat(keys, how="vertical_relaxed")
    classes = (
        items.select(CLASS_KEY)
        .unique(maintain_order=True)
        .with_row_index("class_id", offset=1)
        .with_columns(pl.col("class_id").cast(pl.Int32))
    )
    tagged = items.join(classes, on=CLASS_KEY, how="left", nulls_equal=True)
    stats = tagged.group_by("class_id").agg(
        pl.len().cast(pl.Int32).alias("n_items"),
        pl.col("value").sum().alias("value_usd"),
        pl.col("criticality").max().cast(pl.Int32).alias("max_criticality"),
        pl.col("headcount").sum().cast(pl.Int64).alias("headcount"),
    )
    by_kind = {
        kind: tagged.filter(pl.col("item_kind") == kind).select("item_id", "class_id")
        for kind in ("asset", "route")
    }
    if assets is not None:
        assets = assets.join(by_kind["asset"].rename({"item_id": "asset_id"}), on="asset_id").drop(
            "geo_key"
        )
    if routes is not None:
        routes = routes.join(by_kind["route"].rename({"item_id": "route_id"}), on="route_id").drop(
            "geo_key"
        )
    classes = classes.join(stats, on="class_id").with_columns(
        pl.lit(client_id).alias("client_id"),
        pl.lit(version, pl.Int32).alias("version"),
    )
    return classes, assets, routes
