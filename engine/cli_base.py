"""What every `resilience` command group shares: the options parsed before the command (the
database, ``--debug``, who acts), the consoles, and the way a command opens the database and
turns a product error into a red ``Error:`` line.

The command modules (engine/cli.py, engine/scenario_cli.py, engine/users_cli.py) import this one;
it imports none of them, so the command line has no import cycle.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
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


def open_context() -> Context:
    from engine.context import Context

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
