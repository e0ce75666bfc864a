"""The rating method in polars (shapely for the sea zones: polars has no spatial join).

    python -m bench.peers.polars_peer BOOK_DIR OUT.parquet

What an analyst fluent in polars would write: scan the book in batches, nearest city with
scipy's cKDTree, point-in-polygon per sea zone with ``shapely.contains_xy``, hotspot distances
as expressions, then joins with the threats and rules tables and group-bys per item and client.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import shapely
from scipy.spatial import cKDTree

from bench.peers.reference import BATCH_ROWS, EARTH_RADIUS_KM, SUBDIVISION_MAX_KM, params, table

ENDS = ("low", "central", "high")


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _haversine(lat: pl.Expr, lon: pl.Expr, lat0: float, lon0: float) -> pl.Expr:
    p1, p2 = lat.radians(), pl.lit(np.radians(lat0))
    dl = (pl.lit(lon0) - lon).radians()
    a = ((p2 - p1) / 2).sin().pow(2) + p1.cos() * p2.cos() * (dl / 2).sin().pow(2)
    return 2.0 * EARTH_RADIUS_KM * a.clip(0.0, 1.0).sqrt().arcsin()


class Method:
    def __init__(self, book: Path) -> None:
        self.p = params(book)
        cities = pl.read_parquet(table(book, "cities"))
        self.cities = cities.select("iso3", "subdivision")
        self.tree = cKDTree(_unit(cities["lat"].to_numpy(), cities["lon"].to_numpy()))
        self.parents = pl.read_parquet(table(book, "parents"))
        self.hotspots = pl.read_parquet(table(book, "hotspots"))
        zones = pl.read_parquet(table(book, "sea_zones"))
        self.zones = [
            (rid, shapely.from_wkt(wkt)) for rid, wkt in zones.select("region_id", "wkt").rows()
        ]
        for _, shape in self.zones:
            shapely.prepare(shape)
        threats = pl.read_parquet(table(book, "threats")).filter(
            (pl.col("p_high") > 0) & (pl.col("window_share") > 0)
        )
        self.threats = threats.with_columns(
            (1 - (1 - pl.col(f"p_{e}")).pow(pl.col("window_share"))).alias(f"p_{e}") for e in ENDS
        )
        self.threat_regions = pl.read_parquet(table(book, "threat_regions")).join(
            self.threats.select("threat_id", "category"), on="threat_id"
        )
        self.pairs = pl.read_parquet(table(book, "route_pairs"))
        clients = pl.read_parquet(table(book, "clients"))
        self.clients = clients.with_columns(
            pl.col("business_value_usd").fill_null(self.p["default_bv"]).alias("b")
        )
        self.services = pl.read_parquet(table(book, "services"))
        self.bands = pl.read_parquet(table(book, "rule_bands")).sort("min_score")
        sector = pl.read_parquet(table(book, "rule_sector"))
        self.vuln = pl.read_parquet(table(book, "rule_vuln"))
        self.mitigation = pl.read_parquet(table(book, "rule_mitigation"))
        self.client_threat = (
            self.clients.select("client_id", "sector", "affiliations")
            .join(self.threats, how="cross")
            .join(sector, on=["category", "sector"])
            .select(
                "client_id",
                "threat_id",
                (pl.col("severity") / self.p["severity_max"] * pl.col("factor")).alias("gi"),
                (
                    pl.col("untargeted")
                    | (
                        pl.col("affiliations").list.set_intersection("t_affiliations").list.len()
                        > 0
                    )
                    | pl.col("t_sectors").list.contains(pl.col("sector"))
                ).alias("client_match"),
                *[f"p_{e}" for e in ENDS],
            )
        )

    def _vulnerability(self, kind: str, keys: pl.DataFrame) -> pl.DataFrame:
        targets = "t_asset_types" if kind == "asset" else "t_commodities"
        vt = (
            keys.unique()
            .join(self.threats, how="cross")
            .join(
                self.vuln.filter(pl.col("item_kind") == kind),
                left_on=["vkey", "category"],
                right_on=["key", "category"],
            )
        )
        credit = (
            vt.select("vkey", "mkey", "threat_id", "category")
            .with_columns(pl.col("mkey").str.split(";").alias("m"))
            .explode("m")
            .join(self.mitigation, left_on=["m", "category"], right_on=["mitigation", "category"])
            .group_by("vkey", "mkey", "threat_id")
            .agg((1 - pl.col("credit")).product().alias("credit"))
        )
        return vt.join(credit, on=["vkey", "mkey", "threat_id"], how="left").select(
            "vkey",
            "mkey",
            "threat_id",
            (pl.col("factor") * pl.col("credit").fill_null(1.0)).alias("vf"),
            pl.col(targets).list.contains(pl.col("vkey")).alias("item_match"),
        )

    def _falloff(self) -> pl.Expr:
        fw = self.p["full_within"]
        r, d = pl.col("radius_km"), pl.col("distance_km")
        return pl.col("intensity") * (
            pl.when(r.is_null() | d.is_null() | (d <= fw * r))
            .then(1.0)
            .otherwise(pl.max_horizontal(pl.lit(0.0), (r - d) / (r * (1 - fw))))
        )

    def _item_risk(self, items: pl.DataFrame, ev: pl.DataFrame, kind: str) -> pl.DataFrame:
        vt = self._vulnerability(kind, items.select("vkey", "mkey"))
        x = (
            ev.join(items.select("item", "client_id", "vkey", "mkey"), on="item")
            .join(self.client_threat, on=["client_id", "threat_id"])
            .join(vt, on=["vkey", "mkey", "threat_id"])
            .with_columns(
                (
                    pl.col("ev")
                    * pl.col("gi")
                    * pl.col("vf")
                    * pl.when(pl.col("client_match") | pl.col("item_match"))
                    .then(1.0)
                    .otherwise(self.p["collateral"])
                ).alias("egvi")
            )
            .filter(pl.col("egvi") * pl.col("p_high") > 0)
        )
        risk = x.group_by("item").agg(
            (-(pl.col("egvi") * pl.col(f"p_{e}"))).log1p().sum().alias(e) for e in ENDS
        )
        return (
            items.select("item", "client_id", "weight", "criticality", "value")
            .join(risk, on="item", how="left")
            .with_columns((1 - pl.col(e).fill_null(0.0).exp()).alias(f"R_{e}") for e in ENDS)
        )

    def assets(self, a: pl.DataFrame) -> pl.DataFrame:
        a = a.with_row_index("item")
        lat, lon = a["lat"].to_numpy(), a["lon"].to_numpy()
        chord, idx = self.tree.query(_unit(lat, lon), k=1, workers=-1)
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
        near = self.cities[idx]
        a = a.with_columns(
            pl.when(
                (near["iso3"] == a["country"]).fill_null(False)
                & (pl.Series(km) <= SUBDIVISION_MAX_KM)
            )
            .then(near["subdivision"])
            .alias("sub")
        )
        base = a.select("item")
        subs = a.select("item", pl.col("sub").alias("region_id")).drop_nulls()
        parts = [
            base.with_columns(pl.lit("world").alias("region_id")),
            a.select("item", pl.col("country").alias("region_id")),
            subs,
            subs.join(self.parents, left_on="region_id", right_on="subdivision").select(
                "item", pl.col("parent").alias("region_id")
            ),
        ]
        parts = [p.with_columns(pl.lit(None, pl.Float64).alias("distance_km")) for p in parts]
        for rid, hlat, hlon, radius in self.hotspots.select(
            "region_id", "lat", "lon", "radius_km"
        ).rows():
            d = a.select("item", _haversine(pl.col("lat"), pl.col("lon"), hlat, hlon).alias("d"))
            parts.append(
                d.filter(pl.col("d") <= radius).select(
                    "item",
                    pl.lit(rid).alias("region_id"),
                    pl.col("d").round(1).alias("distance_km"),
                )
            )
        for rid, shape in self.zones:
            inside = shapely.contains_xy(shape, lon, lat)
            parts.append(
                a.filter(pl.Series(inside)).select(
                    "item",
                    pl.lit(rid).alias("region_id"),
                    pl.lit(None, pl.Float64).alias("distance_km"),
                )
            )
        memb = pl.concat(parts).unique(["item", "region_id"])
        ev = (
            memb.join(self.threat_regions, on="region_id")
            .join(self.hotspots.select("region_id", "radius_km"), on="region_id", how="left")
            .with_columns(self._falloff().alias("e"))
            .group_by("item", "threat_id")
            .agg(pl.col("e").max().alias("ev"))
        )
        items = a.with_columns(
            pl.col("asset_type").alias("vkey"),
            pl.col("mitigations").fill_null("").alias("mkey"),
            pl.col("value_usd").alias("value"),
        ).join(self.clients.select("client_id", "b"), on="client_id")
        items = items.with_columns(
            ((pl.col("value") + self.p["per_person"] * pl.col("headcount")) / pl.col("b")).alias(
                "weight"
            )
        )
        return self._item_risk(items, ev, "asset")

    def routes(self, r: pl.DataFrame) -> pl.DataFrame:
        r = (
            r.with_row_index("item")
            .join(self.services, on=["client_id", "service_id"], how="left")
            .with_columns(pl.col("tolerance_days").fill_null(self.p["default_tol"]).alias("tol"))
        )
        fl = self.p["floor"]
        f = (
            pl.when(~pl.col("category").is_in(self.p["detour_cats"]))
            .then(1.0)
            .when(
                pl.col("no_alternative")
                | (pl.col("alt_ratio") > self.p["no_alt_ratio"]).fill_null(False)
            )
            .then(self.p["no_alt"])
            .when(pl.col("extra_days").is_null())
            .then(1.0)
            .otherwise(
                pl.min_horizontal(pl.lit(1.0), fl + (1 - fl) * pl.col("extra_days") / pl.col("tol"))
            )
        )
        ev = (
            r.select("item", "origin", "destination", "tol")
            .join(self.pairs, on=["origin", "destination"])
            .join(self.threat_regions, on="region_id")
            .join(self.hotspots.select("region_id", "radius_km"), on="region_id", how="left")
            .with_columns((self._falloff() * f).alias("e"))
            .group_by("item", "threat_id")
            .agg(pl.col("e").max().alias("ev"))
        )
        items = (
            r.with_columns(
                pl.col("commodity").alias("vkey"),
                pl.lit("").alias("mkey"),
                pl.col("annual_value_usd").alias("value"),
            )
            .join(self.clients.select("client_id", "b"), on="client_id")
            .with_columns((pl.col("value") / pl.col("b")).alias("weight"))
        )
        return self._item_risk(items, ev, "route")

    def partial(self, risk: pl.DataFrame) -> pl.DataFrame:
        critical = pl.col("criticality") >= self.p["min_crit"]
        return risk.group_by("client_id").agg(
            pl.len().alias("n"),
            pl.col("value").sum(),
            *[
                (pl.col("weight") * (1 - pl.col(f"R_{e}")).clip(lower_bound=1e-12).log())
                .sum()
                .alias(f"s_{e}")
                for e in ENDS
            ],
            *[
                pl.when(critical).then(pl.col(f"R_{e}")).otherwise(0.0).max().alias(f"w_{e}")
                for e in ENDS
            ],
        )

    def ratings(self, parts: list[pl.DataFrame]) -> pl.DataFrame:
        t = (
            pl.concat(parts)
            .group_by("client_id")
            .agg(
                pl.col("n").sum(),
                *[pl.col(f"s_{e}").sum() for e in ENDS],
                *[pl.col(f"w_{e}").max() for e in ENDS],
            )
        )
        k = self.p["exponent"]
        t = t.with_columns(
            (1 - (pl.col(f"s_{e}").exp()) * (1 - self.p["worst_w"] * pl.col(f"w_{e}"))).alias(
                f"risk_{e}"
            )
            for e in ENDS
        ).with_columns(
            (100 * (1 - pl.col("risk_high")).pow(k)).alias("score_low"),
            (100 * (1 - pl.col("risk_central")).pow(k)).alias("score"),
            (100 * (1 - pl.col("risk_low")).pow(k)).alias("score_high"),
        )
        edges = self.bands["min_score"].to_numpy()
        names = self.bands["band"].to_list()

        def band(col: str) -> pl.Series:
            at = np.searchsorted(edges, t[col].to_numpy(), side="right") - 1
            return pl.Series([names[i] for i in at], dtype=pl.String)

        return t.with_columns(
            band("score_low").alias("band_low"),
            band("score").alias("band"),
            band("score_high").alias("band_high"),
            pl.col("n").alias("n_items"),
        ).select(
            "client_id",
            "band",
            "score",
            "band_low",
            "score_low",
            "band_high",
            "score_high",
            "n_items",
        )


def run(book: Path) -> pl.DataFrame:
    method = Method(book)
    parts = []
    for name, score in (("assets", method.assets), ("routes", method.routes)):
        for batch in pq.ParquetFile(book / f"{name}.parquet").iter_batches(batch_size=BATCH_ROWS):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if frame.height:
                parts.append(method.partial(score(frame)))
    return method.ratings(parts)


def main() -> None:
    book, out = Path(sys.argv[1]), Path(sys.argv[2])
    run(book).write_parquet(out)


if __name__ == "__main__":
    main()
