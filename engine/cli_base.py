"""What every `resilience` command group shares: the options parsed before the command (the
database, ``--debug``, who acts), the consoles, and the way a command opens the database and
turns a product error into a red ``Error:`` line.

The command modules (engine/cli.py, engine/scenario_cli.py, engine/users_cli.py) import this one;
it imports none of them, so the command line has no import cycle.
"""

from __future__ import annotations

import contextlib
import dis
import json
import logging
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.errors import ResilienceError
from engine.terminal import CleanFormatter, SafeConsole, styled

if TYPE_CHECKING:  # imported when a command runs: `resilience --help` stays fast
    from engine.context import Context
    from engine.store import Scope


def default_db_path() -> Path:
    """data/resilience.duckdb, or $RESILIENCE_DB (engine.context.default_db_path, kept light)."""
    return Path(os.environ.get("RESILIENCE_DB", str(Path("data") / "resilience.duckdb")))


class _State:
    db: Path = default_db_path()
    debug: bool = False
    user: str = ""  # who the audit log names: --as, else $RESILIENCE_USER, else the login name


state = _State()
# every string printed is shown literally (no Rich markup, no control characters): see terminal.py
out = SafeConsole()
err = SafeConsole(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default data/resilience.duckdb or $RESILIENCE_DB)."),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who the audit log names for this command's changes (default $RESILIENCE_USER, "
        "else the login name).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NoteOption = Annotated[
    str, typer.Option("--note", help="What changed and why (required; kept in the audit log).")
]


def configure(db: Path | None, debug: bool, as_user: str | None) -> None:
    """Apply the options given before the command."""
    from engine.audit import os_user

    global out, err
    state.db = db or default_db_path()
    state.debug = debug
    state.user = (as_user or "").strip() or os_user()
    # consoles read the terminal width (or $COLUMNS) now, not when the module was imported
    out = SafeConsole()
    err = SafeConsole(stderr=True)
    handler = logging.StreamHandler()
    handler.setFormatter(CleanFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


def fail(exc: BaseException) -> None:
    """A red ``Error:`` line and exit code 1 (the traceback with ``--debug``)."""
    if state.debug:
        raise exc
    err.print(styled(("Error:", "bold red"), f" {exc}"))
    raise typer.Exit(1)


class _NoPandasForDuckDB:
    """An import finder that keeps DuckDB from importing pandas into a command's process.

    DuckDB 1.5's Python client imports pandas the first time it converts a bound parameter
    (to recognise pandas' missing values), and registering an Arrow table imports
    ``pyarrow.dataset``, whose set-up imports pandas too: a command would spend up to a second
    of CPU on pandas, which it never uses (the engine hands DuckDB no pandas object, and none
    can exist before pandas is imported). Both libraries take a failed import as "pandas is not
    installed" for that call and try again on the next. So this finder refuses an import of
    pandas made while the product's own code calls into DuckDB: the innermost Python frame is
    not an ``import pandas`` statement, and the first function frame above the import machinery
    and the modules being imported is in one of the product's packages, at a call. Every
    other import of pandas (by name, ``importlib``, another library's), a lookup
    (``importlib.util.find_spec``) and every import once pandas is loaded are untouched.
    """

    _ROOTS = tuple(
        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), p, "")
        for p in ("core", "engine", "exposures", "scoring_rules")
    )
    _IMPORT_NAME = dis.opmap["IMPORT_NAME"]

    @classmethod
    def _imported(cls, frame: types.FrameType) -> str | None:
        """The module an ``import`` statement at ``frame``'s current instruction names."""
        code = frame.f_code
        if code.co_code[frame.f_lasti] != cls._IMPORT_NAME:
            return None
        for ins in dis.get_instructions(code):
            if ins.offset == frame.f_lasti:
                return str(ins.argval)
        return None

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name != "pandas":
            return None
        frame: types.FrameType | None = sys._getframe(1)
        innermost = True
        while frame is not None:
            file = frame.f_code.co_filename
            if file == "<frozen importlib.util>":
                return None  # a lookup, not an import
            if file.startswith("<frozen importlib"):
                frame = frame.f_back
                continue
            wanted = self._imported(frame)
            if innermost and wanted is not None and wanted.split(".")[0] == "pandas":
                return None  # asked for by name
            innermost = False
            if frame.f_code.co_name != "<module>":
                break
            frame = frame.f_back  # a module being imported: who imports it
        if frame is None or not frame.f_code.co_filename.startswith(self._ROOTS):
            return None
        if self._imported(frame) is not None:
            return None  # the product imports a module that imports pandas
        raise ModuleNotFoundError("pandas is not imported for DuckDB", name=name)


def _keep_pandas_out() -> None:
    if not any(isinstance(f, _NoPandasForDuckDB) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandasForDuckDB())


def open_context() -> Context:
    from engine import store
    from engine.context import Context

    _keep_pandas_out()

    # a command that waits for the app (or another command) to finish with the file says so
    store.wait_notice = err.print
    return Context(state.db)


@contextlib.contextmanager
def session() -> Iterator[Context]:
    """The database for one command; an error the product raises becomes a red Error: line."""
    try:
        with open_context() as ctx:
            yield ctx
    except ResilienceError as exc:
        fail(exc)


def everyone() -> Scope:
    """The CLI's scope: the whole book (whoever runs a command reads the database file)."""
    from engine.store import Scope

    return Scope.everything()


def emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
