"""Header mapping, explicit mappings, SQL-looking headers, templates and column docs."""

from __future__ import annotations

import io

import openpyxl
import pytest

from exposures.upload.mapping import (
    column_docs,
    map_columns,
    normalise_header,
    suggest,
    template_csv,
    template_xlsx,
    templates,
    unsafe_header_reason,
)
from exposures.upload.pipeline import check_upload
from exposures.upload.report import UploadRefused
from exposures.upload.schema import ASSET_COLUMNS, ROUTE_COLUMNS


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Latitude", "lat"),
        ("lat", "lat"),
        ("LAT", "lat"),
        ("Y", "lat"),
        ("Longitude", "lon"),
        ("lng", "lon"),
        ("long", "lon"),
        ("X", "lon"),
        ("Site name", "name"),
        ("Asset name", "name"),
        ("Name", "name"),
        ("NAME ", "name"),
        ("Country", "country"),
        ("Country code", "country"),
        ("ISO3", "country"),
        ("Value", "value_usd"),
        ("Value (USD)", "value_usd"),
        ("Replacement value", "value_usd"),
        ("Type", "asset_type"),
        ("Site type", "asset_type"),
        ("asset-type", "asset_type"),
        ("Criticality", "criticality"),
        ("Tier", "criticality"),
        ("Staff", "headcount"),
        ("Employees", "headcount"),
        ("Headcount", "headcount"),
        ("Asset ID", "asset_id"),
        ("asset_id", "asset_id"),
        ("Site_ID", "asset_id"),
    ],
)
def test_asset_header_variants(header: str, canonical: str) -> None:
    headers = [header] + [s.name for s in ASSET_COLUMNS if s.name != canonical and s.required]
    assert map_columns(headers, "assets").by_canonical[canonical] == 0


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("From", "origin"),
        ("Origin port", "origin"),
        ("POL", "origin"),
        ("To", "destination"),
        ("POD", "destination"),
        ("Destination port", "destination"),
        ("Cargo", "commodity"),
        ("Annual value", "annual_value_usd"),
        ("Shipments", "shipments_per_year"),
        ("Route ID", "route_id"),
    ],
)
def test_route_header_variants(header: str, canonical: str) -> None:
    headers = [header] + [s.name for s in ROUTE_COLUMNS if s.name != canonical and s.required]
    assert map_columns(headers, "routes").by_canonical[canonical] == 0


def test_normalise_header() -> None:
    assert normalise_header("  Value (USD) ") == "valueusd"
    assert normalise_header("ＬＡＴ") == "lat"  # full-width letters


def test_suggestions_for_misspelt_headers() -> None:
    assert suggest("Lattitude", "assets") == "lat"
    assert suggest("Critcality", "assets") == "criticality"
    assert suggest("zz", "assets") is None
    assert suggest("Colour", "assets") is None


def test_explicit_mapping_wins_and_can_ignore() -> None:
    headers = ["Ref", "Label", "Kind", "Nation", "Worth", "Crit", "Name"]
    cmap = map_columns(
        headers,
        "assets",
        {
            "Ref": "asset_id",
            "Label": "name",
            "Kind": "asset_type",
            "Nation": "country",
            "Worth": "value_usd",
            "Crit": "criticality",
            "Name": None,
        },
    )
    assert cmap.as_dict() == {
        "Ref": "asset_id",
        "Label": "name",
        "Kind": "asset_type",
        "Nation": "country",
        "Worth": "value_usd",
        "Crit": "criticality",
    }
    assert cmap.ignored == [6]


def test_explicit_mapping_beats_an_automatic_match() -> None:
    headers = ["asset_id", "name", "Site name", "type", "country", "value", "tier"]
    cmap = map_columns(headers, "assets", {"Site name": "name"})
    assert cmap.by_canonical["name"] == 2
    assert cmap.warnings == ["column 2 'name' was ignored: the mapping feeds name from 'Site name'"]


def test_bad_mappings_are_refused_with_what_to_fix() -> None:
    with pytest.raises(UploadRefused) as err:
        map_columns(
            ["a", "b"],
            "assets",
            {"missing": "name", "a": "colour", "x; DROP TABLE t": "name"},
        )
    assert err.value.errors == [
        "mapping: the file has no header 'missing'; its headers are 'a', 'b'",
        "mapping: 'colour' is not a column of assets; accepted: asset_id, name, asset_type, lat, "
        "lon, city, country, value_usd, criticality, headcount, service_id, mitigations",
        "mapping: the header 'x; DROP TABLE t' contains ';', which is not allowed in a column name",
    ]


def test_mapping_through_the_pipeline() -> None:
    data = b"Ref,Label,Kind,Nation,Worth,Crit\nX1,One,office,GBR,10,2\n"
    result = check_upload(
        data,
        "a.csv",
        "assets",
        {
            "Ref": "asset_id",
            "Label": "name",
            "Kind": "asset_type",
            "Nation": "country",
            "Worth": "value_usd",
            "Crit": "criticality",
        },
    )
    assert result.report.rows_accepted == 1
    assert result.frame["asset_id"].to_list() == ["X1"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("name; DROP TABLE assets", "contains ';', which is not allowed in a column name"),
        ("name' --", "contains '--', which is not allowed in a column name"),
        ("a /* b */", "contains '/*', which is not allowed in a column name"),
        ('"quoted"', "contains '\"', which is not allowed in a column name"),
        ("DROP TABLE clients", "looks like an SQL statement, not a column name"),
        ("union select password from users", "looks like an SQL statement, not a column name"),
        ("tab\there", "contains control or invisible characters"),
        ("x" * 101, "is longer than 100 characters"),
        ("Value (USD)", None),
        ("Société", None),
        ("Select site", None),
    ],
)
def test_unsafe_headers(header: str, reason: str | None) -> None:
    assert unsafe_header_reason(header) == reason


@pytest.mark.parametrize("kind", ["assets", "routes"])
def test_csv_template_is_a_valid_upload(kind: str) -> None:
    data = templates(kind)
    assert data == template_csv(kind)
    result = check_upload(data, f"{kind}.csv", kind)
    assert result.report.rows_accepted == 1, result.report.lines()
    assert result.report.lines() == []


@pytest.mark.parametrize("kind", ["assets", "routes"])
def test_xlsx_template(kind: str) -> None:
    data = templates(kind, "xlsx")
    assert data[:4] == b"PK\x03\x04"
    result = check_upload(data, f"{kind}.xlsx", kind)
    assert result.report.rows_accepted == 1
    assert result.report.warnings == [
        f"the workbook has 2 sheets; only {kind!r} was read (the others: 'columns'; choose with "
        "--sheet)"
    ]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [kind, "columns"]
    sheet = book[kind]
    specs = ASSET_COLUMNS if kind == "assets" else ROUTE_COLUMNS
    for c, spec in enumerate(specs, start=1):
        assert sheet.cell(1, c).value == spec.name
        cell = sheet.cell(2, c)
        assert cell.data_type == ("n" if spec.type in ("float", "int") else "s")
    docs = book["columns"]
    assert [c.value for c in docs[1]] == list(column_docs(kind)[0])
    assert docs.max_row == len(specs) + 1


def test_xlsx_template_writes_formula_looking_text_as_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from exposures.upload import mapping
    from exposures.upload.schema import ColumnSpec

    evil = ColumnSpec("name", "str", True, "doc", '=HYPERLINK("http://x")', "text")
    monkeypatch.setattr(mapping, "columns", lambda kind: (evil,))
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx("assets")))
    cell = book.active.cell(2, 1)
    assert (cell.data_type, cell.value) == ("s", '=HYPERLINK("http://x")')


def test_column_docs() -> None:
    docs = column_docs("assets")
    assert [d["column"] for d in docs] == [s.name for s in ASSET_COLUMNS]
    lat = docs[3]
    assert lat == {
        "column": "lat",
        "required": "no",
        "type": "number",
        "accepted": "a number from -90 to 90 (decimal degrees)",
        "example": "51.5072",
        "description": "Latitude in decimal degrees (WGS84), -90 to 90. Give lat and lon, or a "
        "country.",
        "also_recognised": "lat, latitude, y, latdeg, latitudedeg, ycoord, ycoordinate",
    }


def test_unknown_kind_and_format() -> None:
    from engine.errors import ExposureError

    with pytest.raises(
        ExposureError, match="unknown upload kind 'sites'; accepted: assets, routes"
    ):
        template_csv("sites")
    with pytest.raises(ExposureError, match="unknown template format 'pdf'; accepted: csv, xlsx"):
        templates("assets", "pdf")


def test_the_report_lists_every_header_for_the_mapping_editor() -> None:
    from exposures.upload.pipeline import check_upload

    data = (
        b"Asset ID,Site name,Type,Latitude,Longitude,Country,Value (USD),Tier,Cost centre\n"
        b"A1,Depot,warehouse,30.5,47.8,Iraq,1000,3,CC-9\n"
    )
    report = check_upload(data, "sites.csv", "assets").report
    assert report.headers == [
        "Asset ID",
        "Site name",
        "Type",
        "Latitude",
        "Longitude",
        "Country",
        "Value (USD)",
        "Tier",
        "Cost centre",
    ]
    assert "Cost centre" not in report.columns  # not mapped, but offered to the editor
    assert report.columns["Latitude"] == "lat"
