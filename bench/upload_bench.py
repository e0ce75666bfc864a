"""Benchmark of the client-upload path, against the targets of issue 12.

    python bench/upload_bench.py [--rows 100000] [--repeat 5] [--detail]

Prints ``key: value`` lines, medians of ``--repeat`` runs measured in this one run:

  small_check_s        a 5-row CSV checked through the store's checker service, warm, as the
                       app does it (``Context.prepare_upload``)                target <= 1 s
  cli_small_check_s    ``resilience upload FILE --client C --dry-run`` of the same file in a
                       new CLI process, the service warm: interpreter, imports, the check
                       through the service and the preview with the rating  target <= 1 s
  cli_small_check_cold_s  the very first such command, when no service runs yet (it starts
                       the service and waits for its checker to warm up; no target)
  cli_help_s           ``resilience --help`` in a new process                  target <= 0.5 s
  rows_100k_s          100k asset rows checked (the warm service), geocoded once and
                       loaded as a new version into a fresh database          target <= 5 s
  rows_100k_check_s / rows_100k_load_s   the two parts of rows_100k_s
  checker_warmup_s     how long a new sandboxed checker takes to warm up (in the background)
  cli_help_cpu_s / cli_small_check_cpu_s   the CPU seconds (user + system) of those CLI
                       processes: what they cost without waiting for a busy machine's CPU
  small_check_child_cpu_s / rows_100k_check_child_cpu_s   the CPU seconds the sandboxed
                       checker spent on the file (the same, for the check itself)
  rows_100k_load_cpu_s the CPU seconds of this process while loading the 100k rows
  load_average         the machine's 1-minute load when the figures were taken (2 cores: a
                       load far above 2 makes every wall-clock figure wait)

The project's modules are byte-compiled first (``compileall``), as an installed package's
are: with ``PYTHONDONTWRITEBYTECODE`` set and an editable install, each new CLI process would
otherwise compile them again, which no user's installation does.

With ``--detail`` also the old per-kind figures (total, pipeline, peak memory, rejected rows)
of a 100k-asset and a 10k-route file.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
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


SMALL = (
    b"asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality\n"
    b"S1,London office,office,51.5072,-0.1276,London,GBR,25000000,4\n"
    b"S2,Paris office,office,,,Paris,France,12000000,3\n"
    b"S3,Dubai depot,warehouse,25.2048,55.2708,Dubai,ARE,8000000,2\n"
    b"S4,Baghdad liaison,office,,,Baghdad,Iraq,1500000,3\n"
    b"S5,Kuwait agency,office,,,,Kuwait,900000,2\n"
)


def _median(values: list[float]) -> float:
    return statistics.median(values)


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each CLI process, per figure: on a shared, loaded machine the
wall-clock figures wait for the CPU; these do not."""


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str, db: Path) -> float:
    exe = Path(sys.executable).with_name("resilience")
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([str(exe), "--db", str(db), *args], check=False, capture_output=True)
    CPU.setdefault("cli_help", []).append(_children_cpu() - cpu)
    return time.perf_counter() - started


def _cli_check(db: Path, small_file: Path, figure: str = "cli_small_check") -> float:
    exe = Path(sys.executable).with_name("resilience")
    args = [str(exe), "--db", str(db), "upload", str(small_file), "--client", "bench"]
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([*args, "--dry-run"], check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    CPU.setdefault(figure, []).append(_children_cpu() - cpu)
    assert "5 rows, 5 valid, 0 rejected" in done.stdout, done.stdout + done.stderr
    return seconds


def _new_store(db: Path) -> None:
    from engine.context import Context
    from engine.models import ClientSpec

    with Context(db) as ctx:
        ctx.init()
        ctx.upsert_client(
            ClientSpec(client_id="bench", name="Bench", sector="retail", hq_country="GBR")
        )
        ctx.current_run()


def targets(rows: int, repeat: int) -> None:
    import os

    from engine.context import EVERYONE, Context
    from exposures.upload import checker

    os.environ["RESILIENCE_CHECKER"] = "service"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        folder = checker.service_dir(db)
        try:
            _new_store(db)
            small_file = Path(tmp) / "small.csv"
            small_file.write_bytes(SMALL)
            # the very first check: no service runs yet
            print(f"cli_small_check_cold_s: {_cli_check(db, small_file, 'cold'):.2f}")
            warmups = [checker.wait_warm(folder)]
            cli_small = []
            for _ in range(repeat):
                cli_small.append(_cli_check(db, small_file))
                warmups.append(checker.wait_warm(folder))
            small, small_cpu = [], []
            with Context(db) as ctx:
                for _ in range(repeat):
                    started = time.perf_counter()
                    result = ctx.prepare_upload(
                        "bench", SMALL, "small.csv", "assets", scope=EVERYONE
                    )
                    small.append(time.perf_counter() - started)
                    small_cpu.append(result.stats.get("child_check_cpu_seconds", float("nan")))
                    assert result.report.rows_accepted == 5, result.report.lines()
                    warmups.append(checker.wait_warm(folder))
            print(f"small_check_s: {_median(small):.3f}")
            print(f"small_check_child_cpu_s: {_median(small_cpu):.3f}")
            print(f"cli_small_check_s: {_median(cli_small):.3f}")
            print(f"checker_warmup_s: {_median(warmups):.2f}")

            helps = [_cli("--help", db=db) for _ in range(repeat)]
            print(f"cli_help_s: {_median(helps):.3f}")
            print(f"cli_help_cpu_s: {_median(CPU['cli_help']):.3f}")
            print(f"cli_small_check_cpu_s: {_median(CPU['cli_small_check']):.3f}")

            big = asset_csv(rows)
            totals, checks, loads, check_cpu, load_cpu = [], [], [], [], []
            for i in range(repeat):
                load_db = Path(tmp) / f"load{i}.duckdb"  # the same folder: the same service
                _new_store(load_db)
                with Context(load_db) as ctx:
                    ctx.current_run()
                    checker.wait_warm(folder)
                    started = time.perf_counter()
                    prepared = ctx.prepare_upload(
                        "bench", big, "assets.csv", "assets", scope=EVERYONE
                    )
                    checked = time.perf_counter()
                    cpu = time.process_time()
                    outcome = ctx.commit_upload(
                        "bench", prepared, "assets", valid_only=True, scope=EVERYONE
                    )
                    done = time.perf_counter()
                    load_cpu.append(time.process_time() - cpu)
                    check_cpu.append(prepared.stats.get("child_check_cpu_seconds", float("nan")))
                    assert outcome.loaded, outcome.reason
                    totals.append(done - started)
                    checks.append(checked - started)
                    loads.append(done - checked)
            print(f"rows_100k_rows: {rows}")
            print(f"rows_100k_s: {_median(totals):.2f}")
            print(f"rows_100k_check_s: {_median(checks):.2f}")
            print(f"rows_100k_load_s: {_median(loads):.2f}")
            print(f"rows_100k_check_child_cpu_s: {_median(check_cpu):.2f}")
            print(f"rows_100k_load_cpu_s: {_median(load_cpu):.2f}")
        finally:
            checker.stop(folder)
    print(f"load_average: {os.getloadavg()[0]:.1f}")
    print("target_small_check_s: 1")
    print("target_cli_small_check_s: 1")
    print("target_cli_help_s: 0.5")
    print("target_rows_100k_s: 5")


def _compile() -> None:
    import compileall

    root = Path(__file__).resolve().parents[1]
    for package in ("core", "engine", "exposures", "scoring_rules"):
        compileall.compile_dir(root / package, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--detail", action="store_true", help="also the per-kind figures")
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--in-process", action="store_true", help="skip the sandbox (profiling)")
    args = parser.parse_args()
    _compile()
    targets(args.rows, args.repeat)
    if args.detail:
        run("assets", asset_csv(args.rows), args.in_process)
        run("routes", route_csv(args.routes), args.in_process)


if __name__ == "__main__":
    main()
