"""From canonical exposure frames to the rows the store keeps.

Assets are geocoded offline and assigned to every region that contains them; routes are resolved
to ports, routed at sea (through a cache the caller supplies) and assigned to their chokepoints,
the sea zones they cross and the regions of their end ports. Pure: no database access here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from core.errors import ExposureError
from exposures.ports import Port, resolve_port
from exposures.upload_bounds import default_criticality

if TYPE_CHECKING:  # searoute is heavy: imported when routes are prepared, not for assets
    from exposures.routes import RouteInfo

# exposures.geocode (the city tables, scipy, the region index) is imported where rows are
# geocoded or placed, not here: a process that stages rows placed elsewhere (the upload
# checker service places a CLI command's rows, see ``PLACED``) never loads it.

RouteLookup = Callable[[Port, Port], "RouteInfo"]

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
PLACED = "geo_key"
"""An asset frame with this column (no nulls) beside ``GEO_COLUMNS`` was placed already
(``asset_geo_keys`` ran on its rows elsewhere, and the caller writes the profiles' region rows
itself): ``prepare_assets`` keeps the keys instead of placing the rows again."""
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


def _with_version(frame: pl.DataFrame, client_id: str | None, version: int | None) -> pl.DataFrame:
    if client_id is None or version is None:
        if "client_id" not in frame.columns or "version" not in frame.columns:
            raise ExposureError("rows of many clients need client_id and version columns")
        return frame
    return frame.with_columns(
        pl.lit(client_id, pl.String).alias("client_id"), pl.lit(version, pl.Int32).alias("version")
    )


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


def asset_geo_keys(geo: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Per geocoded asset row, the key of its geo profile; and the geo_regions rows of those keys.

    ``geo`` has ``lat``, ``lon``, ``country_iso3``, ``subdivision`` and ``geo_precision``. Rows
    are first grouped by what decides their regions (country, subdivision, the hotspots within
    reach at 0.1 km and the sea zones around them, found with bulk STRtree queries); one row of
    each group is then assigned its regions in full (``assign_regions``) and its profile keyed
    (``geo_profiles``), so the work per row is a few vector operations however large the book.
    """
    from exposures.geocode import PRECISION_COUNTRY, assign_regions, region_hits

    n = geo.height
    lat = geo["lat"].cast(pl.Float64)
    lon = geo["lon"].cast(pl.Float64)
    precision = geo["geo_precision"].cast(pl.String)
    located = (
        (lat.is_not_null() & lon.is_not_null() & (precision != PRECISION_COUNTRY).fill_null(True))
        .to_numpy()
        .astype(bool)
    )
    loc = np.flatnonzero(located)
    lat_np = lat.fill_null(np.nan).to_numpy()[loc]
    lon_np = lon.fill_null(np.nan).to_numpy()[loc]
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(lat_np) & np.isfinite(lon_np))
        bad |= (np.abs(lat_np) > 90.0) | (np.abs(lon_np) > 180.0)
    if bad.any():
        first = int(loc[np.flatnonzero(bad)[0]])
        raise ExposureError(
            f"{int(bad.sum())} point(s) have coordinates out of range, e.g. row {first + 1} at "
            f"({lat[first]}, {lon[first]}); fix them or geocode the rows first"
        )
    hits = region_hits(lat_np, lon_np)
    dist = pl.Series(hits.hot_km, dtype=pl.Float64).round(1)
    hot_token = (hits.hot_index + 1) * 1_000_000 + (dist * 10).round().cast(pl.Int64).to_numpy()
    sea_token = (hits.sea_index + 1) * 1_000_000_000
    tokens = pl.DataFrame(
        {
            "row": np.concatenate([loc[hits.hot_point], loc[hits.sea_point]]).astype(np.int64),
            "token": np.concatenate([hot_token, sea_token]).astype(np.int64),
        }
    )
    reach = (
        tokens.sort("row", "token")
        .group_by("row", maintain_order=True)
        .agg(pl.col("token").cast(pl.String).str.join(",").alias("reach"))
    )
    located_s = pl.Series("located", located)
    frame = (
        pl.DataFrame(
            {
                "row": np.arange(n, dtype=np.int64),
                "country": geo["country_iso3"].cast(pl.String),
                "sub": geo["subdivision"].cast(pl.String),
            }
        )
        .with_columns(pl.when(located_s).then(pl.col("sub")).alias("sub"))
        .join(reach, on="row", how="left", maintain_order="left")
    )
    group = ["country", "sub", "reach"]
    combos = frame.group_by(group, maintain_order=True).agg(pl.col("row").first())
    combos = combos.with_row_index("combo")
    rep = geo[combos["row"].to_numpy()].select(
        pl.Series("item_id", combos["combo"].cast(pl.String)),
        "lat",
        "lon",
        "country_iso3",
        "subdivision",
        "geo_precision",
    )
    memb = assign_regions(rep).with_columns(
        pl.lit(None, pl.Float64).alias("extra_days"),
        pl.lit(False).alias("no_alternative"),
        pl.lit(None, pl.Float64).alias("alt_ratio"),
    )
    keyed, regions = geo_profiles(memb)
    combos = combos.with_columns(pl.col("combo").cast(pl.String)).join(
        keyed.rename({"item_id": "combo"}), on="combo"
    )
    keys = frame.join(
        combos.select(*group, "geo_key"),
        on=group,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )["geo_key"]
    return keys, regions


def prepare_assets(
    client_id: str | None, version: int | None, assets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Asset rows (geocoded, with their geo_key) and the geo profiles they use.

    ``client_id`` and ``version`` name the client version the rows are for; when they are None
    the rows carry ``client_id`` and ``version`` columns themselves (a book of many clients).
    Unlocatable rows are an error (uploads reject them row by row before this point). Rows
    that carry their location (``GEO_COLUMNS``) are not geocoded again; rows that also carry
    their profile's key (``PLACED``) are not placed again, and no region rows come back for
    them (the caller has them).
    """
    assets = _with_version(assets, client_id, version)
    for col in ASSET_COLUMNS:
        if col not in assets.columns:
            assets = assets.with_columns(pl.lit(None).alias(col))
    located = all(c in assets.columns for c in GEO_COLUMNS) and (
        assets["geo_precision"].null_count() == 0
    )
    placed = located and PLACED in assets.columns and assets[PLACED].null_count() == 0
    keep = ["client_id", "version", *ASSET_COLUMNS, *(GEO_COLUMNS if located else [])]
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
        from exposures.geocode import geocode

        geo = geocode(base)
        bad = geo.filter(pl.col("geo_error").is_not_null())
        if bad.height:
            first = bad.row(0, named=True)
            raise ExposureError(
                f"asset {first['asset_id']!r}: {first['geo_error']} ({bad.height} asset(s) "
                "cannot be located)"
            )
    rows = geo.with_columns(pl.col("version").cast(pl.Int32)).select(
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
    if placed:
        keys = assets[PLACED].cast(pl.String)
        regions = pl.DataFrame(schema=GEO_SCHEMA)
    else:
        keys, regions = asset_geo_keys(geo)
    rows = rows.with_columns(keys.alias(PLACED))
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
    client_id: str | None, version: int | None, routes: pl.DataFrame, lookup: RouteLookup
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Route rows (with their geo_key) and the geo profiles they use.

    Each distinct port pair is routed once (and ``lookup`` caches across uploads). ``client_id``
    and ``version`` as for ``prepare_assets``.
    """
    from exposures.routes import route_key

    routes = _with_version(routes, client_id, version)
    for col in ROUTE_COLUMNS:
        if col not in routes.columns:
            routes = routes.with_columns(pl.lit(None).alias(col))
    base = routes.select("client_id", "version", *ROUTE_COLUMNS).with_columns(
        pl.col("route_id").cast(pl.String),
        pl.col("annual_value_usd").cast(pl.Float64).fill_null(0.0),
        pl.col("shipments_per_year").cast(pl.Int32).fill_null(0),
        pl.col("criticality").cast(pl.Int32).fill_null(default_criticality()),
        pl.col("service_id").cast(pl.String),
    )
    pairs = base.select("origin", "destination").unique(maintain_order=True)
    ports: dict[str, Port] = {}
    for text in set(pairs["origin"].to_list()) | set(pairs["destination"].to_list()):
        ports[text] = resolve_port(str(text))
    # Every route between the same two ports is routed and placed alike: work per pair.
    keys: list[str] = []
    memberships: list[dict[str, object]] = []
    end_points: list[dict[str, object]] = []
    for pair, (origin, destination) in enumerate(pairs.iter_rows()):
        o, d = ports[origin], ports[destination]
        info = lookup(o, d)
        keys.append(route_key(info.origin, info.destination, info.speed_knots))
        memberships.extend(route_regions(str(pair), info))
        for port in (o, d):
            end_points.append(
                {
                    "item_id": str(pair),
                    "lat": port.lat,
                    "lon": port.lon,
                    "country_iso3": port.country_iso3,
                    "subdivision": None,
                }
            )
    from exposures.geocode import assign_regions

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
    pairs = pairs.with_columns(
        pl.Series("item_id", [str(i) for i in range(pairs.height)], dtype=pl.String),
        pl.Series("route_key", keys, dtype=pl.String),
    ).join(keyed, on="item_id")
    rows = (
        base.join(
            pairs.drop("item_id"),
            on=["origin", "destination"],
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.col("version").cast(pl.Int32))
        .select(
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
            "geo_key",
        )
    )
    return rows, regions


CLASS_KEY = ["item_kind", "geo_key", "vkey", "asset_type", "commodity", "mitigations", "service_id"]


def assign_classes(
    client_id: str | None,
    version: int | None,
    assets: pl.DataFrame | None,
    routes: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """Number the exposure classes of client versions and tag each item with its class.

    Items every threat treats alike (same geo profile, asset type or commodity, mitigations and,
    for routes, business service: its impact tolerance sets the detour factor) share a class;
    the engine scores classes, not rows. Each class carries its item count, value, highest
    criticality and headcount; its weight in the client's rating (value / business value) is
    worked out by the run, under the run's rules.

    The rows carry ``client_id`` and ``version`` (as ``prepare_assets`` and ``prepare_routes``
    make them), so one call numbers the classes of many clients at once: per client, from 1, in
    the order their first item comes (assets before routes). ``client_id`` and ``version`` name
    the version when there are no rows at all.
    """
    keys = []
    ident = ["client_id", "version"]
    if assets is not None:
        keys.append(
            assets.select(
                *ident,
                pl.lit("asset").alias("item_kind"),
                "geo_key",
                pl.col("asset_type").alias("vkey"),
                "asset_type",
                pl.lit(None, pl.String).alias("commodity"),
                "mitigations",
                # a site's business service changes nothing its threats do (only a route's
                # service sets its detour tolerance): sites of several services share a class
                pl.lit(None, pl.String).alias("service_id"),
                pl.col("asset_id").alias("item_id"),
                pl.col("value_usd").alias("value"),
                "criticality",
                pl.col("headcount").cast(pl.Int64),
            )
        )
    if routes is not None:
        keys.append(
            routes.select(
                *ident,
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
    items = pl.concat(keys, how="vertical_relaxed").with_row_index("_item")
    # One grouping pass: in the order each class's first item comes, with its statistics and its
    # items. Mitigations are sorted, unique words without ";", so their joined text is a key;
    # asset type and commodity follow from the kind and vkey.
    group = [*ident, "item_kind", "geo_key", "vkey", "_mkey", "service_id"]
    classes = (
        items.with_columns(pl.col("mitigations").list.join(";").alias("_mkey"))
        .group_by(group, maintain_order=True)
        .agg(
            pl.col("asset_type").first(),
            pl.col("commodity").first(),
            pl.col("mitigations").first(),
            pl.len().cast(pl.Int32).alias("n_items"),
            pl.col("value").sum().alias("value_usd"),
            pl.col("criticality").max().cast(pl.Int32).alias("max_criticality"),
            pl.col("headcount").sum().cast(pl.Int64).alias("headcount"),
            pl.col("_item"),
        )
        .with_columns((pl.int_range(pl.len()).over(ident) + 1).cast(pl.Int32).alias("class_id"))
    )
    members = classes.select("class_id", "_item").explode("_item")
    class_of = np.empty(items.height, dtype=np.int32)
    class_of[members["_item"].to_numpy()] = members["class_id"].to_numpy()
    n_assets = 0 if assets is None else assets.height
    if assets is not None:
        assets = assets.with_columns(pl.Series("class_id", class_of[:n_assets])).drop("geo_key")
    if routes is not None:
        routes = routes.with_columns(pl.Series("class_id", class_of[n_assets:])).drop("geo_key")
    order = ["class_id", *CLASS_KEY, "n_items", "value_usd", "max_criticality", "headcount"]
    return classes.select(*order, *ident), assets, routes
