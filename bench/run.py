"""Benchmark of a full scoring run on a synthetic book, with the real register and rules.

    python bench/run.py --assets 10000000

Prints `key: value` lines measured in one run:
  full_run_s           the facade's run(): contributions, item risk, client ratings, all stored
  bare_join_s          a bare DuckDB join of the same assets to threat regions, grouped by client
                       and threat (the floor any scoring must pay)
  ratio_full_to_bare_join   target <= 1.5
  whatif_p50_ms        median time to re-score one 10k-asset client in an open connection
                       (target <= 20 ms, flat in book size)
  peak_rss_mb          peak resident memory of this process
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.context import Context
from scoring_rules.rules import default_rules_path, load_rules

ASSETS_PER_CLIENT = 10_000

# Where the synthetic sites are: (country, subdivision or '', hotspot or '', sea zone or '',
# weight). Mostly places the brief does not touch, a share in the Gulf and Iraq.
PLACES = [
    ("USA", "", "", "", 30),
    ("DEU", "", "", "", 15),
    ("GBR", "", "", "", 10),
    ("BRA", "", "", "", 8),
    ("JPN", "", "", "", 7),
    ("ARE", "AE-DU", "", "", 6),
    ("SAU", "", "", "sea.persian_gulf", 4),
    ("IRQ", "IQ-BG", "hotspot.baghdad_green_zone", "", 3),
    ("IRQ", "IQ-BA", "", "", 3),
    ("IRQ", "IQ-AR", "hotspot.erbil_airbase", "", 2),
    ("IRQ", "IQ-NI", "", "", 2),
    ("LBN", "LB-BA", "", "", 3),
    ("KWT", "", "", "", 3),
    ("IRQ", "IQ-AN", "hotspot.al_asad_airbase", "", 1),
    ("OMN", "", "", "sea.gulf_of_oman", 3),
]
# the vocabulary of the default rules
_RULES = load_rules(default_rules_path())
ASSET_TYPES = _RULES.asset_types
SECTORS = _RULES.sectors[:10]
COMMODITIES = _RULES.commodities
LANES = [  # chokepoints a synthetic route crosses, and its detour
    (["sea.hormuz", "sea.persian_gulf"], None, True),
    (["sea.bab_el_mandeb", "sea.suez", "sea.red_sea"], 9.0, False),
    (["sea.malacca"], 1.7, False),
    ([], None, False),
    (["sea.panama"], 12.0, False),
]


def build_book(ctx: Context, n_assets: int) -> int:
    """Write a synthetic book straight into the store (set-based SQL, no per-row Python)."""
    n_clients = max(1, n_assets // ASSETS_PER_CLIENT)
    n_routes = n_assets // 10
    with ctx.store.session() as cur:
        places = [p for p in PLACES for _ in range(p[4])]
        cur.execute("BEGIN TRANSACTION")
        cur.execute(
            """
            INSERT INTO clients
            SELECT 'c' || lpad(i::VARCHAR, 6, '0'), 'Client ' || i, $sectors[1 + i % len($sectors)],
                   'USA', CASE WHEN i % 3 = 0 THEN ['US'] WHEN i % 3 = 1 THEN ['US_ALLY']
                               ELSE ['NEUTRAL'] END, 'synthetic', now(), 1e10
            FROM range($n) t(i)
            """,
            {"n": n_clients, "sectors": SECTORS},
        )
        cur.execute(
            "INSERT INTO exposure_versions SELECT client_id, 1, now(), 'bench', 'bench', "
            "$per, 0 FROM clients",
            {"per": ASSETS_PER_CLIENT},
        )
        cur.execute("INSERT INTO exposure_current SELECT client_id, 1 FROM clients")
        cur.execute(
            "CREATE TEMP TABLE place AS SELECT * FROM (SELECT unnest($c) AS country, "
            "unnest($s) AS sub, unnest($h) AS hot, unnest($z) AS zone) "
            "t",
            {
                "c": [p[0] for p in places],
                "s": [p[1] for p in places],
                "h": [p[2] for p in places],
                "z": [p[3] for p in places],
            },
        )
        cur.execute(
            "CREATE TEMP TABLE place_n AS SELECT row_number() OVER () - 1 AS k, * FROM place"
        )
        # geo profiles: one per place, and per distance band for places near a hotspot
        cur.execute(
            """
            INSERT INTO geo_regions
            SELECT DISTINCT 'p' || p.k || '-' || d.d, r.region_id, r.distance_km, NULL, false, NULL
            FROM place_n p
            CROSS JOIN (SELECT range AS d FROM range(20)) d
            CROSS JOIN LATERAL (
                SELECT 'world' AS region_id, NULL::DOUBLE AS distance_km
                UNION ALL SELECT p.country, NULL
                UNION ALL SELECT p.sub, NULL WHERE p.sub <> ''
                UNION ALL SELECT p.hot, d.d::DOUBLE WHERE p.hot <> ''
                UNION ALL SELECT p.zone, NULL WHERE p.zone <> ''
            ) r
            WHERE p.hot <> '' OR d.d = 0
            """
        )
        cur.execute(
            """
            CREATE TEMP TABLE a0 AS
            SELECT 'c' || lpad((i // $per)::VARCHAR, 6, '0') AS client_id, i,
                   $types[1 + (hash(i) % len($types))::INT] AS asset_type,
                   p.country, nullif(p.sub, '') AS sub,
                   'p' || p.k || '-'
                       || CASE WHEN p.hot <> '' THEN hash(i) % 20 ELSE 0 END AS geo_key,
                   CASE WHEN i % 4 = 0 THEN ['backup_site', 'insurance'] ELSE [] END AS mitigations
            FROM range($n) t(i)
            JOIN place_n p ON p.k = hash(i * 31) % $np
            """,
            {"n": n_assets, "per": ASSETS_PER_CLIENT, "types": ASSET_TYPES, "np": len(places)},
        )
        cur.execute(
            """
            CREATE TEMP TABLE a1 AS
            SELECT *, dense_rank() OVER (PARTITION BY client_id
                                         ORDER BY geo_key, asset_type, mitigations)::INT AS class_id
            FROM a0
            """
        )
        cur.execute(
            """
            CREATE TEMP TABLE a2 AS
            SELECT *, 1e5 + (hash(i * 7) % 1000000)::DOUBLE * 100 AS value_usd,
                   1 + (hash(i * 13) % 5)::INT AS criticality
            FROM a1
            """
        )
        # what the loader stores per class: counts, value, highest criticality, headcount
        cur.execute(
            """
            INSERT INTO exposure_classes
            SELECT client_id, 1, class_id, 'asset', any_value(geo_key), any_value(asset_type),
                   any_value(asset_type), NULL, any_value(mitigations), NULL, count(*)::INT,
                   sum(value_usd), max(criticality), 10 * count(*)
            FROM a2 GROUP BY client_id, class_id ORDER BY client_id, class_id
            """
        )
        cur.execute(
            """
            INSERT INTO assets
            SELECT client_id, 1, 'A' || i, 'Site ' || i, asset_type, NULL, NULL, NULL, NULL,
                   country, sub, 'coordinates', value_usd, criticality, 10, NULL, mitigations,
                   class_id
            FROM a2 ORDER BY client_id
            """
        )
        for k, (regions, extra, no_alt) in enumerate(LANES):
            for region in ["world", *regions]:
                cur.execute(
                    "INSERT INTO geo_regions VALUES ($g, $region, NULL, $extra, $no_alt, NULL)",
                    {"g": f"lane{k}", "region": region, "extra": extra, "no_alt": no_alt},
                )
        cur.execute(
            """
            CREATE TEMP TABLE r0 AS
            SELECT 'c' || lpad(((i * 10) // $per)::VARCHAR, 6, '0') AS client_id, i,
                   $comms[1 + (hash(i) % len($comms))::INT] AS commodity,
                   'lane' || (hash(i * 17) % $nl) AS geo_key
            FROM range($n) t(i)
            """,
            {"n": n_routes, "per": ASSETS_PER_CLIENT, "comms": COMMODITIES, "nl": len(LANES)},
        )
        cur.execute(
            """
            CREATE TEMP TABLE r1 AS
            SELECT *, 100000 + dense_rank() OVER (PARTITION BY client_id
                                                  ORDER BY geo_key, commodity)::INT AS class_id,
                   1e6 + (hash(i * 3) % 1000000)::DOUBLE * 1000 AS value_usd,
                   1 + (hash(i) % 5)::INT AS criticality
            FROM r0
            """
        )
        cur.execute(
            """
            INSERT INTO exposure_classes
            SELECT client_id, 1, class_id, 'route', any_value(geo_key), any_value(commodity), NULL,
                   any_value(commodity), []::VARCHAR[], NULL, count(*)::INT, sum(value_usd),
                   max(criticality), 0
            FROM r1 GROUP BY client_id, class_id ORDER BY client_id, class_id
            """
        )
        cur.execute(
            """
            INSERT INTO routes
            SELECT client_id, 1, 'R' || i, 'Lane ' || i, 'X', 'Y', 'bench', commodity,
                   value_usd, 12, NULL, criticality, class_id
            FROM r1 ORDER BY client_id
            """
        )
        for t in ("a0", "a1", "a2", "r0", "r1"):
            cur.execute(f"DROP TABLE {t}")
        cur.execute("COMMIT")
        cur.execute("CHECKPOINT")
        return n_clients


# The floor any scoring pays: every asset joined to the regions that contain it (through its
# geo profile) and to the threats there, grouped by client and threat.
BARE_JOIN = """
SELECT a.client_id, tr.threat_id, count(*) AS n, max(tr.intensity) AS e
FROM assets a
JOIN exposure_classes k ON k.client_id = a.client_id AND k.version = a.version
                       AND k.class_id = a.class_id
JOIN geo_regions g ON g.geo_key = k.geo_key
JOIN run_threat_regions tr ON tr.run_id = $run_id AND tr.region_id = g.region_id
GROUP BY a.client_id, tr.threat_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000_000)
    parser.add_argument("--whatif-samples", type=int, default=30)
    parser.add_argument("--db", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resilience-bench-") as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        ctx = Context(db, memory_limit="12GB")
        ctx.init()
        t0 = time.perf_counter()
        n_clients = build_book(ctx, args.assets)
        print(f"assets: {args.assets}")
        print(f"routes: {args.assets // 10}")
        print(f"clients: {n_clients}")
        print(f"build_s: {time.perf_counter() - t0:.2f}")

        t0 = time.perf_counter()
        run = ctx.run()
        full = time.perf_counter() - t0
        n_contrib = ctx.store.one(
            "SELECT count(*) FROM run_contributions WHERE run_id = $r", {"r": run.run_id}
        )
        print(f"contributions: {n_contrib}")
        print(f"full_run_s: {full:.3f}")

        bare = []
        for _ in range(3):
            t0 = time.perf_counter()
            ctx.store.execute(BARE_JOIN, {"run_id": run.run_id}).fetchall()
            bare.append(time.perf_counter() - t0)
        bare_s = min(bare)
        print(f"bare_join_s: {bare_s:.3f}")
        print(f"ratio_full_to_bare_join: {full / bare_s:.2f}")

        clients = [
            r[0]
            for r in ctx.store.rows(
                "SELECT client_id FROM clients ORDER BY hash(client_id) LIMIT $k",
                {"k": args.whatif_samples},
            )
        ]
        ctx.rescore_client(run.run_id, clients[0])  # warm the plan cache
        times = []
        for cid in clients:
            t0 = time.perf_counter()
            ctx.rescore_client(run.run_id, cid)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"whatif_p50_ms: {statistics.median(times):.2f}")
        print(f"whatif_max_ms: {max(times):.2f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak_rss_mb: {peak:.0f}")
        ctx.close()


if __name__ == "__main__":
    main()
