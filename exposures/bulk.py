"""A book of many clients from files, checked and placed in chunks so memory stays bounded.

A book is a clients list and two tables with a ``client_id`` column: assets and routes, each a
Parquet file (streamed by record batches) or a CSV file (read whole: for small books). The rows
of one client must be together, and in both tables the clients must come in the same
(ascending) order, so the two files can be read side by side: each chunk holds whole clients,
their assets and their routes. Each chunk is checked with vector operations: required columns,
numbers and their bounds (``scoring_rules/data/upload_bounds.yaml``), accepted values, ids
unique per client, known clients and ports; then geocoded (``exposures.geocode.geocode``).
Problems name the file, the row, the column and the fix, and stop the load before anything is
written. Pure: no database access here (``engine.book`` writes the chunks).

The files are read in this process: a book is the operator's own data (the consultancy's
export of its clients). A client's own upload is untrusted and goes through the sandboxed
checker instead (``exposures.upload.sandbox``); both reach the store through the same
placing and classing code (``exposures.prepare``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from core.errors import ExposureError
from exposures.geocode import geocode
from exposures.ports import resolve_port
from exposures.prepare import ASSET_COLUMNS, ROUTE_COLUMNS
from exposures.upload.schema import VALUE_SYNONYMS, ColumnSpec, columns, id_column

log = logging.getLogger(__name__)

CHUNK_ROWS = 250_000
"""Rows of assets per chunk (whole clients, so a chunk may hold more)."""
MAX_PROBLEMS = 20
"""Problems listed in an error (all are counted)."""
ROW = "_row"
"""The row number in its file (1 = the first data row), kept for messages."""

Bounds = dict[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class BookChunk:
    """Whole clients: their checked, geocoded assets and their checked routes."""

    client_ids: tuple[str, ...]
    assets: pl.DataFrame  # client_id, ASSET_COLUMNS, country_iso3, subdivision, geo_precision
    routes: pl.DataFrame  # client_id, ROUTE_COLUMNS


def book_file(directory: Path, stem: str) -> Path | None:
    """``stem.parquet`` in ``directory``, else ``stem.csv``, else None."""
    for suffix in (".parquet", ".csv"):
        path = directory / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


def _batches(path: Path | None, rows: int) -> Iterator[pl.DataFrame]:
    """The file's rows in batches of about ``rows``, each with its ``_row`` numbers."""
    if path is None:
        return
    offset = 0
    if path.suffix == ".parquet":
        try:
            reader = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several kinds for a bad file
            raise ExposureError(f"{path}: not a readable Parquet file ({exc})") from exc
        for batch in reader.iter_batches(batch_size=rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.with_row_index(ROW, offset=offset + 1)
            offset += frame.height
        return
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_row_index(ROW, offset=1)
    if "client_id" in frame.columns:  # a CSV is read whole: put each client's rows together
        frame = frame.sort("client_id", maintain_order=True, nulls_last=True)
    for start in range(0, max(frame.height, 1), rows):
        part = frame.slice(start, rows)
        if part.height:
            yield part


class _ClientStream:
    """Batches of one file cut at client boundaries, checking that clients come in order."""

    def __init__(self, path: Path | None, rows: int) -> None:
        self.path = path
        self.name = path.name if path is not None else ""
        self._batches = _batches(path, rows)
        self._buffer: list[pl.DataFrame] = []
        self._last: str | None = None
        self.done = path is None

    def _pull(self) -> bool:
        try:
            frame = next(self._batches)
        except StopIteration:
            self.done = True
            return False
        if "client_id" not in frame.columns:
            raise ExposureError(f"{self.name}: the required column client_id is missing")
        ids = frame["client_id"].cast(pl.String)
        missing = ids.is_null() | (ids.str.strip_chars() == "")
        if missing.any():
            row = frame.filter(missing)[ROW][0]
            raise ExposureError(f"{self.name} row {row}: client_id is empty; name the client")
        frame = frame.with_columns(ids.alias("client_id"))
        previous = ids.shift(1, fill_value=self._last)
        back = (ids < previous).fill_null(False)
        if back.any():
            at = frame.filter(back).row(0, named=True)
            raise ExposureError(
                f"{self.name} row {at[ROW]}: client {at['client_id']!r} comes after a later "
                "client; the book's files must list clients in ascending client_id order "
                "(sort them by client_id)"
            )
        self._last = ids[-1]
        self._buffer.append(frame)
        return True

    def upto(self, client: str | None) -> pl.DataFrame | None:
        """Every remaining row of clients up to ``client`` (all rows when None)."""
        while not self.done and (
            client is None or not self._buffer or self._buffer[-1]["client_id"][-1] <= client
        ):
            self._pull()
        if not self._buffer:
            return None
        frame = pl.concat(self._buffer, how="diagonal_relaxed")
        if client is None:
            self._buffer = []
            return frame
        take = frame.filter(pl.col("client_id") <= client)
        rest = frame.filter(pl.col("client_id") > client)
        self._buffer = [rest] if rest.height else []
        return take

    def next_chunk(self, rows: int) -> tuple[pl.DataFrame | None, str | None]:
        """About ``rows`` rows of whole clients, and the last client they hold."""
        while not self.done and sum(f.height for f in self._buffer) < rows:
            self._pull()
        if not self._buffer:
            return None, None
        frame = pl.concat(self._buffer, how="diagonal_relaxed")
        if self.done:
            self._buffer = []
            return frame, str(frame["client_id"][-1])
        last = str(frame["client_id"][-1])
        whole = frame.filter(pl.col("client_id") != last)
        if whole.height == 0:  # one client larger than a chunk: read it to its end
            while not self.done and self._buffer[-1]["client_id"][-1] == last:
                self._pull()
            frame = pl.concat(self._buffer, how="diagonal_relaxed")
            whole = frame.filter(pl.col("client_id") == last)
            rest = frame.filter(pl.col("client_id") != last)
            self._buffer = [rest] if rest.height else []
            return whole, last
        self._buffer = [frame.filter(pl.col("client_id") == last)]
        return whole, str(whole["client_id"][-1])


def book_chunks(
    assets: Path | None,
    routes: Path | None,
    clients: set[str],
    *,
    bounds: Bounds | None = None,
    rows: int = CHUNK_ROWS,
) -> Iterator[BookChunk]:
    """The book's clients in chunks, each checked and geocoded (see the module docstring).

    Raises ``ExposureError`` at the first chunk with a problem; nothing of the book should be
    kept then (the caller loads in one transaction).
    """
    a_stream, r_stream = _ClientStream(assets, rows), _ClientStream(routes, rows)
    while True:
        a_frame, last = a_stream.next_chunk(rows)
        if a_frame is None:
            r_frame = r_stream.upto(None)
        else:
            r_frame = r_stream.upto(last if not a_stream.done else None)
        if a_frame is None and r_frame is None:
            return
        a_checked = check_rows(a_frame, "assets", assets, clients, bounds)
        r_checked = check_rows(r_frame, "routes", routes, clients, bounds)
        ids = sorted(set(a_checked["client_id"].to_list()) | set(r_checked["client_id"].to_list()))
        log.info(
            "book chunk: %d clients, %d assets, %d routes",
            len(ids),
            a_checked.height,
            r_checked.height,
        )
        yield BookChunk(tuple(ids), a_checked, r_checked)


def port_pairs(routes: Path | None) -> list[tuple[str, str]]:
    """The distinct (origin, destination) texts of a routes file, read column by column."""
    if routes is None:
        return []
    if routes.suffix == ".parquet":
        try:
            frame = pl.read_parquet(routes, columns=["origin", "destination"])
        except Exception as exc:  # pyarrow/polars raise several kinds for a bad file
            raise ExposureError(f"{routes}: cannot read origin and destination ({exc})") from exc
    else:
        frame = pl.read_csv(routes, columns=["origin", "destination"], infer_schema=False)
    pairs = frame.select(_text(frame["origin"]), _text(frame["destination"])).drop_nulls()
    return [(str(o), str(d)) for o, d in pairs.unique(maintain_order=True).iter_rows()]


def _empty(kind: str) -> pl.DataFrame:
    names = ASSET_COLUMNS if kind == "assets" else ROUTE_COLUMNS
    schema = {"client_id": pl.String, **{c: pl.String for c in names}, ROW: pl.UInt32}
    return pl.DataFrame(schema=schema)


def _text(col: pl.Series) -> pl.Series:
    text = col.cast(pl.String).str.strip_chars()
    return text.set(text == "", None)


def _choice(text: pl.Series) -> pl.Series:
    """``Data Centre`` -> ``data_centre``; synonyms mapped to the accepted value."""
    key = text.str.to_lowercase().str.replace_all(r"[\s\-/]+", "_")
    return key.replace(VALUE_SYNONYMS)


class _Problems:
    def __init__(self, path: Path | None, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.count = 0
        self.lines: list[tuple[int, str]] = []

    def add(self, frame: pl.DataFrame, bad: pl.Series, column: str, what: str, fix: str) -> None:
        """One problem per row where ``bad``; ``what`` may hold ``{value}``."""
        bad = bad.fill_null(False)
        n = int(bad.sum())
        if not n:
            return
        self.count += n
        values = (
            frame[column] if column in frame.columns else pl.repeat(None, frame.height, eager=True)
        )
        shown = pl.DataFrame({"row": frame[ROW], "value": values.cast(pl.String)}).filter(bad)
        for row, value in shown.head(MAX_PROBLEMS).iter_rows():
            text = what.replace("{value}", repr(value)).replace("{text}", str(value))
            tail = f"; {fix}" if fix else ""
            self.lines.append((int(row), f"row {row}, {column}: {text}{tail}"))

    def raise_any(self) -> None:
        if not self.count:
            return
        name = self.path.name if self.path else self.kind
        listed = [line for _, line in sorted(self.lines)[:MAX_PROBLEMS]]
        more = self.count - len(listed)
        raise ExposureError(
            f"{name}: {self.count} problem(s), nothing was loaded:\n  "
            + "\n  ".join(listed)
            + (f"\n  ... and {more} more" if more > 0 else "")
        )


def _check_column(
    frame: pl.DataFrame,
    spec: ColumnSpec,
    bound: tuple[float | None, float | None] | None,
    problems: _Problems,
) -> pl.Series:
    raw = (
        frame[spec.name]
        if spec.name in frame.columns
        else pl.repeat(None, frame.height, eager=True, dtype=pl.String)
    )
    raw = raw.alias(spec.name)
    if spec.type in ("float", "int"):
        if raw.dtype.is_numeric():
            values = raw.cast(pl.Float64)
            unreadable = pl.Series([False] * frame.height)
        else:
            text = _text(raw)
            values = text.cast(pl.Float64, strict=False)
            unreadable = text.is_not_null() & values.is_null()
        values = values.set(~values.is_finite().fill_null(True), None)
        view = frame.with_columns(raw)
        problems.add(view, unreadable, spec.name, "{value} is not a number", spec.accepted)
        if spec.required:
            problems.add(view, raw.is_null(), spec.name, "is empty", spec.accepted)
        low, high = bound if bound is not None else (spec.minimum, spec.maximum)
        low = spec.minimum if low is None else low
        high = spec.maximum if high is None else high
        if low is not None:
            problems.add(view, values < low, spec.name, f"{{text}} is below {low:g}", spec.accepted)
        if high is not None:
            problems.add(
                view, values > high, spec.name, f"{{text}} is above {high:g}", spec.accepted
            )
        if spec.type == "int":
            problems.add(
                view,
                values != values.round(),
                spec.name,
                "{text} is not a whole number",
                spec.accepted,
            )
            out = values.round().cast(pl.Int64)
            return out.fill_null(int(spec.default)) if spec.default is not None else out
        return values
    text = _text(raw)
    view = frame.with_columns(raw)
    if spec.required:
        problems.add(view, text.is_null(), spec.name, "is empty", spec.accepted)
    if spec.type == "enum":
        chosen = _choice(text)
        problems.add(
            view,
            chosen.is_not_null() & ~chosen.is_in(list(spec.allowed)),
            spec.name,
            "{value} is not accepted",
            spec.accepted,
        )
        return chosen
    if spec.type == "mitigations":
        items = (
            text.str.replace_all(",", ";").str.split(";").list.eval(pl.element().str.strip_chars())
        )
        items = items.list.eval(pl.element().filter(pl.element() != ""))
        keys = items.list.eval(
            pl.element()
            .str.to_lowercase()
            .str.replace_all(r"[\s\-/]+", "_")
            .replace(VALUE_SYNONYMS)
        )
        unknown = keys.list.eval(~pl.element().is_in(list(spec.allowed))).list.any()
        problems.add(view, unknown, spec.name, "{value} names an unknown measure", spec.accepted)
        return keys.list.join(";")
    return text


def check_rows(
    frame: pl.DataFrame | None,
    kind: str,
    path: Path | None,
    clients: set[str],
    bounds: Bounds | None,
) -> pl.DataFrame:
    """Canonical, typed rows of ``kind`` (assets also geocoded), or ``ExposureError``."""
    if frame is None or frame.height == 0:
        return _empty(kind)
    problems = _Problems(path, kind)
    name = path.name if path else kind
    specs = columns(kind)
    missing = [s.name for s in specs if s.required and s.name not in frame.columns]
    if kind == "assets" and not {"lat", "lon"} <= set(frame.columns) and "country" not in frame:
        missing.append("lat/lon or country")
    if missing:
        raise ExposureError(
            f"{name}: the required column(s) {', '.join(missing)} are missing "
            f"(the columns are client_id, {', '.join(s.name for s in specs)})"
        )
    unknown = ~frame["client_id"].is_in(sorted(clients))
    problems.add(
        frame,
        unknown,
        "client_id",
        "client {value} is not in the clients list",
        "add the client to the clients list or fix the id",
    )
    out = {
        s.name: _check_column(frame, s, (bounds or {}).get(f"{kind}.{s.name}"), problems)
        for s in specs
    }
    checked = pl.DataFrame({"client_id": frame["client_id"], **out, ROW: frame[ROW]})
    key = id_column(kind)
    dup = checked.select(pl.struct("client_id", key).is_duplicated()).to_series()
    problems.add(
        checked,
        dup & checked[key].is_not_null(),
        key,
        "{value} is given twice for the client",
        "ids must be unique per client",
    )
    if kind == "routes":
        for column in ("origin", "destination"):
            bad_ports: dict[str, str] = {}
            for text in checked[column].drop_nulls().unique().to_list():
                try:
                    resolve_port(text)
                except ExposureError as exc:
                    bad_ports[text] = str(exc)
            for text, message in bad_ports.items():
                problems.add(checked, checked[column] == text, column, message, "")
        problems.raise_any()
        return checked
    problems.raise_any()
    geo = geocode(checked)
    problems.add(
        geo.with_columns(pl.col("geo_error").alias("location")),
        geo["geo_error"].is_not_null(),
        "location",
        "{text}",
        "fix lat/lon, city or country",
    )
    problems.raise_any()
    return geo.drop("geo_error", "geo_note")
