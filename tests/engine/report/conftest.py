"""Fixtures for the report tests: the demo book in its own database (the reports run scenarios,
which add runs), and a small book whose site names are hostile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from engine.book import load_demo
from engine.context import Context
from engine.models import ClientSpec
from tests.conftest import Stores

HOSTILE_ID = "hostile-trading"
HOSTILE_CLIENT_NAME = "@Hostile <i>Trading</i> & Co"
HOSTILE_NAMES = [
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "<script>alert(1)</script>",
]


@pytest.fixture(scope="session")
def report_ctx(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(stores.new(tmp_path_factory.mktemp("report-demo")))
    load_demo(c)
    c.current_run()
    yield c
    c.close()


def hostile_assets(value_scale: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "asset_id": ["-1", "A2", "A3", "A4"],
            "name": HOSTILE_NAMES,
            "asset_type": ["office", "warehouse", "terminal", "office"],
            "lat": [33.30, 30.51, 30.03, 29.37],
            "lon": [44.40, 47.78, 47.95, 47.98],
            "country": ["Iraq", "Iraq", "Iraq", "Kuwait"],
            "value_usd": [v * value_scale for v in (2.0e7, 5.0e7, 1.2e8, 3.0e7)],
            "criticality": [4, 3, 5, 2],
        }
    )


@pytest.fixture(scope="module")
def hostile_ctx(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """A book of one client whose site names are formula and script payloads, loaded twice
    (exposure versions 1 and 2, each scored) so the portfolio report has a mover."""
    c = Context(stores.new(tmp_path_factory.mktemp("hostile")))
    c.init()
    c.upsert_client(
        ClientSpec(
            client_id=HOSTILE_ID,
            name=HOSTILE_CLIENT_NAME,
            sector="retail",
            hq_country="GBR",
            affiliations=["US_ALLY"],
        )
    )
    c.load_exposures(HOSTILE_ID, hostile_assets(0.2))
    c.run()
    c.load_exposures(HOSTILE_ID, hostile_assets(1.0))
    c.run()
    yield c
    c.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path
