"""Small files skip Great Expectations' validator: the suite's expectations evaluated on the
frame must fail exactly the rows, with exactly the values, that the validator fails."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exposures.upload import validate
from exposures.upload.convert import convert
from exposures.upload.mapping import map_columns
from exposures.upload.pipeline import check_upload
from exposures.upload.readers import read_table
from exposures.upload.report import UploadRefused
from exposures.upload.schema import columns

from .conftest import BADFILES, kind_of

BOUNDS = {
    "assets.value_usd": (0.0, 1e13),
    "assets.criticality": (1.0, 5.0),
    "assets.headcount": (0.0, 1e6),
    "routes.annual_value_usd": (0.0, 1e13),
}
TEXT = sorted(p.name for p in BADFILES.iterdir() if p.suffix in (".csv", ".tsv"))


def _comparable(failed: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def value(v: object) -> object:
        if isinstance(v, float) and math.isnan(v):
            return None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    return sorted(
        (f["check"], f["column"], tuple((r, value(v)) for r, v in f["failures"])) for f in failed
    )


def _converted(name: str) -> tuple[pl.DataFrame, str] | None:
    data = (BADFILES / name).read_bytes()
    kind = kind_of(name)
    try:
        raw = read_table(data, name)
        cmap = map_columns(raw.headers, kind, None)
        return convert(raw, cmap, None).frame, kind
    except UploadRefused:
        return None


@pytest.mark.parametrize("name", TEXT)
def test_the_evaluated_suite_fails_what_great_expectations_fails(name: str) -> None:
    converted = _converted(name)
    if converted is None:
        pytest.skip("refused before validation")
    frame, kind = converted
    evaluated = validate.evaluate_suite(frame, kind, BOUNDS)
    assert evaluated is not None
    assert _comparable(evaluated) == _comparable(validate.run_suite(frame, kind, BOUNDS))


def test_a_file_with_every_kind_of_failure_gets_the_validators_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (
        b"asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality,headcount\n"
        b"A1,One,office,51.5,,London,GBR,1000,3,10\n"  # lon missing, lat given
        b"A1,Two,castle,95,10,,GBR,-5,9,-1\n"  # duplicate id, bad type, lat and value out
        b"A3,,plant,,,,,2e13,2,5\n"  # no name, not locatable, value above the rules' bound
        b"A4,Four,office,10,20,,FRA,,,\n"  # no value, no criticality
    )
    fast = check_upload(data, "a.csv", "assets", bounds=BOUNDS)
    monkeypatch.setattr(validate, "SMALL_FILE_ROWS", 0)  # every file through the validator
    slow = check_upload(data, "a.csv", "assets", bounds=BOUNDS)
    assert fast.report == slow.report
    assert fast.frame.equals(slow.frame)
    assert fast.quarantine_csv == slow.quarantine_csv
    messages = {(p.row, p.column): p.message for p in fast.report.problems}
    assert messages[(3, "asset_id")].startswith("appears in more than one row (rows 2, 3)")
    assert messages[(3, "asset_type")].startswith("is not an accepted value")
    assert messages[(4, "name")] == "is empty but the column is required"
    assert messages[(2, "lon")].startswith("is empty but lat is given")
    assert fast.report.rows_accepted == 0


def _frames(kind: str) -> st.SearchStrategy[pl.DataFrame]:
    specs = columns(kind)

    def column(spec: Any) -> st.SearchStrategy[Any]:
        if spec.type == "float":
            return st.one_of(
                st.none(),
                st.just(float("nan")),
                st.floats(-1e14, 1e14, allow_nan=False),
                st.sampled_from([-90.0, 90.0, -180.0, 180.0, 0.0, 1.0, 5.0]),
            )
        if spec.type == "int":
            return st.one_of(st.none(), st.integers(-3, 8))
        if spec.type == "enum":
            return st.one_of(st.none(), st.sampled_from([*spec.allowed, "castle", ""]))
        return st.one_of(st.none(), st.sampled_from(["a", "b", "c", "A"]))

    def build(rows: list[list[Any]]) -> pl.DataFrame:
        schema: dict[str, Any] = {
            s.name: {"float": pl.Float64, "int": pl.Int64}.get(s.type, pl.String) for s in specs
        }
        data = {s.name: [r[i] for r in rows] for i, s in enumerate(specs)}
        frame = pl.DataFrame(data, schema=schema, strict=False)
        return frame.with_columns(pl.Series(validate.ROW, range(2, len(rows) + 2)))

    row = st.tuples(*(column(s) for s in specs)).map(list)
    return st.lists(row, min_size=1, max_size=12).map(build)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_frames("assets"))
def test_any_asset_frame_fails_alike(frame: pl.DataFrame) -> None:
    evaluated = validate.evaluate_suite(frame, "assets", BOUNDS)
    assert evaluated is not None
    assert _comparable(evaluated) == _comparable(validate.run_suite(frame, "assets", BOUNDS))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_frames("routes"))
def test_any_route_frame_fails_alike(frame: pl.DataFrame) -> None:
    evaluated = validate.evaluate_suite(frame, "routes", BOUNDS)
    assert evaluated is not None
    assert _comparable(evaluated) == _comparable(validate.run_suite(frame, "routes", BOUNDS))


def test_an_expectation_it_does_not_know_sends_the_file_to_the_validator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gx = validate._gx()
    suite = gx.ExpectationSuite(name="other")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(column="name", regex="x"))
    monkeypatch.setattr(validate, "_suite", lambda kind, bounds: suite)
    frame = pl.DataFrame({"name": ["a"], validate.ROW: [2]})
    assert validate.evaluate_suite(frame, "assets") is None
