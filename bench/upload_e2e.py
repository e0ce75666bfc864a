"""End-to-end upload benchmark: bytes -> checked in the sandbox -> geocoded, routed, loaded.

    python bench/upload_e2e.py [--assets 100000] [--routes 10000]

Uses the files bench/upload_bench.py generates (mixed header spellings, cities without
coordinates, a few bad rows) and a demo database. Prints `key: value` lines:

  assets_check_s / routes_check_s    the sandboxed parse + map + validate (child start included)
  assets_load_s / routes_load_s      geocode (or route) + regions + classes + one transaction
  assets_total_s / routes_total_s    the two together (target for 100k assets: <= 10 s)
  assets_peak_rss_mb                 the larger of the child's peak and this process's growth
                                     during the load (target <= 1536)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from bench.upload_bench import asset_csv, route_csv
from engine.book import load_demo
from engine.context import EVERYONE, Context


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--routes", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resilience-upload-") as tmp:
        ctx = Context(Path(tmp) / "r.duckdb")
        load_demo(ctx)
        client = "nordhavn-container-lines"
        for kind, data in (("assets", asset_csv(args.assets)), ("routes", route_csv(args.routes))):
            base = rss_mb()
            t0 = time.perf_counter()
            prepared = ctx.prepare_upload(client, data, f"{kind}.csv", kind, scope=EVERYONE)
            t1 = time.perf_counter()
            out = ctx.commit_upload(client, prepared, kind, valid_only=True, scope=EVERYONE)  # type: ignore[arg-type]
            t2 = time.perf_counter()
            assert out.loaded, out.reason
            child = prepared.stats.get("child_peak_rss_mb", 0.0)
            parent_growth = max(
                0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
            )
            print(f"{kind}_rows: {prepared.report.rows_total}")
            print(f"{kind}_loaded: {out.rows_loaded}")
            print(f"{kind}_check_s: {t1 - t0:.2f}")
            print(f"{kind}_load_s: {t2 - t1:.2f}")
            print(f"{kind}_total_s: {t2 - t0:.2f}")
            print(f"{kind}_child_peak_rss_mb: {child:.0f}")
            print(f"{kind}_parent_rss_growth_mb: {parent_growth:.0f}")
            print(f"{kind}_peak_rss_mb: {max(child, parent_growth):.0f}")
        ctx.close()


if __name__ == "__main__":
    main()
