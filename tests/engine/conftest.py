"""Shared fixtures: a fresh database, and the demo book loaded once per test session.

With ``RESILIENCE_TEST_STORE=postgres`` (the Makefile's second pass over tests/engine) the
``ctx`` and ``demo_ctx`` databases are PostgreSQL databases in a throwaway cluster, and only the
tests that take them run; the others (which open DuckDB files of their own) ran in the first
pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context
from tests.pgcluster import Cluster, cluster, missing_reason

STORE = os.environ.get("RESILIENCE_TEST_STORE", "duckdb")
ON_STORE = {"ctx", "demo_ctx", "demo_book"}
ON_STORE_IN = {
    "test_cli.py": {"db"}
}  # module fixtures of the same kind  # the fixtures that open the store under test


def pytest_report_header() -> str:
    return f"store under test: {STORE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if STORE != "postgres":
        return

    def on_store(item: pytest.Item) -> bool:
        wanted = ON_STORE | ON_STORE_IN.get(item.path.name, set())
        return bool(wanted & set(getattr(item, "fixturenames", ())))

    kept = [i for i in items if on_store(i)]
    dropped = [i for i in items if i not in kept]
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


def _database(request: pytest.FixtureRequest, folder: Path) -> Path | str:
    if STORE == "postgres":
        pg: Cluster = request.getfixturevalue("pg_cluster")
        return pg.new_database()
    return folder / "r.duckdb"


@pytest.fixture
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    c = Context(_database(request, tmp_path / "db"))
    c.init()
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_ctx(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Context]:
    c = Context(_database(request, tmp_path_factory.mktemp("demo")))
    load_demo(c)
    yield c
    c.close()
