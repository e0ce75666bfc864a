"""The store under test, for every test package: a DuckDB file, or a PostgreSQL database.

``RESILIENCE_TEST_STORE=postgres`` (the Makefile's second pass) puts every database the fixtures
make on a throwaway PostgreSQL cluster (tests/pgcluster.py), and runs only the tests that use
such a fixture: the others (which open no store, or open DuckDB files of their own) ran in the
first pass. A fixture makes its database with ``new_store`` (an empty one) or ``copy_store`` (a
copy of a template built once), so any test that takes it, directly or through another fixture,
is selected; the browser tests are left to the first pass (``-m "not browser"`` in the
Makefile; docs/store.md says why).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pgcluster import Cluster, cluster, missing_reason

STORE = os.environ.get("RESILIENCE_TEST_STORE", "duckdb")
ON_POSTGRES = STORE == "postgres"
# One warm upload checker per service in the tests (the deployment default is two): each one's
# warm-up imports Great Expectations, about 9 s of CPU, and the tests start many services. The
# pool's own tests (tests/exposures/upload/test_checker_pool.py) set the sizes they test.
os.environ.setdefault("RESILIENCE_CHECKER_POOL", "1")
MARK = "stores"  # the fixture every store-making fixture requests: the selection's sign

NewStore = Callable[..., "Path | str"]


def pytest_report_header() -> str:
    return f"store under test: {STORE}"


def pytest_configure(config: pytest.Config) -> None:
    if ON_POSTGRES and not os.environ.get("RESILIENCE_FILES"):
        # the folders a PostgreSQL store keeps on this machine (staging, exports), per test run
        os.environ["RESILIENCE_FILES"] = tempfile.mkdtemp(prefix="resilience-files-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES:
        return
    kept = [i for i in items if MARK in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if MARK not in getattr(i, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster for this test session (skipped, with the reason, if none can run)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with cluster() as c:
        yield c


class Stores:
    """Makes the databases of a test session on the store under test."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._pg: Cluster | None = None

    @property
    def pg(self) -> Cluster:
        if self._pg is None:
            self._pg = self._request.getfixturevalue("pg_cluster")
        return self._pg

    def new(self, folder: Path, name: str = "r.duckdb") -> Path | str:
        """An empty database: ``folder/name`` (a DuckDB file, not created yet), or the URL of a
        new PostgreSQL database."""
        if ON_POSTGRES:
            return self.pg.new_database()
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def copy(self, template: Path | str, folder: Path, name: str = "r.duckdb") -> Path | str:
        return copy_store(template, folder, name)


def copy_store(template: Path | str, folder: Path, name: str = "r.duckdb") -> Path | str:
    """A copy of a closed template database (no process may hold it open): a file copy, or
    PostgreSQL's ``CREATE DATABASE ... TEMPLATE`` in the template's cluster."""
    from engine.store import postgres_url

    url = postgres_url(template)
    if url is not None:
        parts = urllib.parse.urlsplit(url)
        host = urllib.parse.parse_qs(parts.query)["host"][0]
        pg = Cluster(Path(host))
        target = "t_" + uuid.uuid4().hex[:16]
        pg.psql(f"CREATE DATABASE {target} TEMPLATE {database_name(url)}")
        return pg.url(target)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / name
    shutil.copyfile(template, db)
    return db


def database_name(url: str) -> str:
    """The database a PostgreSQL URL names."""
    return urllib.parse.urlsplit(url).path.lstrip("/")


def db_key(db: Path | str) -> str:
    """The key the app opens ``db`` under (``app.data.db_key``): a file's absolute path, or the
    PostgreSQL URL."""
    from engine.store import postgres_url

    return postgres_url(db) or str(Path(db).resolve())


@pytest.fixture(scope="session")
def stores(request: pytest.FixtureRequest) -> Stores:
    return Stores(request)
