"""Shared fixtures: a fresh database, and the demo book loaded once per test session, on the
store under test (tests/conftest.py: a DuckDB file, or PostgreSQL under
``RESILIENCE_TEST_STORE=postgres``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context
from tests.conftest import Stores


@pytest.fixture
def ctx(stores: Stores, tmp_path: Path) -> Iterator[Context]:
    c = Context(stores.new(tmp_path / "db"))
    c.init()
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_ctx(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(stores.new(tmp_path_factory.mktemp("demo")))
    load_demo(c)
    yield c
    c.close()
