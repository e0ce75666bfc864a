"""Screenshots of every page for each role, into docs/screenshots/ (``make screenshots``).

    .venv/bin/python -m tests.app.screenshots [--out DIR]

Builds a demo database in a temporary folder (the demo book, the four demo users with the test
passwords), serves the app with ``streamlit run`` on a loopback port and drives Debian's Chromium
(no download): it signs in as each role, opens each page the role may see and saves a full-page
PNG named ``ROLE-PAGE.png`` (and ``login.png``), plus the names the README shows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from app.streamlit_app import pages_for
from tests.app.conftest import _BUILD, PASSWORDS
from tests.app.live import TIMEOUT_MS, chromium, settle, streamlit_server

REPO = Path(__file__).resolve().parents[2]
ROLES = {"client": "meridian", "account_manager": "am", "analyst": "analyst", "admin": "admin"}
README = {  # the README's images: which role's page
    "portfolio": ("account_manager", "portfolio"),
    "client": ("client", "client"),
    "upload": ("client", "upload"),
    "rules": ("analyst", "rules"),
    "register": ("analyst", "register"),
    "scenarios": ("account_manager", "scenarios"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shots-") as tmp:
        db = Path(tmp) / "r.duckdb"
        subprocess.run([sys.executable, "-c", _BUILD, str(db)], check=True, cwd=REPO)
        with streamlit_server(db, Path(tmp) / "server.log") as url, chromium() as browser:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(url)
            page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT_MS)
            settle(page)
            page.screenshot(path=str(out / "login.png"))
            page.context.close()
            for role, user in ROLES.items():
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(url)
                page.get_by_role("textbox", name="Username").fill(user)
                page.get_by_role("textbox", name="Password").fill(PASSWORDS[user])
                page.get_by_role("button", name="Sign in").click()
                page.get_by_test_id("stSidebarNav").wait_for()
                settle(page)
                for spec in pages_for(role):
                    stem = Path(spec.file).stem
                    nav = page.get_by_test_id("stSidebarNav")
                    nav.get_by_role("link", name=spec.title, exact=True).click()
                    settle(page)
                    # the page scrolls inside its main block: make the window as tall as it
                    tall = page.evaluate(
                        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
                    )
                    page.set_viewport_size({"width": 1400, "height": max(900, int(tall) + 40)})
                    settle(page)
                    if page.get_by_test_id("stDeckGlJsonChart").count():
                        page.wait_for_timeout(2500)  # the map draws on the next frames
                    path = out / f"{role}-{stem}.png"
                    page.screenshot(path=str(path))
                    page.set_viewport_size({"width": 1400, "height": 900})
                    print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                page.context.close()
    for name, (role, stem) in README.items():
        source = out / f"{role}-{stem}.png"
        if source.exists():
            (out / f"{name}.png").write_bytes(source.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
