"""The book loader (engine.book.load_book over exposures.bulk): Parquet or CSV, in chunks."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from engine.book import DEMO_DIR, load_book
from engine.context import Context
from engine.errors import ExposureError
from engine.store import Scope

CLIENTS = [
    {
        "client_id": "alpha",
        "name": "Alpha",
        "sector": "oil_gas",
        "hq_country": "USA",
        "affiliations": ["US"],
        "business_value_usd": 5e9,
        "services": [{"service_id": "crude", "name": "Crude", "tolerance_days": 7}],
    },
    {
        "client_id": "bravo",
        "name": "Bravo",
        "sector": "retail",
        "hq_country": "GBR",
        "affiliations": ["NEUTRAL"],
    },
    {
        "client_id": "charlie",
        "name": "Charlie",
        "sector": "shipping",
        "hq_country": "DNK",
        "affiliations": ["US_ALLY"],
        "business_value_usd": 2e9,
    },
]

ASSETS = pl.DataFrame(
    {
        "client_id": ["alpha"] * 4 + ["bravo"] * 3 + ["charlie"] * 2,
        "asset_id": ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "C1", "C2"],
        "name": [f"site {i}" for i in range(9)],
        "asset_type": [
            "oilfield",
            "office",
            "terminal",
            "office",
            "retail_store",
            "warehouse",
            "office",
            "terminal",
            "office",
        ],
        "lat": [30.6, 33.30, 26.20, None, 51.5, 25.2, None, 55.7, 29.37],
        "lon": [47.3, 44.39, 50.60, None, -0.12, 55.27, None, 12.6, 47.98],
        "city": [None, None, None, "Basra", None, None, "Beirut", None, None],
        "country": ["IRQ", "IRQ", "BHR", "Iraq", "GBR", "ARE", "Lebanon", "DNK", "KWT"],
        "value_usd": [3e9, 2e7, 4e8, 1e7, 5e6, 8e6, 2e6, 1e8, 3e7],
        "criticality": [5, 3, 4, 2, 3, 2, 4, 5, 3],
        "headcount": [900, 40, 60, 10, 120, 30, 25, 80, 15],
        "service_id": ["crude", None, "crude", None, None, None, None, None, None],
        "mitigations": [
            "insurance",
            None,
            "backup_site;insurance",
            None,
            None,
            "continuity_plan",
            None,
            None,
            None,
        ],
    }
)
ROUTES = pl.DataFrame(
    {
        "client_id": ["alpha", "alpha", "charlie"],
        "route_id": ["R1", "R2", "R1"],
        "name": ["Ras Tanura to Rotterdam", "Basra to Ningbo", "Shanghai to Rotterdam"],
        "origin": ["SARTA", "IQUQR", "CNSHA"],
        "destination": ["NLRTM", "CNNGB", "NLRTM"],
        "commodity": ["crude_oil", "crude_oil", "containers"],
        "annual_value_usd": [1.5e9, 2e9, 6e8],
        "shipments_per_year": [24, 18, 40],
        "service_id": ["crude", "crude", None],
        "criticality": [5, 4, 4],
    }
)


def _book(folder: Path, assets: pl.DataFrame = ASSETS, routes: pl.DataFrame = ROUTES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.yaml").write_text(yaml.safe_dump(CLIENTS), "utf-8")
    assets.write_parquet(folder / "assets.parquet")
    routes.write_parquet(folder / "routes.parquet")
    return folder


def _ratings(ctx: Context) -> list[tuple[str, str, float, float, float]]:
    run = ctx.run()
    return sorted(
        (r.client_id, r.band, round(r.score, 9), round(r.score_low, 9), round(r.score_high, 9))
        for r in ctx.ratings(run.run_id, Scope.everything())
    )


def _stored(ctx: Context) -> dict[str, list[tuple[object, ...]]]:
    return {
        "classes": ctx.store.rows(
            "SELECT client_id, version, class_id, item_kind, geo_key, vkey, mitigations, "
            "service_id, n_items, value_usd, max_criticality, headcount FROM exposure_classes "
            "ORDER BY ALL"
        ),
        "assets": ctx.store.rows(
            "SELECT client_id, version, asset_id, lat, lon, country_iso3, subdivision, "
            "geo_precision, class_id FROM assets ORDER BY ALL"
        ),
        "routes": ctx.store.rows(
            "SELECT client_id, version, route_id, route_key, class_id FROM routes ORDER BY ALL"
        ),
        "regions": ctx.store.rows("SELECT * FROM geo_regions ORDER BY ALL"),
    }


def test_book_equals_one_client_at_a_time(tmp_path: Path) -> None:
    """The bulk path stores exactly what loading each client's lists on its own stores."""
    book = _book(tmp_path / "book")
    bulk = Context(tmp_path / "bulk" / "r.duckdb")
    bulk.init()
    assert load_book(bulk, book, chunk_rows=2) == ["alpha", "bravo", "charlie"]
    single = Context(tmp_path / "single" / "r.duckdb")
    single.init()
    from engine.models import ClientSpec

    for spec in CLIENTS:
        single.upsert_client(ClientSpec.model_validate(spec))
        cid = str(spec["client_id"])
        single.load_exposures(
            cid,
            ASSETS.filter(pl.col("client_id") == cid).drop("client_id"),
            ROUTES.filter(pl.col("client_id") == cid).drop("client_id"),
        )
    assert _stored(bulk) == _stored(single)
    ratings = _ratings(bulk)
    assert ratings == _ratings(single)
    assert [r[0] for r in ratings] == ["alpha", "bravo", "charlie"]
    # the city-only rows were placed at their city, the rest where they are
    precision = dict(
        bulk.store.rows("SELECT asset_id, geo_precision FROM assets WHERE client_id = 'alpha'")
    )
    assert precision == {
        "A1": "coordinates",
        "A2": "coordinates",
        "A3": "coordinates",
        "A4": "city",
    }
    bulk.close()
    single.close()


def test_sites_of_different_services_share_a_class_routes_do_not(tmp_path: Path) -> None:
    """A site's business service changes nothing its threats do, so sites that differ only in
    it are one class; a route's service sets its detour tolerance, so routes keep theirs apart.
    The ratings are those of the same book with one service everywhere (sites)."""
    twin = ASSETS.filter(pl.col("client_id") == "alpha").head(1)
    assets = pl.concat(
        [
            ASSETS,
            twin.with_columns(
                pl.lit("A5").alias("asset_id"),
                pl.lit(None, pl.String).alias("service_id"),
            ),
        ]
    ).sort("client_id", maintain_order=True)
    routes = pl.concat(
        [
            ROUTES,
            ROUTES.head(1).with_columns(
                pl.lit("R3").alias("route_id"), pl.lit(None, pl.String).alias("service_id")
            ),
        ]
    ).sort("client_id", maintain_order=True)
    ctx = Context(tmp_path / "r.duckdb")
    ctx.init()
    load_book(ctx, _book(tmp_path / "book", assets, routes))
    members = dict(
        ctx.store.rows(
            "SELECT asset_id, class_id FROM assets WHERE client_id = 'alpha' "
            "AND asset_id IN ('A1', 'A5')"
        )
    )
    assert members["A1"] == members["A5"]
    n_items, service = ctx.store.rows(
        "SELECT n_items, service_id FROM exposure_classes WHERE client_id = 'alpha' "
        "AND class_id = $k",
        {"k": members["A1"]},
    )[0]
    assert (n_items, service) == (2, None)
    lanes = dict(
        ctx.store.rows(
            "SELECT r.route_id, k.service_id FROM routes r JOIN exposure_classes k "
            "USING (client_id, version, class_id) WHERE client_id = 'alpha' "
            "AND route_id IN ('R1', 'R3')"
        )
    )
    assert lanes == {"R1": "crude", "R3": None}
    ratings = _ratings(ctx)
    same = Context(tmp_path / "same" / "r.duckdb")
    same.init()
    load_book(
        same,
        _book(
            tmp_path / "same_book",
            assets.with_columns(
                pl.when(pl.col("asset_id") == "A5")
                .then(pl.lit("crude"))
                .otherwise(pl.col("service_id"))
                .alias("service_id")
            ),
            routes,
        ),
    )
    assert _ratings(same) == ratings
    # each class of the run carries its profile's risk, for the one-client paths
    run = ctx.current_run()
    differ = ctx.store.one(
        "SELECT count(*) FROM run_classes k JOIN run_profiles p USING (run_id, profile_id) "
        "WHERE run_id = $r AND (k.risk_low, k.risk_central, k.risk_high) "
        "IS DISTINCT FROM (p.risk_low, p.risk_central, p.risk_high)",
        {"r": run.run_id},
    )
    assert differ == 0
    for client in ("alpha", "bravo", "charlie"):
        rating = ctx.rating(run.run_id, client, scope=Scope.everything())
        assert ctx.rescore_client(run.run_id, client)["score"] == pytest.approx(
            rating.score, abs=1e-12
        )
    ctx.close()
    same.close()


def test_chunk_size_changes_nothing(tmp_path: Path) -> None:
    book = _book(tmp_path / "book")
    stored = []
    for rows in (1, 3, 1000):
        ctx = Context(tmp_path / f"c{rows}" / "r.duckdb")
        ctx.init()
        load_book(ctx, book, chunk_rows=rows)
        stored.append(_stored(ctx))
        ctx.close()
    assert stored[0] == stored[1] == stored[2]


def test_a_second_load_is_a_new_version(tmp_path: Path) -> None:
    book = _book(tmp_path / "book")
    ctx = Context(tmp_path / "db" / "r.duckdb")
    ctx.init()
    load_book(ctx, book)
    load_book(ctx, book)
    assert ctx.exposure_version("alpha") == 2
    assert ctx.store.rows(
        "SELECT version, n_assets, n_routes FROM exposure_versions WHERE client_id = 'alpha' "
        "ORDER BY version"
    ) == [(1, 4, 2), (2, 4, 2)]
    ctx.close()


def _refused(tmp_path: Path, book: Path, match: str) -> None:
    ctx = Context(tmp_path / "db" / "r.duckdb")
    ctx.init()
    before = ctx.store.rows("SELECT count(*) FROM clients")
    with pytest.raises(ExposureError, match=match):
        load_book(ctx, book, chunk_rows=2)
    # one transaction: not even the clients of the book were written
    assert ctx.store.rows("SELECT count(*) FROM clients") == before
    assert ctx.store.one("SELECT count(*) FROM assets") == 0
    ctx.close()


def test_a_bad_row_names_file_row_and_column_and_loads_nothing(tmp_path: Path) -> None:
    assets = ASSETS.with_columns(
        pl.when(pl.col("asset_id") == "C2")
        .then(-5.0)
        .otherwise(pl.col("value_usd"))
        .alias("value_usd")
    )
    book = _book(tmp_path / "book", assets=assets)
    _refused(
        tmp_path,
        book,
        r"assets.parquet: 1 problem\(s\), nothing was loaded:\n  row 9, "
        r"value_usd: -5.0 is below 0; a number of US dollars, 0 or more",
    )


def test_unknown_type_port_and_place_are_each_named(tmp_path: Path) -> None:
    assets = ASSETS.with_columns(
        pl.when(pl.col("asset_id") == "B1")
        .then(pl.lit("castle"))
        .otherwise("asset_type")
        .alias("asset_type"),
        pl.when(pl.col("asset_id") == "B3")
        .then(pl.lit("Atlantis"))
        .otherwise("city")
        .alias("city"),
    )
    book = _book(tmp_path / "book", assets=assets)
    _refused(tmp_path, book, r"row 5, asset_type: 'castle' is not accepted; one of office")
    book = _book(tmp_path / "book2")
    (book / "routes.parquet").unlink()
    ROUTES.with_columns(pl.lit("Nowhere Harbour").alias("destination")).write_parquet(
        book / "routes.parquet"
    )
    _refused(
        tmp_path,
        book,
        r"routes.parquet: 2 problem\(s\), nothing was loaded:\n  row 1, destination: unknown "
        r"port 'Nowhere Harbour'; did you mean Sheet Harbour \(CASHH\)",
    )
    book = _book(
        tmp_path / "book3", assets=assets.with_columns(pl.lit("office").alias("asset_type"))
    )
    _refused(tmp_path, book, r"row 7, location: city 'Atlantis' not found in Lebanon")


def test_clients_out_of_order_or_unknown_are_refused(tmp_path: Path) -> None:
    book = _book(tmp_path / "book", assets=ASSETS.reverse())
    _refused(
        tmp_path,
        book,
        r"^assets.parquet row 3: client 'bravo' comes after a later client; the book's files must "
        r"list clients in ascending client_id order",
    )
    book = _book(
        tmp_path / "book2",
        assets=ASSETS.with_columns(pl.col("client_id").replace({"charlie": "delta"})),
    )
    _refused(tmp_path, book, r"client 'delta' is not in the clients list")


def test_the_demo_book_loads_from_csv_through_the_same_path(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    ctx = Context(tmp_path / "db" / "r.duckdb")
    ctx.init()
    ids = load_book(ctx, folder)
    assert len(ids) == 10
    run = ctx.run()
    meridian = ctx.rating(run.run_id, "meridian-basin-petroleum", Scope.everything())
    assert (meridian.band, round(meridian.score, 1)) == ("E", 37.0)
    ctx.close()


def test_the_cli_loads_and_scores_a_book(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    book = _book(tmp_path / "book")
    db = tmp_path / "cli" / "r.duckdb"
    result = CliRunner().invoke(app, ["--db", str(db), "load-book", str(book)])
    assert result.exit_code == 0, result.output
    assert "Loaded 3 clients (9 assets, 3 routes) from" in result.output
    assert "scored 3 clients as of 2020-01-14" in result.output
    bad = _book(tmp_path / "bad", assets=ASSETS.with_columns(pl.lit(None).alias("name")))
    result = CliRunner().invoke(app, ["--db", str(db), "load-book", str(bad), "--no-score"])
    assert result.exit_code == 1
    assert "Error: assets.parquet: 9 problem(s), nothing was loaded" in result.output
    assert "row 1, name: is empty; non-empty text" in result.output


def test_a_killed_load_leaves_only_reserved_versions_the_next_load_removes(
    tmp_path: Path,
) -> None:
    from engine.book import LOADING, read_clients, reserve_versions, stage_book

    book = _book(tmp_path / "book")
    ctx = Context(tmp_path / "db" / "r.duckdb")
    ctx.init()
    # what a load killed after reserving its versions leaves behind
    reserve_versions(ctx, stage_book(ctx, read_clients(book)), "somewhere")
    assert ctx.store.one("SELECT count(*) FROM exposure_current") == 0
    assert (
        ctx.store.one(
            "SELECT count(*) FROM exposure_versions WHERE starts_with(note, $m)", {"m": LOADING}
        )
        == 3
    )
    load_book(ctx, book)
    assert ctx.store.rows("SELECT client_id, version, note FROM exposure_versions ORDER BY 1") == [
        (c, 1, "loaded from book") for c in ("alpha", "bravo", "charlie")
    ]
    ctx.close()


def test_a_refused_load_removes_the_versions_it_reserved(tmp_path: Path) -> None:
    book = _book(tmp_path / "book")
    ctx = Context(tmp_path / "db" / "r.duckdb")
    ctx.init()
    load_book(ctx, book)
    bad = ASSETS.with_columns(
        pl.when(pl.col("client_id") == "charlie")
        .then(pl.lit(9.0))
        .otherwise("criticality")
        .alias("criticality")
    )
    with pytest.raises(ExposureError, match=r"row 8, criticality: 9.0 is above 5"):
        load_book(ctx, _book(tmp_path / "bad", assets=bad), chunk_rows=2)
    # alpha's and bravo's chunks were written before charlie's was refused: all gone again
    assert ctx.store.rows(
        "SELECT client_id, max(version), count(*) FROM exposure_versions GROUP BY 1 ORDER BY 1"
    ) == [("alpha", 1, 1), ("bravo", 1, 1), ("charlie", 1, 1)]
    assert ctx.store.one("SELECT count(*) FROM assets WHERE version > 1") == 0
    assert ctx.store.one("SELECT count(*) FROM exposure_classes WHERE version > 1") == 0
    ctx.close()
