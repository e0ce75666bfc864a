"""End-to-end benchmark: a synthetic book from Parquet files to ratings, against a floor and peers.

    python bench/book.py --assets 10000000 [--per-client 10000] [--pairs 120] [--dir DIR]

The book: ``--assets`` sites and a tenth as many sea routes, ``--per-client`` sites per client.
Sites are spread over the countries of the offline gazetteers the product uses: clustered
around GeoNames cities (weighted by population), around the searoute ports, a share around the
threat register's hotspots and in the countries it names; each has its own coordinates. Routes
run between ``--pairs`` pairs of major ports. Written as Parquet (``assets.parquet``,
``routes.parquet``, ``clients.yaml``), then, each step in a fresh child process:

  load_s      the product's book loader (engine.book.load_book: checks, geocoding, regions,
              exposure classes, routes from the port-pair cache, one transaction)
  score_s     the product's scoring run over the whole book
  e2e_s       load_s + score_s
  peak_rss_mb peak resident memory of the process that loaded and scored (its children
              included)
  floor_s     DuckDB reading the same assets Parquet, joining every site to its country and to
              the sea zone it lies in (point-in-polygon in SQL) and storing the result: the
              least any engine must do
  ratio_e2e_to_floor   target <= 3
  pandas_s, polars_s   the same method written as a peer would (bench/peers/), on the same files
  ratio_pandas_to_ours, ratio_polars_to_ours   e2e_s of the peer / ours (> 1: ours is faster)
  peers_match          every client's bands and scores equal ours (to 1e-6)
  whatif_p50_ms        median time to re-score one client of the loaded book (target <= 20)

Each timed step also prints its CPU seconds (``*_cpu_s``: user + system, all threads; the
peers' as children), and the ratios are given on CPU too: the machine may be shared, and wall
time then measures the neighbours as much as the code.

``route_cache_warm_s`` (routing the port pairs into the product's cache before the load, as a
book that has been loaded before finds them) and ``generate_s`` are printed but not counted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import yaml

MAJOR_PORTS = (
    *("NLRTM", "SGSIN", "CNSHA", "CNNGB", "USHOU", "USLAX", "USNYC", "DEHAM", "BEANR", "AEJEA"),
    *("SARTA", "QAMES", "JPYOK", "KRPUS", "INNSA", "EGPSD", "GBFXT", "ESALG", "ITGOA", "BRSSZ"),
    *("ZADUR", "AUSYD", "TWKHH", "HKHKG", "MYPKG", "LKCMB", "OMSLL", "IQUQR", "KWSAA", "FRLEH"),
    *("TRMER", "GRPIR"),
)
# Where a site is placed: around a city (by population), a port, a register hotspot, or a city
# of a country the register names.
ANCHORS = {"city": 0.72, "port": 0.13, "hotspot": 0.05, "threatened": 0.10}
TYPES_AT_PORTS = ("terminal", "warehouse", "refinery")
MITIGATION_SETS = (
    None,
    "backup_site",
    "insurance",
    "backup_site;insurance",
    "continuity_plan;insurance",
    "continuity_plan;cyber_certification",
)
ENDS = ("low", "central", "high")
GEN_ROWS = 500_000


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds (user + system) used so far: by this process (all its threads) or its
    finished children. The machine may be shared, so they are printed beside wall time."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


# -- the synthetic book ---------------------------------------------------------------------------


def _places() -> dict[str, Any]:
    """Cities, ports, hotspots and threatened countries from the product's own gazetteers."""
    from engine.context import Context
    from exposures.gazetteer import load_gazetteer
    from exposures.geocode import _cities
    from exposures.ports import _index

    cities = _cities()
    known = np.array([c is not None for c in cities.iso3])
    ports = [p for p in _index().by_locode.values() if p.country_iso3]
    with tempfile.TemporaryDirectory() as tmp, Context(Path(tmp) / "r.duckdb") as ctx:
        ctx.init()
        register = ctx.register()
        named = {r.region for t in register.threats for r in t.regions}
    gazetteer = load_gazetteer()
    hotspots = [h for h in gazetteer.hotspots() if h.id in named] or gazetteer.hotspots()
    countries = {r for r in named if len(r) == 3 and r.isupper()}
    threatened = known & np.isin(cities.iso3.astype(str), sorted(countries))
    return {
        "city_lat": cities.lat[known],
        "city_lon": cities.lon[known],
        "city_iso3": cities.iso3[known].astype(str),
        "city_name": np.array(cities.name, dtype=object)[known],
        "city_w": np.sqrt(cities.population[known].astype(float)),
        "thr_lat": cities.lat[threatened],
        "thr_lon": cities.lon[threatened],
        "thr_iso3": cities.iso3[threatened].astype(str),
        "thr_name": np.array(cities.name, dtype=object)[threatened],
        "thr_w": np.sqrt(cities.population[threatened].astype(float)),
        "port_lat": np.array([p.lat for p in ports]),
        "port_lon": np.array([p.lon for p in ports]),
        "port_iso3": np.array([p.country_iso3 for p in ports]),
        "port_name": np.array([p.name for p in ports], dtype=object),
        "hot_lat": np.array([h.lat for h in hotspots]),
        "hot_lon": np.array([h.lon for h in hotspots]),
        "hot_r": np.array([h.radius_km for h in hotspots]),
        "hot_iso3": np.array([h.country for h in hotspots]),
    }


def _rules_vocabulary() -> tuple[list[str], list[str], list[str], list[str]]:
    from scoring_rules.rules import default_rules_path, load_rules

    rules = load_rules(default_rules_path())
    return rules.sectors, rules.affiliations, rules.asset_types, rules.commodities


def _sites(rng: np.random.Generator, places: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    kind = rng.choice(len(ANCHORS), size=n, p=list(ANCHORS.values()))
    lat, lon = np.empty(n), np.empty(n)
    iso3 = np.empty(n, dtype=object)
    city = np.full(n, None, dtype=object)
    at_port = kind == 1
    for k, prefix, spread in ((0, "city", 0.06), (3, "thr", 0.05)):
        rows = np.flatnonzero(kind == k)
        w = places[f"{prefix}_w"]
        pick = rng.choice(len(w), size=len(rows), p=w / w.sum())
        lat[rows] = places[f"{prefix}_lat"][pick] + rng.normal(0, spread, len(rows))
        lon[rows] = places[f"{prefix}_lon"][pick] + rng.normal(0, spread, len(rows))
        iso3[rows] = places[f"{prefix}_iso3"][pick]
        city[rows] = places[f"{prefix}_name"][pick]
    rows = np.flatnonzero(at_port)
    pick = rng.integers(0, len(places["port_lat"]), len(rows))
    lat[rows] = places["port_lat"][pick] + rng.normal(0, 0.01, len(rows))
    lon[rows] = places["port_lon"][pick] + rng.normal(0, 0.01, len(rows))
    iso3[rows] = places["port_iso3"][pick]
    rows = np.flatnonzero(kind == 2)
    pick = rng.integers(0, len(places["hot_lat"]), len(rows))
    dist = places["hot_r"][pick] * 1.3 * np.sqrt(rng.random(len(rows)))
    bearing = rng.random(len(rows)) * 2 * np.pi
    lat[rows] = places["hot_lat"][pick] + dist / 111.2 * np.cos(bearing)
    lon[rows] = places["hot_lon"][pick] + dist / (
        111.2 * np.cos(np.radians(places["hot_lat"][pick]))
    ) * np.sin(bearing)
    iso3[rows] = places["hot_iso3"][pick]
    lat = np.clip(lat, -89.9, 89.9)
    lon = (lon + 180.0) % 360.0 - 180.0
    return {
        "lat": np.round(lat, 5),
        "lon": np.round(lon, 5),
        "iso3": iso3,
        "city": city,
        "port": at_port,
    }


def _ids(prefix: str, index: np.ndarray, width: int) -> pl.Series:
    digits = pl.Series(index).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), digits)).to_series()


def generate(book: Path, n_assets: int, per_client: int, n_pairs: int, seed: int) -> None:
    """Write the book's files (bounded memory: one slice of clients at a time)."""
    from exposures.ports import resolve_port

    rng = np.random.default_rng(seed)
    places = _places()
    sectors, affiliations, asset_types, commodities = _rules_vocabulary()
    n_clients = max(1, math.ceil(n_assets / per_client))
    ports = [p for p in MAJOR_PORTS if resolve_port(p)]
    all_pairs = [(a, b) for a in ports for b in ports if a != b]
    chosen = rng.choice(len(all_pairs), size=min(n_pairs, len(all_pairs)), replace=False)
    pairs = [all_pairs[i] for i in sorted(chosen)]
    book.mkdir(parents=True, exist_ok=True)
    clients = []
    for c in range(n_clients):
        services = [
            {"service_id": f"svc-{j}", "name": f"Service {j}", "tolerance_days": float(t)}
            for j, t in enumerate((3, 10, 30))
        ]
        clients.append(
            {
                "client_id": f"c{c:06d}",
                "name": f"Client {c}",
                "sector": str(sectors[c % len(sectors)]),
                "hq_country": "USA" if c % 3 else "GBR",
                "affiliations": [str(affiliations[c % len(affiliations)])],
                "business_value_usd": float(per_client) * 4e7 * (1 + (c % 7)),
                "services": services,
            }
        )
    (book / "clients.yaml").write_text(yaml.safe_dump(clients, sort_keys=False), "utf-8")
    a_writer = r_writer = None
    other_types = [t for t in asset_types if t not in (*TYPES_AT_PORTS, "flight_corridor")]
    made = 0
    clients_per_slice = max(1, GEN_ROWS // per_client)
    for first in range(0, n_clients, clients_per_slice):
        ids = range(first, min(n_clients, first + clients_per_slice))
        counts = [min(per_client, n_assets - c * per_client) for c in ids]
        n = sum(counts)
        client = np.repeat([f"c{c:06d}" for c in ids], counts)
        site = _sites(rng, places, n)
        index = np.arange(made, made + n)
        types = np.where(
            site["port"],
            np.array(TYPES_AT_PORTS)[rng.integers(0, len(TYPES_AT_PORTS), n)],
            np.array(other_types)[rng.integers(0, len(other_types), n)],
        )
        mitigations = np.array(MITIGATION_SETS, dtype=object)[
            rng.integers(0, len(MITIGATION_SETS), n)
        ]
        assets = pl.DataFrame(
            {
                "client_id": client,
                "asset_id": _ids("A", index, 9),
                "name": _ids("Site ", index, 1),
                "asset_type": types,
                "lat": site["lat"],
                "lon": site["lon"],
                "city": pl.Series(site["city"].tolist(), dtype=pl.String),
                "country": pl.Series(site["iso3"].tolist(), dtype=pl.String),
                "value_usd": np.round(rng.lognormal(15.5, 1.6, n), 0),
                "criticality": rng.integers(1, 6, n),
                "headcount": np.round(rng.lognormal(3.0, 1.3, n)).astype(np.int64),
                "service_id": np.array(["svc-0", "svc-1", "svc-2"])[rng.integers(0, 3, n)],
                "mitigations": pl.Series(mitigations.tolist(), dtype=pl.String),
            }
        )
        n_routes = [max(1, k // 10) for k in counts]
        m = sum(n_routes)
        pair = rng.integers(0, len(pairs), m)
        routes = pl.DataFrame(
            {
                "client_id": np.repeat([f"c{c:06d}" for c in ids], n_routes),
                "route_id": _ids("R", np.arange(made, made + m), 9),
                "name": _ids("Lane ", np.arange(made, made + m), 1),
                "origin": np.array([p[0] for p in pairs])[pair],
                "destination": np.array([p[1] for p in pairs])[pair],
                "commodity": np.array(commodities)[rng.integers(0, len(commodities), m)],
                "annual_value_usd": np.round(rng.lognormal(18.0, 1.2, m), 0),
                "shipments_per_year": rng.integers(1, 53, m),
                "service_id": np.array(["svc-0", "svc-1", "svc-2", None], dtype=object)[
                    rng.integers(0, 4, m)
                ].tolist(),
                "criticality": rng.integers(1, 6, m),
            }
        )
        a_table, r_table = assets.to_arrow(), routes.to_arrow()
        if a_writer is None:
            a_writer = pq.ParquetWriter(book / "assets.parquet", a_table.schema)
            r_writer = pq.ParquetWriter(book / "routes.parquet", r_table.schema)
        assert r_writer is not None
        a_writer.write_table(a_table, row_group_size=GEN_ROWS)
        r_writer.write_table(r_table, row_group_size=GEN_ROWS)
        made += n
    if a_writer is not None and r_writer is not None:
        a_writer.close()
        r_writer.close()
    (book / "pairs.json").write_text(json.dumps(pairs), "utf-8")


# -- the product -----------------------------------------------------------------------------------


def product(book: Path, db: Path, memory_limit: str, profile: Path | None) -> dict[str, Any]:
    """Load and score the book with the product; write its ratings and the peers' inputs.

    With ``profile``, the load and the run are profiled (cProfile: the work is in vector calls,
    so its overhead is small) and the statistics written there.
    """
    import cProfile

    from engine.book import load_book
    from engine.context import Context
    from exposures.ports import resolve_port

    out: dict[str, Any] = {}
    with Context(db, memory_limit=memory_limit) as ctx:
        ctx.init()
        started = time.perf_counter()
        for origin, destination in json.loads((book / "pairs.json").read_text("utf-8")):
            ctx.route(resolve_port(origin), resolve_port(destination))
        out["route_cache_warm_s"] = time.perf_counter() - started
        profiler = cProfile.Profile() if profile is not None else None
        if profiler is not None:
            profiler.enable()
        started, cpu = time.perf_counter(), _cpu_s()
        load_book(ctx, book)
        out["load_s"] = time.perf_counter() - started
        out["load_cpu_s"] = _cpu_s() - cpu
        started, cpu = time.perf_counter(), _cpu_s()
        run = ctx.run()
        out["score_s"] = time.perf_counter() - started
        out["score_cpu_s"] = _cpu_s() - cpu
        out["peak_rss_mb"] = _rss_mb()
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        _frame(
            ctx,
            "SELECT client_id, band, score, band_low, score_low, band_high, score_high, n_items "
            "FROM run_clients WHERE run_id = $r",
            {"r": run.run_id},
        ).write_parquet(book / "ours.parquet")
        _method_files(ctx, book, run.run_id)
        out["n_classes"] = ctx.store.one("SELECT count(*) FROM exposure_classes")
        out["n_geo_profiles"] = ctx.store.one("SELECT count(DISTINCT geo_key) FROM geo_regions")
    return out


def _frame(ctx: Any, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    frame: pl.DataFrame = ctx.store.frame(sql, params)
    return frame


def _method_files(ctx: Any, book: Path, run_id: int) -> None:
    """The method's inputs as flat files for the peers (bench/peers/reference.py)."""
    from engine.scoring import score_params
    from exposures.gazetteer import load_gazetteer
    from exposures.geocode import _cities, _parent_subdivisions

    folder = book / "method"
    folder.mkdir(exist_ok=True)
    info = ctx.run_info(run_id)
    rv = {"r": run_id, "v": info.rules_version}
    queries = {
        "threats": "SELECT threat_id, category, severity, p_low, p_central, p_high, window_share, "
        "untargeted, t_affiliations, t_sectors, t_asset_types, t_commodities FROM run_threats "
        "WHERE run_id = $r",
        "threat_regions": "SELECT threat_id, region_id, intensity FROM run_threat_regions "
        "WHERE run_id = $r",
        "rule_sector": "SELECT category, sector, factor FROM rule_sector WHERE rules_version = $v",
        "rule_vuln": "SELECT item_kind, category, key, factor FROM rule_vuln "
        "WHERE rules_version = $v",
        "rule_mitigation": "SELECT mitigation, category, credit FROM rule_mitigation "
        "WHERE rules_version = $v",
        "rule_bands": "SELECT band, min_score FROM rule_bands WHERE rules_version = $v",
        "hotspots": "SELECT region_id, lat, lon, radius_km FROM regions WHERE kind = 'hotspot'",
        "clients": "SELECT client_id, sector, affiliations, business_value_usd FROM clients",
        "services": "SELECT client_id, service_id, tolerance_days FROM services",
        "route_pairs": "SELECT DISTINCT r.origin, r.destination, g.region_id, g.distance_km, "
        "g.extra_days, g.no_alternative, g.alt_ratio FROM routes r "
        "JOIN exposure_current x USING (client_id, version) "
        "JOIN exposure_classes k USING (client_id, version, class_id) "
        "JOIN geo_regions g ON g.geo_key = k.geo_key",
    }
    floats = ("distance_km", "extra_days", "alt_ratio", "business_value_usd", "tolerance_days")
    for name, sql in queries.items():
        params = {k: v for k, v in rv.items() if f"${k}" in sql}
        frame = _frame(ctx, sql, params)
        frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in floats if c in frame.columns)
        frame.write_parquet(folder / f"{name}.parquet")
    cities = _cities()
    pl.DataFrame(
        {
            "lat": cities.lat,
            "lon": cities.lon,
            "iso3": pl.Series(cities.iso3.tolist(), dtype=pl.String),
            "subdivision": pl.Series(cities.subdivision.tolist(), dtype=pl.String),
        }
    ).write_parquet(folder / "cities.parquet")
    subs = sorted({str(s) for s in cities.subdivision if s is not None})
    parents = [(s, p) for s in subs for p in _parent_subdivisions(s)]
    pl.DataFrame(
        parents, schema={"subdivision": pl.String, "parent": pl.String}, orient="row"
    ).write_parquet(folder / "parents.parquet")
    zones = load_gazetteer().sea_zones()
    pl.DataFrame(
        {"region_id": [z.id for z in zones], "wkt": [z.shape().wkt for z in zones]}  # type: ignore[union-attr]
    ).write_parquet(folder / "sea_zones.parquet")
    params = score_params(run_id, info.rules_version, ctx.rules(info.rules_version))
    (folder / "params.json").write_text(json.dumps(params), "utf-8")


def whatif(db: Path, samples: int, memory_limit: str) -> dict[str, Any]:
    """Median time to re-score one client of the loaded book (the what-if path), in an open
    connection, over ``samples`` clients."""
    import statistics

    from engine.context import Context

    with Context(db, memory_limit=memory_limit) as ctx:
        run = ctx.current_run()
        clients = [
            r[0]
            for r in ctx.store.rows(
                "SELECT client_id FROM clients ORDER BY hash(client_id) LIMIT $k", {"k": samples}
            )
        ]
        ctx.rescore_client(run.run_id, clients[0])  # plans and caches warm
        times, cpu = [], []
        for cid in clients:
            started, used = time.perf_counter(), time.process_time()
            ctx.rescore_client(run.run_id, cid)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
    return {
        "whatif_p50_ms": statistics.median(times),
        "whatif_max_ms": max(times),
        "whatif_cpu_p50_ms": statistics.median(cpu),
    }


# -- the floor ---------------------------------------------------------------------------------


def floor(book: Path) -> dict[str, Any]:
    """DuckDB: read the assets, join each to its country and its sea zone, store the result."""
    import duckdb
    import pycountry

    from exposures.gazetteer import load_gazetteer

    edges, boxes = [], []
    for zone in load_gazetteer().sea_zones():
        ring = list(zone.polygon)
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if y1 != y2:
                edges.append((zone.id, x1, y1, x2, y2))
        xs, ys = [x for x, _ in ring], [y for _, y in ring]
        boxes.append((zone.id, min(xs), min(ys), max(xs), max(ys)))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '4GB'")
    con.execute(
        "CREATE TABLE edges (region_id VARCHAR, x1 DOUBLE, y1 DOUBLE, x2 DOUBLE, y2 DOUBLE)"
    )
    con.executemany("INSERT INTO edges VALUES (?, ?, ?, ?, ?)", edges)
    con.execute(
        "CREATE TABLE boxes (region_id VARCHAR, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE)"
    )
    con.executemany("INSERT INTO boxes VALUES (?, ?, ?, ?, ?)", boxes)
    con.execute("CREATE TABLE countries (iso3 VARCHAR PRIMARY KEY, name VARCHAR)")
    con.executemany(
        "INSERT INTO countries VALUES (?, ?)", [(c.alpha_3, c.name) for c in pycountry.countries]
    )
    path = str(book / "assets.parquet")
    started, cpu = time.perf_counter(), _cpu_s()
    con.execute(
        """
        CREATE TABLE placed AS
        WITH a AS (SELECT * FROM read_parquet($p)),
        cand AS (
            SELECT a.client_id, a.asset_id, a.lat, a.lon, b.region_id
            FROM a JOIN boxes b ON a.lon BETWEEN b.x0 AND b.x1 AND a.lat BETWEEN b.y0 AND b.y1
        ),
        inside AS (
            SELECT c.client_id, c.asset_id, c.region_id
            FROM cand c JOIN edges e USING (region_id)
            WHERE (e.y1 > c.lat) <> (e.y2 > c.lat)
              AND c.lon < (e.x2 - e.x1) * (c.lat - e.y1) / (e.y2 - e.y1) + e.x1
            GROUP BY ALL HAVING count(*) % 2 = 1
        )
        SELECT a.*, k.name AS country_name, i.region_id AS sea_zone
        FROM a JOIN countries k ON k.iso3 = a.country
        LEFT JOIN inside i USING (client_id, asset_id)
        """,
        {"p": path},
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_s() - cpu
    row = con.execute("SELECT count(*), count(sea_zone) FROM placed").fetchone()
    con.close()
    return {
        "floor_s": seconds,
        "floor_cpu_s": cpu,
        "floor_rows": row[0] if row else 0,
        "floor_at_sea_zone": row[1] if row else 0,
    }


# -- orchestration -------------------------------------------------------------------------------


def _child(stage: str, *args: str) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; it prints one JSON line."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, *args]
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    value: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return value


def _peer(module: str, book: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one peer, run in a child process."""
    started, cpu = time.perf_counter(), _cpu_s(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", module, str(book), str(out)], check=True, cwd=ROOT)
    return time.perf_counter() - started, _cpu_s(resource.RUSAGE_CHILDREN) - cpu


def compare(ours: pl.DataFrame, theirs: pl.DataFrame) -> int:
    """How many clients' ratings differ (band, or a score by more than 1e-6)."""
    joined = ours.join(theirs, on="client_id", how="full", suffix="_p")
    differ = pl.lit(False)
    for band in ("band", "band_low", "band_high"):
        differ = differ | (pl.col(band) != pl.col(f"{band}_p")).fill_null(True)
    for score in ("score", "score_low", "score_high"):
        differ = differ | ((pl.col(score) - pl.col(f"{score}_p")).abs() > 1e-6).fill_null(True)
    differ = differ | (pl.col("n_items") != pl.col("n_items_p")).fill_null(True)
    return int(joined.select(differ.sum()).item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000_000)
    parser.add_argument("--per-client", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=120, help="distinct port pairs of the routes")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--dir", type=Path, default=None, help="keep the book here")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's memory limit")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the book files --dir holds from a run before"
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile our load and run")
    parser.add_argument("--whatif-samples", type=int, default=20)
    parser.add_argument(
        "--stage", choices=["generate", "product", "whatif", "floor"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.stage:
        book = args.dir
        if args.stage == "generate":
            generate(book, args.assets, args.per_client, args.pairs, args.seed)
            print(json.dumps({}))
        elif args.stage == "product":
            print(json.dumps(product(book, book / "bench.duckdb", args.memory_limit, args.profile)))
        elif args.stage == "whatif":
            print(json.dumps(whatif(book / "bench.duckdb", args.whatif_samples, args.memory_limit)))
        else:
            print(json.dumps(floor(book)))
        return

    tmp = None
    if args.dir is None:
        tmp = tempfile.mkdtemp(prefix="resilience-book-")
        book = Path(tmp)
    else:
        book = args.dir
        book.mkdir(parents=True, exist_ok=True)
    try:
        common = ["--dir", str(book)]
        started = time.perf_counter()
        reused = (
            args.reuse
            and (book / "assets.parquet").exists()
            and (pq.ParquetFile(book / "assets.parquet").metadata.num_rows == args.assets)
        )
        if not reused:
            _child(
                "generate",
                *common,
                "--assets",
                str(args.assets),
                "--per-client",
                str(args.per_client),
                "--pairs",
                str(args.pairs),
                "--seed",
                str(args.seed),
            )
        n_routes = pq.ParquetFile(book / "routes.parquet").metadata.num_rows
        print(f"assets: {args.assets}")
        print(f"routes: {n_routes}")
        print(f"clients: {math.ceil(args.assets / args.per_client)}")
        print(f"generate_s: {time.perf_counter() - started:.2f}")
        for stale in ("bench.duckdb", "bench.duckdb.wal"):
            (book / stale).unlink(missing_ok=True)
        extra = ["--profile", str(args.profile.resolve())] if args.profile else []
        ours = _child("product", *common, "--memory-limit", args.memory_limit, *extra)
        e2e = ours["load_s"] + ours["score_s"]
        e2e_cpu = ours["load_cpu_s"] + ours["score_cpu_s"]
        print(f"route_cache_warm_s: {ours['route_cache_warm_s']:.2f}")
        print(f"load_s: {ours['load_s']:.2f}")
        print(f"load_cpu_s: {ours['load_cpu_s']:.2f}")
        print(f"score_s: {ours['score_s']:.2f}")
        print(f"score_cpu_s: {ours['score_cpu_s']:.2f}")
        print(f"e2e_s: {e2e:.2f}")
        print(f"e2e_cpu_s: {e2e_cpu:.2f}")
        print(f"peak_rss_mb: {ours['peak_rss_mb']:.0f}")
        print(f"exposure_classes: {ours['n_classes']}")
        print(f"geo_profiles: {ours['n_geo_profiles']}")
        wi = _child("whatif", *common, "--whatif-samples", str(args.whatif_samples))
        print(f"whatif_p50_ms: {wi['whatif_p50_ms']:.1f}")
        print(f"whatif_max_ms: {wi['whatif_max_ms']:.1f}")
        print(f"whatif_cpu_p50_ms: {wi['whatif_cpu_p50_ms']:.1f}")
        fl = _child("floor", *common)
        print(f"floor_s: {fl['floor_s']:.2f}")
        print(f"floor_cpu_s: {fl['floor_cpu_s']:.2f}")
        print(f"floor_rows_at_sea: {fl['floor_at_sea_zone']}")
        print(f"ratio_e2e_to_floor: {e2e / fl['floor_s']:.2f}")
        print(f"ratio_e2e_to_floor_cpu: {e2e_cpu / max(fl['floor_cpu_s'], 1e-9):.2f}")
        if not args.no_peers:
            mine = pl.read_parquet(book / "ours.parquet")
            for name in ("pandas", "polars"):
                out = book / f"{name}.parquet"
                seconds, cpu = _peer(f"bench.peers.{name}_peer", book, out)
                differ = compare(mine, pl.read_parquet(out))
                print(f"{name}_s: {seconds:.2f}")
                print(f"{name}_cpu_s: {cpu:.2f}")
                print(f"ratio_{name}_to_ours: {seconds / e2e:.2f}")
                print(f"ratio_{name}_to_ours_cpu: {cpu / e2e_cpu:.2f}")
                print(f"{name}_ratings_differ: {differ}")
            print(
                "peers_match: "
                + str(
                    all(
                        compare(mine, pl.read_parquet(book / f"{n}.parquet")) == 0
                        for n in ("pandas", "polars")
                    )
                ).lower()
            )
        print("target_ratio_e2e_to_floor: 3")
        print("target_peak_rss_mb: 2000")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
