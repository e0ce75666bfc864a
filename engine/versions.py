"""The published picture: which register and rules are current, their stored versions, and the
gazetteer the runs record (the ``Context``'s register, rules and setup methods call these).

Publishing, previewing and rolling back are engine/publication.py's; scenarios are
engine/scenarios.py's. A stored version never changes, so each is parsed once per context.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import queries_versions as q
from engine.errors import NotFoundError, RuleError, StoreError
from exposures.gazetteer import gazetteer_text, load_gazetteer
from scoring_rules.rules import Rules, parse_rules
from scoring_rules.threats import Register, parse_register

if TYPE_CHECKING:
    from engine.context import Context
    from engine.publication import DocKind

# The columns of the regions table (the gazetteer as the scoring SQL reads it).
REGION_SCHEMA: dict[str, Any] = {
    "region_id": pl.String,
    "kind": pl.String,
    "name": pl.String,
    "country": pl.String,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "radius_km": pl.Float64,
}


class DocumentCache:
    """Stored document versions (register, rules, scenarios) parsed once, and the gazetteer
    version this process loaded; shared by the sessions of one context."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, int], Any] = {}
        self.gazetteer: int | None = None
        self.gazetteer_lock = threading.Lock()

    def get(self, kind: str, version: int, load: Callable[[], Any]) -> Any:
        key = (kind, version)
        found = self._parsed.get(key)
        if found is None:
            found = self._parsed[key] = load()
        return found


def pointer(ctx: Context, name: str) -> int | None:
    """The current version of a document (register, rules), none before it is published."""
    v = ctx.store.one(q.POINTER, {"n": name})
    return None if v is None else int(v)


def require_init(ctx: Context) -> tuple[int, int]:
    """The current register and rules versions; an error saying what to run when there are none."""
    reg, rules = pointer(ctx, "register"), pointer(ctx, "rules")
    if reg is None or rules is None:
        raise StoreError(
            f"{ctx.db_name} has no published register or rules yet; run `resilience init`"
        )
    return reg, rules


def document(ctx: Context, kind: str, version: int) -> Any:
    """A stored register or rules version, parsed once: versions never change."""

    def load() -> Any:
        doc = ctx.store.one(q.document_sql(kind), {"v": version})
        if doc is None:
            raise NotFoundError(f"{kind} version {version} does not exist")
        parse = parse_register if kind == "register" else parse_rules
        return parse(json.loads(doc), f"{kind} version {version}")

    return ctx.cached_document(kind, version, load)


def register(ctx: Context, version: int | None) -> Register:
    v = version if version is not None else require_init(ctx)[0]
    found: Register = document(ctx, "register", v)
    return found


def rules(ctx: Context, version: int | None) -> Rules:
    v = version if version is not None else pointer(ctx, "rules")
    if v is None:
        raise StoreError(f"{ctx.db_name} has no published rules yet; run `resilience init`")
    found: Rules = document(ctx, "rules", v)
    return found


def doc_kind(kind: str) -> DocKind:
    """``register`` or ``rules`` as the publication workflow's document kind."""
    if kind == "register":
        return "register"
    if kind == "rules":
        return "rules"
    raise RuleError(f"unknown document {kind!r}; use register or rules")


# -- the gazetteer ---------------------------------------------------------------------------------


def sync_regions(ctx: Context) -> None:
    """The gazetteer's regions as the scoring SQL reads them, replaced in one transaction."""
    rows = [
        {
            "region_id": r.id,
            "kind": r.kind,
            "name": r.name,
            "country": r.country,
            "lat": r.lat,
            "lon": r.lon,
            "radius_km": r.radius_km,
        }
        for r in load_gazetteer().named.values()
    ]
    frame = pl.DataFrame(rows, schema=REGION_SCHEMA)
    with ctx.store.transaction() as cur:
        cur.execute(q.CLEAR_REGIONS)
        ctx.store.insert_frame(cur, "regions", frame)


def store_gazetteer(ctx: Context) -> int:
    """The gazetteer file's version, by its sha256; its text is stored the first time."""
    text = gazetteer_text()
    params = {"sha": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    found = ctx.store.one(q.GAZETTEER_VERSION, params)
    if found is None:
        with ctx.store.transaction() as cur:
            cur.execute(q.STORE_GAZETTEER, params | {"doc": text})
        found = ctx.store.one(q.GAZETTEER_VERSION, params)
    return int(found)
