"""Read, map and validate one uploaded file, in this process.

``check_upload`` is the pure pipeline: bytes in; a ``ValidationReport``, the valid rows as a
canonical polars frame and the rejected rows as a quarantine CSV out. A file that cannot be used
at all (unreadable, a required column missing...) gives a report whose ``file_errors`` say why,
not an exception. The server never calls this on untrusted bytes itself: it goes through
``exposures.upload.sandbox.prepare_upload``, which runs it in a child process with limits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import polars as pl

from exposures.upload.mapping import map_columns, suggestions
from exposures.upload.readers import MAX_BYTES, MAX_ROWS, read_table, safe_filename
from exposures.upload.report import UploadRefused, ValidationReport
from exposures.upload.schema import ROW_COLUMN, columns
from exposures.upload.validate import validate_table

log = logging.getLogger(__name__)


@dataclass
class PreparedUpload:
    """What an upload check hands to the store: the report, valid rows and rejected rows."""

    report: ValidationReport
    frame: pl.DataFrame
    quarantine_csv: bytes = b""
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the file was readable and at least one row was accepted."""
        return self.report.ok and self.report.rows_accepted > 0


def empty_frame(kind: str) -> pl.DataFrame:
    """A canonical frame of ``kind`` with no rows."""
    schema: dict[str, pl.DataType] = {}
    for spec in columns(kind):
        schema[spec.name] = {"float": pl.Float64(), "int": pl.Int64()}.get(spec.type, pl.String())
    schema[ROW_COLUMN] = pl.Int64()
    return pl.DataFrame(schema=schema)


def check_upload(
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None = None,
    *,
    values: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    ids_only: bool = False,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> PreparedUpload:
    """Read, map and validate ``data`` as a table of ``kind`` (``assets`` or ``routes``).

    ``mapping``: user header -> canonical column (None: ignore the column); ``values``: per
    canonical column, user value -> accepted value (``{"asset_type": {"Production site":
    "plant"}}``); ``sheet``: the workbook sheet to read (default the first visible one);
    ``ids_only``: only the id column is needed and checked (rows to delete); ``bounds``:
    ``"assets.value_usd" -> (min, max)`` from the rules.
    """
    started = time.perf_counter()
    columns(kind)  # refuses an unknown kind before anything else
    report = ValidationReport(kind=kind, filename=safe_filename(filename))
    if safe_filename(filename) != (filename or "").replace("\\", "/").rsplit("/", 1)[-1]:
        report.warnings.append(
            f"the file name contained control or invisible characters; shown as {report.filename!r}"
        )
    try:
        raw = read_table(data, filename, max_bytes=max_bytes, max_rows=max_rows, sheet=sheet)
        report.format = raw.format
        report.encoding = raw.encoding
        report.delimiter = raw.delimiter
        report.warnings += raw.warnings
        report.headers = list(raw.headers)
        cmap = map_columns(raw.headers, kind, mapping, ids_only=ids_only)
        report.suggestions = suggestions(raw.headers, cmap)
        report.columns = cmap.as_dict()
        report.warnings += cmap.warnings
        if len(raw) == 0:
            raise UploadRefused("the file has a header row but no data rows")
    except UploadRefused as refused:
        report.file_errors = refused.errors
        report.warnings += refused.warnings
        return PreparedUpload(report, empty_frame(kind), stats=_stats(started))
    parsed = time.perf_counter()
    try:
        result = validate_table(raw, cmap, values=values, bounds=bounds, ids_only=ids_only)
    except UploadRefused as refused:
        report.file_errors = refused.errors
        report.warnings += refused.warnings
        return PreparedUpload(report, empty_frame(kind), stats=_stats(started))
    report.rows_total = result.rows_total
    report.rows_rejected = len(result.rejected_rows)
    report.rows_accepted = result.rows_total - report.rows_rejected
    report.problems = result.problems
    report.problems_truncated = result.problems_truncated
    report.warnings += result.warnings
    report.value_suggestions = result.value_suggestions
    if raw.number_format:
        report.number_format = raw.number_format
    stats = _stats(started)
    stats["parse_seconds"] = round(parsed - started, 3)
    return PreparedUpload(report, result.valid, result.quarantine_csv, stats)


def _stats(started: float) -> dict[str, float]:
    return {"seconds": round(time.perf_counter() - started, 3)}
