"""What the CLI's ``report`` and ``export`` commands do: render, then write the file safely.

The CLI parses arguments and calls these; they raise :class:`~engine.errors.ResilienceError`
subclasses with messages a person can act on (unknown client, unknown format, a folder that does
not exist or cannot be written). A file is written to a temporary name beside the target and
renamed into place, so an interrupted write never leaves half a report under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from engine.context import Context
from engine.report.errors import ReportError
from engine.report.exports import ExportFormat, export_client
from engine.report.render import Format, render_client_report, render_portfolio_report
from engine.store import Scope

REPORT_FORMATS = ("pdf", "html")
EXPORT_FORMATS = ("csv", "xlsx")


def _target(out_path: Path | str, default_name: str) -> Path:
    path = Path(out_path).expanduser()
    if path.is_dir():
        path = path / default_name
    parent = path.parent
    if not parent.exists():
        raise ReportError(
            f"cannot write {path}: the folder {parent} does not exist; create it or choose "
            "another --out"
        )
    if not parent.is_dir():
        raise ReportError(f"cannot write {path}: {parent} is not a folder")
    return path


def _write(path: Path, data: bytes) -> Path:
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ReportError(
            f"cannot write {path}: {reason}; check the folder's permissions or choose another --out"
        ) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return path


def report_command(
    ctx: Context,
    client_id: str | None,
    fmt: str,
    out_path: Path | str,
    portfolio: bool = False,
) -> Path:
    """Write a client report (or, with ``portfolio``, the book's report) and return its path.

    With ``portfolio`` and a client id, the portfolio report covers that client only.
    """
    if fmt not in REPORT_FORMATS:
        raise ReportError(f"report format {fmt!r} is not known; use one of: pdf, html")
    report_fmt: Format = "pdf" if fmt == "pdf" else "html"
    as_of = ctx.current_run().as_of.isoformat()
    if portfolio:
        ids = [client_id] if client_id else None
        if client_id:
            ctx.client(client_id, Scope.of(client_id))
        path = _target(out_path, f"portfolio-report-{as_of}.{fmt}")
        return _write(path, render_portfolio_report(ctx, fmt=report_fmt, client_ids=ids))
    if not client_id:
        raise ReportError("name a client for its report, or ask for the portfolio report")
    ctx.client(client_id, Scope.of(client_id))  # unknown client: NotFoundError before any work
    path = _target(out_path, f"{client_id}-report-{as_of}.{fmt}")
    return _write(path, render_client_report(ctx, client_id, fmt=report_fmt))


def export_command(ctx: Context, client_id: str, fmt: str, out_path: Path | str) -> Path:
    """Write a client's scores and items as CSV or XLSX and return the file's path."""
    if fmt not in EXPORT_FORMATS:
        raise ReportError(f"export format {fmt!r} is not known; use one of: csv, xlsx")
    export_fmt: ExportFormat = "csv" if fmt == "csv" else "xlsx"
    ctx.client(client_id, Scope.of(client_id))
    as_of = ctx.current_run().as_of.isoformat()
    path = _target(out_path, f"{client_id}-export-{as_of}.{fmt}")
    return _write(path, export_client(ctx, client_id, export_fmt))
