"""Fixtures for the app tests: a demo database with the demo users, copied per test.

The template is built once per session in a child process, so this process never holds it open
(DuckDB lets one process open a file for writing); each test gets its own copy, opened by the
app's own cached context.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from streamlit.testing.v1 import AppTest

from engine.auth import DEMO_PASSWORDS
from engine.context import Context
from tests.conftest import Stores, copy_store, db_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
# names of the demo clients other than Meridian (the demo client user's own)
OTHER_CLIENTS = [
    "Nordhavn",
    "Hudson Crescent",
    "Aurelian",
    "Obermain",
    "Zagros",
    "Cedar Souk",
    "Andes Verde",
    "Gulfbridge",
    "Setouchi",
]

# The demo users' passwords in the test databases. A user still on its public demo password must
# choose a new one before any page opens (tested in test_security.py), so the template starts past
# that step, as a deployment whose people have changed them.
PASSWORDS = {name: f"{name}-test-password" for name in DEMO_PASSWORDS}

_BUILD = f"""
import sys
from engine.auth import create_demo_users, set_password
from engine.book import load_demo
from engine.context import Context
with Context(sys.argv[1]) as ctx:
    load_demo(ctx)
    ctx.current_run()
    create_demo_users(ctx)
    for name, password in {PASSWORDS!r}.items():
        set_password(ctx, name, password)
"""


@pytest.fixture(autouse=True)
def _fresh_sign_in_limits() -> Iterator[None]:
    """The sign-in limits are per process; each test starts with none counted."""
    from engine.throttle import THROTTLE

    THROTTLE.reset()
    yield
    THROTTLE.reset()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, one per browser-test module (``tests/app/live.py``)."""
    from .live import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def demo_template(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database the app tests copy: a DuckDB file, or (``RESILIENCE_TEST_STORE=postgres``)
    a PostgreSQL database that ``copy_db`` uses as a template."""
    path = stores.new(tmp_path_factory.mktemp("template"))
    # a loaded CI machine may take minutes to build it on PostgreSQL
    subprocess.run([sys.executable, "-c", _BUILD, str(path)], check=True, timeout=900)
    return Path(path)  # a URL as a Path loses a slash; the store and copy_db put it back


def copy_db(template: Path, target_dir: Path) -> Path:
    """A copy of the template on the store under test (``Path`` of a PostgreSQL URL there)."""
    return Path(copy_store(template, target_dir))


@pytest.fixture
def app_db(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh copy of the demo database, the one the app under test opens."""
    db = copy_db(demo_template, tmp_path / "db")
    monkeypatch.setenv("RESILIENCE_DB", db_key(db))
    yield db
    from app import data

    ctx = data._open(db_key(db))
    ctx.close()
    data._open.clear()


@pytest.fixture
def app_ctx(app_db: Path) -> Context:
    """The context the app uses for ``app_db`` (the same object: one per process and file)."""
    from app import data

    return data._open(db_key(app_db))


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=120)


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    at.run()
    inputs = at.text_input
    inputs[0].input(username)
    inputs[1].input(password if password is not None else PASSWORDS[username])
    at.button[0].click()
    at.run()
    return at


@pytest.fixture
def signed_in(app_db: Path) -> Callable[[str], AppTest]:
    def make(username: str) -> AppTest:
        at = sign_in(new_app(), username)
        assert not at.exception, at.exception
        return at

    return make


def shown(markdown: str) -> str:
    """Markdown source as a reader sees it: client and brief text in it is backslash-escaped
    (``app.ui.plain``), so the escapes are dropped."""
    return re.sub(r"\\(.)", r"\1", markdown)


def page_text(at: AppTest) -> str:
    """Everything a user can read on the page: text, tables, metrics, widgets' options (Markdown
    escapes removed, as the reader sees them)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "warning",
        "error",
        "success",
        "code",
        "exception",
    ):
        parts += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        parts += [str(m.label), str(m.value)]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for sb in at.selectbox:
        parts += [str(o) for o in sb.options]
    for ms in at.multiselect:
        parts += [str(o) for o in ms.options]
    for ex in at.expander:
        parts.append(str(ex.label))
    for chart in at.get("vega_lite_chart"):
        parts.append(str(chart.proto.spec))
        parts += [str(d) for d in getattr(chart.proto, "datasets", [])]
    for deck in at.get("deck_gl_json_chart"):
        parts.append(str(deck.proto.json))
    return shown("\n".join(parts))


os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("RESILIENCE_DEBUG", "1")  # show exception details in AppTest failures
# no background report warm-up competing with the timed sign-in tests (bench/export_bench.py
# measures what it saves)
os.environ.setdefault("RESILIENCE_REPORT_WARMUP", "0")
