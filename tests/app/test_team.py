"""The CLI works while the app serves the same embedded DuckDB file (issue 10).

Before, every command failed with DuckDB's "Conflicting lock is held" for as long as the app ran.
A real ``streamlit run`` serves the demo file, a user is signed in in headless Chromium, and the
commands an operator needs meanwhile (disable an account, export, score) succeed; the page still
works after them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .live import CHROMIUM

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium "
        "(apt-get install -y chromium); it is not installed",
        allow_module_level=True,
    )

from playwright.sync_api import Browser  # noqa: E402

from .browsing import demo_server, go, sign_in  # noqa: E402

CLIENT = "meridian-basin-petroleum"


@pytest.fixture(scope="module")
def served(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    with demo_server(demo_template, tmp_path_factory, "team") as served:
        yield served


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "resilience"), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "RESILIENCE_LOCK_WAIT_S": "60"},
    )


def test_cli_commands_succeed_while_the_app_serves_the_file(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, db = served
    page = sign_in(browser, url, "am")  # lands on the portfolio
    assert page.get_by_text("Meridian Basin").count() >= 1

    disabled = cli(db, "users", "disable", "analyst")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == "User analyst disabled"

    exported = cli(db, "export", CLIENT, "--format", "csv", "--out", str(tmp_path))
    assert exported.returncode == 0, exported.stderr
    written = Path(exported.stdout.split("Wrote ", 1)[1].split()[0])
    assert written.exists() and CLIENT in written.read_text("utf-8")

    scored = cli(db, "score", "--json")
    assert scored.returncode == 0, scored.stderr
    ratings = json.loads(scored.stdout)["ratings"]
    assert len(ratings) == 10 and CLIENT in {r["client_id"] for r in ratings}

    listed = cli(db, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert "analyst: analyst (disabled); sees" in listed.stdout, listed.stdout
    assert "Conflicting lock" not in disabled.stderr + exported.stderr + scored.stderr

    # the signed-in user carries on: the next page opens, with no database error on it
    go(page, "Client")
    assert page.get_by_text("Meridian Basin Petroleum").count() >= 1  # the client most in need
    assert page.get_by_test_id("stException").count() == 0
    for words in ("Conflicting lock", "Could not set lock", "PID"):
        assert page.get_by_text(words).count() == 0, words
    page.close()
