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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from engine.errors import AccessDenied, StoreError

log = logging.getLogger(__name__)

MIGRATIONS = (
    "schema_001.sql",
    "schema_002_users.sql",
    "schema_003_method.sql",
    "schema_004_scenarios.sql",
    "schema_005_totp.sql",
    "schema_006_onboarding.sql",
    "schema_008_audit.sql",
)
_frame_counter = itertools.count()


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
        """All or nothing: the body's writes commit together or not at all."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    # -- queries -------------------------------------------------------------------------------

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.cursor().execute(sql, params or {})

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
                tx.execute("INSERT INTO schema_migrations VALUES ($n, now())", {"n": name})
            log.info("applied migration %s", name)

    def next_id(
        self, table: str, column: str, where: str = "TRUE", params: dict[str, Any] | None = None
    ) -> int:
        value = self.one(
            f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}" WHERE {where}',  # noqa: S608
            params,
        )
        return int(value)
