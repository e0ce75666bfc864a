"""Row-level validation: Great Expectations suites kept as code, one per kind.

``build_suite(kind)`` states what a valid assets or routes table is (required columns, ranges,
allowed values, unique ids, locatable rows). ``validate_table`` converts the raw strings to typed
canonical columns (``exposures.upload.convert``), runs the suite on them, adds the geocoding and
port checks when those modules are installed, and turns every failing cell into a ``Problem``
that names the row in the user's file, the column, the value and what would be accepted.

Great Expectations is imported lazily: it takes seconds to import and is only needed in the
upload sandbox.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from core.errors import ExposureError
from exposures.upload.convert import Issue, Issues, convert
from exposures.upload.mapping import ColumnMap
from exposures.upload.readers import RawTable
from exposures.upload.report import MAX_PROBLEMS, Problem, value_repr
from exposures.upload.schema import (
    ROW_COLUMN,
    VALUE_SYNONYMS,
    ColumnSpec,
    column,
    columns,
    id_column,
)

if TYPE_CHECKING:
    import great_expectations as gx

log = logging.getLogger(__name__)

ROW = "__row"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")
_COORDINATES = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d+(?:\.\d+)?)\s*")


# --------------------------------------------------------------------------------------------
# The expectation suites


def spec_bounds(
    spec: ColumnSpec, kind: str, bounds: dict[str, tuple[float | None, float | None]] | None
) -> tuple[float | None, float | None]:
    """A column's (min, max): the rules' bounds where they give one, else the schema's."""
    lo, hi = (bounds or {}).get(f"{kind}.{spec.name}", (None, None))
    return (spec.minimum if lo is None else lo, spec.maximum if hi is None else hi)


BOUNDS_FILE = "scoring_rules/data/upload_bounds.yaml"


def build_suite(
    kind: str, bounds: dict[str, tuple[float | None, float | None]] | None = None
) -> gx.ExpectationSuite:
    """The expectation suite for ``kind``: every check a valid table passes, as code.

    Each expectation's ``meta`` says which check it is (``required``, ``type``, ``range``,
    ``allowed``, ``unique``, ``pair``, ``locatable``), which is how failures become messages.
    """
    gx = _gx()
    _batch_definition()  # a suite needs an active (ephemeral) context
    expect = gx.expectations
    suite = gx.ExpectationSuite(name=f"upload_{kind}")
    for spec in columns(kind):
        name = spec.name
        if spec.required:
            suite.add_expectation(
                expect.ExpectColumnValuesToNotBeNull(column=name, meta={"check": "required"})
            )
        if spec.type in ("float", "int"):
            suite.add_expectation(
                expect.ExpectColumnValuesToBeInTypeList(
                    column=name,
                    type_list=["float64", "Float64", "int64", "Int64"],
                    meta={"check": "type"},
                )
            )
        lo, hi = spec_bounds(spec, kind, bounds)
        if lo is not None or hi is not None:
            suite.add_expectation(
                expect.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=lo,
                    max_value=hi,
                    meta={
                        "check": "range",
                        "min": lo,
                        "max": hi,
                        "ruled_key": f"{kind}.{name}" if f"{kind}.{name}" in (bounds or {}) else "",
                    },
                )
            )
        if spec.type == "enum":
            suite.add_expectation(
                expect.ExpectColumnValuesToBeInSet(
                    column=name, value_set=list(spec.allowed), meta={"check": "allowed"}
                )
            )
        if spec.unique:
            suite.add_expectation(
                expect.ExpectColumnValuesToBeUnique(column=name, meta={"check": "unique"})
            )
    if kind == "assets":
        for col, other in (("lat", "lon"), ("lon", "lat")):
            suite.add_expectation(
                expect.ExpectColumnValuesToNotBeNull(
                    column=col,
                    row_condition=f"{other}.notnull()",
                    condition_parser="pandas",
                    meta={"check": "pair", "other": other},
                )
            )
        suite.add_expectation(
            expect.ExpectColumnValuesToNotBeNull(
                column="country",
                row_condition="lat.isnull() | lon.isnull()",
                condition_parser="pandas",
                meta={"check": "locatable"},
            )
        )
    return suite


_GX_STATE: dict[str, Any] = {}
_SUITES: dict[tuple[str, tuple[tuple[str, tuple[float | None, float | None]], ...]], Any] = {}
_SUITES_LOCK = threading.Lock()


def _suite(kind: str, bounds: dict[str, tuple[float | None, float | None]] | None) -> Any:
    """``build_suite(kind, bounds)``, built once per kind and bounds in a process (a warmed-up
    checker built the suite of the rules' bounds before its file came)."""
    key = (kind, tuple(sorted((k, (v[0], v[1])) for k, v in (bounds or {}).items())))
    with _SUITES_LOCK:
        suite = _SUITES.get(key)
        if suite is None:
            suite = _SUITES[key] = build_suite(kind, bounds)
    return suite


def _gx() -> Any:
    if "module" not in _GX_STATE:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations
        from tqdm import tqdm

        # GE opens tqdm bars (hidden); a thread lock keeps tqdm from creating a process-shared
        # semaphore, which the sandbox child would leave behind.
        if not hasattr(tqdm, "_lock"):
            tqdm.set_lock(threading.RLock())

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        _GX_STATE["module"] = great_expectations
    return _GX_STATE["module"]


def _batch_definition() -> Any:
    if "batch" not in _GX_STATE:
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas("upload")
        asset = source.add_dataframe_asset("table")
        _GX_STATE["batch"] = asset.add_batch_definition_whole_dataframe("whole")
    return _GX_STATE["batch"]


def run_suite(
    frame: pl.DataFrame,
    kind: str,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
) -> list[dict[str, Any]]:
    """Validate ``frame`` (canonical columns and ``__row``) against the suite for ``kind``.

    Returns one dict per failed expectation: ``check``, ``column``, ``meta`` and ``failures``, a
    list of (row, value) pairs for every failing row.
    """
    suite = _suite(kind, bounds)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    result = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]}
    )
    failed: list[dict[str, Any]] = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        info = res.exception_info or {}
        if info.get("raised_exception"):
            raise RuntimeError(
                f"expectation {config.type} on {config.kwargs.get('column')} raised: "
                f"{info.get('exception_message')}"
            )
        column = config.kwargs.get("column")
        failures = [
            (int(item[ROW]), item.get(column))
            for item in res.result.get("unexpected_index_list") or []
        ]
        failed.append(
            {
                "check": config.meta.get("check"),
                "column": column,
                "meta": config.meta,
                "failures": failures,
            }
        )
    return failed


SMALL_FILE_ROWS = 10_000
"""Up to this many rows the suite's expectations are evaluated on the frame itself
(``evaluate_suite``): the same failures as Great Expectations' validator gives, without the
quarter of a second its validation graph costs per file however few the rows."""


def _missing(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Null as pandas (and so Great Expectations) sees it: a float NaN is missing too."""
    col = pl.col(name)
    return col.is_null() | col.is_nan() if frame.schema[name].is_float() else col.is_null()


def _row_condition(frame: pl.DataFrame, text: str) -> pl.Expr | None:
    """A pandas row condition of the suite (``lon.notnull()``, ``lat.isnull() | lon.isnull()``)
    as a polars expression, or None for any other condition."""
    terms = []
    for term in text.split(" | "):
        match = re.fullmatch(r"(\w+)\.(notnull|isnull)\(\)", term.strip())
        if match is None or match.group(1) not in frame.columns:
            return None
        missing = _missing(frame, match.group(1))
        terms.append(missing if match.group(2) == "isnull" else ~missing)
    return pl.any_horizontal(terms) if terms else None


_NUMERIC_DTYPES = (pl.Float64, pl.Int64)


def evaluate_suite(
    frame: pl.DataFrame,
    kind: str,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
) -> list[dict[str, Any]] | None:
    """``run_suite``'s result, worked out by evaluating each expectation of the same suite on
    the polars frame: required (not null, under a row condition), type, range (nulls and NaN
    pass, bounds inclusive), allowed values and unique values, with the failing rows in frame
    order. None when the suite holds an expectation this does not evaluate (the caller then
    runs Great Expectations)."""
    failed: list[dict[str, Any]] = []
    for exp in _suite(kind, bounds).expectations:
        name = type(exp).__name__
        column = exp.column
        if column not in frame.columns or getattr(exp, "mostly", 1) != 1:
            return None
        missing = _missing(frame, column)
        condition = getattr(exp, "row_condition", None)
        if name == "ExpectColumnValuesToNotBeNull":
            bad = missing
            if condition is not None:
                where = _row_condition(
                    frame, str(getattr(condition, "pass_through_filter", condition))
                )
                if where is None:
                    return None
                bad = bad & where
        elif condition is not None:
            return None
        elif name == "ExpectColumnValuesToBeInTypeList":
            if frame.schema[column] not in _NUMERIC_DTYPES:
                failed.append(
                    {
                        "check": exp.meta.get("check"),
                        "column": column,
                        "meta": exp.meta,
                        "failures": [],
                    }
                )
            continue
        elif name == "ExpectColumnValuesToBeBetween":
            if getattr(exp, "strict_min", False) or getattr(exp, "strict_max", False):
                return None
            col = pl.col(column)
            outside = pl.lit(False)
            if exp.min_value is not None:
                outside = outside | (col < exp.min_value)
            if exp.max_value is not None:
                outside = outside | (col > exp.max_value)
            bad = ~missing & outside
        elif name == "ExpectColumnValuesToBeInSet":
            bad = ~missing & ~pl.col(column).is_in(list(exp.value_set))
        elif name == "ExpectColumnValuesToBeUnique":
            bad = ~missing & pl.col(column).is_duplicated()
        else:
            return None
        hits = frame.filter(bad).select(pl.col(ROW), pl.col(column))
        if hits.height:
            failed.append(
                {
                    "check": exp.meta.get("check"),
                    "column": column,
                    "meta": exp.meta,
                    "failures": [(int(r), v) for r, v in hits.iter_rows()],
                }
            )
    return failed


# --------------------------------------------------------------------------------------------
# Failures -> issues


def _suggestion(value: object, allowed: tuple[str, ...]) -> str:
    from rapidfuzz import fuzz, process

    if not isinstance(value, str) or not value:
        return ""
    choices = {a: a for a in allowed}
    choices.update({k: v for k, v in VALUE_SYNONYMS.items() if v in allowed})
    best = process.extractOne(value, list(choices), scorer=fuzz.WRatio, score_cutoff=75)
    return f" (did you mean {choices[best[0]]!r}?)" if best else ""


def _issues_from_suite(failed: list[dict[str, Any]], kind: str, issues: Issues) -> None:
    specs = {s.name: s for s in columns(kind)}
    for fail in failed:
        check, column = fail["check"], fail["column"]
        spec = specs[column]
        if check == "type":
            raise RuntimeError(f"column {column} was not converted to a number")
        if check == "unique":
            by_value: dict[object, list[int]] = {}
            for row, value in fail["failures"]:
                by_value.setdefault(value, []).append(row)
            for rows in by_value.values():
                shown = ", ".join(str(r) for r in sorted(rows)[:10])
                more = ", ..." if len(rows) > 10 else ""
                for row in rows:
                    issues.add(
                        Issue(
                            row,
                            column,
                            f"appears in more than one row (rows {shown}{more})",
                            spec.accepted,
                        )
                    )
            continue
        for row, value in fail["failures"]:
            issues.add(_issue(check, spec, row, value, fail["meta"]))


def _bound(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def _issue(check: str, spec: ColumnSpec, row: int, value: object, meta: dict[str, Any]) -> Issue:
    column = spec.name
    if check == "required":
        return Issue(row, column, "is empty but the column is required", spec.accepted)
    if check == "range":
        number = float(value)  # type: ignore[arg-type]
        lo, hi = meta.get("min", spec.minimum), meta.get("max", spec.maximum)
        ruled = meta.get("ruled_key") or ""
        if lo is not None and number < lo:
            what = "is negative" if lo == 0 else f"is below {_bound(lo)}"
        else:
            what = f"is above {_bound(number if hi is None else hi)}"
        if not ruled:
            return Issue(row, column, what, spec.accepted)
        what += f", the bound the rules set ({BOUNDS_FILE}: {ruled})"
        kind_word = "a whole number" if spec.type == "int" else "a number"
        low = "" if lo is None else f" from {_bound(lo)}"
        high = "" if hi is None else f" to {_bound(hi)}"
        return Issue(row, column, what, f"{kind_word}{low}{high}")
    if check == "allowed":
        hint = _suggestion(value, spec.allowed)
        return Issue(row, column, f"is not an accepted value{hint}", spec.accepted)
    if check == "pair":
        other = meta["other"]
        return Issue(
            row,
            column,
            f"is empty but {other} is given; give both lat and lon, or neither and a country",
            spec.accepted,
        )
    if check == "locatable":
        return Issue(
            row,
            column,
            "is empty and the row has no coordinates; give lat and lon, or a country",
            "a country name or ISO code, or lat and lon",
        )
    return Issue(row, column, f"fails the check {check!r}", spec.accepted)


# --------------------------------------------------------------------------------------------
# Geocoding and port hooks (modules written alongside; used when present)


def _optional(module: str, warnings: list[str]) -> Any:
    """The module if it is installed and imports; None (with a warning if it is broken)."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.import_module(module)
    except Exception as err:  # another team's module failing to import is not the file's fault
        log.exception("importing %s failed", module)
        warnings.append(
            f"{module} could not be loaded ({type(err).__name__}); what it checks is checked "
            "again when the file is loaded"
        )
        return None


def _geocode(frame: pl.DataFrame, issues: Issues, warnings: list[str]) -> pl.DataFrame:
    """Locate every row (``exposures.geocode``), once: a ``geo_error`` is a problem of its row,
    a ``geo_note`` a warning of its row.

    The frame comes back with ``lat``/``lon`` filled in and ``country_iso3``, ``subdivision``
    and ``geo_precision`` added, so that loading does not locate the rows again.
    """
    geo = _optional("exposures.geocode", warnings)
    if geo is None or frame.is_empty():
        return frame
    try:
        out = geo.geocode(frame)
    except ExposureError as err:
        warnings.append(f"locations were not checked: {err}")
        return frame
    except Exception as err:  # the geocoder is another module: its failure is not the file's
        log.exception("geocoding an upload failed")
        warnings.append(
            f"locations were not checked (the geocoder failed: {type(err).__name__}); "
            "they are checked again when the file is loaded"
        )
        return frame
    if not isinstance(out, pl.DataFrame):
        out = pl.from_pandas(out)
    if out.height != frame.height:
        raise RuntimeError("geocode returned a different number of rows")
    if "geo_error" in out.columns:
        for i in out["geo_error"].is_not_null().arg_true().to_list():
            rec = frame.row(i, named=True)
            if rec["lat"] is not None or rec["lon"] is not None:
                col = "lat"
            elif rec["city"] is not None:
                col = "city"
            else:
                col = "country"
            issues.add(
                Issue(
                    int(rec[ROW_COLUMN]),
                    col,
                    f"cannot be located: {out['geo_error'][i]}",
                    "a known country name or ISO code (and city), or lat and lon",
                )
            )
    if "geo_note" in out.columns:
        for i in out["geo_note"].is_not_null().arg_true().to_list():
            rec = frame.row(i, named=True)
            issues.add(
                Issue(
                    int(rec[ROW_COLUMN]),
                    "country",
                    out["geo_note"][i],
                    "coordinates inside the country given, or the country the site is in",
                    severity="warning",
                )
            )
    added = [c for c in ("country_iso3", "subdivision", "geo_precision") if c in out.columns]
    return frame.with_columns(out.select("lat", "lon", *added))


def _ports(frame: pl.DataFrame, issues: Issues, warnings: list[str]) -> None:
    ports = _optional("exposures.ports", warnings)
    resolve = getattr(ports, "resolve_port", None)
    cache: dict[str, str | None] = {}
    for name in ("origin", "destination"):
        accepted = column("routes", name).accepted
        for row, text in zip(frame[ROW_COLUMN].to_list(), frame[name].to_list(), strict=True):
            if text is None:
                continue
            if text not in cache:
                cache[text] = _port_error(text, resolve)
            if cache[text]:
                issues.add(Issue(row, name, cache[text] or "", accepted))
    if resolve is None:
        return
    same: dict[tuple[str, str], bool] = {}
    for row, o, d in zip(
        frame[ROW_COLUMN].to_list(),
        frame["origin"].to_list(),
        frame["destination"].to_list(),
        strict=True,
    ):
        if o is None or d is None or cache.get(o) or cache.get(d):
            continue
        if (o, d) not in same:
            a, b = resolve(o), resolve(d)
            same[(o, d)] = (a.locode or (a.lat, a.lon)) == (b.locode or (b.lat, b.lon))
        if same[(o, d)]:
            issues.add(
                Issue(
                    row,
                    "destination",
                    f"is the same port as the origin ({o!r})",
                    "a port other than the origin",
                )
            )


def _port_error(text: str, resolve: Any) -> str | None:
    """Why ``text`` is not a usable port, or None; ``exposures.ports`` decides when present."""
    if resolve is not None:
        try:
            resolve(text)
        except ExposureError as err:
            return f"cannot be resolved: {err}"
        return None
    coords = _COORDINATES.fullmatch(text)
    if coords:
        lat, lon = float(coords.group(1)), float(coords.group(2))
        if not -90 <= lat <= 90:
            return f"is not a position: latitude {lat:g} is outside -90..90"
        if not -180 <= lon <= 180:
            return f"is not a position: longitude {lon:g} is outside -180..180"
    return None


# --------------------------------------------------------------------------------------------
# The whole check


@dataclass
class TableResult:
    """The outcome of validating one table."""

    problems: list[Problem]
    problems_truncated: int
    warnings: list[str]
    rows_total: int
    rejected_rows: set[int]
    valid: pl.DataFrame
    quarantine_csv: bytes
    value_suggestions: dict[str, dict[str, str]] = field(default_factory=dict)


def validate_table(
    raw: RawTable,
    cmap: ColumnMap,
    *,
    values: dict[str, dict[str, str]] | None = None,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
    ids_only: bool = False,
) -> TableResult:
    """Convert, run the suite and the hooks, and split the rows into valid and rejected.

    With ``ids_only`` (rows to delete) only the id column is converted and checked.
    """
    kind = cmap.kind
    converted = convert(raw, cmap, values)
    issues = converted.issues
    frame = converted.frame
    key = id_column(kind)
    _same_id_ignoring_case(frame, key, issues)
    value_suggestions: dict[str, dict[str, str]] = {}
    if ids_only:
        for row in frame.filter(pl.col(key).is_null())[ROW].to_list():
            issues.add(Issue(row, key, "is empty but the column is required", "a non-empty id"))
        valid = frame.filter(~pl.col(ROW).is_in(list(issues.error_rows))).select(
            key, pl.col(ROW).alias(ROW_COLUMN)
        )
        problems, truncated = _problems(raw, cmap, issues)
        return TableResult(
            problems=problems,
            problems_truncated=truncated,
            warnings=list(converted.warnings),
            rows_total=raw.frame.height,
            rejected_rows=set(issues.error_rows),
            valid=valid,
            quarantine_csv=quarantine(raw, cmap, issues),
        )
    failed = evaluate_suite(frame, kind, bounds) if frame.height <= SMALL_FILE_ROWS else None
    if failed is None:
        failed = run_suite(frame, kind, bounds)
    _issues_from_suite(failed, kind, issues)
    for fail in failed:
        if fail["check"] == "allowed":
            spec = column(kind, fail["column"])
            guesses = _value_guesses(fail["failures"], spec, raw, cmap)
            if guesses:
                value_suggestions[spec.name] = guesses
    _drop_consequential(issues)
    canonical = [s.name for s in columns(kind)]
    valid = frame.filter(~pl.col(ROW).is_in(list(issues.error_rows)))
    valid = valid.select([*canonical, pl.col(ROW).alias(ROW_COLUMN)])
    before = set(issues.error_rows)
    warnings: list[str] = list(converted.warnings)
    if kind == "assets":
        valid = _geocode(valid, issues, warnings)
    else:
        _ports(valid, issues, warnings)
    if issues.error_rows != before:
        valid = valid.filter(~pl.col(ROW_COLUMN).is_in(list(issues.error_rows)))
    problems, truncated = _problems(raw, cmap, issues)
    return TableResult(
        problems=problems,
        problems_truncated=truncated,
        warnings=warnings,
        rows_total=raw.frame.height,
        rejected_rows=set(issues.error_rows),
        valid=valid,
        quarantine_csv=quarantine(raw, cmap, issues),
        value_suggestions=value_suggestions,
    )


def _same_id_ignoring_case(frame: pl.DataFrame, key: str, issues: Issues) -> None:
    """Ids that differ only by case are one id (exact repeats are the suite's unique check)."""
    ids = frame.select(ROW, key).drop_nulls()
    folded = ids.with_columns(pl.col(key).str.to_lowercase().alias("_k"))
    groups = folded.group_by("_k").agg(pl.col(ROW), pl.col(key).n_unique().alias("_n"))
    for rows in groups.filter(pl.col("_n") > 1)[ROW].to_list():
        shown = ", ".join(str(r) for r in sorted(rows)[:10])
        for row in rows:
            issues.add(
                Issue(
                    row,
                    key,
                    f"is the same id as another row once case is ignored (rows {shown})",
                    "an id unique in the file (ids are compared ignoring case and width)",
                )
            )


def _value_guesses(
    failures: list[tuple[int, object]], spec: ColumnSpec, raw: RawTable, cmap: ColumnMap
) -> dict[str, str]:
    """For values that are not accepted: the accepted value each most likely means."""
    from rapidfuzz import fuzz, process

    index = cmap.by_canonical.get(spec.name)
    if index is None:
        return {}
    positions = {row: i for i, row in enumerate(raw.frame[ROW].to_list())}
    cells = raw.frame[f"c{index}"].to_list()
    choices = {a: a for a in spec.allowed}
    choices.update({k: v for k, v in VALUE_SYNONYMS.items() if v in spec.allowed})
    out: dict[str, str] = {}
    for row, _value in failures:
        text = cells[positions[row]].strip()
        if not text or text in out:
            continue
        key = re.sub(r"[\s\-/]+", "_", text.lower())
        words = [w for w in re.split(r"[_\W]+", key) if w]
        hit = next((choices[w] for w in words if w in choices), None)
        if hit is None:
            best = process.extractOne(key, list(choices), scorer=fuzz.WRatio, score_cutoff=75)
            hit = choices[best[0]] if best else None
        if hit is not None:
            out[text] = hit
        if len(out) >= 50:
            break
    return out


def _drop_consequential(issues: Issues) -> None:
    """A row whose lat or lon could not be read is not also 'without a location'."""
    keep: list[Issue] = []
    for issue in issues.items:
        consequential = issue.column == "country" and issue.message.startswith(
            "is empty and the row has no"
        )
        if consequential and (issues.has(issue.row, "lat") or issues.has(issue.row, "lon")):
            continue
        keep.append(issue)
    issues.items = keep


def _raw_lookup(raw: RawTable, cmap: ColumnMap) -> tuple[dict[int, int], dict[str, list[str]]]:
    positions = {row: i for i, row in enumerate(raw.frame[ROW].to_list())}
    cells = {name: raw.frame[f"c{index}"].to_list() for name, index in cmap.by_canonical.items()}
    return positions, cells


def _problems(raw: RawTable, cmap: ColumnMap, issues: Issues) -> tuple[list[Problem], int]:
    order = {s.name: i for i, s in enumerate(columns(cmap.kind))}
    items = sorted(issues.items, key=lambda x: (x.row, order.get(x.column, 99)))
    kept, truncated = items[:MAX_PROBLEMS], max(0, len(items) - MAX_PROBLEMS)
    positions, cells = _raw_lookup(raw, cmap)
    problems = [
        Problem(
            row=issue.row,
            column=issue.column,
            header=cmap.header_of(issue.column),
            value=value_repr(_cell(issue, positions, cells)),
            message=issue.message,
            accepted=issue.accepted,
            severity="warning" if issue.severity == "warning" else "error",
        )
        for issue in kept
    ]
    return problems, truncated


def _cell(issue: Issue, positions: dict[int, int], cells: dict[str, list[str]]) -> str:
    if issue.raw is not None:
        return issue.raw
    column = cells.get(issue.column)
    if column is None:
        return ""
    return column[positions[issue.row]]


def neutralise(cell: str) -> str:
    """OWASP CSV-injection defence: a text cell starting with = + - @ tab CR LF gets a leading '.

    Plain numbers (``-12.5``) are left alone: a spreadsheet reads them as numbers, not formulas.
    """
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def quarantine(raw: RawTable, cmap: ColumnMap, issues: Issues) -> bytes:
    """The rejected rows as CSV (UTF-8 with BOM): the original columns plus ``error``."""
    if not issues.error_rows:
        return b""
    messages: dict[int, list[str]] = {}
    positions, cells = _raw_lookup(raw, cmap)
    order = {s.name: i for i, s in enumerate(columns(cmap.kind))}
    for issue in sorted(issues.items, key=lambda x: (x.row, order.get(x.column, 99))):
        if issue.severity != "error":
            continue
        header = cmap.header_of(issue.column) or issue.column
        value = value_repr(_cell(issue, positions, cells))
        messages.setdefault(issue.row, []).append(
            f"{header} {value} {issue.message} (accepted: {issue.accepted})"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in [*raw.headers, "error"]])
    rejected = raw.frame.filter(pl.col(ROW).is_in(list(issues.error_rows)))
    names = [f"c{i}" for i in range(len(raw.headers))]
    for record in rejected.select([*names, ROW]).iter_rows():
        row = int(record[-1])
        error = f"row {row}: " + "; ".join(messages.get(row, ["rejected"]))
        writer.writerow([neutralise(str(c)) for c in record[:-1]] + [neutralise(error)])
    return out.getvalue().encode("utf-8-sig")
