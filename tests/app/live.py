"""A real `streamlit run` of the app and a headless Debian Chromium, for browser tests and bench.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app" / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 90_000


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    db: Path,
    log_path: Path,
    extra_args: Sequence[str] = (),
    *,
    port: int | None = None,
    start_timeout_s: float = 90,
) -> Iterator[str]:
    """Serve the app on a loopback port (a free one by default) with ``db``; yields its URL and
    stops the server afterwards."""
    port = port or free_port()
    env = os.environ | {
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    env.pop("RESILIENCE_DEBUG", None)
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        *extra_args,
        "--",
        "--db",
        str(db),
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r,
                ):
                    if r.read() == b"ok":
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ServerDidNotStart(f"streamlit did not start: {log_path.read_text()}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def settle(page: Page) -> None:
    """Wait until the script run finished and the page stopped changing."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(700)
