"""Shared fixtures: a fresh database, and the demo book loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.book import load_demo
from engine.context import Context


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = Context(tmp_path / "db" / "r.duckdb")
    c.init()
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(tmp_path_factory.mktemp("demo") / "r.duckdb")
    load_demo(c)
    yield c
    c.close()
