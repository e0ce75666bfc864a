"""Client onboarding: create, change and remove clients, with an audit entry for each.

A client is created with its name, sector, home country, affiliations and business value
(``add_client``), changed field by field (``edit_client``) and removed with all its data
(``remove_client``: exposure versions, run results, saved mappings, its client users and its
place in account managers' books). Every one of these writes an ``audit_log`` entry in the same
transaction: who, when, what. Saved upload mappings (``mapping templates``) live here too.

Sectors and affiliations are checked against the current rules; the home country may be given as
any name or code the geocoder knows (``Iraq``, ``IQ``, ``IRQ``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from core.errors import ClientError, ExposureError, NotFoundError
from engine import audit
from engine.models import ClientSpec, Service
from engine.store import Scope

if TYPE_CHECKING:
    from engine.context import Context

# Tables that hold a client's own rows, each with a client_id column (removed with the client).
CLIENT_TABLES = (
    "run_clients",
    "run_classes",
    "run_exposures",
    "exposure_classes",
    "assets",
    "routes",
    "exposure_current",
    "exposure_versions",
    "mapping_templates",
    "user_clients",
    "services",
    "follows",
    "notifications",
    "clients",
)
_UNSET: Any = object()


@dataclass(frozen=True)
class AuditEntry:
    entry_id: int
    at: dt.datetime
    actor: str
    action: str
    client_id: str
    detail: dict[str, Any]


def cli_actor() -> str:
    """Who acts from the command line: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _hq(text: str) -> str:
    from exposures.geocode import resolve_country, suggest_country

    code = resolve_country(text)
    if code is None:
        hint = suggest_country(text)
        raise ClientError(
            f"--hq {text!r} is not a known country"
            + (f" (did you mean {', '.join(hint)}?)" if hint else "")
            + "; give an ISO 3166 code such as GBR or a country name"
        )
    return code


def _validated(data: dict[str, Any]) -> ClientSpec:
    try:
        return ClientSpec.model_validate(data)
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "client"
            fix = {
                "client_id": "use lower-case letters, digits and hyphens, e.g. acme-shipping",
                "business_value_usd": "give a positive number of US dollars",
                "name": "give a name of 1 to 200 characters",
            }.get(field.split(".")[0], "")
            parts.append(f"{field}: {e['msg']}" + (f" ({fix})" if fix else ""))
        raise ClientError("; ".join(parts)) from None


def _clean_text(value: str, field: str) -> str:
    from exposures.upload.convert import strip_controls

    cleaned = strip_controls(value).strip()
    if not cleaned:
        raise ClientError(f"{field} is empty once control characters are removed; give text")
    return cleaned


def _done(action: str, detail: dict[str, Any]) -> str:
    if action == "client.edit":
        return "changed " + ", ".join(sorted(detail))
    return {"client.add": "client added", "client.remove": "removed with all its data"}.get(
        action, action
    )


def _audit(cur: Any, actor: str, action: str, client_id: str, detail: dict[str, Any]) -> None:
    row = cur.execute("SELECT coalesce(max(entry_id), 0) + 1 FROM audit_log").fetchone()
    cur.execute(
        "INSERT INTO audit_log VALUES ($id, now(), $actor, $action, $c, $detail)",
        {
            "id": row[0] if row else 1,
            "actor": actor,
            "action": action,
            "c": client_id,
            "detail": json.dumps(detail, sort_keys=True, default=str),
        },
    )
    audit.record(
        cur,
        user=actor,
        action=action,
        kind="client",
        subject=client_id,
        note=_done(action, detail),
        detail=detail,
    )


def _spec_dict(spec: ClientSpec) -> dict[str, Any]:
    return spec.model_dump()


def add_client(
    ctx: Context,
    client_id: str,
    *,
    name: str,
    sector: str,
    hq: str,
    affiliations: list[str] | None = None,
    business_value_usd: float | None = None,
    services: list[Service] | None = None,
    description: str = "",
    actor: str = "",
    book_of: str | None = None,
) -> ClientSpec:
    """Create a client; refused if the id is taken. Returns what was stored.

    ``book_of``: an account manager's username; the client joins their book."""
    ctx.init()
    if ctx.store.one("SELECT count(*) FROM clients WHERE client_id = $c", {"c": client_id}):
        raise ClientError(
            f"client {client_id!r} already exists; change it with `resilience clients edit "
            f"{client_id}` or choose another id"
        )
    spec = _validated(
        {
            "client_id": client_id,
            "name": _clean_text(name, "the name"),
            "sector": sector,
            "hq_country": _hq(hq),
            "affiliations": list(affiliations or []),
            "description": description,
            "business_value_usd": business_value_usd,
            "services": [s.model_dump() for s in services or []],
        }
    )
    ctx.upsert_client(spec, audit=(actor or cli_actor(), "client.add", _spec_dict(spec)))
    if book_of:
        ctx.store.execute(
            "INSERT OR IGNORE INTO user_clients VALUES ($u, $c)", {"u": book_of, "c": client_id}
        )
    return spec


def edit_client(
    ctx: Context,
    client_id: str,
    *,
    name: str | None = None,
    sector: str | None = None,
    hq: str | None = None,
    affiliations: list[str] | None = None,
    business_value_usd: float | None = _UNSET,
    services: list[Service] | None = None,
    actor: str = "",
) -> ClientSpec:
    """Change the given fields of a client (``None`` leaves a field as it is)."""
    old = ctx.client(client_id, Scope.of(client_id))
    data = old.model_dump()
    if name is not None:
        data["name"] = _clean_text(name, "the name")
    if sector is not None:
        data["sector"] = sector
    if hq is not None:
        data["hq_country"] = _hq(hq)
    if affiliations is not None:
        data["affiliations"] = list(affiliations)
    if business_value_usd is not _UNSET:
        data["business_value_usd"] = business_value_usd
    if services is not None:
        data["services"] = [s.model_dump() for s in services]
    spec = _validated(data)
    before = old.model_dump()
    after = spec.model_dump()
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        raise ClientError(f"client {client_id!r}: nothing to change (every value is the same)")
    ctx.upsert_client(spec, audit=(actor or cli_actor(), "client.edit", changed))
    return spec


def removal_counts(ctx: Context, client_id: str) -> dict[str, int]:
    """What removing a client would delete: exposure versions, assets, routes, users."""
    ctx.client(client_id, Scope.of(client_id))
    p = {"c": client_id}
    return {
        "versions": int(
            ctx.store.one("SELECT count(*) FROM exposure_versions WHERE client_id = $c", p)
        ),
        "assets": int(ctx.store.one("SELECT count(*) FROM assets WHERE client_id = $c", p)),
        "routes": int(ctx.store.one("SELECT count(*) FROM routes WHERE client_id = $c", p)),
        "users": int(
            ctx.store.one("SELECT count(*) FROM users WHERE client_id = $c AND role = 'client'", p)
        ),
    }


def remove_client(ctx: Context, client_id: str, *, confirm: str, actor: str = "") -> dict[str, int]:
    """Remove a client and every row of its data, in one transaction, with an audit entry.

    ``confirm`` must repeat the client id: removing cannot be undone.
    """
    spec = ctx.client(client_id, Scope.of(client_id))
    if confirm != client_id:
        raise ClientError(
            f"removing {client_id!r} deletes all its data and cannot be undone; confirm by "
            f"typing the client id ({client_id})"
        )
    counts = removal_counts(ctx, client_id)
    with ctx.store.transaction() as cur:
        for table in CLIENT_TABLES:
            cur.execute(f'DELETE FROM "{table}" WHERE client_id = $c', {"c": client_id})  # noqa: S608
        cur.execute("DELETE FROM users WHERE client_id = $c", {"c": client_id})
        cur.execute(  # its exposure publications name it (engine/history.py)
            "DELETE FROM publications WHERE document = 'exposures' AND subject = $c",
            {"c": client_id},
        )
        _audit(
            cur,
            actor or cli_actor(),
            "client.remove",
            client_id,
            {"name": spec.name, "removed": counts},
        )
    return counts


def audit_entries(ctx: Context, client_id: str | None = None) -> list[AuditEntry]:
    """The audit log, oldest first (one client's, or everyone's)."""
    rows = ctx.store.rows(
        "SELECT entry_id, logged_at, actor, action, client_id, detail FROM audit_log "
        "WHERE $c IS NULL OR client_id = $c ORDER BY entry_id",
        {"c": client_id},
    )
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


# --------------------------------------------------------------------------------------------
# Saved upload mappings


@dataclass(frozen=True)
class MappingTemplate:
    """A saved upload mapping: header -> column (None: ignore) and, per column, value maps."""

    name: str
    kind: str
    columns: dict[str, str | None]
    values: dict[str, dict[str, str]]


def save_template(
    ctx: Context,
    client_id: str,
    name: str,
    kind: str,
    columns: dict[str, str | None],
    values: dict[str, dict[str, str]],
) -> MappingTemplate:
    ctx.client(client_id, Scope.of(client_id))
    if not name.strip() or len(name) > 60 or not name.replace("-", "").replace("_", "").isalnum():
        raise ExposureError(
            f"template name {name!r}: use 1 to 60 letters, digits, '-' or '_' (e.g. sites-2026)"
        )
    ctx.store.execute(
        "INSERT OR REPLACE INTO mapping_templates VALUES ($c, $n, $k, $cols, $vals, now())",
        {
            "c": client_id,
            "n": name,
            "k": kind,
            "cols": json.dumps(columns, sort_keys=True),
            "vals": json.dumps(values, sort_keys=True),
        },
    )
    return MappingTemplate(name, kind, dict(columns), {k: dict(v) for k, v in values.items()})


def load_template(ctx: Context, client_id: str, name: str, kind: str) -> MappingTemplate:
    ctx.client(client_id, Scope.of(client_id))
    row = ctx.store.rows(
        'SELECT columns, "values" FROM mapping_templates WHERE client_id = $c AND name = $n '
        "AND kind = $k",
        {"c": client_id, "n": name, "k": kind},
    )
    if not row:
        known = [
            r[0]
            for r in ctx.store.rows(
                "SELECT name FROM mapping_templates WHERE client_id = $c AND kind = $k "
                "ORDER BY name",
                {"c": client_id, "k": kind},
            )
        ]
        raise NotFoundError(
            f"client {client_id!r} has no saved {kind} mapping template {name!r}"
            + (f"; saved: {', '.join(known)}" if known else "; save one with --save-template NAME")
        )
    return MappingTemplate(name, kind, json.loads(row[0][0]), json.loads(row[0][1]))
