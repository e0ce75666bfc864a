"""Many users at once on one PostgreSQL store: errors, lost writes, latency, and a kill -9.

What runs: a throwaway PostgreSQL cluster (tests/pgcluster.py, with fsync on), or ``--db URL``;
the demo book, one bench client per client session, and the bench users. Then, by default
(``--mode servers``), three real app servers, ``streamlit run app/streamlit_app.py`` on loopback
ports, all on that store, and ``--sessions`` (20) browser sessions spread over them
(bench/app_sessions.py): Playwright contexts in one headless Debian Chromium, each its own
Streamlit session over its own websocket, signed in with its own user before the clock starts,
then for ``--seconds`` (120):

- client users (16 of 20) browse their pages (Client, Alerts, Glossary) and upload a small CSV
  of their client's sites through the Upload page (check, then "Go"), 4 in 10 operations;
- analysts (``--analysts``, 4) browse the Portfolio, Threat register, Alerts and Rules pages and
  publish: change their own cell of the asset-vulnerability table on the Rules page, preview
  which ratings move, publish with a note, about 1 in 3 operations.

An error is an exception box or error message on a page, a step that did not load within
``STEP_TIMEOUT_MS``, or a result other than the one asked for. Every write a page acknowledged
("Loaded N rows as exposure version V", "Published rules version V") is journaled (fsynced)
before the session goes on. Midway, server 0 is killed with SIGKILL while one of its sessions
has clicked "Go" on an upload and waits for its acknowledgement; the operations that kill cut
off are counted apart, and those sessions sign in again on the other servers and go on.

``--mode workers`` keeps the earlier, lighter measure: three engine worker processes whose
session threads call the engine functions the pages call, through one ``Context`` per process
(no Streamlit, no browser): it measures the store and the engine alone.

Printed: ``errors``, ``lost_writes`` (journaled writes missing or different in the store: an
upload's version without exactly its sites, a rules version without the published cell),
``broken_versions`` (exposure versions whose rows do not match their header: a half-written
version), ``p95_ms`` and ``median_ms`` of one operation (from the click to the result shown),
the operation counts and whether the kill landed mid-upload. Loopback only: PostgreSQL listens
on a Unix socket and the app servers on 127.0.0.1; the sessions are bounded by ``--seconds``
and ``--max-ops``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from engine.book import load_demo
from engine.context import Context
from engine.models import ClientSpec
from engine.store import Scope

PROCESSES = 3
BENCH_PREFIX = "bench-session-"


def _assets(n: int, salt: int) -> pl.DataFrame:
    """``n`` sites for a bench client (Gulf and Red Sea places the gazetteer knows)."""
    places = [
        ("Kuwait City", "Kuwait", 29.3759, 47.9774),
        ("Basra", "Iraq", 30.5085, 47.7804),
        ("Dubai", "United Arab Emirates", 25.2048, 55.2708),
        ("Jeddah", "Saudi Arabia", 21.4858, 39.1925),
        ("Doha", "Qatar", 25.2854, 51.5310),
    ]
    rows = []
    for i in range(n):
        city, country, lat, lon = places[(i + salt) % len(places)]
        rows.append(
            {
                "asset_id": f"S-{i:03d}",
                "name": f"Site {i} v{salt}",
                "asset_type": "warehouse" if i % 2 else "office",
                "lat": str(lat),
                "lon": str(lon),
                "city": city,
                "country": country,
                "value_usd": str(1_000_000 * (1 + (i + salt) % 7)),
                "criticality": str(1 + (i + salt) % 5),
                "headcount": str(10 * (1 + i % 3)),
                "service_id": "",
                "mitigations": "insurance" if i % 3 == 0 else "",
            }
        )
    return pl.DataFrame(rows)


def setup(db: str, sessions: int) -> None:
    with Context(db) as ctx:
        load_demo(ctx)
        for s in range(sessions):
            cid = f"{BENCH_PREFIX}{s:02d}"
            ctx.upsert_client(
                ClientSpec(
                    client_id=cid,
                    name=f"Bench client {s}",
                    sector="logistics",
                    hq_country="ARE",
                    affiliations=[],
                    description="concurrency bench",
                    services=[],
                )
            )
            ctx.load_exposures(cid, _assets(3, 0), note="bench start")
        ctx.current_run()


def _retitled(register: Any, index: int, n: int) -> tuple[Any, str, str]:
    """``register`` with the title of one threat (the session's own) ending in a tag naming the
    session and operation: (the new register, the threat's id, its new title)."""
    doc = register.model_dump(mode="json")
    threat = doc["threats"][index % len(doc["threats"])]
    base = threat["title"].split(" [bench ", 1)[0]
    threat["title"] = f"{base} [bench {index}/{n}]"
    return type(register).model_validate(doc), threat["id"], threat["title"]


class Journal:
    """Committed writes, one JSON line each, flushed and fsynced before the session goes on."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._f.write(json.dumps(entry) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())


def _session(
    ctx: Context,
    index: int,
    deadline: float,
    max_ops: int,
    journal: Journal,
    results: dict[str, Any],
    uploading: Any,
) -> None:
    rnd = random.Random(index)
    client = f"{BENCH_PREFIX}{index:02d}"
    demo_clients = [
        c.client_id
        for c in ctx.clients(Scope.everything())
        if not c.client_id.startswith(BENCH_PREFIX)
    ]
    for n in range(max_ops):
        if time.monotonic() >= deadline:
            break
        pick = rnd.random()
        kind = "browse" if pick < 0.6 else "upload" if pick < 0.9 else "publish"
        started = time.perf_counter()
        try:
            if kind == "browse":
                run = ctx.current_run()
                ctx.ratings(run.run_id, Scope.everything())
                ctx.explain(rnd.choice(demo_clients), run.run_id, scope=Scope.everything())
            elif kind == "upload":
                n_sites = 2 + (n % 6)
                with uploading.get_lock():
                    uploading.value += 1
                try:
                    version = ctx.load_exposures(
                        client, _assets(n_sites, n), note=f"bench upload {n}"
                    )
                finally:
                    with uploading.get_lock():
                        uploading.value -= 1
                journal.record(
                    {
                        "kind": "upload",
                        "client": client,
                        "version": version,
                        "assets": n_sites,
                        "salt": n,
                    }
                )
            else:
                # a publish changes the document: one threat's title carries this session and
                # operation (the same document again would be refused as nothing to publish)
                changed, threat_id, title = _retitled(ctx.register(), index, n)
                version = ctx.publish_register(changed, note=f"bench publish {index}/{n}")
                journal.record(
                    {
                        "kind": "publish",
                        "version": version,
                        "threats": len(changed.threats),
                        "threat": threat_id,
                        "title": title,
                    }
                )
            results["ms"].append((time.perf_counter() - started) * 1000)
            results["ops"][kind] += 1
        except Exception as exc:  # the bench counts every failure a session would see
            frames = [
                f for f in traceback.extract_tb(exc.__traceback__) if "/engine/" in f.filename
            ]
            where = "".join(f" < {Path(f.filename).name}:{f.lineno}" for f in frames[-3:])
            results["errors"].append(f"{kind}: {type(exc).__name__}: {exc}{where}")
        time.sleep(rnd.uniform(0.05, 0.3))  # think time


def worker(
    db: str,
    sessions: list[int],
    seconds: float,
    max_ops: int,
    journal_path: str,
    out_path: str,
    uploading: Any,
) -> None:
    ctx = Context(db)
    journal = Journal(Path(journal_path))
    results: dict[str, Any] = {
        "ms": [],
        "errors": [],
        "ops": {"browse": 0, "upload": 0, "publish": 0},
    }
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_session, args=(ctx, i, deadline, max_ops, journal, results, uploading)
        )
        for i in sessions
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    Path(out_path).write_text(json.dumps(results), "utf-8")
    ctx.close()


def verify(db: str, journal_paths: list[Path]) -> tuple[int, int, list[str]]:
    """(lost writes, broken versions, what was wrong)."""
    problems: list[str] = []
    lost = broken = 0
    with Context(db) as ctx:
        for path in journal_paths:
            if not path.exists():
                continue
            for line in path.read_text("utf-8").splitlines():
                e = json.loads(line)
                if e["kind"] == "upload":
                    rows = ctx.store.rows(
                        "SELECT v.n_assets, count(a.asset_id), "
                        "string_agg(a.name, '|' ORDER BY a.asset_id) FROM exposure_versions v "
                        "LEFT JOIN assets a ON a.client_id = v.client_id AND a.version = v.version "
                        "WHERE v.client_id = $c AND v.version = $v GROUP BY v.n_assets",
                        {"c": e["client"], "v": e["version"]},
                    )
                    want = "|".join(f"Site {i} v{e['salt']}" for i in range(e["assets"]))
                    if rows != [(e["assets"], e["assets"], want)]:
                        lost += 1
                        problems.append(f"lost upload {e}: found {rows}")
                else:
                    n = ctx.store.one(
                        "SELECT count(*) FROM threats WHERE register_version = $v",
                        {"v": e["version"]},
                    )
                    titles = {t.id: t.title for t in ctx.register(e["version"]).threats}
                    if n != e["threats"] or titles.get(e["threat"]) != e["title"]:
                        lost += 1
                        problems.append(
                            f"lost publish {e}: {n} threats, title {titles.get(e['threat'])!r}"
                        )
        for cid, v, n_assets, found in ctx.store.rows(
            "SELECT v.client_id, v.version, v.n_assets, count(a.asset_id) FROM exposure_versions v "
            "LEFT JOIN assets a ON a.client_id = v.client_id AND a.version = v.version "
            "GROUP BY ALL HAVING count(a.asset_id) <> v.n_assets"
        ):
            broken += 1
            problems.append(f"version {cid} v{v}: header says {n_assets} sites, {found} stored")
    return lost, broken, problems


def workers_main(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        db = args.db
        if db is None:
            from tests.pgcluster import cluster

            db = stack.enter_context(cluster(durable=True)).new_database()
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resilience-conc-")))
        t0 = time.perf_counter()
        setup(db, args.sessions)
        print(f"setup_s: {time.perf_counter() - t0:.1f}")
        spread = [list(range(args.sessions))[p::PROCESSES] for p in range(PROCESSES)]
        spawn = mp.get_context("spawn")  # a fresh interpreter per server, as a deployment has
        uploading = [spawn.Value("i", 0) for _ in range(PROCESSES)]
        procs = []
        for p in range(PROCESSES):
            proc = spawn.Process(
                target=worker,
                args=(
                    db,
                    spread[p],
                    args.seconds,
                    args.max_ops,
                    str(tmp / f"journal{p}.jsonl"),
                    str(tmp / f"out{p}.json"),
                    uploading[p],
                ),
            )
            proc.start()
            procs.append(proc)
        killed_mid_upload = False
        if not args.no_kill:
            time.sleep(args.seconds / 2)
            waited = time.monotonic() + args.seconds / 4
            while time.monotonic() < waited and uploading[0].value == 0:
                time.sleep(0.005)
            killed_mid_upload = uploading[0].value > 0
            os.kill(procs[0].pid or 0, signal.SIGKILL)
        for proc in procs:
            proc.join(args.seconds + 300)
        survivors = range(1 if not args.no_kill else 0, PROCESSES)
        ms: list[float] = []
        errors: list[str] = []
        ops = {"browse": 0, "upload": 0, "publish": 0}
        for p in survivors:
            out = json.loads((tmp / f"out{p}.json").read_text("utf-8"))
            ms += out["ms"]
            errors += out["errors"]
            for k, v in out["ops"].items():
                ops[k] += v
        lost, broken, problems = verify(db, [tmp / f"journal{p}.jsonl" for p in range(PROCESSES)])
        p95 = statistics.quantiles(ms, n=20)[18] if len(ms) >= 20 else float("nan")
        print(f"processes: {PROCESSES}, sessions: {args.sessions}, seconds: {args.seconds:g}")
        print(f"operations: {sum(ops.values())} ({', '.join(f'{k} {v}' for k, v in ops.items())})")
        if args.no_kill:
            kill = "none"
        else:
            kill = "process 0 " + ("mid-upload" if killed_mid_upload else "(not mid-upload)")
        print(f"killed: {kill}")
        print(f"errors: {len(errors)}")
        print(f"lost_writes: {lost}")
        print(f"broken_versions: {broken}")
        print(f"p95_ms: {p95:.0f}")
        print(f"median_ms: {statistics.median(ms) if ms else float('nan'):.0f}")
        for line in (errors + problems)[:20]:
            print("  " + line)


# -- three real app servers, sessions in a browser (the default) ----------------------------------


def setup_servers(db: str, clients: int, analysts: int) -> list[tuple[str, str, str | None]]:
    """The demo book, one bench client per client session with its client user, and the analyst
    users; (username, role, client id or the analyst's row of the vulnerability table)."""
    from app.drafts import TABLES  # noqa: F401  (the table the analysts edit exists)
    from bench.app_sessions import PASSWORD
    from engine.auth.users import add_user

    setup(db, clients)
    users: list[tuple[str, str, str | None]] = []
    with Context(db) as ctx:
        rows = list(ctx.rules().model_dump()["vulnerability"]["assets"]["values"])
        if analysts > len(rows):
            raise SystemExit(f"at most {len(rows)} analyst sessions (one table row each)")
        for i in range(clients):
            name = f"bench-client-{i:02d}"
            add_user(ctx, name, PASSWORD, "client", client_id=f"{BENCH_PREFIX}{i:02d}")
            users.append((name, "client", f"{BENCH_PREFIX}{i:02d}"))
        for i in range(analysts):
            name = f"bench-analyst-{i:02d}"
            add_user(ctx, name, PASSWORD, "analyst")
            users.append((name, "analyst", rows[i]))
    return users


def verify_servers(db: str, journal: Path) -> tuple[int, int, list[str]]:
    """(lost writes, broken versions, what was wrong): every acknowledged upload is stored whole
    with its rows (as in ``verify``), every acknowledged rules version holds the cell its
    analyst published, and every exposure version's rows match its header."""
    from app.drafts import _get

    problems: list[str] = []
    lost = 0
    uploads = journal.with_name("uploads.jsonl")
    with uploads.open("w", encoding="utf-8") as only_uploads, Context(db) as ctx:
        for line in journal.read_text("utf-8").splitlines() if journal.exists() else []:
            e = json.loads(line)
            if e["kind"] == "upload":
                only_uploads.write(line + "\n")
                continue
            try:
                doc = ctx.rules(e["version"]).model_dump()
                got = _get(doc, "vulnerability.assets")["values"][e["row"]][e["column"]]
            except Exception as exc:  # a missing or unreadable version is a lost write
                got = f"unreadable ({type(exc).__name__}: {exc})"
            if got != e["value"]:
                lost += 1
                problems.append(f"lost publish {e}: found {got}")
    lost_uploads, broken, more = verify(db, [uploads])
    return lost + lost_uploads, broken, problems + more


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextlib.contextmanager
def _write_probe(db: str, app: str) -> Any:
    """A function telling whether the connections of application ``app`` (one app server) hold
    an open transaction that has written rows of an exposure version (its upload's commit under
    way): PostgreSQL's lock table, read over a connection of the bench's own."""
    import duckdb

    from engine.store import PG, attach_postgres

    con = duckdb.connect()
    attach_postgres(con, db)
    if app != "resilience-bench-server-0":
        raise ValueError(f"the probe watches server 0 ({app!r} is another)")
    sql = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN pg_class c ON c.oid = l.relation "
        "WHERE a.application_name = 'resilience-bench-server-0' AND l.mode = 'RowExclusiveLock' "
        "AND c.relname IN ('assets', 'exposure_versions') AND a.backend_xid IS NOT NULL"
    )
    lock = threading.Lock()

    def probe() -> int:
        with lock:
            row = con.execute(
                f"SELECT * FROM postgres_query('{PG}', $q)",  # noqa: S608 (the bench's own SQL)
                {"q": sql},
            ).fetchone()
        return int(row[0]) if row else 0

    try:
        yield probe
    finally:
        con.close()


def servers_main(args: argparse.Namespace) -> None:
    import asyncio

    from bench.app_sessions import Journal as AckJournal
    from bench.app_sessions import Session, app_name, drive, start_servers, stop_servers

    if args.analysts >= args.sessions:
        raise SystemExit("--analysts must leave some client sessions")
    with contextlib.ExitStack() as stack:
        db = args.db
        if db is None:
            from tests.pgcluster import cluster

            db = stack.enter_context(cluster(durable=True)).new_database()
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resilience-conc-")))
        t0 = time.perf_counter()
        users = setup_servers(db, args.sessions - args.analysts, args.analysts)
        print(f"setup_s: {time.perf_counter() - t0:.1f}")
        env = os.environ | {
            "RESILIENCE_FILES": str(tmp / "files"),  # this machine's folders for the store
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        env.pop("RESILIENCE_DEBUG", None)
        t0 = time.perf_counter()
        servers = start_servers(db, PROCESSES, tmp, env)
        stack.callback(stop_servers, servers)
        print(f"servers_up_s: {time.perf_counter() - t0:.1f}")
        sessions = [
            Session(
                index=i,
                username=name,
                role=role,
                client_id=extra if role == "client" else None,
                row=extra if role == "analyst" else None,
                value=None,
                server=servers[i % PROCESSES],
                seed=i,
            )
            for i, (name, role, extra) in enumerate(users)
        ]
        journal = AckJournal(tmp / "acknowledged.jsonl")
        probe = stack.enter_context(_write_probe(db, app_name(0)))
        cpu0 = _cpu()
        tally, killed = asyncio.run(
            drive(sessions, servers, args.seconds, args.max_ops, journal, not args.no_kill, probe)
        )
        journal.close()
        stop_servers(servers)
        cpu = _cpu() - cpu0
        lost, broken, problems = verify_servers(db, journal.path)
        ms = tally.ms
        p95 = (
            statistics.quantiles(ms, n=20, method="inclusive")[18]
            if len(ms) > 1
            else ms[0]
            if ms
            else float("nan")
        )
        print(
            f"servers: {PROCESSES} (streamlit run), sessions: {args.sessions} "
            f"({args.sessions - args.analysts} client users uploading, {args.analysts} analysts "
            f"publishing; all browsing), seconds: {args.seconds:g}"
        )
        print(
            f"operations: {sum(tally.ops.values())} "
            f"({', '.join(f'{k} {v}' for k, v in tally.ops.items())})"
        )
        if args.no_kill:
            kill = "none"
        else:
            where = (
                "mid-upload (its write transaction open in the store, before its commit)"
                if killed.get("mid_write")
                else "mid-upload (clicked Go, not acknowledged; no open write seen)"
                if killed.get("mid_upload")
                else "(no upload in flight)"
            )
            kill = (
                f"server 0 {where}; {tally.cut_off} operations cut off, "
                f"{tally.moved} sessions signed in again on the other servers"
            )
        print(
            f"sign_in_s: {killed.get('sign_in_s', float('nan')):.1f} "
            "(all sessions, before the clock)"
        )
        print(f"killed: {kill}")
        print(f"errors: {len(tally.errors)}")
        print(f"lost_writes: {lost}")
        print(f"broken_versions: {broken}")
        print(f"p95_ms: {p95:.0f}")
        print(f"median_ms: {statistics.median(ms) if ms else float('nan'):.0f}")
        print(
            f"checker_busy_retries: {tally.busy} (uploads told the checker is busy, then sent "
            "again)"
        )
        print(
            f"stale_drafts: {tally.stale_restarts} started again, {tally.stale_refused} "
            "publishes refused as stale (another analyst published first)"
        )
        print(
            f"cpu_s: {cpu:.0f} (this process and the app servers, user+system) over "
            f"{args.seconds:g} s; load_average: {os.getloadavg()[0]:.1f}"
        )
        for line in (tally.errors + problems)[:30]:
            print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=("servers", "workers"),
        default="servers",
        help="servers: three `streamlit run` app servers driven by browser sessions (default); "
        "workers: three engine worker processes with session threads (no Streamlit)",
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--analysts", type=int, default=4, help="servers mode: publishing users")
    parser.add_argument("--max-ops", type=int, default=2000, help="per session, a bound")
    parser.add_argument("--db", default=None, help="a postgresql:// URL (default: a new cluster)")
    parser.add_argument("--no-kill", action="store_true", help="do not kill a server midway")
    args = parser.parse_args()
    if args.mode == "workers":
        workers_main(args)
    else:
        servers_main(args)


if __name__ == "__main__":
    main()
