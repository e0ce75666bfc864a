"""The DuckDB store: the only module that opens connections and cursors.

One process writes the database file. The connection is locked down when it opens: no file access
outside the database's own folders, no extension install or auto-load, no
Python replacement scans (frames are registered explicitly), memory and thread limits, then the
configuration is locked. Each thread works through its own cursor. Every value is a bound
parameter; identifiers come from code.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from engine.errors import AccessDenied, ConflictError, StoreBusy, StoreError

log = logging.getLogger(__name__)

MIGRATIONS = (
    "schema_001.sql",
    "schema_002_users.sql",
    "schema_003_method.sql",
    "schema_004_scenarios.sql",
    "schema_005_totp.sql",
    "schema_006_onboarding.sql",
    "schema_007_concurrency.sql",
)
# Ids drawn from sequences: a sequence's next value is never handed out twice, whatever the
# transactions around it do (name -> the table and column whose highest value it starts after).
SEQUENCES = {"run_ids": ("runs", "run_id")}

CONFLICT = "another change to the same records was saved at the same moment; nothing was changed"
BUSY = "the database is busy with another program's write; nothing was changed, try again shortly"


def product_error(exc: duckdb.Error) -> StoreError:
    """A database error in plain words: no path, PID or library text reaches a visitor (the
    details go to the log, and stay chained as ``__cause__`` for ``--debug``)."""
    text = str(exc)
    log.warning("database error (%s): %s", type(exc).__name__, text)
    lowered = text.lower()
    if isinstance(exc, duckdb.IOException) and "lock" in lowered:
        return StoreBusy(BUSY)
    if (
        isinstance(exc, duckdb.TransactionException)
        or "conflict" in lowered
        or "duplicate key" in lowered
    ):
        return ConflictError(CONFLICT)
    if isinstance(exc, duckdb.ConstraintException):
        return StoreError(
            "the change breaks a rule of the stored data (a missing or duplicate value); "
            "nothing was changed"
        )
    if isinstance(exc, duckdb.PermissionException):
        return StoreError("the database may read and write only its own folders; nothing was done")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return StoreError("the database ran out of memory for this request; nothing was changed")
    return StoreError(
        "the database could not complete this request; nothing was changed "
        "(the server log has the details)"
    )


_frame_counter = itertools.count()
T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """Which clients a caller may see. ``client_ids=None`` means the whole book."""

    client_ids: frozenset[str] | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, *client_ids: str) -> Scope:
        return cls(frozenset(client_ids))

    def allows(self, client_id: str) -> bool:
        return self.client_ids is None or client_id in self.client_ids

    def require(self, client_id: str) -> None:
        if not self.allows(client_id):
            # Same words whether or not the client exists: no existence oracle.
            raise AccessDenied(f"client {client_id!r} is not available to you")

    def sql(self, column: str = "client_id") -> tuple[str, list[str] | None]:
        """A WHERE fragment and its parameter: the one place the tenant filter is written."""
        if self.client_ids is None:
            return "TRUE", None
        return f"{column} IN (SELECT unnest($scope_ids))", sorted(self.client_ids)


def _lockdown(
    con: duckdb.DuckDBPyConnection, allowed: Sequence[Path], memory_limit: str, threads: int
) -> None:
    dirs = [str(p.resolve()) + "/" for p in allowed]  # the folders need not exist yet
    con.execute("SET allowed_directories = $dirs", {"dirs": dirs})
    con.execute("SET enable_external_access = false")
    con.execute("SET memory_limit = $m", {"m": memory_limit})
    con.execute("SET threads = $t", {"t": threads})
    con.execute("SET lock_configuration = true")


class Store:
    """An open database: the connection, per-thread cursors, migrations and a few helpers."""

    def __init__(
        self,
        path: Path | str,
        *,
        memory_limit: str = "8GB",
        threads: int = 2,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        # The product's own folders sit under one data directory named after the database file
        # (data/resilience.duckdb -> data/resilience.duckdb.files/), never the file's parent:
        # that may be a shared folder such as /tmp, whose other files SQL must not read. They are
        # made when something is written there, not when the database opens.
        self.files = self.path.with_name(self.path.name + ".files")
        self.data_dir = self.files / "data"
        self.staging = self.files / "staging"
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
        }
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise StoreError(
                f"cannot open {self.path}: {exc}. Another process may hold it open for writing; "
                "close it or use --db to point at another file"
            ) from exc
        _lockdown(self._con, [self.data_dir, self.staging], memory_limit, threads)
        self._local = threading.local()
        self._lock = threading.Lock()
        if not read_only:
            self.migrate()

    # -- connections ---------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: the body's writes commit together or not at all.

        A database error in the body or at the commit becomes a ``StoreError`` in plain words
        (``ConflictError`` when another session wrote the same rows at the same moment)."""
        cur = self.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            raise product_error(exc) from exc
        try:
            yield cur
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error):
                raise product_error(exc) from exc
            raise
        try:
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            raise product_error(exc) from exc

    def retrying(self, unit: Callable[[], T], attempts: int = 4) -> T:
        """Run a unit of work again when another session wrote the same rows at the same moment
        (its versions numbered on); after ``attempts`` the ``ConflictError`` stands."""
        for attempt in range(1, attempts + 1):
            try:
                return unit()
            except ConflictError:
                if attempt == attempts:
                    raise
                time.sleep(0.02 * attempt)
        raise AssertionError("unreachable")

    # -- queries -------------------------------------------------------------------------------

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.cursor().execute(sql, params or {})
        except duckdb.Error as exc:
            raise product_error(exc) from exc

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        cur = self.execute(sql, params)
        columns = [d[0] for d in cur.description or []]
        frame = pl.DataFrame(cur.fetchall(), schema=columns, orient="row", infer_schema_length=None)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def insert_frame(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: str,
        frame: pl.DataFrame,
        *,
        skip_existing: bool = False,
    ) -> None:
        """Insert a frame's columns, by name, into a table (inside the caller's transaction).

        With ``skip_existing``, rows whose primary key is already there are left alone.
        """
        if frame.height == 0:
            return
        name = f"_frame_{next(_frame_counter)}"
        cur.register(name, frame.to_arrow())
        try:
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            verb = "INSERT OR IGNORE" if skip_existing else "INSERT"
            cur.execute(f'{verb} INTO "{table}" ({cols}) SELECT {cols} FROM "{name}"')  # noqa: S608
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.unregister(name)

    # -- schema --------------------------------------------------------------------------------

    def migrate(self) -> None:
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        done = {r[0] for r in cur.execute("SELECT name FROM schema_migrations").fetchall()}
        for name in MIGRATIONS:
            if name in done:
                continue
            sql = resources.files("engine").joinpath("sql", name).read_text("utf-8")
            with self.transaction() as tx:
                tx.execute(sql)
                if name == "schema_007_concurrency.sql":
                    self._make_sequences(tx)
                tx.execute("INSERT INTO schema_migrations VALUES ($n, now())", {"n": name})
            log.info("applied migration %s", name)

    def _make_sequences(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Create each id sequence, starting past the highest id stored (run with migration 007,
        inside its transaction)."""
        for seq, (table, column) in SEQUENCES.items():
            start = cur.execute(
                f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}"'  # noqa: S608
            ).fetchone()
            first = int(start[0]) if start else 1
            # the names and the start value come from code and the database, never a user
            cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq} START {first}")

    def next_value(self, sequence: str) -> int:
        """The sequence's next value: unique across threads, transactions and processes."""
        if sequence not in SEQUENCES:
            raise ValueError(f"unknown sequence {sequence!r}")
        return int(self.one(f"SELECT nextval('{sequence}')"))

    @staticmethod
    def next_version(
        cur: duckdb.DuckDBPyConnection,
        table: str,
        column: str = "version",
        where: str = "TRUE",
        params: dict[str, Any] | None = None,
    ) -> int:
        """The next version number, read inside the caller's transaction: a second writer that
        read the same number fails at its commit (``ConflictError``), never writes a duplicate."""
        row = cur.execute(
            f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}" WHERE {where}',  # noqa: S608
            params or {},
        ).fetchone()
        return int(row[0]) if row else 1
