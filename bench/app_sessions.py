"""Browser sessions for bench/concurrency.py: real Streamlit app servers, driven by Chromium.

Three ``streamlit run app/streamlit_app.py`` processes serve one PostgreSQL store on loopback
ports; every simulated session is a Playwright browser context (its own cookies, its own
Streamlit session over its own websocket) in one headless Debian Chromium, all driven at once
from one asyncio loop. A session signs in, then loops until the deadline over what its user
does: browse pages (sidebar links), upload a small CSV through the Upload page (client users),
publish a changed weight on the Rules page with a note (analysts). What a session counts:

- an operation's time, from the click until the page's script run ended and its result shows;
- an error: an exception box, an error message, a page that did not load (a timeout), or a
  result other than the one asked for;
- every write the page acknowledged ("Loaded N rows as exposure version V", "Published rules
  version V"), appended to a journal that the bench checks in the store afterwards.

Loopback only: the servers listen on 127.0.0.1, Chromium opens nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app" / "streamlit_app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 180_000  # one step may take this long before it counts as a failed load
SIGN_IN_TIMEOUT_MS = 900_000  # before the clock starts
PASSWORD = "bench-session-password-1"
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
CLIENT_PAGES = ("Client", "Alerts", "Glossary")
ANALYST_PAGES = ("Portfolio", "Threat register", "Alerts", "Rules")
# the cells of the asset-vulnerability table each analyst session changes (one row each, so two
# analysts never publish the same cell)
ANALYST_COLUMN = "office"
BUSY = "the checker is busy, try again in a moment"
BUSY_RETRIES = 6
BUSY_PAUSE_MS = 3_000
STALE = "since this draft began"
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))  # each operation on stdout as it ends


def csv_for(n_sites: int, salt: int) -> bytes:
    """A clean upload of ``n_sites`` sites whose names carry ``salt`` (checked afterwards)."""
    places = [
        ("Kuwait City", "Kuwait", 29.3759, 47.9774),
        ("Basra", "Iraq", 30.5085, 47.7804),
        ("Dubai", "United Arab Emirates", 25.2048, 55.2708),
        ("Jeddah", "Saudi Arabia", 21.4858, 39.1925),
        ("Doha", "Qatar", 25.2854, 51.5310),
    ]
    lines = ["asset_id,name,asset_type,lat,lon,country,value_usd,criticality"]
    for i in range(n_sites):
        _, country, lat, lon = places[(i + salt) % len(places)]
        kind = "warehouse" if i % 2 else "office"
        value = 1_000_000 * (1 + (i + salt) % 7)
        lines.append(
            f"S-{i:03d},Site {i} v{salt},{kind},{lat},{lon},{country},{value},{1 + (i + salt) % 5}"
        )
    return ("\n".join(lines) + "\n").encode()


# -- the servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    index: int
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None


def app_name(index: int) -> str:
    """The PostgreSQL application name of app server ``index``'s connections."""
    return f"resilience-bench-server-{index}"


def start_servers(db: str, n: int, folder: Path, env: dict[str, str]) -> list[Server]:
    """``n`` app servers on free loopback ports, on the store ``db``; waits for each health
    check (a server that does not come up stops the bench with its log)."""
    from tests.app.live import free_port

    servers = []
    for i in range(n):
        port = free_port()
        log = folder / f"server{i}.log"
        args = [
            sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false", "--", "--db", db,
        ]  # fmt: skip
        # the server's connections carry its name in the store (pg_stat_activity), so the bench
        # can see when one of its write transactions is open (the kill mid-upload)
        own = env | {"PGAPPNAME": app_name(i)}
        with log.open("w") as out:
            proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=own)
        servers.append(Server(i, port, proc, log))
    deadline = time.monotonic() + 180
    for s in servers:
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{s.url}/_stcore/health", timeout=2) as r,
            ):
                if r.read() == b"ok":
                    break
            if not s.alive() or time.monotonic() > deadline:
                stop_servers(servers)
                raise RuntimeError(f"app server {s.index} did not start:\n{s.log.read_text()}")
            time.sleep(0.3)
    return servers


def stop_servers(servers: list[Server]) -> None:
    for s in servers:
        if s.alive():
            s.proc.terminate()
    for s in servers:
        try:
            s.proc.wait(20)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait(5)


# -- the sessions ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """What all sessions saw."""

    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=lambda: {"browse": 0, "upload": 0, "publish": 0})
    cut_off: int = 0  # operations cut by the kill of their server (not errors)
    moved: int = 0  # sessions that signed in again on another server after the kill
    uploading: dict[int, int] = field(default_factory=dict)  # server -> uploads in flight
    stale_restarts: int = 0  # drafts started again because another analyst published first
    stale_refused: int = 0  # publishes refused as stale (another analyst published meanwhile)
    busy: int = 0  # uploads told "the checker is busy, try again in a moment" (then retried)


class Journal:
    """Acknowledged writes, one JSON line each, flushed and fsynced before the session goes on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = path.open("a", encoding="utf-8")

    def record(self, entry: dict[str, Any]) -> None:
        self._f.write(json.dumps(entry) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class ServerGone(Exception):
    """The session's server died (the kill): the operation is cut off, not an error."""


@dataclass
class Session:
    index: int
    username: str
    role: str  # "client" or "analyst"
    client_id: str | None
    row: str | None  # the analyst's row of the asset-vulnerability table
    value: float | None  # the analyst's cell value now published
    server: Server
    seed: int


async def _settle(page: Any, timeout_ms: float = STEP_TIMEOUT_MS) -> None:
    """Until the script run ended (no running-man status widget)."""
    await page.wait_for_timeout(150)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms,
    )


async def _check(page: Any, what: str) -> None:
    shown = page.locator(ERRORS)
    if await shown.count():
        text = (await shown.first.inner_text()).strip().replace("\n", " ")[:200]
        raise AssertionError(f"{what}: the page shows an error: {text}")


async def _sign_in(page: Any, s: Session) -> None:
    """Sign in (a server's first sessions wait while it opens the store and scores the current
    run, so this step may take up to ``SIGN_IN_TIMEOUT_MS``)."""
    await page.goto(s.server.url, timeout=SIGN_IN_TIMEOUT_MS)
    await page.get_by_role("textbox", name="Username").fill(s.username, timeout=SIGN_IN_TIMEOUT_MS)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_test_id("stSidebarNav").wait_for(timeout=SIGN_IN_TIMEOUT_MS)
    await _settle(page, SIGN_IN_TIMEOUT_MS)  # the first page run after a sign-in, still unclocked
    await _check(page, "sign-in")


async def _go(page: Any, link: str) -> None:
    nav = page.get_by_test_id("stSidebarNav")
    await nav.get_by_role("link", name=link, exact=True).click()
    await _settle(page)


async def _browse(page: Any, s: Session, rnd: random.Random) -> None:
    link = rnd.choice(CLIENT_PAGES if s.role == "client" else ANALYST_PAGES)
    await _go(page, link)
    await page.get_by_test_id("stMain").get_by_role("heading").first.wait_for()
    await _check(page, f"page {link}")


async def _upload(page: Any, s: Session, n: int, tally: Tally, journal: Journal) -> None:
    await _go(page, "Upload")
    await _check(page, "upload page")
    n_sites = 2 + n % 6
    salt = s.index * 1000 + n
    await page.locator('input[type="file"]').set_input_files(
        files=[
            {"name": f"sites-{salt}.csv", "mimeType": "text/csv", "buffer": csv_for(n_sites, salt)}
        ]
    )
    report = page.get_by_text("Validation report")
    busy = page.get_by_text(BUSY)
    for _attempt in range(BUSY_RETRIES):
        await report.or_(busy).first.wait_for(timeout=STEP_TIMEOUT_MS)
        await _settle(page)
        if not await busy.count():
            break
        tally.busy += 1  # as a person would: wait a moment, then send the file again
        await page.wait_for_timeout(BUSY_PAUSE_MS)
        await page.get_by_role("button", name="Check the file again").click()
        await _settle(page)
    else:
        raise AssertionError(f"the checker stayed busy for {BUSY_RETRIES} tries")
    await _check(page, "upload check")
    go = page.get_by_role("button", name="Go")
    await go.wait_for(timeout=STEP_TIMEOUT_MS)
    tally.uploading[s.server.index] = tally.uploading.get(s.server.index, 0) + 1
    try:
        await go.click()
        done = page.get_by_text(re.compile(r"^Loaded \d+ rows? as exposure version \d+\.$"))
        await done.wait_for(timeout=STEP_TIMEOUT_MS)
        text = await done.inner_text()
    finally:
        tally.uploading[s.server.index] -= 1
    found = re.search(r"Loaded (\d+) rows? as exposure version (\d+)\.", text)
    assert found, text
    rows, version = int(found.group(1)), int(found.group(2))
    journal.record(
        {
            "kind": "upload",
            "client": s.client_id,
            "version": version,
            "assets": n_sites,
            "salt": salt,
        }
    )
    if rows != n_sites:
        raise AssertionError(f"upload of {n_sites} sites loaded {rows}")
    await _settle(page)
    await _check(page, "upload result")


async def _select(page: Any, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    await box.click()
    await (
        page.get_by_role("option")
        .filter(has_text=re.compile("^" + re.escape(option) + "$"))
        .first.click()
    )
    await _settle(page)


async def _publish(page: Any, s: Session, n: int, tally: Tally, journal: Journal) -> None:
    assert s.row is not None
    await _go(page, "Rules")
    if await page.get_by_text(STALE).count():  # another analyst published since: start again
        tally.stale_restarts += 1
        await page.get_by_role("button", name=re.compile(r"^Start the draft again")).click()
        await _settle(page)
    await _check(page, "rules page")
    value = 0.35 if s.value != 0.35 else 0.55  # always a change of this analyst's own cell
    await page.get_by_text("Change one weight").click()
    await _settle(page)
    await _select(page, "Table", "Asset vulnerability (category x asset type)")
    await _select(page, "Row", s.row)
    await _select(page, "Column", ANALYST_COLUMN)
    await page.get_by_label("New value").fill(f"{value:.2f}")
    await page.get_by_role("button", name="Apply to the draft").click()
    await page.get_by_text(re.compile(r"^The draft is valid: \d+ change")).wait_for(
        timeout=STEP_TIMEOUT_MS
    )
    await _settle(page)
    await _check(page, "rules draft")
    await page.get_by_role("button", name="Preview the ratings under this draft").click()
    await (
        page.get_by_text("client rating(s) would move")
        .or_(page.get_by_text("No client rating would move"))
        .first.wait_for(timeout=STEP_TIMEOUT_MS)
    )
    await _settle(page)
    await _check(page, "rules preview")
    await page.get_by_label("Publication note (what changed and why)").fill(
        f"bench {s.username} publish {n}: {s.row}/{ANALYST_COLUMN} = {value:.2f}"
    )
    await page.get_by_role("button", name="Publish these rules").click()
    done = page.get_by_text(re.compile(r"^Published rules version \d+"))
    refused = page.get_by_text(
        re.compile(r"^the published rules moved from version \d+", re.IGNORECASE)
    )
    await done.or_(refused).first.wait_for(timeout=STEP_TIMEOUT_MS)
    if await refused.count():  # another analyst published between this draft and its publish
        tally.stale_refused += 1
        await _settle(page)
        return
    text = await done.inner_text()
    found = re.search(r"Published rules version (\d+)", text)
    assert found, text
    version = int(found.group(1))
    journal.record(
        {
            "kind": "publish",
            "version": version,
            "row": s.row,
            "column": ANALYST_COLUMN,
            "value": value,
            "user": s.username,
        }
    )
    s.value = value
    await _settle(page)
    await _check(page, "publish result")


async def open_session(browser: Any, s: Session, tally: Tally) -> tuple[Any, Any] | None:
    """A browser context for the session, signed in (before the clock starts: a server's first
    sign-in opens the store and scores the current run)."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1100})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    try:
        signing = time.perf_counter()
        await _sign_in(page, s)
        if VERBOSE:
            print(
                f"{s.username}@{s.server.index} signed in in {time.perf_counter() - signing:.1f} s"
            )
    except Exception as exc:
        tally.errors.append(f"{s.username} on server {s.server.index}: sign-in: {exc!r}"[:300])
        await context.close()
        return None
    return context, page


async def run_session(
    browser: Any,
    s: Session,
    opened: tuple[Any, Any],
    servers: list[Server],
    deadline: float,
    max_ops: int,
    tally: Tally,
    journal: Journal,
) -> None:
    rnd = random.Random(s.seed)
    context, page = opened
    for n in range(max_ops):
        if time.monotonic() >= deadline:
            break
        pick = rnd.random()
        if s.role == "client":
            kind = "upload" if pick < 0.4 else "browse"
        else:
            kind = "publish" if pick < 0.35 else "browse"
        started = time.perf_counter()
        server = s.server
        try:
            if kind == "browse":
                await _browse(page, s, rnd)
            elif kind == "upload":
                await _upload(page, s, n, tally, journal)
            else:
                await _publish(page, s, n, tally, journal)
            tally.ms.append((time.perf_counter() - started) * 1000)
            tally.ops[kind] += 1
            if VERBOSE:
                print(f"{s.username}@{s.server.index} {kind} {tally.ms[-1]:.0f} ms", flush=True)
        except Exception as exc:
            if not server.alive():  # killed under this operation: cut off, then move on
                tally.cut_off += 1
                alive = [x for x in servers if x.alive()]
                s.server = alive[s.index % len(alive)]
                with contextlib.suppress(Exception):
                    await context.close()
                again = await open_session(browser, s, tally)
                if again is None:
                    break
                context, page = again
                tally.moved += 1
                continue
            where = f"{s.username} on server {server.index}, {kind} {n}"
            tally.errors.append(f"{where}: {type(exc).__name__}: {exc}"[:400])
            if VERBOSE:
                print(f"ERROR {tally.errors[-1]}", flush=True)
            with contextlib.suppress(Exception):  # start the next operation from a fresh page
                await page.goto(s.server.url, timeout=STEP_TIMEOUT_MS)
                await _settle(page)
        await asyncio.sleep(rnd.uniform(0.2, 1.0))  # think time
    with contextlib.suppress(Exception):
        await context.close()


async def _killer(
    servers: list[Server],
    tally: Tally,
    at: float,
    until: float,
    out: dict[str, Any],
    probe: Callable[[], int] | None,
) -> None:
    """From ``at`` (monotonic) until ``until``: while a session of server 0 waits for an upload
    it clicked "Go" on, ask the store (``probe``) whether server 0 holds an open transaction
    that has written exposure rows, and kill server 0 with SIGKILL the moment it does: the
    upload is then known to be mid-write, before its commit. At ``until`` without that moment,
    the kill lands while an upload is in flight on the page (or, with none, at once)."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    out["mid_upload"] = out["mid_write"] = False
    probes = 0
    while time.monotonic() < until:
        if tally.uploading.get(0, 0) == 0:
            await asyncio.sleep(0.005)
            continue
        if probe is None:
            out["mid_upload"] = True
            break
        writing = await asyncio.to_thread(probe)
        probes += 1
        if writing and tally.uploading.get(0, 0) > 0:
            servers[0].proc.kill()  # SIGKILL, its write transaction open
            out["mid_upload"] = out["mid_write"] = True
            out["at_s"] = time.monotonic()
            out["probes"] = probes
            return
    out["mid_upload"] = out["mid_upload"] or tally.uploading.get(0, 0) > 0
    out["probes"] = probes
    servers[0].proc.kill()  # SIGKILL
    out["at_s"] = time.monotonic()


async def drive(
    sessions: list[Session],
    servers: list[Server],
    seconds: float,
    max_ops: int,
    journal: Journal,
    kill: bool,
    probe: Callable[[], int] | None = None,
) -> tuple[Tally, dict[str, Any]]:
    from playwright.async_api import async_playwright

    tally = Tally()
    killed: dict[str, Any] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            t0 = time.perf_counter()
            opened = await asyncio.gather(*(open_session(browser, s, tally) for s in sessions))
            killed["sign_in_s"] = time.perf_counter() - t0
            start = time.monotonic()
            deadline = start + seconds
            tasks = [
                asyncio.create_task(
                    run_session(browser, s, o, servers, deadline, max_ops, tally, journal)
                )
                for s, o in zip(sessions, opened, strict=True)
                if o is not None
            ]
            if kill:
                tasks.append(
                    asyncio.create_task(
                        _killer(
                            servers,
                            tally,
                            start + seconds / 3,
                            start + seconds * 0.8,
                            killed,
                            probe,
                        )
                    )
                )
            await asyncio.gather(*tasks)
        finally:
            await browser.close()
    return tally, killed
