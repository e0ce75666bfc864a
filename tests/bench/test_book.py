"""bench/book.py's synthetic book: the product and both peers give the same ratings.

The benchmark prints ``peers_match``; this checks the same equality on a small book, so a change
to the method, the loader or a peer that makes them disagree fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench import book as bench_book
from bench.peers import pandas_peer, polars_peer


@pytest.mark.slow
def test_product_and_peers_rate_the_synthetic_book_alike(tmp_path: Path) -> None:
    folder = tmp_path / "book"
    bench_book.generate(folder, n_assets=2000, per_client=200, n_pairs=4, seed=7)
    assets = pl.read_parquet(folder / "assets.parquet")
    assert assets.height == 2000
    assert assets["client_id"].n_unique() == 10
    # distinct coordinates around many places, some near the register's hotspots
    assert assets.select(pl.struct("lat", "lon").n_unique()).item() > 1990
    assert assets["country"].n_unique() > 30
    assert pl.read_parquet(folder / "routes.parquet").height == 200

    out = bench_book.product(folder, tmp_path / "db.duckdb", "1GB", None)
    assert out["load_s"] > 0 and out["score_s"] > 0
    ours = pl.read_parquet(folder / "ours.parquet")
    assert ours.height == 10
    assert set(ours["n_items"].to_list()) == {220}
    assert ours["band"].n_unique() > 1  # the book is not rated all alike

    theirs = {
        "pandas": pl.from_pandas(pandas_peer.run(folder)),
        "polars": polars_peer.run(folder),
    }
    for name, ratings in theirs.items():
        assert bench_book.compare(ours, ratings) == 0, name
    # compare() does see a difference
    shifted = theirs["polars"].with_columns(pl.col("score") + 1e-3)
    assert bench_book.compare(ours, shifted) == 10
