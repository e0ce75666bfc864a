"""The rating method in pandas, with geopandas' spatial join for the sea zones.

    python -m bench.peers.pandas_peer BOOK_DIR OUT.parquet

What an analyst fluent in pandas would write: read the book in batches of rows, find each site's
nearest city (scipy's cKDTree) for its subdivision, join the sites to the sea zones with
``geopandas.sjoin``, measure hotspot distances, then merge with the threats and rules tables and
aggregate per item and per client.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from scipy.spatial import cKDTree

from bench.peers.reference import BATCH_ROWS, EARTH_RADIUS_KM, SUBDIVISION_MAX_KM, params, table


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _haversine(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


class Method:
    def __init__(self, book: Path) -> None:
        self.p = params(book)
        cities = pd.read_parquet(table(book, "cities"))
        self.city_iso3 = cities["iso3"].to_numpy(dtype=object)
        self.city_sub = cities["subdivision"].to_numpy(dtype=object)
        self.tree = cKDTree(_unit(cities["lat"].to_numpy(), cities["lon"].to_numpy()))
        self.parents = pd.read_parquet(table(book, "parents"))
        self.hotspots = pd.read_parquet(table(book, "hotspots"))
        zones = pd.read_parquet(table(book, "sea_zones"))
        self.zones = gpd.GeoDataFrame(
            {"region_id": zones["region_id"]}, geometry=shapely.from_wkt(zones["wkt"]), crs=4326
        )
        threats = pd.read_parquet(table(book, "threats"))
        threats = threats[(threats["p_high"] > 0) & (threats["window_share"] > 0)].copy()
        for x in ("p_low", "p_central", "p_high"):
            threats[x] = 1 - (1 - threats[x]) ** threats["window_share"]
        self.threats = threats
        self.threat_regions = pd.read_parquet(table(book, "threat_regions")).merge(
            threats[["threat_id", "category"]], on="threat_id"
        )
        self.sector = pd.read_parquet(table(book, "rule_sector"))
        self.vuln = pd.read_parquet(table(book, "rule_vuln"))
        self.mitigation = pd.read_parquet(table(book, "rule_mitigation"))
        self.bands = pd.read_parquet(table(book, "rule_bands")).sort_values("min_score")
        self.pairs = pd.read_parquet(table(book, "route_pairs"))
        self.clients = pd.read_parquet(table(book, "clients"))
        self.services = pd.read_parquet(table(book, "services"))
        self.client_threat = self._client_threat()

    def _client_threat(self) -> pd.DataFrame:
        """Per client and threat: impact x sector sensitivity, and whether it is targeted."""
        ct = self.clients[["client_id", "sector", "affiliations"]].merge(self.threats, how="cross")
        ct = ct.merge(self.sector, on=["category", "sector"])
        ct["gi"] = ct["severity"] / self.p["severity_max"] * ct["factor"]
        ct["client_match"] = [
            bool(u) or bool(set(a) & set(ta)) or s in set(ts)
            for u, a, ta, s, ts in zip(
                ct["untargeted"],
                ct["affiliations"],
                ct["t_affiliations"],
                ct["sector"],
                ct["t_sectors"],
                strict=True,
            )
        ]
        return ct[["client_id", "threat_id", "gi", "client_match", "p_low", "p_central", "p_high"]]

    def _vulnerability(self, kind: str, keys: pd.DataFrame) -> pd.DataFrame:
        """Per (type or commodity, mitigations) and threat: vulnerability and item targeting."""
        vt = keys.drop_duplicates().merge(self.threats, how="cross")
        vt = vt.merge(
            self.vuln[self.vuln["item_kind"] == kind],
            left_on=["vkey", "category"],
            right_on=["key", "category"],
        )
        credit = []
        for mkey, category in zip(vt["mkey"], vt["category"], strict=True):
            m = self.mitigation[
                (self.mitigation["category"] == category)
                & self.mitigation["mitigation"].isin([x for x in mkey.split(";") if x])
            ]
            credit.append(float(np.prod(1 - m["credit"].to_numpy())) if len(m) else 1.0)
        vt["vf"] = vt["factor"] * np.array(credit)
        targets = vt["t_asset_types"] if kind == "asset" else vt["t_commodities"]
        vt["item_match"] = [k in set(t) for k, t in zip(vt["vkey"], targets, strict=True)]
        return vt[["vkey", "mkey", "threat_id", "vf", "item_match"]]

    def _falloff(self, reach: pd.DataFrame) -> pd.Series:
        fw = self.p["full_within"]
        r, d = reach["radius_km"], reach["distance_km"]
        fall = np.maximum(0.0, (r - d) / (r * (1 - fw)))
        e = np.where(r.isna() | d.isna() | (d <= fw * r), 1.0, fall)
        return reach["intensity"] * e

    def _item_risk(self, items: pd.DataFrame, ev: pd.DataFrame, kind: str) -> pd.DataFrame:
        """R = 1 - prod over threats of (1 - r) per item, at each end of the range."""
        vt = self._vulnerability(kind, items[["vkey", "mkey"]])
        x = ev.merge(items[["item", "client_id", "vkey", "mkey"]], on="item")
        x = x.merge(self.client_threat, on=["client_id", "threat_id"])
        x = x.merge(vt, on=["vkey", "mkey", "threat_id"])
        factor = np.where(x["client_match"] | x["item_match"], 1.0, self.p["collateral"])
        egvi = x["ev"] * x["gi"] * x["vf"] * factor
        keep = egvi * x["p_high"] > 0
        x, egvi = x[keep], egvi[keep]
        logs = pd.DataFrame({"item": x["item"]})
        for end in ("low", "central", "high"):
            logs[end] = np.log1p(-(egvi * x[f"p_{end}"]))
        risk = logs.groupby("item").sum()
        out = items[["item", "client_id", "weight", "criticality", "value"]].set_index("item")
        for end in ("low", "central", "high"):
            out[f"R_{end}"] = 1 - np.exp(risk[end].reindex(out.index).fillna(0.0))
        return out.reset_index()

    def assets(self, a: pd.DataFrame) -> pd.DataFrame:
        n = len(a)
        a = a.reset_index(drop=True)
        a["item"] = np.arange(n)
        lat, lon = a["lat"].to_numpy(), a["lon"].to_numpy()
        chord, idx = self.tree.query(_unit(lat, lon), k=1, workers=-1)
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
        same = self.city_iso3[idx] == a["country"].to_numpy(dtype=object)
        sub = np.where(same & (km <= SUBDIVISION_MAX_KM), self.city_sub[idx], None)
        parts = [
            pd.DataFrame({"item": a["item"], "region_id": "world"}),
            pd.DataFrame({"item": a["item"], "region_id": a["country"]}),
        ]
        subs = pd.DataFrame({"item": a["item"], "region_id": sub}).dropna()
        parts.append(subs)
        parents = subs.merge(self.parents, left_on="region_id", right_on="subdivision")
        parts.append(parents[["item", "parent"]].rename(columns={"parent": "region_id"}))
        for h in self.hotspots.itertuples():
            d = _haversine(lat, lon, h.lat, h.lon)
            near = d <= h.radius_km
            parts.append(
                pd.DataFrame(
                    {
                        "item": a["item"][near],
                        "region_id": h.region_id,
                        "distance_km": np.round(d[near], 1),
                    }
                )
            )
        points = gpd.GeoDataFrame(
            {"item": a["item"]}, geometry=gpd.points_from_xy(lon, lat), crs=4326
        )
        sea = gpd.sjoin(points, self.zones, predicate="within")[["item", "region_id"]]
        parts.append(pd.DataFrame(sea))
        memb = pd.concat(parts, ignore_index=True).drop_duplicates(["item", "region_id"])
        reach = memb.merge(self.threat_regions, on="region_id").merge(
            self.hotspots[["region_id", "radius_km"]], on="region_id", how="left"
        )
        if "distance_km" not in reach:
            reach["distance_km"] = np.nan
        reach["e"] = self._falloff(reach)
        ev = reach.groupby(["item", "threat_id"], as_index=False)["e"].max()
        ev = ev.rename(columns={"e": "ev"})
        items = a.assign(
            vkey=a["asset_type"],
            mkey=a["mitigations"].fillna(""),
            value=a["value_usd"],
        )
        items = items.merge(self.clients[["client_id", "b"]], on="client_id")
        items["weight"] = (items["value"] + self.p["per_person"] * items["headcount"]) / items["b"]
        return self._item_risk(items, ev, "asset")

    def routes(self, r: pd.DataFrame) -> pd.DataFrame:
        r = r.reset_index(drop=True)
        r["item"] = np.arange(len(r))
        r = r.merge(self.services, on=["client_id", "service_id"], how="left").sort_values("item")
        r["tol"] = r["tolerance_days"].fillna(self.p["default_tol"])
        memb = r[["item", "origin", "destination", "tol"]].merge(
            self.pairs, on=["origin", "destination"]
        )
        reach = memb.merge(self.threat_regions, on="region_id").merge(
            self.hotspots[["region_id", "radius_km"]], on="region_id", how="left"
        )
        e = self._falloff(reach)
        no_alt = reach["no_alternative"] | (reach["alt_ratio"] > self.p["no_alt_ratio"]).fillna(
            False
        )
        f = np.where(
            ~reach["category"].isin(self.p["detour_cats"]),
            1.0,
            np.where(
                no_alt,
                self.p["no_alt"],
                np.where(
                    reach["extra_days"].isna(),
                    1.0,
                    np.minimum(
                        1.0,
                        self.p["floor"]
                        + (1 - self.p["floor"]) * reach["extra_days"] / reach["tol"],
                    ),
                ),
            ),
        )
        reach["e"] = e * f
        ev = reach.groupby(["item", "threat_id"], as_index=False)["e"].max()
        ev = ev.rename(columns={"e": "ev"})
        items = r.assign(vkey=r["commodity"], mkey="", value=r["annual_value_usd"])
        items = items.merge(self.clients[["client_id", "b"]], on="client_id")
        items["weight"] = items["value"] / items["b"]
        return self._item_risk(items, ev, "route")

    def partial(self, risk: pd.DataFrame) -> pd.DataFrame:
        """Per client: the sums and maxima the rating needs, for this batch of items."""
        out = pd.DataFrame({"client_id": risk["client_id"], "n": 1, "value": risk["value"]})
        critical = risk["criticality"] >= self.p["min_crit"]
        for end in ("low", "central", "high"):
            out[f"s_{end}"] = risk["weight"] * np.log(np.maximum(1e-12, 1 - risk[f"R_{end}"]))
            out[f"w_{end}"] = np.where(critical, risk[f"R_{end}"], 0.0)
        return out.groupby("client_id").agg(
            n=("n", "sum"),
            value=("value", "sum"),
            **{f"s_{e}": (f"s_{e}", "sum") for e in ("low", "central", "high")},
            **{f"w_{e}": (f"w_{e}", "max") for e in ("low", "central", "high")},
        )

    def ratings(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        t = (
            pd.concat(parts)
            .groupby(level=0)
            .agg(
                {
                    "n": "sum",
                    "value": "sum",
                    **{f"s_{e}": "sum" for e in ("low", "central", "high")},
                    **{f"w_{e}": "max" for e in ("low", "central", "high")},
                }
            )
        )
        out = pd.DataFrame(index=t.index)
        for end in ("low", "central", "high"):
            ead = 1 - np.exp(t[f"s_{end}"])
            risk = 1 - (1 - ead) * (1 - self.p["worst_w"] * t[f"w_{end}"])
            out[f"risk_{end}"] = risk
        k = self.p["exponent"]
        out["score_low"] = 100 * (1 - out["risk_high"]) ** k
        out["score"] = 100 * (1 - out["risk_central"]) ** k
        out["score_high"] = 100 * (1 - out["risk_low"]) ** k
        edges = self.bands["min_score"].to_numpy()
        names = self.bands["band"].to_numpy()
        for col, band in (
            ("score_low", "band_low"),
            ("score", "band"),
            ("score_high", "band_high"),
        ):
            out[band] = names[np.searchsorted(edges, out[col].to_numpy(), side="right") - 1]
        out["n_items"] = t["n"]
        return out.reset_index()[
            [
                "client_id",
                "band",
                "score",
                "band_low",
                "score_low",
                "band_high",
                "score_high",
                "n_items",
            ]
        ]


def run(book: Path) -> pd.DataFrame:
    method = Method(book)
    method.clients["b"] = method.clients["business_value_usd"].fillna(method.p["default_bv"])
    parts = []
    for name, score in (("assets", method.assets), ("routes", method.routes)):
        path = book / f"{name}.parquet"
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            frame = batch.to_pandas()
            if len(frame):
                parts.append(method.partial(score(frame)))
    return method.ratings(parts)


def main() -> None:
    book, out = Path(sys.argv[1]), Path(sys.argv[2])
    run(book).to_parquet(out)


if __name__ == "__main__":
    main()
