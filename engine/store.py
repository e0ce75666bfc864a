"""The DuckDB store: the only module that opens connections and cursors.

DuckDB lets one process at a time open a file for writing, so the file is open only for the
moment of a unit of work (``Store.session``, ``transaction`` or one query): the app and the CLI
take turns, a command that must wait says so, and one that waits too long gets a plain error.
The connection is locked down each time it opens: no file access outside the database's own
folders, no extension install or auto-load, no Python replacement scans (frames are registered
explicitly), memory and thread limits, then the configuration is locked. Each unit of work has
its own cursor. Every value is a bound parameter; identifiers come from code. Database errors
leave as ``StoreError`` in plain words (``product_error``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import re
import tempfile
import threading
import time
import urllib.parse
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
    "schema_008_audit.sql",
    "schema_009_history_alerts.sql",
    "schema_010_claims_drafts.sql",
    "schema_015_class_risk.sql",
    "schema_018_session_revocations.sql",
    "schema_019_bulk_classes.sql",
)
# Ids drawn from sequences: a sequence's next value is never handed out twice, whatever the
# transactions around it do (name -> the table and column whose highest value it starts after).
SEQUENCES = {"run_ids": ("runs", "run_id")}
# The PostgreSQL advisory lock key that processes migrating one database at once share (any
# 64-bit number the product uses for nothing else: "resilmig" in ASCII).
MIGRATION_LOCK = int.from_bytes(b"resilmig", "big") & 0x7FFF_FFFF_FFFF_FFFF
# The lock of ``Store.exclusive``: one process at a time sets up an empty store ("resilini").
INIT_LOCK = int.from_bytes(b"resilini", "big") & 0x7FFF_FFFF_FFFF_FFFF

CONFLICT = "another change to the same records was saved at the same moment; nothing was changed"
BUSY = "the database is busy with another program's write; nothing was changed, try again shortly"


def for_log(text: str) -> str:
    """A database message fit for the log: PostgreSQL quotes the values of a row that broke a
    constraint ("Failing row contains (...)", "Key (col)=(...)"), and a row can hold a password
    hash or a client's figures; those values are withheld, the constraint and columns kept."""
    text = re.sub(r"Failing row contains .*", "Failing row contains (values withheld)", text)
    return re.sub(r"(Key \([^)\n]*\))=.*", r"\1=(values withheld)", text)


def product_error(exc: duckdb.Error) -> StoreError:
    """A database error in plain words: no path, PID or library text reaches a visitor (the
    details go to the log, without the values of the rows involved, and stay chained as
    ``__cause__`` for ``--debug``)."""
    text = for_log(str(exc))
    lowered = text.lower()
    if isinstance(exc, duckdb.IOException) and "lock" in lowered:
        log.info("database busy: %s", text)
        return StoreBusy(BUSY)
    if (
        isinstance(exc, duckdb.TransactionException)
        or "conflict" in lowered
        or "duplicate key" in lowered
        or "could not serialize" in lowered
    ):
        log.info("concurrent change refused: %s", text)  # the caller retries or says so
        return ConflictError(CONFLICT)
    log.warning("database error (%s): %s", type(exc).__name__, text)
    if isinstance(exc, duckdb.ConstraintException) or re.search(
        r"violates (check|not-null|foreign key) constraint", lowered
    ):  # DuckDB's own, or PostgreSQL's words through the postgres extension
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


PG = "pg"  # the name the attached PostgreSQL database has in DuckDB


def postgres_url(db: Path | str) -> str | None:
    """The PostgreSQL URL ``db`` names, or None for a DuckDB file. (A URL that went through
    ``Path`` lost one slash: ``postgresql:/u@h/db``; it is put back.)"""
    text = str(db)
    for scheme in ("postgresql:", "postgres:"):
        if text.startswith(scheme):
            rest = text[len(scheme) :].lstrip("/")
            return f"postgresql://{rest}"
    return None


def display_name(url: str) -> str:
    """A PostgreSQL URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = netloc[-1]
    user = netloc[0].split(":", 1)[0] + "@" if len(netloc) == 2 else ""
    return urllib.parse.urlunsplit((parts.scheme, user + host, parts.path, "", ""))


def postgres_extension() -> Path:
    """DuckDB's postgres extension, shipped by the ``duckdb-extension-postgres`` wheel for this
    DuckDB version: loaded from that file, never installed from the network."""
    try:
        import duckdb_extension_postgres
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise StoreError(
            "a PostgreSQL store needs the duckdb-extension-postgres package "
            f"(pip install duckdb-extension-postgres=={duckdb.__version__})"
        ) from exc
    shipped = (
        Path(duckdb_extension_postgres.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "postgres.duckdb_extension"
    )
    if not shipped.exists():
        raise StoreError(
            f"duckdb-extension-postgres does not ship an extension for DuckDB {duckdb.__version__}"
        )
    # DuckDB names the entry point after the file; the extension's own name is postgres_scanner.
    # One folder per installed wheel (several installs on one machine never share a link), and
    # the link is made under a name of its own, then renamed into place: processes starting at
    # once never see a missing or half-made link.
    tag = hashlib.sha256(str(shipped.resolve()).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"resilience-duckdb-{os.getuid()}-{tag}"
    folder.mkdir(mode=0o700, exist_ok=True)
    named = folder / "postgres_scanner.duckdb_extension"
    if not named.exists() or named.resolve() != shipped.resolve():
        draft = folder / f".link-{os.getpid()}-{threading.get_ident()}"
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
        draft.symlink_to(shipped)
        os.replace(draft, named)
    return named


def attach_postgres(con: duckdb.DuckDBPyConnection, url: str) -> None:
    """Load the postgres extension from its wheel and make the database the default catalog."""
    ext = postgres_extension()
    con.execute(f"LOAD '{ext}'")  # a path this module made, no user text
    dsn = url.replace("'", "''")
    con.execute(f"ATTACH '{dsn}' AS {PG} (TYPE postgres)")
    con.execute(f"USE {PG}")


def _log_wait(message: str) -> None:
    log.warning("%s", message)


# Where a process says that it waits for the file (the CLI prints it; the app logs it).
wait_notice: Callable[[str], None] = _log_wait


def _lock_conflict(exc: duckdb.Error) -> bool:
    """DuckDB's words when another process holds the file open for writing."""
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def lock_wait_seconds() -> float:
    """How long a unit of work waits for another process's hold on the file to end."""
    try:
        return max(0.0, float(os.environ.get("RESILIENCE_LOCK_WAIT_S", "30")))
    except ValueError:
        return 30.0


class Result:
    """The rows of one statement, read whole (the cursor that made them is closed)."""

    def __init__(self, rows: list[tuple[Any, ...]], description: Any) -> None:
        self._rows = rows
        self._next = 0
        self.description = description

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest


class Store:
    """A database: short-lived connections, a cursor per unit of work, migrations, helpers.

    The embedded DuckDB file is open only while a unit of work (``session``, ``transaction`` or
    one query) runs, and a moment after (``LINGER_S``, so that a page's queries share one open):
    the app and the CLI take turns on the file instead of locking each other out. A process that
    finds the file held leaves a note in the data folder and waits (``RESILIENCE_LOCK_WAIT_S``,
    30 s by default), says so once through ``on_wait`` (else ``wait_notice``) when the wait is
    noticeable, and gives up with a plain ``StoreBusy``. A holder that sees the note closes the
    file as soon as its current units of work end, and waits a moment before it opens it again.
    """

    LINGER_S = 0.2  # keep the file open this long after the last unit of work
    WAIT_NOTICE_S = 0.5  # say that we wait once the wait is this long

    def __init__(
        self,
        path: Path | str,
        *,
        memory_limit: str = "8GB",
        threads: int = 2,
        read_only: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.url = postgres_url(path)
        self.path = Path(path) if self.url is None else Path(display_name(self.url))
        self.name = str(self.path) if self.url is None else display_name(self.url)
        # The product's own folders sit under one data directory named after the database file
        # (data/resilience.duckdb -> data/resilience.duckdb.files/), never the file's parent:
        # that may be a shared folder such as /tmp, whose other files SQL must not read. They are
        # made when something is written there, not when the database opens. On PostgreSQL they
        # are this machine's own, under $RESILIENCE_FILES (default: data/).
        if self.url is None:
            self.files = self.path.with_name(self.path.name + ".files")
        else:
            digest = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:12]
            base = Path(os.environ.get("RESILIENCE_FILES", "data"))
            self.files = (base / f"postgres-{digest}.files").resolve()
        self.data_dir = self.files / "data"
        self.staging = self.files / "staging"
        self._knock = self.files / "waiting"
        self.read_only = read_only
        self._on_wait = on_wait
        self._memory_limit, self._threads = memory_limit, threads
        if not read_only and self.url is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._yield_next = False
        self._timer: threading.Timer | None = None
        self._guard = threading.RLock()
        self._exclusive = threading.Lock()
        self._local = threading.local()
        self.opens = 0  # how many times the file was opened (the benchmarks report it)
        # the migrations this process applied when it opened the database (none when another
        # process had applied them)
        self.migrations_applied: list[str] = [] if read_only else self.migrate()

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
        }
        if self.url is not None:
            con = duckdb.connect(":memory:", config=config)
            try:
                attach_postgres(con, self.url)
            except duckdb.Error as exc:
                con.close()
                log.error("cannot reach %s: %s", self.path, exc)
                raise StoreError(
                    "the database server cannot be reached (the server log has the details)"
                ) from exc
        else:
            con = duckdb.connect(str(self.path), read_only=self.read_only, config=config)
        _lockdown(con, [self.data_dir, self.staging], self._memory_limit, self._threads)
        return con

    def _open(self) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting (bounded) while another process holds it."""
        if self._yield_next:  # a waiter knocked while we held the file: let it in first
            self._yield_next = False
            time.sleep(self.LINGER_S)
        started = time.monotonic()
        deadline = started + lock_wait_seconds()
        told = knocked = False
        pause = 0.01
        while True:
            try:
                con = self._connect()
                self.opens += 1
                if knocked:
                    self._clear_knock()
                return con
            except duckdb.IOException as exc:
                if not _lock_conflict(exc):
                    log.error("cannot open the database %s: %s", self.path, exc)
                    raise StoreError(
                        "the database cannot be opened (the server log has the details)"
                    ) from exc
                now = time.monotonic()
                if not told and not knocked:
                    knocked = True
                    self._leave_knock()
                if now >= deadline:
                    self._clear_knock()
                    log.warning("gave up waiting for %s: %s", self.path, exc)
                    raise StoreBusy(BUSY) from exc
                if not told and now - started >= self.WAIT_NOTICE_S:
                    told = True
                    (self._on_wait or wait_notice)(
                        "waiting for another program (the app or another command) to finish "
                        f"its work on {self.path.name} ..."
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    def _leave_knock(self) -> None:
        with contextlib.suppress(OSError):
            self._knock.parent.mkdir(parents=True, exist_ok=True)
            self._knock.write_text(str(time.time()), "utf-8")

    def _clear_knock(self) -> None:
        with contextlib.suppress(OSError):
            self._knock.unlink()

    def _someone_waits(self) -> bool:
        try:
            return time.time() - self._knock.stat().st_mtime < 60
        except OSError:
            return False

    def _close_db(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(duckdb.Error):
                db.close()

    def _release(self) -> None:
        """The last unit of work ended (called under the guard)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.url is not None:
            return  # a server database: no file to hand over, the connection stays
        if self._someone_waits():
            self._yield_next = True
            self._close_db()
            return
        timer = threading.Timer(self.LINGER_S, self._linger_over)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _linger_over(self) -> None:
        with self._guard:
            if self._users == 0:
                self._timer = None
                self._close_db()

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A unit of work: the file stays open, and this thread keeps one cursor, until it ends.

        Nested sessions in one thread share the outer one's cursor (and its transaction)."""
        local = self._local
        outer = getattr(local, "cursor", None)
        if outer is not None:
            yield outer
            return
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._db is None:
                self._db = self._open()
            self._users += 1
            try:
                cur = self._db.cursor()
                if self.url is not None:
                    cur.execute(f"USE {PG}")  # a cursor starts in the in-memory catalog
            except duckdb.Error as exc:
                self._users -= 1
                raise product_error(exc) from exc
        local.cursor = cur
        try:
            yield cur
        finally:
            local.cursor = None
            with contextlib.suppress(duckdb.Error):
                cur.close()
            with self._guard:
                self._users -= 1
                if self._users == 0:
                    self._release()

    def close(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._close_db()

    @contextlib.contextmanager
    def held(self) -> Iterator[Callable[[], bool]]:
        """Keep the file open across the units of work of a long job (a book load in chunks),
        instead of closing it (and checkpointing) and opening it again between them.

        Yields ``hand_over()``: called between units of work, it closes the file when another
        process waits for it (which then goes first; the next unit of work opens it again) and
        says whether it did, so a long job never locks the others out."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._db is None:
                self._db = self._open()
            self._users += 1

        def hand_over() -> bool:
            with self._guard:
                if self.url is not None or self._users != 1 or not self._someone_waits():
                    return False
                self._yield_next = True
                self._close_db()
                return True

        try:
            yield hand_over
        finally:
            with self._guard:
                self._users -= 1
                if self._users == 0:
                    self._release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: the body's writes commit together or not at all.

        A database error in the body or at the commit becomes a ``StoreError`` in plain words
        (``ConflictError`` when another session wrote the same rows at the same moment)."""
        with self.session() as cur:
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

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Result:
        """Run one statement in its own unit of work; its rows are read before the file closes."""
        with self.session() as cur:
            try:
                cur.execute(sql, params or {})
                description = cur.description
                rows = cur.fetchall() if description else []
            except duckdb.Error as exc:
                raise product_error(exc) from exc
        return Result(rows, description)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        result = self.execute(sql, params)
        columns = [d[0] for d in result.description or []]
        frame = pl.DataFrame(
            result.fetchall(), schema=columns, orient="row", infer_schema_length=None
        )
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

    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks; their names, in order.

        A DuckDB file is this process's alone while it is open. On PostgreSQL several processes
        (app servers started together on a new database, the CLI) may open it at the same moment:
        the one that finds migrations missing takes an advisory lock on the server, then reads
        again which are applied, so each migration runs once and the others wait for it."""
        with self.session() as cur:
            if self.url is None:
                return self._migrate(cur)
            if not self._pending(cur):
                return []
            with self._migration_lock():
                cur.execute("CALL pg_clear_cache()")  # tables another process made meanwhile
                return self._migrate(cur)

    def _pending(self, cur: duckdb.DuckDBPyConnection) -> list[str]:
        """The migrations not applied yet (all of them on a new database)."""
        try:
            rows = cur.execute("SELECT name FROM schema_migrations").fetchall()
        except duckdb.CatalogException:
            return list(MIGRATIONS)
        except duckdb.Error as exc:
            raise product_error(exc) from exc
        done = {r[0] for r in rows}
        return [m for m in MIGRATIONS if m not in done]

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """One holder at a time, among this process's threads and every other process on the
        store, for a unit of work made of several transactions (setting up an empty store).

        A DuckDB file is held open by this session throughout (another process waits for the
        file); on PostgreSQL the advisory lock ``INIT_LOCK`` is held as ``migrate`` holds its
        own. A caller that finds the lock held says so (``on_wait``), then waits for it."""
        with self._exclusive, self.session():
            if self.url is None:
                yield
                return
            with self._migration_lock(INIT_LOCK, waiting=f"waiting for another process {what}"):
                yield

    @contextlib.contextmanager
    def _migration_lock(
        self, key: int = MIGRATION_LOCK, *, waiting: str | None = None
    ) -> Iterator[None]:
        """PostgreSQL's transaction advisory lock ``key``, held by a transaction on a cursor (a
        server connection) of its own while the body works on another; the lock ends with that
        transaction, also when this process dies. ``waiting``: what to say (``on_wait``) when
        another holds the lock, before waiting for it."""
        assert self._db is not None  # inside a session
        holder = self._db.cursor()
        try:
            holder.execute(f"USE {PG}")
            holder.execute("BEGIN TRANSACTION")
            if waiting is not None:
                tried = f"SELECT pg_try_advisory_xact_lock({key})::text"
                got = holder.execute(f"SELECT * FROM postgres_query('{PG}', '{tried}')").fetchall()  # noqa: S608
                if got and str(got[0][0]).lower() != "true":
                    (self._on_wait or wait_notice)(waiting)
            inner = f"SELECT pg_advisory_xact_lock({key})::text"
            holder.execute(f"SELECT * FROM postgres_query('{PG}', '{inner}')").fetchall()  # noqa: S608
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                holder.close()
            raise product_error(exc) from exc
        try:
            yield
        finally:
            with contextlib.suppress(duckdb.Error):
                holder.execute("ROLLBACK")
            with contextlib.suppress(duckdb.Error):
                holder.close()

    def _migrate(self, cur: duckdb.DuckDBPyConnection) -> list[str]:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        done = {r[0] for r in cur.execute("SELECT name FROM schema_migrations").fetchall()}
        applied: list[str] = []
        for name in MIGRATIONS:
            if name in done:
                continue
            sql = resources.files("engine").joinpath("sql", name).read_text("utf-8")
            with self.transaction() as tx:
                if self.url is None:
                    tx.execute(sql)
                elif name == "schema_019_bulk_classes.sql":
                    # PostgreSQL drops a constraint in place (the migration's own words say why)
                    tx.execute(
                        f"CALL postgres_execute('{PG}', 'ALTER TABLE exposure_classes "
                        "DROP CONSTRAINT IF EXISTS exposure_classes_pkey')"
                    )
                    tx.execute("CALL pg_clear_cache()")
                else:
                    self._migrate_postgres(tx, sql)
                if name == "schema_007_concurrency.sql":
                    self._make_sequences(tx)
                tx.execute("INSERT INTO schema_migrations VALUES ($n, now())", {"n": name})
            log.info("applied migration %s", name)
            applied.append(name)
        return applied

    def _migrate_postgres(self, cur: duckdb.DuckDBPyConnection, sql: str) -> None:
        """A migration's statements on PostgreSQL. DuckDB writes a new column's type in its own
        words (DOUBLE), which PostgreSQL does not know: those statements go to the server as
        PostgreSQL SQL, and DuckDB's picture of the tables is refreshed after."""
        altered = False
        for statement in duckdb.extract_statements(sql):
            query = "\n".join(
                line.split("--", 1)[0] for line in statement.query.splitlines()
            ).strip()
            if not query:
                continue
            if re.match(r"ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN", query, re.IGNORECASE):
                native = re.sub(r"\bDOUBLE\b", "DOUBLE PRECISION", query).replace("'", "''")
                cur.execute(f"CALL postgres_execute('{PG}', '{native}')")
                altered = True
            else:
                if altered:
                    cur.execute("CALL pg_clear_cache()")
                    altered = False
                cur.execute(query)
        if altered:
            cur.execute("CALL pg_clear_cache()")

    def _make_sequences(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Create each id sequence, starting past the highest id stored (run with migration 007,
        inside its transaction)."""
        for seq, (table, column) in SEQUENCES.items():
            start = cur.execute(
                f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}"'  # noqa: S608
            ).fetchone()
            first = int(start[0]) if start else 1
            # the names and the start value come from code and the database, never a user
            ddl = f"CREATE SEQUENCE IF NOT EXISTS {seq} START {first}"
            if self.url is None:
                cur.execute(ddl)
            else:  # DuckDB cannot create sequences in an attached PostgreSQL database
                cur.execute(f"CALL postgres_execute('{PG}', '{ddl}')")

    def next_value(self, sequence: str) -> int:
        """The sequence's next value: unique across threads, transactions and processes."""
        if sequence not in SEQUENCES:
            raise ValueError(f"unknown sequence {sequence!r}")
        if self.url is None:
            return int(self.one(f"SELECT nextval('{sequence}')"))
        inner = f"SELECT nextval(''{sequence}'')"
        return int(self.one(f"SELECT * FROM postgres_query('{PG}', '{inner}')"))  # noqa: S608

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
