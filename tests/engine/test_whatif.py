"""What-if (``Context.rescore_client``) against full runs of the same inputs, on the demo book.

The what-if takes each class's risk from the run when the run scored its profile for the client
and scores the others on the spot; either way its rating must be the one a full run of the same
exposures, client details, threats and rules gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import polars as pl
import pytest

from engine import queries
from engine.book import DEMO_DIR, load_demo
from engine.context import EVERYONE, Context
from engine.errors import NotFoundError
from engine.models import ClientSpec
from engine.scoring import rescore_one, score_params

SCORES = ("score_low", "score", "score_high")
BANDS = ("band_low", "band", "band_high")
CLIENT = "meridian-basin-petroleum"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(tmp_path_factory.mktemp("whatif") / "r.duckdb")
    load_demo(c)
    yield c
    c.close()


def _same_as_run(ctx: Context, row: dict[str, object], run_id: int, client_id: str) -> None:
    rating = ctx.rating(run_id, client_id, scope=EVERYONE)
    for key in SCORES:
        assert row[key] == pytest.approx(getattr(rating, key), abs=1e-12), key
    assert tuple(row[k] for k in BANDS) == (rating.band_low, rating.band, rating.band_high)
    assert row["n_items"] == rating.n_items


def _assets(client_id: str) -> pl.DataFrame:
    rows = pl.read_csv(DEMO_DIR / "assets.csv", infer_schema_length=None)
    return rows.filter(pl.col("client_id") == client_id).drop("client_id")


def _routes(client_id: str) -> pl.DataFrame:
    rows = pl.read_csv(DEMO_DIR / "routes.csv", infer_schema_length=None)
    return rows.filter(pl.col("client_id") == client_id).drop("client_id")


def test_whatif_of_every_unchanged_client_is_its_rating_in_the_run(book: Context) -> None:
    run = book.current_run()
    ids = [c.client_id for c in book.clients(scope=EVERYONE)]
    assert len(ids) >= 5
    for client_id in ids:
        _same_as_run(book, book.rescore_client(run.run_id, client_id), run.run_id, client_id)


def test_whatif_of_new_exposures_is_the_rating_a_new_run_gives(book: Context) -> None:
    old = book.current_run()
    before = book.rating(old.run_id, CLIENT, scope=EVERYONE)
    assets = _assets(CLIENT).with_columns(  # every site gets a tested plan and a backup site
        mitigations=pl.lit("backup_site;continuity_plan;insurance"),
        value_usd=pl.col("value_usd") * 1.5,
    )
    book.load_exposures(CLIENT, assets, _routes(CLIENT).head(3), note="what-if test")
    whatif = book.rescore_client(old.run_id, CLIENT)
    new = book.current_run()
    assert new.run_id != old.run_id
    _same_as_run(book, whatif, new.run_id, CLIENT)
    assert whatif["score"] > before.score  # mitigations never lower resilience
    # the version the old run scored, against the new run: the old run's rating
    version = book.exposure_version(CLIENT)
    assert version is not None
    _same_as_run(
        book, book.rescore_client(new.run_id, CLIENT, version=version - 1), old.run_id, CLIENT
    )
    _same_as_run(book, book.rescore_client(new.run_id, CLIENT), new.run_id, CLIENT)


def test_whatif_after_the_client_details_change_is_a_new_runs_rating(book: Context) -> None:
    spec = book.client("aurelian-airways", scope=EVERYONE)
    old = book.current_run()
    # every profile carries the client's sector and affiliations: none is the run's any more
    changed = ClientSpec(**(spec.model_dump() | {"sector": "banking", "affiliations": ["US"]}))
    book.upsert_client(changed)
    whatif = book.rescore_client(old.run_id, spec.client_id)
    new = book.current_run()
    assert new.run_id != old.run_id
    _same_as_run(book, whatif, new.run_id, spec.client_id)
    assert whatif["score"] != pytest.approx(
        book.rating(old.run_id, spec.client_id, scope=EVERYONE).score, abs=1e-6
    )


def test_whatif_of_a_client_without_exposures_names_it(book: Context) -> None:
    run = book.current_run()
    with pytest.raises(NotFoundError, match="client 'nobody' has no exposures in run"):
        book.rescore_client(run.run_id, "nobody")


class _Counting:
    """A cursor that records the statements it runs."""

    def __init__(self, cur: Any) -> None:
        self.cur, self.statements = cur, []  # type: ignore[var-annotated]

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self.cur.execute(sql, params)


def _statements(ctx: Context, run_id: int, client_id: str) -> list[str]:
    run = ctx.run_info(run_id)
    params = score_params(run_id, run.rules_version, ctx.rules(run.rules_version))
    with ctx.store.session() as cur:
        counting = _Counting(cur)
        frame = rescore_one(
            cast(Any, counting), params | {"client_id": client_id}, queries.CURRENT_EXPOSURES
        )
    assert frame.height == 1
    return counting.statements


def test_an_unchanged_clients_whatif_is_one_statement_and_a_changed_ones_two(
    book: Context,
) -> None:
    run = book.current_run()
    # every profile of an unchanged client is the run's: nothing is scored again
    assert len(_statements(book, run.run_id, "setouchi-refining")) == 1
    assets = _assets("setouchi-refining").with_columns(mitigations=pl.lit("insurance"))
    book.load_exposures("setouchi-refining", assets, _routes("setouchi-refining"), note="test")
    second = _statements(book, run.run_id, "setouchi-refining")
    assert len(second) == 2  # the profiles the run did not give the client are scored
    assert "threat AS (" in second[1] and "threat AS (" not in second[0]
