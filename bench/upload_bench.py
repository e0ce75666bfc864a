"""Benchmark of the client-upload path: parse + map + validate (+ geocode / port checks).

    python bench/upload_bench.py [--assets 100000] [--routes 10000] [--in-process]

Generates an asset CSV and a route CSV shaped like a client's export (mixed header spellings,
a few bad rows, cities without coordinates) and runs each through ``prepare_upload`` (the
sandboxed child process). Prints ``key: value`` lines:

  assets_rows / routes_rows       rows in each generated file
  assets_bytes / routes_bytes     file size
  assets_total_s / routes_total_s wall time of prepare_upload (child start-up and warm-up included)
  assets_pipeline_s / ...         time of read + map + validate inside the child
  assets_child_warmup_s / ...     child start-up: imports, expectation context, geocoder tables
  assets_child_peak_rss_mb / ...  peak resident memory of the child (ru_maxrss)
  assets_rejected / ...           rows rejected (the generator plants a few bad rows)
  target_assets_total_s           10      (target: total <= 10 s)
  target_assets_peak_rss_mb       1536    (target: peak <= 1.5 GB)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exposures.upload.pipeline import check_upload
from exposures.upload.sandbox import prepare_upload

TYPES = ["office", "plant", "Warehouse", "data centre", "terminal", "refinery", "retail store"]
PLACES = [
    (51.5072, -0.1276, "London", "GBR"),
    (48.8566, 2.3522, "Paris", "France"),
    (40.7128, -74.006, "New York", "USA"),
    (25.2048, 55.2708, "Dubai", "ARE"),
    (33.3152, 44.3661, "Baghdad", "IRQ"),
    (35.6762, 139.6503, "Tokyo", "JPN"),
    (-23.5505, -46.6333, "São Paulo", "BRA"),
    (52.52, 13.405, "Berlin", "DEU"),
]
PORTS = ["SARTA", "NLRTM", "Rotterdam", "Ras Tanura", "SGSIN", "CNSHA", "Jebel Ali", "USHOU"]
COMMODITIES = ["crude_oil", "lng", "containers", "dry bulk", "Chemicals", "general_cargo"]


def asset_csv(n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    lines = [
        "Asset ID,Site name,Type,Latitude,Longitude,City,Country,Value (USD),Tier,Staff,"
        "Service,Mitigations"
    ]
    for i in range(n):
        lat, lon, city, country = PLACES[i % len(PLACES)]
        if i % 10 == 3:  # placed by city and country
            coords = ","
        else:
            coords = f"{lat + rnd.uniform(-0.5, 0.5):.5f},{lon + rnd.uniform(-0.5, 0.5):.5f}"
        value = f"{rnd.randint(10_000, 500_000_000)}"
        if i % 1000 == 999:
            value = "n/a-bad"  # a planted error
        lines.append(
            f"A{i:07d},Site {i},{TYPES[i % len(TYPES)]},{coords},{city},{country},{value},"
            f"{1 + i % 5},{rnd.randint(0, 2000)},svc-{i % 20},backup_site; insurance"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def route_csv(n: int, seed: int = 11) -> bytes:
    rnd = random.Random(seed)
    lines = ["Route ID,Name,POL,POD,Cargo,Annual value,Shipments,Service,Tier"]
    for i in range(n):
        a, b = rnd.sample(PORTS, 2)
        lines.append(
            f"R{i:06d},Lane {i},{a},{b},{COMMODITIES[i % len(COMMODITIES)]},"
            f"{rnd.randint(1_000_000, 2_000_000_000)},{rnd.randint(1, 52)},svc-{i % 20},"
            f"{1 + i % 5}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(kind: str, data: bytes, in_process: bool) -> None:
    started = time.perf_counter()
    if in_process:
        result = check_upload(data, f"{kind}.csv", kind)
    else:
        result = prepare_upload(data, f"{kind}.csv", kind, timeout_s=300)
    total = time.perf_counter() - started
    report = result.report
    print(f"{kind}_rows: {report.rows_total}")
    print(f"{kind}_bytes: {len(data)}")
    print(f"{kind}_total_s: {total:.2f}")
    print(f"{kind}_pipeline_s: {result.stats.get('seconds', float('nan')):.2f}")
    print(f"{kind}_parse_s: {result.stats.get('parse_seconds', float('nan')):.2f}")
    if "child_warmup_seconds" in result.stats:
        print(f"{kind}_child_warmup_s: {result.stats['child_warmup_seconds']:.2f}")
    if "child_peak_rss_mb" in result.stats:
        print(f"{kind}_child_peak_rss_mb: {result.stats['child_peak_rss_mb']:.0f}")
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{kind}_process_peak_rss_mb: {peak:.0f}")
    print(f"{kind}_accepted: {report.rows_accepted}")
    print(f"{kind}_rejected: {report.rows_rejected}")
    print(f"{kind}_file_errors: {len(report.file_errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--in-process", action="store_true", help="skip the sandbox (profiling)")
    args = parser.parse_args()
    run("assets", asset_csv(args.assets), args.in_process)
    run("routes", route_csv(args.routes), args.in_process)
    print("target_assets_total_s: 10")
    print("target_assets_peak_rss_mb: 1536")


if __name__ == "__main__":
    main()
