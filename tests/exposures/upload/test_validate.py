"""The expectation suites, problems, the canonical frame and the quarantine file."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from exposures.upload import report as report_module
from exposures.upload import validate
from exposures.upload.pipeline import check_upload
from exposures.upload.report import Problem, ValidationReport, value_repr
from exposures.upload.validate import build_suite, neutralise


def _checks(kind: str) -> list[tuple[str, str, str]]:
    suite = build_suite(kind)
    return [
        (e.expectation_type, getattr(e, "column", ""), (e.meta or {})["check"])
        for e in suite.expectations
    ]


def test_asset_suite_states_every_rule() -> None:
    checks = _checks("assets")
    assert ("expect_column_values_to_not_be_null", "asset_id", "required") in checks
    assert ("expect_column_values_to_be_unique", "asset_id", "unique") in checks
    assert ("expect_column_values_to_be_in_set", "asset_type", "allowed") in checks
    assert ("expect_column_values_to_be_between", "lat", "range") in checks
    assert ("expect_column_values_to_be_between", "lon", "range") in checks
    assert ("expect_column_values_to_be_between", "value_usd", "range") in checks
    assert ("expect_column_values_to_be_between", "criticality", "range") in checks
    assert ("expect_column_values_to_be_in_type_list", "value_usd", "type") in checks
    assert ("expect_column_values_to_not_be_null", "country", "locatable") in checks
    assert ("expect_column_values_to_not_be_null", "lon", "pair") in checks
    required = {c for _, c, check in checks if check == "required"}
    assert required == {"asset_id", "name", "asset_type", "value_usd", "criticality"}
    between = {
        getattr(e, "column", ""): (getattr(e, "min_value", None), getattr(e, "max_value", None))
        for e in build_suite("assets").expectations
        if e.expectation_type == "expect_column_values_to_be_between"
    }
    assert between == {
        "lat": (-90.0, 90.0),
        "lon": (-180.0, 180.0),
        "value_usd": (0.0, None),
        "criticality": (1, 5),
        "headcount": (0, None),
    }


def test_route_suite_states_every_rule() -> None:
    checks = _checks("routes")
    required = {c for _, c, check in checks if check == "required"}
    assert required == {
        "route_id",
        "name",
        "origin",
        "destination",
        "commodity",
        "annual_value_usd",
    }
    assert ("expect_column_values_to_be_in_set", "commodity", "allowed") in checks
    assert ("expect_column_values_to_be_unique", "route_id", "unique") in checks
    assert not any(check == "locatable" for _, _, check in checks)


def test_canonical_frame_schema() -> None:
    data = (
        b"asset_id,name,asset_type,lat,lon,country,value_usd,criticality,mitigations\n"
        b'A1,One,office,51.5,-0.1,GBR,100,3,"Insurance, backup site"\n'
    )
    frame = check_upload(data, "a.csv", "assets").frame
    assert frame.schema["asset_id"] == pl.String
    assert frame.schema["lat"] == pl.Float64
    assert frame.schema["criticality"] == pl.Int64
    assert frame.schema["headcount"] == pl.Int64
    assert frame.schema["source_row"] == pl.Int64
    row = frame.row(0, named=True)
    assert (row["headcount"], row["city"], row["service_id"]) == (0, None, None)
    assert row["mitigations"] == "backup_site;insurance"


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+cmd") == "'+cmd"
    assert neutralise("-2+3") == "'-2+3"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("\nx") == "'\nx"
    assert neutralise("-12.5") == "-12.5"  # a plain number stays a number
    assert neutralise("+44") == "+44"
    assert neutralise("plain") == "plain"
    assert neutralise("") == ""


def test_quarantine_holds_original_columns_neutralised_and_the_error() -> None:
    data = (
        b"Asset ID,Site name,Type,Country,Value,Tier,=cmd|' /C calc'!A0\n"
        b'A1,=HYPERLINK("http://x"),office,GBR,abc,3,@SUM(1)\n'
        b"A2,Fine,office,GBR,10,3,x\n"
    )
    result = check_upload(data, "a.csv", "assets")
    assert result.quarantine_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(result.quarantine_csv.decode("utf-8-sig"))))
    assert rows == [
        [
            "Asset ID",
            "Site name",
            "Type",
            "Country",
            "Value",
            "Tier",
            "'=cmd|' /C calc'!A0",
            "error",
        ],
        [
            "A1",
            '\'=HYPERLINK("http://x")',
            "office",
            "GBR",
            "abc",
            "3",
            "'@SUM(1)",
            "row 2: Value 'abc' is not a number (accepted: a number of US dollars, 0 or more)",
        ],
    ]
    assert result.frame["asset_id"].to_list() == ["A2"]


def test_no_quarantine_when_every_row_is_accepted() -> None:
    data = b"asset_id,name,asset_type,country,value_usd,criticality\nA1,x,office,GBR,1,1\n"
    assert check_upload(data, "a.csv", "assets").quarantine_csv == b""


def test_problems_are_capped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_PROBLEMS", 3)
    lines = ["asset_id,name,asset_type,country,value_usd,criticality"]
    lines += [f"A{i},x,office,GBR,bad,9" for i in range(5)]
    result = check_upload(("\n".join(lines) + "\n").encode(), "a.csv", "assets")
    report = result.report
    assert report.rows_rejected == 5
    assert len(report.problems) == 3
    assert report.problems_truncated == 7
    assert report.lines()[-1] == "... and 7 more problems (see the quarantine file)"
    assert result.quarantine_csv.decode("utf-8-sig").count("\r\n") == 6


def test_problem_text_and_value_repr() -> None:
    problem = Problem(
        row=7,
        column="lat",
        header="Latitude",
        value=value_repr("95"),
        message="is above 90",
        accepted="a number from -90 to 90",
    )
    assert str(problem) == (
        "row 7, column 'Latitude' (lat): '95' is above 90; accepted: a number from -90 to 90"
    )
    assert value_repr("x" * 200) == "'" + "x" * 76 + "..."
    assert len(value_repr("x" * 200)) == report_module.VALUE_REPR_MAX


def test_report_round_trips_as_json() -> None:
    data = b"asset_id,name,asset_type,country,value_usd,criticality\nA1,x,office,GBR,-1,1\n"
    report = check_upload(data, "a.csv", "assets").report
    again = ValidationReport.model_validate_json(report.model_dump_json())
    assert again == report
    assert again.problems[0].column == "value_usd"
    assert again.problems[0].header == "value_usd"
    assert again.ok
    assert (again.rows_accepted, again.rows_rejected) == (0, 1)


def test_unknown_kind_is_refused() -> None:
    from engine.errors import ExposureError

    with pytest.raises(ExposureError, match="unknown upload kind 'ships'"):
        check_upload(b"a\n1\n", "a.csv", "ships")
