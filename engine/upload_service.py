"""A dry run of ``resilience upload`` worked out by the store folder's warm checker service.

A CLI command is a new interpreter: checking a five-row file and previewing it in-process meant
importing DuckDB, polars, pyarrow, numpy, shapely and the scoring engine, and writing the staged
version, before printing two lines (over a second of CPU). The checker service
(``exposures.upload.checker``) already runs, warm, for every upload of the store's folder, so
it does the dry run: it checks the file in its sandbox child, works out the plan and the rating
change on the store (``uploads.check_and_plan``, the very function the in-process path runs)
and answers with the report and the plan as JSON. The command prints them with the same words
and ``--json`` keys; it imports none of those libraries.

The service takes this request because ``engine.uploads`` names this module as an extension of
the services a product process starts (``checker.extend``); the checker package itself never
imports the engine. When no service can be used (``RESILIENCE_CHECKER=local``, a PostgreSQL
store, a service that cannot start or fails), ``dry_run`` returns None and the command works the
dry run out itself, as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ResilienceError
from engine.uploads import Kind, Mode, UploadOutcome, UploadPlan, check_and_plan, dry_run_reason
from exposures.upload import checker

if TYPE_CHECKING:
    from engine.context import Context

log = logging.getLogger(__name__)

OP = "upload_dry_run"
_MAX_CONTEXTS = 4
_contexts: OrderedDict[str, Context] = OrderedDict()
_contexts_lock = threading.Lock()


def dry_run(
    db: Path | str,
    client_id: str,
    data: bytes,
    filename: str,
    kind: Kind,
    columns: dict[str, str | None],
    values: dict[str, dict[str, str]],
    *,
    template: str | None = None,
    sheet: str | None = None,
    mode: Mode = "replace",
    valid_only: bool = False,
) -> tuple[UploadOutcome, bytes] | None:
    """The outcome of checking and previewing a file without loading it (``outcome.plan``, or
    ``outcome.reason`` when the file cannot be loaded) and its rejected rows as CSV, from the
    store's checker service; None when the service cannot be used. A product error (an unknown
    client or template, a file the checker refuses) is raised as ``ResilienceError`` with the
    words the in-process path uses."""
    from exposures.upload import sandbox
    from exposures.upload.report import ValidationReport

    if checker.mode() != "service" or str(db).startswith(("postgresql:", "postgres:")):
        return None
    path = os.path.abspath(db)  # the service works in a folder of its own
    header = {
        "op": OP,
        "db": path,
        "client_id": client_id,
        "filename": filename,
        "kind": kind,
        "columns": columns,
        "values": values,
        "template": template,
        "sheet": sheet,
        "mode": mode,
        "valid_only": valid_only,
    }
    # the file's own time limit, a checker still warming up, a store another program holds
    timeout = sandbox.DEFAULT_TIMEOUT_S + sandbox.WARMUP_LIMIT_S + 120.0
    try:
        answer, blobs = checker.request(
            checker.service_dir(path), header, (data,), timeout_s=timeout
        )
        report = ValidationReport.model_validate_json(answer["report"])
        plan = answer.get("plan")
        outcome = UploadOutcome(
            client_id=client_id,
            kind=kind,
            report=report,
            loaded=False,
            reason=str(answer.get("reason") or ""),
            plan=None if plan is None else UploadPlan.from_dict(client_id, kind, plan),
            accepted_rows=[int(n) for n in answer.get("accepted", [])],
        )
        quarantine = blobs[0] if blobs else b""
    except checker.Unavailable as exc:
        log.warning("%s; working the dry run out in this process", exc)
        return None
    except (KeyError, TypeError, ValueError) as exc:
        log.warning(
            "the upload checker's dry run could not be read (%s); working it out in this process",
            exc,
        )
        return None
    return outcome, quarantine


# -- the service's side ----------------------------------------------------------------------------


def _context(db: str) -> Context:
    """The service's open context on the store ``db`` (a few are kept, the latest used; a file
    removed or replaced since is opened afresh, as a command would open it)."""
    from engine.context import Context

    try:
        key = f"{db}|{os.stat(db).st_ino}"
    except OSError:
        key = ""
    with _contexts_lock:
        ctx = _contexts.pop(key, None) if key else None
        if ctx is None:
            ctx = Context(db)
        if not key:  # the store was just made: key it by its file from now on
            key = f"{db}|{os.stat(db).st_ino}"
        _contexts[key] = ctx
        while len(_contexts) > _MAX_CONTEXTS:
            _, old = _contexts.popitem(last=False)
            old.close()
        return ctx


def _answer_dry_run(
    header: dict[str, Any], blobs: list[bytes]
) -> tuple[dict[str, Any], tuple[bytes, ...]]:
    from engine.access import EVERYONE

    db = str(header.get("db") or "")
    if not os.path.isabs(db) or checker.service_dir(db) != checker.serving():
        # a store of another folder is another service's (and none but the caller's own)
        raise ResilienceError(f"this upload checker does not serve the store {db}")
    if len(blobs) != 1:
        raise ResilienceError("a dry run sends the file's bytes")
    ctx = _context(db)
    prepared, outcome = check_and_plan(
        ctx,
        str(header["client_id"]),
        blobs[0],
        str(header["filename"]),
        header["kind"],
        dict(header.get("columns") or {}),
        dict(header.get("values") or {}),
        template=header.get("template"),
        sheet=header.get("sheet"),
        mode=header.get("mode") or "replace",
        valid_only=bool(header.get("valid_only")),
        scope=EVERYONE,  # the caller is this user (the socket is theirs only), as the CLI is
    )
    if outcome.plan is not None:
        outcome.reason = dry_run_reason(outcome.plan)
    answer = {
        "report": outcome.report.model_dump_json(),
        "plan": None if outcome.plan is None else outcome.plan.as_dict(),
        "reason": outcome.reason,
        "accepted": outcome.accepted_rows,
    }
    return answer, (prepared.quarantine_csv,)


def warm_up() -> None:
    """The service's imports for a dry run, before the first one."""
    import engine.clients
    import engine.context  # noqa: F401


SERVICE_OPS = {OP: _answer_dry_run}
