"""Client onboarding through the README's commands: clients, mapping, modes, previews.

The real-world book (tests/engine/data/client_book_*.csv) has the headers a client sends:
"Site, Type of site, Lat, Long, City, Country, Replacement value USD, Critical (1-5), Staff,
Backup site?" and "Lane, From port, To port, Cargo, Annual value (USD), Voyages per year", ports
by LOCODE and by name (Basra Oil Terminal), rows with only a city and one with only a country.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.book import load_demo
from engine.cli import app
from engine.clients import audit_entries
from engine.context import EVERYONE, Context
from tests.conftest import Stores

DATA = Path(__file__).parent / "data"
SITES = DATA / "client_book_sites.csv"
LANES = DATA / "client_book_lanes.csv"
NEW = "gulfstar-energy"
NINE = "meridian-basin-petroleum"  # the demo client with 9 sites
SITE_MAP = ["--map", "Site=asset_id", "--value-map", "asset_type:Production site=plant"]


@pytest.fixture
def db(stores: Stores, tmp_path: Path) -> Iterator[str]:
    path = stores.new(tmp_path / "db")
    with Context(path) as ctx:
        load_demo(ctx)
    yield str(path)


def run(db: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db, *args], input=input)
    return result.exit_code, result.output


def add_new_client(db: str) -> None:
    code, out = run(
        db, "clients", "add", NEW, "--name", "Gulfstar Energy", "--sector", "oil_gas",
        "--hq", "United States", "--affiliation", "US", "--business-value", "8e9",
        "--service", "crude-export=Crude exports:5",
    )  # fmt: skip
    assert code == 0, out
    assert out.strip() == (
        f"Created client {NEW} (Gulfstar Energy, oil_gas, USA); upload its sites with: "
        f"resilience upload FILE --client {NEW}"
    )


def test_clients_add_edit_remove_with_audit_entries(db: str) -> None:
    add_new_client(db)
    code, out = run(db, "clients", "add", NEW, "--name", "X", "--sector", "oil_gas", "--hq", "USA")
    assert code == 1
    assert f"Error: client '{NEW}' already exists; change it with `resilience clients edit" in out
    code, out = run(
        db, "clients", "add", "acme", "--name", "A", "--sector", "oil_gas", "--hq", "Atlantis"
    )
    assert code == 1 and "Error: --hq 'Atlantis' is not a known country" in out
    code, out = run(
        db, "clients", "add", "acme", "--name", "A", "--sector", "mining", "--hq", "PER",
        "--affiliation", "NATO",
    )  # fmt: skip
    assert code == 1 and "affiliation 'NATO' is not known (allowed: US, US_ALLY, GCC" in out
    code, out = run(db, "clients", "edit", NEW, "--name", "Gulfstar Energy Inc.", "--hq", "GBR")
    assert code == 0 and out.strip() == f"Updated client {NEW} (Gulfstar Energy Inc.)"
    code, out = run(db, "clients", "edit", NEW, "--hq", "GBR")
    assert code == 1 and "nothing to change (every value is the same)" in out
    code, out = run(db, "upload", str(SITES), "--client", NEW, *SITE_MAP)
    assert code == 0, out
    # a wrong confirmation removes nothing
    code, out = run(db, "clients", "remove", NEW, input="gulfstar\n")
    assert code == 1
    assert (
        "Removing gulfstar-energy deletes 1 exposure version(s) (8 asset and 0 route rows)" in out
    )
    assert "confirm by typing the client id (gulfstar-energy)" in out
    with Context(db) as ctx:
        assert ctx.client(NEW, scope=EVERYONE).name == "Gulfstar Energy Inc."
    code, out = run(db, "clients", "remove", NEW, "--yes", NEW)
    assert code == 0 and out.strip() == (
        f"Removed client {NEW}: 1 exposure version(s), 8 asset rows, 0 route rows, 0 user(s)"
    )
    with Context(db) as ctx:
        for table in ("clients", "services", "assets", "exposure_versions", "exposure_classes"):
            n = ctx.store.one(f"SELECT count(*) FROM {table} WHERE client_id = $c", {"c": NEW})
            assert n == 0, table
        entries = audit_entries(ctx, NEW)
    assert [e.action for e in entries] == ["client.add", "client.edit", "client.remove"]
    assert entries[0].detail["hq_country"] == "USA"
    assert entries[1].detail == {
        "hq_country": {"from": "USA", "to": "GBR"},
        "name": {"from": "Gulfstar Energy", "to": "Gulfstar Energy Inc."},
    }
    assert entries[2].detail == {
        "name": "Gulfstar Energy Inc.",
        "removed": {"versions": 1, "assets": 8, "routes": 0, "users": 0},
    }
    assert all(e.actor.startswith("cli") for e in entries)


def test_the_real_world_book_loads_into_a_new_client(db: str) -> None:
    add_new_client(db)
    # the suggestions read "Site" as the name; the file has no ids: the message says what to do
    code, out = run(db, "upload", str(SITES), "--client", NEW, "--json")
    assert code == 1
    assert json.loads(out)["file_errors"] == [
        "the required column asset_id is missing; add a column of ids, or use the names as ids "
        "with --map 'Site=asset_id'"
    ]
    code, out = run(db, "upload", str(SITES), "--client", NEW, *SITE_MAP, "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["loaded"] is True and doc["rows_rejected"] == 0
    assert doc["accepted"] == [2, 3, 4, 5, 6, 7, 8, 9]  # every row of the file
    assert doc["warnings"] == [
        "the file has no name column; each row's asset_id ('Site') is used as its name"
    ]
    # the offshore terminal's geocoder note names its row and is in the JSON report
    assert [(p["row"], p["header"], p["severity"], p["message"]) for p in doc["problems"]] == [
        (
            2,
            "Country",
            "warning",
            "the coordinates (29.682, 48.809) are 43 km from Arvand Kenār in Iran, not in Iraq "
            "as given; the given country was kept (check the country, or for swapped lat/lon)",
        )
    ]
    code, out = run(db, "upload", str(LANES), "--client", NEW, "--kind", "routes", "--json")
    assert code == 0, out
    lanes = json.loads(out)
    assert lanes["accepted"] == [2, 3, 4, 5] and lanes["rows_rejected"] == 0
    with Context(db) as ctx:
        rows = ctx.store.rows(
            "SELECT asset_id, asset_type, geo_precision, country_iso3, mitigations FROM assets "
            "WHERE client_id = $c AND version = 2 ORDER BY asset_id",
            {"c": NEW},
        )
        routes = ctx.store.rows(
            "SELECT route_id, origin, commodity, annual_value_usd, shipments_per_year FROM routes "
            "WHERE client_id = $c AND version = 2 ORDER BY route_id",
            {"c": NEW},
        )
    assert rows == [
        ("Baghdad liaison office", "office", "city", "IRQ", []),
        ("Basra Oil Terminal", "plant", "coordinates", "IRQ", ["backup_site"]),
        ("Dubai trading desk", "office", "city", "ARE", ["backup_site"]),
        ("Erbil office", "office", "city", "IRQ", ["backup_site"]),
        ("Fujairah tank farm", "warehouse", "coordinates", "ARE", []),
        ("Houston HQ", "office", "coordinates", "USA", ["backup_site"]),
        ("Kuwait agency", "office", "country", "KWT", []),
        ("Rumaila gathering station", "plant", "coordinates", "IRQ", []),
    ]
    assert routes == [
        ("BOT-RTM", "Basra Oil Terminal", "crude_oil", 2.4e9, 18),
        ("BOT-SIN", "Basra Oil Terminal", "crude_oil", 1.1e9, 9),
        ("FJR-HOU", "AEFJR", "refined_products", 3.8e8, 8),
        ("UQR-JEA", "IQUQR", "containers", 6.0e7, 40),
    ]


def test_uploading_routes_never_changes_the_stored_assets(db: str) -> None:
    add_new_client(db)
    assert run(db, "upload", str(SITES), "--client", NEW, *SITE_MAP)[0] == 0
    assert run(db, "upload", str(LANES), "--client", NEW, "--kind", "routes")[0] == 0
    with Context(db) as ctx:
        versions = ctx.store.rows(
            "SELECT version, asset_id, lat, lon, city, country, country_iso3, subdivision, "
            "geo_precision, value_usd, criticality, headcount, mitigations FROM assets "
            "WHERE client_id = $c ORDER BY asset_id, version",
            {"c": NEW},
        )
    v1 = [r[1:] for r in versions if r[0] == 1]
    v2 = [r[1:] for r in versions if r[0] == 2]
    assert v1 == v2 and len(v1) == 8
    kuwait = next(r for r in v2 if r[0] == "Kuwait agency")
    assert (kuwait[6], kuwait[7]) == (None, "country")  # no province, still country-level


def test_upsert_of_two_new_sites_onto_nine_previews_then_loads(db: str, tmp_path: Path) -> None:
    two = tmp_path / "two.csv"
    two.write_text(
        "asset_id,name,asset_type,city,country,value_usd,criticality\n"
        "NEW-1,Muscat office,office,Muscat,Oman,2500000,2\n"
        "NEW-2,Doha office,office,Doha,Qatar,3000000,3\n",
        "utf-8",
    )
    code, out = run(db, "upload", str(two), "--client", NINE, "--mode", "upsert", "--dry-run")
    assert code == 0, out
    preview = next(line for line in out.splitlines() if line.startswith("Preview"))
    assert preview.startswith(
        "Preview (upsert): 2 added, 0 updated, 0 removed, 9 unchanged; 11 assets after; rating "
    )
    assert "Nothing loaded: dry run: nothing was loaded" in out
    with Context(db) as ctx:
        assert ctx.exposure_version(NINE) == 1
    code, out = run(db, "upload", str(two), "--client", NINE, "--mode", "upsert")
    assert code == 0, out
    lines = out.splitlines()
    assert lines.index(preview) < next(i for i, x in enumerate(lines) if x.startswith("Loaded"))
    with Context(db) as ctx:
        assert ctx.exposure_version(NINE) == 2
        assert (
            ctx.store.one(
                "SELECT count(*) FROM assets WHERE client_id = $c AND version = 2", {"c": NINE}
            )
            == 11
        )
    # the same file again changes nothing: nothing loads, and it says so
    code, out = run(db, "upload", str(two), "--client", NINE, "--mode", "upsert")
    assert code == 1
    assert "Nothing loaded: the file changes nothing: its rows match the current version 2" in out
    with Context(db) as ctx:
        assert ctx.exposure_version(NINE) == 2


def test_preview_rating_is_the_rating_after_loading(db: str, tmp_path: Path) -> None:
    four = tmp_path / "four.csv"
    four.write_text(
        "asset_id,name,asset_type,city,country,value_usd,criticality\n"
        + "".join(f"P{i},Site {i},office,Paris,France,1000000,2\n" for i in range(4)),
        "utf-8",
    )
    code, out = run(db, "upload", str(four), "--client", NINE, "--dry-run", "--json")
    assert code == 0
    plan = json.loads(out)["plan"]
    assert (plan["added"], plan["updated"], plan["removed"]) == (4, 0, 9)
    assert plan["summary"] == "4 added, 0 updated, 9 removed"
    code, out = run(db, "upload", str(four), "--client", NINE, "--json")
    doc = json.loads(out)
    assert doc["loaded"] is True
    assert doc["after"]["score"] == pytest.approx(plan["rating_after"]["score"])
    assert doc["before"]["score"] == pytest.approx(plan["rating_before"]["score"])


def test_delete_mode_needs_only_ids_and_names_ids_it_does_not_know(db: str, tmp_path: Path) -> None:
    gone = tmp_path / "gone.csv"
    gone.write_text("Site ID\nＡＳＴ-００１\nast-002 \nAST-999\n", "utf-8")  # full width, case
    code, out = run(db, "upload", str(gone), "--client", NINE, "--mode", "delete")
    assert code == 0, out
    assert "Preview (delete): 0 added, 0 updated, 2 removed, 7 unchanged; 7 assets after" in out
    assert "not in the current list (nothing to delete): AST-999" in out
    with Context(db) as ctx:
        ids = [
            r[0]
            for r in ctx.store.rows(
                "SELECT asset_id FROM assets WHERE client_id = $c AND version = 2 ORDER BY 1",
                {"c": NINE},
            )
        ]
    assert ids == [f"AST-00{i}" for i in range(3, 10)]


def test_ids_are_compared_after_nfkc_and_ignoring_case(db: str, tmp_path: Path) -> None:
    f = tmp_path / "case.csv"
    f.write_text(
        "asset_id,name,asset_type,lat,lon,country,value_usd,criticality\n"
        "ａｓｔ-００１,Rumaila North,oilfield,30.6050,47.3320,Iraq,3500000000,5\n",
        "utf-8",
    )
    code, out = run(db, "upload", str(f), "--client", NINE, "--mode", "upsert", "--json")
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert (plan["added"], plan["updated"], plan["updated_ids"]) == (0, 1, ["AST-001"])
    dup = tmp_path / "dup.csv"
    dup.write_text(
        "asset_id,name,asset_type,country,value_usd,criticality\n"
        "X-1,A,office,Iraq,1,1\nx-1,B,office,Iraq,1,1\n",
        "utf-8",
    )
    code, out = run(db, "upload", str(dup), "--client", NINE, "--json")
    assert code == 1
    assert [p["message"] for p in json.loads(out)["problems"]] == [
        "is the same id as another row once case is ignored (rows 2, 3)"
    ] * 2


def test_saved_mapping_template_is_reused(db: str) -> None:
    add_new_client(db)
    code, out = run(
        db,
        "upload",
        str(SITES),
        "--client",
        NEW,
        *SITE_MAP,
        "--save-template",
        "sites",
        "--dry-run",
    )
    assert code == 0, out
    code, out = run(db, "upload", str(SITES), "--client", NEW, "--template", "sites", "--json")
    assert code == 0 and json.loads(out)["rows_accepted"] == 8
    code, out = run(db, "upload", str(SITES), "--client", NEW, "--template", "lanes")
    assert code == 1
    assert (
        f"Error: client '{NEW}' has no saved assets mapping template 'lanes'; saved: sites" in out
    )


def test_bad_mapping_options_are_named(db: str) -> None:
    code, out = run(db, "upload", str(SITES), "--client", NINE, "--map", "no equals sign")
    assert code == 1 and "Error: --map 'no equals sign': write it as 'Your header=column'" in out
    code, out = run(db, "upload", str(SITES), "--client", NINE, "--value-map", "Production=plant")
    assert code == 1
    assert "write it as 'column:Your value=accepted value', e.g. 'asset_type:Production" in out
    code, out = run(db, "upload", str(SITES), "--client", NINE, "--mode", "merge")
    assert code == 1 and "Error: --mode 'merge': use replace, upsert, delete" in out


def test_removing_a_client_reaches_every_table_that_holds_its_rows(tmp_path: Path) -> None:
    """Every table with a client_id column is cleared by `clients remove` (the audit log and
    users are handled on their own), and every table it names exists."""
    from engine.clients import CLIENT_TABLES

    with Context(tmp_path / "t" / "r.duckdb") as ctx:
        ctx.init()
        with_client = {
            r[0]
            for r in ctx.store.rows(
                "SELECT DISTINCT table_name FROM information_schema.columns "
                "WHERE column_name = 'client_id'"
            )
        }
    assert set(CLIENT_TABLES) <= with_client
    assert with_client - set(CLIENT_TABLES) <= {"audit_log", "users"}


def test_a_port_far_from_the_sea_lanes_is_a_warning_of_its_row(db: str, tmp_path: Path) -> None:
    """A route's note (an end port far from searoute's lanes) names its row, column and route
    in the JSON report and in the printed one, and is not a rowless log line."""
    add_new_client(db)
    lanes = tmp_path / "lanes.csv"
    lanes.write_text(
        "Lane,From port,To port,Cargo,Annual value (USD),Voyages per year\n"
        'BOT-RTM,Basra Oil Terminal,NLRTM,crude,"2,400,000,000",18\n'
        'BGW-RTM,"33.31, 44.36",NLRTM,crude,"100,000,000",3\n',
        "utf-8",
    )
    args = ("upload", str(lanes), "--client", NEW, "--kind", "routes")
    result = CliRunner().invoke(app, ["--db", db, *args, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accepted"] == [2, 3]
    assert doc["problems"] == [
        {
            "row": 3,
            "column": "origin",
            "header": "From port",
            "value": "'33.31, 44.36'",
            "message": "(route BGW-RTM): 33.3100, 44.3600 is 496 km from the nearest sea lane; "
            "the route runs straight from the port to that lane, so its length and days are "
            "approximate",
            "accepted": "a port on the coast, or the UN/LOCODE of the nearest coastal port",
            "severity": "warning",
        }
    ]
    assert "sea network" not in result.stderr
    wide = CliRunner().invoke(app, ["--db", db, *args], env={"COLUMNS": "400"})
    assert wide.exit_code == 0, wide.output
    row = next(line for line in wide.output.splitlines() if "BGW-RTM" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "3",
        "From port",
        "'33.31, 44.36'",
        "(route BGW-RTM): 33.3100, 44.3600 is 496 km from the nearest sea lane; the route runs "
        "straight from the port to that lane, so its length and days are approximate",
        "a port on the coast, or the UN/LOCODE of the nearest coastal port",
    ]
