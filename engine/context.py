"""The facade: the CLI, the app and the tests drive the engine through ``Context``.

A context is opened on one database file. It owns the store (the only connection), knows the
published register and rules, loads client exposures as whole versions, runs the scoring and
explains its results.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pycountry

from engine import audit, publication, queries, uploads
from engine import scenarios as scenario_store
from engine.errors import (
    AccessDenied,
    ConflictError,
    NotFoundError,
    ResilienceError,
    RuleError,
    StoreError,
)
from engine.models import (
    ClientSpec,
    EvidenceRef,
    Explanation,
    ItemDriver,
    PeopleAtRisk,
    PeopleByThreat,
    Rating,
    RegionDriver,
    RunInfo,
    ScenarioEvent,
    ScenarioInfo,
    ScenarioRow,
    ScenarioVersion,
    Service,
    ThreatDriver,
)
from engine.scoring import only, rescore_one, score_params, score_run
from engine.store import Scope, Store
from exposures.gazetteer import gazetteer_text, load_gazetteer
from scoring_rules.briefs import in_force
from scoring_rules.rules import Rules, check_register, default_rules_path, load_rules, parse_rules
from scoring_rules.scenarios import Scenario
from scoring_rules.threats import Register, default_register_path, load_register, parse_register

if TYPE_CHECKING:
    from exposures.ports import Port
    from exposures.routes import RouteInfo
    from exposures.upload.pipeline import PreparedUpload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedVersion:
    """The rows of an exposure version not yet written (``Context.stage_exposures``)."""

    client_id: str
    version: int
    assets: pl.DataFrame | None
    routes: pl.DataFrame | None
    classes: pl.DataFrame
    regions: list[pl.DataFrame]


DEFAULT_DB = Path("data") / "resilience.duckdb"
EVERYONE = Scope.everything()


@dataclass(frozen=True)
class _NoScope(Scope):
    """The default of every facade method that reads or changes client data: deny by default.

    A call that does not say whose data it may see fails, with words; a trusted job (the CLI,
    a benchmark) passes ``EVERYONE`` (``Scope.everything()``), a signed-in user their own scope.
    """

    def _refuse(self) -> AccessDenied:
        return AccessDenied(
            "no scope given: say which clients this call may see (the user's scope, or "
            "Scope.everything() for a trusted job)"
        )

    def allows(self, client_id: str) -> bool:
        raise self._refuse()

    def require(self, client_id: str) -> None:
        raise self._refuse()

    def sql(self, column: str = "client_id") -> tuple[str, list[str] | None]:
        raise self._refuse()


REQUIRED: Scope = _NoScope(frozenset())


def default_db_path() -> Path:
    return Path(os.environ.get("RESILIENCE_DB", str(DEFAULT_DB)))


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


class Context:
    """One open database and everything the product does with it."""

    def __init__(
        self, db: Path | str | None = None, *, threads: int = 2, memory_limit: str = "8GB"
    ) -> None:
        raw = db if db is not None else os.environ.get("RESILIENCE_DB") or DEFAULT_DB
        self.store = Store(raw, threads=threads, memory_limit=memory_limit)
        self.db_path = self.store.path
        self.db_name = self.store.name  # the file, or the PostgreSQL URL without its password
        self._route_lock = threading.Lock()
        self._parsed: dict[tuple[str, int], Any] = {}
        self._gazetteer: int | None = None
        self._gazetteer_lock = threading.Lock()
        # one run scored at a time in this process: sessions
        # (or the app's background report thread) may ask for the same run at once
        self._run_lock = threading.RLock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup -----------------------------------------------------------------------------------

    def init(self) -> None:
        """Gazetteer regions, the default rules and register when none is published yet, and
        each built-in scenario the database has never held (as its version 1)."""
        self._sync_regions()
        if self._pointer("rules") is None:
            self.publish_rules(load_rules(default_rules_path()), note="default rules")
        if self._pointer("register") is None:
            self.publish_register(
                load_register(default_register_path()), note="register from the seed brief"
            )
        scenario_store.seed(self)

    def _sync_regions(self) -> None:
        gaz = load_gazetteer()
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
            for r in gaz.named.values()
        ]
        frame = pl.DataFrame(rows, schema=REGION_SCHEMA)
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM regions")
            self.store.insert_frame(cur, "regions", frame)
        self.gazetteer_version()

    def gazetteer_version(self) -> int:
        """The stored version of the gazetteer this process loaded (stored on first sight)."""
        with self._gazetteer_lock:  # sessions of one app process may ask at once
            if self._gazetteer is None:
                self._gazetteer = self._store_gazetteer()
        return self._gazetteer

    def _store_gazetteer(self) -> int:
        """The gazetteer file's version, by its sha256; its text is stored the first time."""
        text = gazetteer_text()
        params = {"sha": hashlib.sha256(text.encode("utf-8")).hexdigest()}
        lookup = "SELECT version FROM gazetteer_versions WHERE sha256 = $sha"
        found = self.store.one(lookup, params)
        if found is None:
            with self.store.transaction() as cur:
                cur.execute(
                    "INSERT INTO gazetteer_versions SELECT coalesce(max(version), 0) + 1, now(), "
                    "$sha, $doc FROM gazetteer_versions",
                    params | {"doc": text},
                )
            found = self.store.one(lookup, params)
        return int(found)

    def _pointer(self, name: str) -> int | None:
        v = self.store.one("SELECT version FROM pointers WHERE name = $n", {"n": name})
        return None if v is None else int(v)

    def _set_pointer(self, cur: Any, name: str, version: int) -> None:
        cur.execute("INSERT OR REPLACE INTO pointers VALUES ($n, $v)", {"n": name, "v": version})

    def _require_init(self) -> tuple[int, int]:
        reg, rules = self._pointer("register"), self._pointer("rules")
        if reg is None or rules is None:
            raise StoreError(
                f"{self.db_name} has no published register or rules yet; run `resilience init`"
            )
        return reg, rules

    # -- register and rules ----------------------------------------------------------------------

    def publish_register(
        self, register: Register, note: str, *, publish: bool = True, by: str = ""
    ) -> int:
        """Publish a register version (make it current), or with ``publish=False`` save it as a
        draft; the same document stored already is reused (engine/publication.py)."""
        if publish:
            return publication.publish(self, "register", register, note=note, by=by)
        return publication.save_draft(self, "register", register, note=note, by=by)

    def _document(self, kind: str, version: int) -> Any:
        """A stored register or rules version, parsed once: versions never change."""

        def load() -> Any:
            table = {"register": "register_versions", "rules": "rules_versions"}[kind]
            doc = self.store.one(
                f"SELECT document FROM {table} WHERE version = $v",  # noqa: S608
                {"v": version},
            )
            if doc is None:
                raise NotFoundError(f"{kind} version {version} does not exist")
            parse = parse_register if kind == "register" else parse_rules
            return parse(json.loads(doc), f"{kind} version {version}")

        return self.cached_document(kind, version, load)

    def cached_document(self, kind: str, version: int, load: Callable[[], Any]) -> Any:
        """A stored document version (register, rules, a scenario), loaded once per context."""
        key = (kind, version)
        found = self._parsed.get(key)
        if found is None:
            found = self._parsed[key] = load()
        return found

    def register(self, version: int | None = None) -> Register:
        v = version if version is not None else self._require_init()[0]
        register: Register = self._document("register", v)
        return register

    def register_version(self) -> int:
        return self._require_init()[0]

    def publish_rules(self, rules: Rules, note: str, *, publish: bool = True, by: str = "") -> int:
        """Publish a rules version, or with ``publish=False`` save it as a draft."""
        if publish:
            return publication.publish(self, "rules", rules, note=note, by=by)
        return publication.save_draft(self, "rules", rules, note=note, by=by)

    def rules(self, version: int | None = None) -> Rules:
        v = version if version is not None else self._pointer("rules")
        if v is None:
            raise StoreError(f"{self.db_name} has no published rules yet; run `resilience init`")
        rules: Rules = self._document("rules", v)
        return rules

    def rules_version(self) -> int:
        return self._require_init()[1]

    def history(self, kind: str) -> pl.DataFrame:
        """The register or rules versions (drafts and published; previews left out)."""
        return publication.history(self, _doc_kind(kind))

    def rollback_targets(self, kind: str) -> list[int]:
        """The published versions a roll-back may choose, the latest first."""
        return publication.rollback_targets(self, _doc_kind(kind))

    def preview_document(self, kind: str, doc: Any, *, scope: Scope) -> publication.Preview:
        """Which ratings a draft register or rules would move (stored as a preview version)."""
        return publication.preview(self, _doc_kind(kind), doc, scope=scope)

    def rollback(self, kind: str, version: int, *, note: str = "", by: str = "") -> None:
        """Make an earlier published register or rules version current again (a note is
        required)."""
        publication.rollback(self, _doc_kind(kind), version, note=note, by=by)

    def audit_entries(
        self,
        *,
        kind: str | None = None,
        user: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[audit.AuditEvent]:
        """The audit log, latest first (engine/audit.py): who published or rolled back which
        document and version, when and why; client and account changes too."""
        return audit.entries(self.store, kind=kind, user=user, action=action, limit=limit)

    def audit_users(self) -> list[str]:
        """Everyone the audit log names, for a filter."""
        return [str(r[0]) for r in self.store.rows(audit.USERS)]

    # -- scenarios -------------------------------------------------------------------------------

    # Stored, versioned documents (engine/scenarios.py): seeded from the built-in files at init,
    # then added, edited, rolled back and retired by analysts; ``by`` is who makes the change.

    def scenarios(self) -> dict[str, Scenario]:
        """Every scenario in use (not retired), at its current version."""
        return scenario_store.active(self)

    def scenario(self, scenario_id: str, version: int | None = None) -> Scenario:
        """A scenario at its current version, or at ``version`` (even when retired)."""
        v = version if version is not None else self.scenario_version(scenario_id)
        return scenario_store.document(self, scenario_id, v)

    def scenario_version(self, scenario_id: str) -> int:
        """The version a run of the scenario uses now (an error when it is retired)."""
        return scenario_store.current_version(self, scenario_id)

    def scenario_list(self, *, include_retired: bool = False) -> list[ScenarioInfo]:
        return [i for i in scenario_store.listing(self) if include_retired or not i.retired]

    def scenario_yaml(self, scenario_id: str, version: int | None = None) -> str:
        """The YAML text a version was stored from (the analyst's comments kept)."""
        v = version if version is not None else scenario_store.state(self, scenario_id).version
        return scenario_store.source(self, scenario_id, v)

    def add_scenario(
        self, text: str, *, note: str, by: str, where: str = "new scenario"
    ) -> ScenarioVersion:
        """Store a new scenario from YAML text as its version 1; nothing when it is refused."""
        return scenario_store.add(self, text, where=where, note=note, by=by)

    def edit_scenario(
        self, scenario_id: str, text: str, *, note: str, by: str, where: str = "scenario text"
    ) -> ScenarioVersion:
        """Store YAML text as the scenario's next version and make it current."""
        return scenario_store.edit(self, scenario_id, text, where=where, note=note, by=by)

    def scenario_history(self, scenario_id: str) -> list[ScenarioVersion]:
        return scenario_store.history(self, scenario_id)

    def scenario_events(self, scenario_id: str) -> list[ScenarioEvent]:
        return scenario_store.events(self, scenario_id)

    def rollback_scenario(self, scenario_id: str, version: int, *, by: str, note: str = "") -> None:
        """Make an earlier version current again (a note is required)."""
        scenario_store.rollback(self, scenario_id, version, by=by, note=note)

    def retire_scenario(self, scenario_id: str, *, by: str, note: str = "") -> None:
        scenario_store.retire(self, scenario_id, by=by, note=note)

    def applicable_scenarios(self, register_version: int | None = None) -> dict[str, Scenario]:
        """The scenarios that can run on a register version (the current one by default): those
        whose overrides name only threats the register holds."""
        register = self.register(register_version)
        return {k: s for k, s in self.scenarios().items() if s.applies_to(register)}

    # -- clients and exposures -------------------------------------------------------------------

    def upsert_client(
        self, spec: ClientSpec, *, audit: tuple[str, str, dict[str, Any]] | None = None
    ) -> None:
        """Create or replace a client (and its services); ``audit`` = (actor, action, detail)
        writes an audit entry in the same transaction (engine/clients.py)."""
        rules = self.rules()
        if spec.sector not in rules.sectors:
            raise RuleError(
                f"client {spec.client_id}: sector {spec.sector!r} is not known "
                f"(allowed: {', '.join(rules.sectors)})"
            )
        for a in spec.affiliations:
            if a not in rules.affiliations:
                raise RuleError(
                    f"client {spec.client_id}: affiliation {a!r} is not known "
                    f"(allowed: {', '.join(rules.affiliations)})"
                )
        with self.store.transaction() as cur:
            made = cur.execute(
                "SELECT created_at FROM clients WHERE client_id = $c", {"c": spec.client_id}
            ).fetchone()
            cur.execute("DELETE FROM clients WHERE client_id = $c", {"c": spec.client_id})
            cur.execute("DELETE FROM services WHERE client_id = $c", {"c": spec.client_id})
            cur.execute(
                "INSERT INTO clients VALUES ($c, $name, $sector, $hq, $aff, $desc, "
                "coalesce($made, now()), $bv)",
                {
                    "c": spec.client_id,
                    "name": spec.name,
                    "sector": spec.sector,
                    "hq": spec.hq_country,
                    "aff": spec.affiliations,
                    "desc": spec.description,
                    "bv": spec.business_value_usd,
                    "made": made[0] if made else None,
                },
            )
            for s in spec.services:
                cur.execute(
                    "INSERT INTO services VALUES ($c, $s, $n, $t)",
                    {"c": spec.client_id, "s": s.service_id, "n": s.name, "t": s.tolerance_days},
                )
            if audit is not None:
                from engine.clients import _audit

                _audit(cur, audit[0], audit[1], spec.client_id, audit[2])

    def clients(self, scope: Scope = REQUIRED) -> list[ClientSpec]:
        where, ids = scope.sql("c.client_id")
        rows = self.store.rows(
            "SELECT c.client_id, c.name, c.sector, c.hq_country, c.affiliations, c.description, "  # noqa: S608
            f"c.business_value_usd FROM clients c WHERE {where} ORDER BY c.client_id",
            {"scope_ids": ids} if ids is not None else None,
        )
        services: dict[str, list[Service]] = {}
        for cid, sid, name, tol in self.store.rows(
            "SELECT client_id, service_id, name, tolerance_days FROM services ORDER BY 1, 2"
        ):
            services.setdefault(cid, []).append(
                Service(service_id=sid, name=name, tolerance_days=tol)
            )
        return [
            ClientSpec(
                client_id=r[0],
                name=r[1],
                sector=r[2],
                hq_country=r[3],
                affiliations=list(r[4]),
                description=r[5],
                business_value_usd=r[6],
                services=services.get(r[0], []),
            )
            for r in rows
        ]

    def client(self, client_id: str, scope: Scope = REQUIRED) -> ClientSpec:
        scope.require(client_id)
        for c in self.clients(Scope.of(client_id)):
            return c
        raise NotFoundError(f"unknown client {client_id!r}; `resilience clients` lists them")

    def route(self, origin: Port, destination: Port) -> RouteInfo:
        """The sea route between two ports, from the cache or computed once and cached."""
        from exposures.routes import RouteInfo, compute_route, route_key  # searoute: heavy

        speed = self.rules().routes.speed_knots
        key = route_key(origin, destination, speed)
        cached = self.store.one("SELECT info FROM route_cache WHERE route_key = $k", {"k": key})
        if cached is not None:
            return RouteInfo.from_json(cached)
        with self._route_lock:
            cached = self.store.one("SELECT info FROM route_cache WHERE route_key = $k", {"k": key})
            if cached is not None:
                return RouteInfo.from_json(cached)
            info = compute_route(origin, destination, speed_knots=speed)
            self.store.execute(
                "INSERT OR IGNORE INTO route_cache VALUES ($k, $info, now())",
                {"k": key, "info": info.to_json()},
            )
            return info

    def load_exposures(
        self,
        client_id: str,
        assets: pl.DataFrame | None = None,
        routes: pl.DataFrame | None = None,
        *,
        note: str = "",
        source: str = "",
        by: str = "",
    ) -> int:
        """Make a new exposure version current for a client, in one transaction.

        Everything slow or fallible (geocoding, routing) happens before the transaction opens;
        the previous version stays current and complete until the commit.
        """
        staged = self.stage_exposures(client_id, assets, routes)

        def write() -> None:
            with self.store.transaction() as cur:
                self.write_staged(cur, staged, note=note, source=source, by=by)

        # an upload of another client sharing place rows may commit first: write again
        self.store.retrying(write)
        return staged.version

    def stage_exposures(
        self,
        client_id: str,
        assets: pl.DataFrame | None = None,
        routes: pl.DataFrame | None = None,
    ) -> StagedVersion:
        """The rows of a new exposure version, ready to write (nothing is written).

        Asset rows that already carry their location (``country_iso3``, ``subdivision``,
        ``geo_precision``: rows checked by an upload, or kept from the stored version) are not
        geocoded again, so a site given only by its country stays a country-level site.
        """
        from exposures.prepare import assign_classes, prepare_assets, prepare_routes

        self.client(client_id, Scope.of(client_id))
        # The number this version will take; ``write_staged`` refuses it, with words, if
        # another upload for the client took it first.
        with self.store.transaction() as cur:
            version = self.store.next_version(
                cur, "exposure_versions", where="client_id = $c", params={"c": client_id}
            )
        asset_rows = route_rows = None
        geo_parts = []
        if assets is not None and assets.height:
            asset_rows, regions = prepare_assets(client_id, version, assets)
            geo_parts.append(regions)
        if routes is not None and routes.height:
            route_rows, regions = prepare_routes(client_id, version, routes, self.route)
            geo_parts.append(regions)
        classes, asset_rows, route_rows = assign_classes(client_id, version, asset_rows, route_rows)
        return StagedVersion(client_id, version, asset_rows, route_rows, classes, geo_parts)

    def write_staged(
        self, cur: Any, staged: StagedVersion, *, note: str = "", source: str = "", by: str = ""
    ) -> None:
        """Write a staged version and make it current, inside the caller's transaction, with
        its audit entry (``by``: who loads it)."""
        client_id, version = staged.client_id, staged.version
        asset_rows, route_rows = staged.assets, staged.routes
        taken = cur.execute(
            "SELECT count(*) FROM exposure_versions WHERE client_id = $c AND version = $v",
            {"c": client_id, "v": version},
        ).fetchone()
        if taken and taken[0]:
            raise StoreError(
                f"client {client_id}: version {version} was written by another upload "
                "meanwhile; nothing was changed, try again"
            )
        cur.execute(
            "INSERT INTO exposure_versions VALUES ($c, $v, now(), $note, $src, $na, $nr)",
            {
                "c": client_id,
                "v": version,
                "note": note,
                "src": source,
                "na": 0 if asset_rows is None else asset_rows.height,
                "nr": 0 if route_rows is None else route_rows.height,
            },
        )
        for regions in staged.regions:
            self.store.insert_frame(cur, "geo_regions", regions, skip_existing=True)
        self.store.insert_frame(cur, "exposure_classes", staged.classes)
        if asset_rows is not None:
            self.store.insert_frame(cur, "assets", asset_rows)
        if route_rows is not None:
            self.store.insert_frame(cur, "routes", route_rows)
        previous = cur.execute(
            "SELECT version FROM exposure_current WHERE client_id = $c", {"c": client_id}
        ).fetchone()
        cur.execute(
            "INSERT OR REPLACE INTO exposure_current VALUES ($c, $v)",
            {"c": client_id, "v": version},
        )
        publication.record_exposures(
            cur,
            client_id,
            version,
            note=note or f"exposures loaded from {source or 'the command line'}",
            by=by,
            detail={
                "previous": previous[0] if previous else None,
                "source": source,
                "assets": 0 if asset_rows is None else asset_rows.height,
                "routes": 0 if route_rows is None else route_rows.height,
            },
        )

    # -- uploads (engine/uploads.py) ---------------------------------------------------------------

    def prepare_upload(
        self,
        client_id: str,
        data: bytes,
        filename: str,
        kind: str,
        mapping: dict[str, str | None] | None = None,
        *,
        values: dict[str, dict[str, str]] | None = None,
        sheet: str | None = None,
        mode: str = "replace",
        scope: Scope = REQUIRED,
    ) -> PreparedUpload:
        """Read and validate an uploaded file in a sandboxed child process; stores nothing.

        ``mapping``: the user's header -> canonical column (None: ignore); ``values``: per column,
        the user's value -> accepted value; ``sheet``: the workbook sheet to read; ``mode``
        ``delete`` needs only the id column.
        """
        scope.require(client_id)
        return uploads.prepare(
            self, client_id, data, filename, kind, mapping, values=values, sheet=sheet, mode=mode
        )

    def plan_upload(
        self,
        client_id: str,
        prepared: PreparedUpload,
        kind: uploads.Kind,
        *,
        mode: uploads.Mode = "replace",
        valid_only: bool = False,
        scope: Scope = REQUIRED,
    ) -> uploads.UploadPlan:
        """What loading a checked upload would do (counts and rating change); stores nothing."""
        scope.require(client_id)
        return uploads.plan(self, client_id, prepared, kind, mode=mode, valid_only=valid_only)

    def commit_upload(
        self,
        client_id: str,
        prepared: PreparedUpload,
        kind: uploads.Kind,
        *,
        mode: uploads.Mode = "replace",
        valid_only: bool = False,
        note: str = "",
        planned: uploads.UploadPlan | None = None,
        scope: Scope = REQUIRED,
        by: str = "",
    ) -> uploads.UploadOutcome:
        """Load the valid rows of a checked upload as a new version, or nothing (``by``: who
        uploads it, for the audit log)."""
        scope.require(client_id)
        return uploads.commit(
            self,
            client_id,
            prepared,
            kind,
            mode=mode,
            valid_only=valid_only,
            note=note,
            planned=planned,
            by=by,
        )

    def exposure_history(
        self, client_id: str, scope: Scope = REQUIRED
    ) -> list[uploads.VersionInfo]:
        scope.require(client_id)
        return uploads.versions(self, client_id)

    def diff_versions(
        self, client_id: str, old: int, new: int, scope: Scope = REQUIRED
    ) -> uploads.ExposureDiff:
        scope.require(client_id)
        return uploads.diff(self, client_id, old, new)

    def rollback_exposures(
        self,
        client_id: str,
        version: int,
        scope: Scope = REQUIRED,
        *,
        note: str = "",
        by: str = "",
    ) -> int:
        """Make an earlier exposure version current again (a note is required)."""
        scope.require(client_id)
        return publication.rollback_exposures(self, client_id, version, note=note, by=by)

    def exposure_version(self, client_id: str) -> int | None:
        v = self.store.one(
            "SELECT version FROM exposure_current WHERE client_id = $c", {"c": client_id}
        )
        return None if v is None else int(v)

    # -- runs ------------------------------------------------------------------------------------

    def run(
        self,
        scenario_id: str | None = None,
        as_of: dt.date | None = None,
        *,
        register_version: int | None = None,
        rules_version: int | None = None,
        client_ids: Iterable[str] | None = None,
        scenario_version: int | None = None,
    ) -> RunInfo:
        """Score the book (or some clients) and store every result of the run.

        A scenario is applied at its current version, or at ``scenario_version``."""
        with self._run_lock:
            return self._run(
                scenario_id,
                as_of,
                register_version=register_version,
                rules_version=rules_version,
                client_ids=client_ids,
                scenario_version=scenario_version,
            )

    def _run(
        self,
        scenario_id: str | None,
        as_of: dt.date | None,
        *,
        register_version: int | None,
        rules_version: int | None,
        client_ids: Iterable[str] | None,
        scenario_version: int | None,
    ) -> RunInfo:
        started = time.perf_counter()
        reg_v, rules_v = self._require_init()
        reg_v = register_version or reg_v
        rules_v = rules_version or rules_v
        register = self.register(reg_v)
        rules = self.rules(rules_v)
        scenario, sc_v = None, None
        if scenario_id:
            sc_v = scenario_version or self.scenario_version(scenario_id)
            scenario = self.scenario(scenario_id, sc_v)
            register = scenario.apply(register, f"scenario {scenario_id} v{sc_v}")
            check_register(register, rules, f"scenario {scenario_id} v{sc_v}")
        as_of = as_of or register.as_of
        gaz_v = self.gazetteer_version()
        ids = sorted(set(client_ids)) if client_ids is not None else None
        inputs = {
            "reg": reg_v,
            "rules": rules_v,
            "sc": scenario_id,
            "sc_v": sc_v,
            "as_of": as_of.isoformat(),
            "gaz": gaz_v,
            "ids": ids,
        }
        # One run at a time per set of inputs in this process; across processes, the run_keys
        # primary key keeps one and the other caller reuses it.
        with _RUN_LOCKS[hash(json.dumps(inputs, sort_keys=True)) % len(_RUN_LOCKS)]:
            for attempt in range(1, 5):
                try:
                    run_id = self._score(inputs, register, rules, scenario, as_of, started)
                    break
                except ConflictError:
                    if attempt == 4:
                        raise
        return self.run_info(run_id)

    def _score(
        self,
        inputs: dict[str, Any],
        register: Register,
        rules: Rules,
        scenario: Scenario | None,
        as_of: dt.date,
        started: float,
    ) -> int:
        """The id of the run for these inputs: the stored one, else scored and stored now, in
        one transaction with its key (so the exposure versions in the key are the run's own)."""
        run_id = self.store.next_value("run_ids")
        threats, regions = _run_threats(run_id, register, rules, as_of, scenario)
        params = score_params(run_id, inputs["rules"], rules)
        key = ""
        try:
            with self.store.transaction() as cur:
                key = _run_key(cur, inputs)
                found = cur.execute(
                    "SELECT run_id FROM run_keys WHERE run_key = $k", {"k": key}
                ).fetchone()
                if found is not None:
                    return int(found[0])
                cur.execute("INSERT INTO run_keys VALUES ($k, $r)", {"k": key, "r": run_id})
                self._score_in(cur, run_id, inputs, threats, regions, params, as_of, started)
        except ConflictError:
            # another process stored the run of the same key at the same moment: reuse it
            taken = self.store.one("SELECT run_id FROM run_keys WHERE run_key = $k", {"k": key})
            if taken is None:
                raise
            return int(taken)
        return run_id

    def _score_in(
        self,
        cur: Any,
        run_id: int,
        inputs: dict[str, Any],
        threats: pl.DataFrame,
        regions: pl.DataFrame,
        params: dict[str, Any],
        as_of: dt.date,
        started: float,
    ) -> None:
        """Store and score a run inside the caller's transaction."""
        cur.execute(
            "INSERT INTO runs (run_id, created_at, register_version, rules_version, "
            "scenario_id, as_of, n_clients, seconds, scenario_version, gazetteer_version) "
            "VALUES ($r, now(), $reg, $rules, $sc, $as_of, 0, 0, $sc_v, $gaz_v)",
            {
                "r": run_id,
                "reg": inputs["reg"],
                "rules": inputs["rules"],
                "sc": inputs["sc"],
                "as_of": as_of,
                "sc_v": inputs["sc_v"],
                "gaz_v": inputs["gaz"],
            },
        )
        cur.execute(
            "INSERT INTO run_exposures SELECT $r, client_id, version FROM exposure_current "
            "WHERE $ids IS NULL OR client_id IN (SELECT unnest($ids))",
            {"r": run_id, "ids": inputs["ids"]},
        )
        self.store.insert_frame(cur, "run_threats", threats)
        self.store.insert_frame(cur, "run_threat_regions", regions)
        score_run(cur, params)
        n = cur.execute(
            "SELECT count(*) FROM run_clients WHERE run_id = $r", {"r": run_id}
        ).fetchone()
        cur.execute(
            "UPDATE runs SET n_clients = $n, seconds = $s WHERE run_id = $r",
            {"n": n[0] if n else 0, "s": time.perf_counter() - started, "r": run_id},
        )

    def run_info(self, run_id: int) -> RunInfo:
        row = self.store.execute(
            "SELECT run_id, r.created_at, register_version, rules_version, scenario_id, as_of, "
            "n_clients, seconds, scenario_version, gazetteer_version, g.sha256 FROM runs r "
            "LEFT JOIN gazetteer_versions g ON g.version = r.gazetteer_version "
            "WHERE run_id = $r",
            {"r": run_id},
        ).fetchone()
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        keys = [
            "run_id",
            "created_at",
            "register_version",
            "rules_version",
            "scenario_id",
            "as_of",
            "n_clients",
            "seconds",
            "scenario_version",
            "gazetteer_version",
            "gazetteer_sha256",
        ]
        return RunInfo(**dict(zip(keys, row, strict=True)))

    def current_run(self, scenario_id: str | None = None, as_of: dt.date | None = None) -> RunInfo:
        """The latest run on the current register, rules, scenario version, gazetteer and
        exposures; scored now if none (once, when several threads ask at the same time)."""
        with self._run_lock:
            return self._current_run(scenario_id, as_of)

    def _current_run(self, scenario_id: str | None, as_of: dt.date | None) -> RunInfo:
        reg_v, rules_v = self._require_init()
        as_of = as_of or self.register(reg_v).as_of
        sc_v = self.scenario_version(scenario_id) if scenario_id else None
        # the run whose key is that of the current inputs (engine/sql/schema_007_concurrency.sql):
        # the same versions, clients, exposure versions and client details
        ids = None
        inputs = {
            "reg": reg_v,
            "rules": rules_v,
            "sc": scenario_id,
            "sc_v": sc_v,
            "as_of": as_of.isoformat(),
            "gaz": self.gazetteer_version(),
            "ids": ids,
        }
        with self.store.transaction() as cur:
            row = cur.execute(
                "SELECT run_id FROM run_keys WHERE run_key = $k", {"k": _run_key(cur, inputs)}
            ).fetchone()
        if row is not None:
            return self.run_info(int(row[0]))
        return self.run(scenario_id, as_of, scenario_version=sc_v)

    def ratings(self, run_id: int, scope: Scope = REQUIRED) -> list[Rating]:
        where, ids = scope.sql("rc.client_id")
        frame = self.store.frame(
            "SELECT rc.client_id, c.name, c.sector, c.hq_country, rc.band, rc.score, "  # noqa: S608
            "rc.score_low, rc.score_high, rc.band_low, rc.band_high, rc.risk_central AS risk, "
            "rc.n_items, rc.total_value_usd, x.version AS exposure_version "
            "FROM run_clients rc JOIN clients c USING (client_id) "
            "JOIN run_exposures x ON x.run_id = rc.run_id AND x.client_id = rc.client_id "
            f"WHERE rc.run_id = $r AND {where} ORDER BY rc.score, rc.client_id",
            {"r": run_id} | ({"scope_ids": ids} if ids is not None else {}),
        )
        return [Rating(**row) for row in frame.iter_rows(named=True)]

    def rating(self, run_id: int, client_id: str, scope: Scope = REQUIRED) -> Rating:
        scope.require(client_id)
        for r in self.ratings(run_id, Scope.of(client_id)):
            return r
        self.client(client_id, Scope.of(client_id))
        raise NotFoundError(f"client {client_id!r} has no exposures in run {run_id}")

    def explain(
        self, client_id: str, run_id: int | None = None, *, scope: Scope = REQUIRED, top: int = 10
    ) -> Explanation:
        scope.require(client_id)
        run = self.run_info(run_id) if run_id is not None else self.current_run()
        rating = self.rating(run.run_id, client_id, Scope.of(client_id))
        p = {"r": run.run_id, "c": client_id}
        threat_rows = self.store.frame(
            """
            SELECT t.threat_id, t.title, t.category, t.likelihood, t.likelihood_words,
                   t.evidence, coalesce(t.status, 'current') AS status,
                   sum(k.value_usd * c.r_central) AS ed,
                   arg_max(c.region_id, (k.value_usd * c.r_central, c.region_id)) AS main_region
            FROM run_classes k
            JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
            JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
            WHERE k.run_id = $r AND k.client_id = $c
            GROUP BY ALL ORDER BY ed DESC, t.threat_id
            """,
            p,
        )
        total = float(threat_rows["ed"].sum() or 0.0) if threat_rows.height else 0.0
        threats = [
            ThreatDriver(
                threat_id=r["threat_id"],
                title=r["title"],
                category=r["category"],
                likelihood=r["likelihood"],
                likelihood_words=r["likelihood_words"],
                share=(r["ed"] / total) if total else 0.0,
                expected_disruption_usd=r["ed"],
                main_region=r["main_region"],
                evidence=[EvidenceRef(**e) for e in json.loads(r["evidence"])],
                status=r["status"],
            )
            for r in threat_rows.iter_rows(named=True)
        ]
        items = self._item_drivers(run.run_id, client_id, top)
        region_rows = self.store.frame(
            """
            SELECT c.region_id, coalesce(g.name, c.region_id) AS name,
                   sum(k.value_usd * c.r_central) AS ed
            FROM run_classes k
            JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
            LEFT JOIN regions g ON g.region_id = c.region_id
            WHERE k.run_id = $r AND k.client_id = $c
            GROUP BY ALL ORDER BY ed DESC, c.region_id
            """,
            p,
        )
        regions = [
            RegionDriver(
                region_id=r["region_id"],
                name=_region_name(r["region_id"], r["name"]),
                share=(r["ed"] / total) if total else 0.0,
            )
            for r in region_rows.head(top).iter_rows(named=True)
        ]
        return Explanation(
            rating=rating,
            run=run,
            register_title=self.register(run.register_version).title,
            threats=threats,
            items=items,
            regions=regions,
            expired_threats=self.expired_threats(run.run_id),
            people=self.people_at_risk(run.run_id, client_id),
        )

    def expired_threats(self, run_id: int) -> list[str]:
        """Judgements whose horizon ended before the run's date: they count as last judged, and
        the brief they come from needs a refresh."""
        return [
            str(r[0])
            for r in self.store.rows(
                "SELECT threat_id FROM run_threats WHERE run_id = $r AND status = 'expired' "
                "ORDER BY threat_id",
                {"r": run_id},
            )
        ]

    def people_at_risk(self, run_id: int, client_id: str) -> PeopleAtRisk:
        """Staff at the client's sites that threats to people's safety (rules: people.categories)
        reach in this run, in total and by threat."""
        run = self.run_info(run_id)
        rules = self.rules(run.rules_version)
        p = {"r": run_id, "c": client_id, "cats": list(rules.people.categories)}
        frame = self.store.frame(queries.CLIENT_PEOPLE, p)
        total = int(frame["total"][0]) if frame.height else 0
        exposed = int(frame["exposed"][0]) if frame.height else 0
        by_threat = self.store.frame(queries.CLIENT_PEOPLE_BY_THREAT, p)
        return PeopleAtRisk(
            total_headcount=total,
            exposed_headcount=exposed,
            by_threat=[
                PeopleByThreat(threat_id=r["threat_id"], title=r["title"], headcount=r["headcount"])
                for r in by_threat.iter_rows(named=True)
            ],
            in_rating=rules.people.value_per_person_usd > 0,
        )

    def _item_drivers(self, run_id: int, client_id: str, top: int) -> list[ItemDriver]:
        frame = self.store.frame(queries.CLIENT_ITEMS, {"r": run_id, "c": client_id}).head(top)
        out = []
        for r in frame.iter_rows(named=True):
            if r["item_kind"] == "asset":
                place = f"{r['city']}, " if r["city"] else ""
                kind = str(r["item_type"]).replace("_", " ")
                detail = f"{kind}, {place}{country_name(r['country_iso3'])}"
            else:
                detail = (
                    f"{str(r['item_type']).replace('_', ' ')}, {port_name(r['origin'])} to "
                    f"{port_name(r['destination'])}"
                )
            if r["info"]:
                from exposures.routes import RouteInfo

                detail += "; " + describe_route(RouteInfo.from_json(r["info"]))
            out.append(
                ItemDriver(
                    item_kind=r["item_kind"],
                    item_id=r["item_id"],
                    name=r["name"],
                    value_usd=r["value_usd"],
                    criticality=r["criticality"],
                    risk=r["risk"],
                    risk_low=r["risk_low"],
                    risk_high=r["risk_high"],
                    top_threat=r["top_threat"],
                    detail=detail,
                )
            )
        return out

    def compare_scenario(
        self, scenario_id: str, as_of: dt.date | None = None, scope: Scope = REQUIRED
    ) -> list[ScenarioRow]:
        scope.sql()  # no scope given: refused before anything is scored
        self.scenario(scenario_id)
        return self.compare_runs(
            self.current_run(None, as_of).run_id,
            self.current_run(scenario_id, as_of).run_id,
            scope,
        )

    def preview(
        self,
        *,
        register_version: int | None = None,
        rules_version: int | None = None,
        scope: Scope = REQUIRED,
    ) -> list[ScenarioRow]:
        """Which ratings a draft register or rules version would move, against the current run."""
        scope.sql()  # no scope given: refused before anything is scored
        before = self.current_run().run_id
        draft = self.run(register_version=register_version, rules_version=rules_version)
        return self.compare_runs(before, draft.run_id, scope)

    def compare_runs(
        self, before_run: int, after_run: int, scope: Scope = REQUIRED
    ) -> list[ScenarioRow]:
        """Each client's rating in two runs, the biggest fall first."""
        before = {r.client_id: r for r in self.ratings(before_run, scope)}
        rows = [
            ScenarioRow(client_id=a.client_id, name=a.name, before=before[a.client_id], after=a)
            for a in self.ratings(after_run, scope)
            if a.client_id in before
        ]
        return sorted(rows, key=lambda r: (r.after.score - r.before.score, r.client_id))

    def score_items(self, run_id: int, variants: list[list[dict[str, Any]]]) -> list[float]:
        """Scores of item sets under a run's rules, aggregated by the engine's CLIENTS SQL.

        Each variant is a list of items with their ``weight`` (value over business value, as the
        run weighed them), ``criticality`` and central ``risk``; used to ask what one change to
        one item would do to a rating, without a second copy of the aggregation.
        """
        run = self.run_info(run_id)
        rules = self.rules(run.rules_version)
        rows = [
            {
                "variant": v,
                "idx": i,
                "weight": float(it["weight"]),
                "crit": int(it["criticality"]),
                "risk": float(it["risk"]),
            }
            for v, items in enumerate(variants)
            for i, it in enumerate(items)
        ]
        if not rows:
            return [100.0 for _ in variants]
        frame = pl.DataFrame(rows)
        classes = (
            "(SELECT variant::VARCHAR AS client_id, 1 AS n_items, 0.0 AS value_usd, weight, "
            "crit AS max_criticality, hash(variant, idx) AS profile_id FROM score_variants)"
        )
        profiles = (
            "(SELECT hash(variant, idx) AS profile_id, risk AS risk_low, risk AS risk_central, "
            "risk AS risk_high FROM score_variants)"
        )
        sql = queries.clients_sql(classes, profiles, bands=False)
        params = only(score_params(run_id, run.rules_version, rules), sql)
        with self.store.transaction() as cur:
            cur.register("score_variants", frame.to_arrow())
            try:
                got = dict(
                    cur.execute(
                        f"SELECT client_id::INTEGER, score FROM ({sql})",  # noqa: S608
                        params,
                    ).fetchall()
                )
            finally:
                cur.unregister("score_variants")
        return [float(got.get(v, 100.0)) for v in range(len(variants))]

    def rescore_client(
        self, run_id: int, client_id: str, *, version: int | None = None
    ) -> dict[str, Any]:
        """Re-score one client's exposures against a run's threats and rules (what-if).

        Scores the client's current exposure version, or ``version``. Nothing is written. Risk
        profiles the client had in the run are reused; any it has that the run did not (its
        exposures changed since) are scored on the spot (``engine.scoring.rescore_one``).
        """
        run = self.run_info(run_id)
        rules = self.rules(run.rules_version)
        params = score_params(run_id, run.rules_version, rules) | {
            "client_id": client_id,
            "version": version,
        }
        source = queries.CURRENT_EXPOSURES if version is None else queries.ONE_VERSION
        with self.store.session() as cur:
            frame = rescore_one(cur, params, source)
            if frame.height == 0:
                raise NotFoundError(f"client {client_id!r} has no exposures in run {run_id}")
            row = frame.row(0, named=True)
            for key, score in (
                ("band_low", "score_low"),
                ("band", "score"),
                ("band_high", "score_high"),
            ):
                row[key] = rules.band_for(row[score])
            return row


# -- helpers -------------------------------------------------------------------------------------


# Runs of the same inputs in one process wait for each other (striped: a fixed set of locks).
_RUN_LOCKS = tuple(threading.Lock() for _ in range(64))

# What a run's results depend on besides its versions: each client's exposure version and the
# client details the scoring reads (sector, home country, affiliations, value, services).
_RUN_INPUTS_SQL = """
SELECT md5(coalesce(string_agg(concat_ws('|', e.client_id, e.version, c.sector, c.hq_country,
           array_to_string(c.affiliations, ','), c.business_value_usd,
           (SELECT string_agg(concat_ws(':', s.service_id, s.tolerance_days), ','
                              ORDER BY s.service_id)
            FROM services s WHERE s.client_id = e.client_id)), ';' ORDER BY e.client_id), ''))
FROM exposure_current e JOIN clients c USING (client_id)
WHERE $ids IS NULL OR e.client_id IN (SELECT unnest($ids))
"""


def _run_key(cur: Any, inputs: dict[str, Any]) -> str:
    """The key of a run's inputs, read inside the caller's transaction."""
    row = cur.execute(_RUN_INPUTS_SQL, {"ids": inputs["ids"]}).fetchone()
    text = json.dumps(inputs | {"book": row[0] if row else ""}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _doc_kind(kind: str) -> publication.DocKind:
    if kind == "register":
        return "register"
    if kind == "rules":
        return "rules"
    raise RuleError(f"unknown document {kind!r}; use register or rules")


def _run_threats(
    run_id: int, register: Register, rules: Rules, as_of: dt.date, scenario: Scenario | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    first = min(b.date for b in register.all_briefs())
    if as_of < first:
        raise RuleError(
            f"as of {as_of}: the register's earliest brief is dated {first}; a run cannot look "
            "at a date before the brief was written"
        )
    added = set()
    if scenario is not None:  # the stored version the run records
        added = {t.id for t in scenario.added_threats}
    threats, regions = [], []
    for t in register.threats:
        rng = rules.likelihood.range_for(t.likelihood)
        inside = in_force(register, t, as_of, rules.horizon.days_per_month)
        brief = register.brief_of(t)
        cited = {
            "brief": brief.id,
            "brief_title": brief.title,
            "publisher": brief.publisher,
            "brief_date": brief.date.isoformat(),
        }
        # months from the threat's own brief; an analyst's expiry ends the horizon early (after
        # it the judgement is expired and counts as last judged until retired)
        months = (as_of - brief.date).days / rules.horizon.days_per_month
        horizon_to = (register.expiry(t, rules.horizon.days_per_month) - brief.date).days / (
            rules.horizon.days_per_month
        )
        horizon_to = max(horizon_to, t.horizon.from_months + 1e-6)
        threats.append(
            {
                "run_id": run_id,
                "threat_id": t.id,
                "category": t.category,
                "title": t.title,
                "likelihood": t.likelihood,
                "likelihood_words": t.likelihood_words,
                "p_low": rng.low,
                "p_central": rng.central,
                "p_high": rng.high,
                "severity": t.severity,
                "in_horizon": inside,
                "months_elapsed": months,
                "horizon_from": t.horizon.from_months,
                "horizon_to": horizon_to,
                "untargeted": t.targets.is_empty(),
                "t_affiliations": t.targets.affiliations,
                "t_sectors": t.targets.sectors,
                "t_asset_types": t.targets.asset_types,
                "t_commodities": t.targets.commodities,
                "evidence": json.dumps([{**e.model_dump(), **cited} for e in t.evidence]),
                "from_scenario": t.id in added,
            }
        )
        regions += [
            {"run_id": run_id, "threat_id": t.id, "region_id": r.region, "intensity": r.intensity}
            for r in t.regions
        ]
    list_str = pl.List(pl.String)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "run_id": pl.Int32,
        "threat_id": pl.String,
        "category": pl.String,
        "title": pl.String,
        "likelihood": pl.String,
        "likelihood_words": pl.String,
        "p_low": pl.Float64,
        "p_central": pl.Float64,
        "p_high": pl.Float64,
        "severity": pl.Int32,
        "in_horizon": pl.Boolean,
        "months_elapsed": pl.Float64,
        "horizon_from": pl.Float64,
        "horizon_to": pl.Float64,
        "untargeted": pl.Boolean,
        "t_affiliations": list_str,
        "t_sectors": list_str,
        "t_asset_types": list_str,
        "t_commodities": list_str,
        "evidence": pl.String,
        "from_scenario": pl.Boolean,
    }
    return pl.DataFrame(threats, schema=schema), pl.DataFrame(regions)


def _region_name(region_id: str, name: str) -> str:
    if name != region_id:
        return name
    region = load_gazetteer().get(region_id)
    return region.name if region is not None else region_id


def country_name(iso3: str | None) -> str:
    """GBR -> United Kingdom (pycountry's common name where it has one)."""
    if not iso3:
        return "unknown country"
    found = pycountry.countries.get(alpha_3=iso3)
    return str(getattr(found, "common_name", None) or found.name) if found else iso3


def port_name(text: str | None) -> str:
    """IQUQR -> Umm Qasr (the port's name where the LOCODE is known; the text as given else)."""
    if not text:
        return "-"
    from exposures.ports import resolve_port

    try:
        port = resolve_port(text)
    except ResilienceError:
        return text
    return port.name if port.locode == text.strip().upper() else text


def describe_route(info: RouteInfo) -> str:
    """Chokepoints on a route and what closing each would cost, in words."""
    gaz = load_gazetteer()
    parts = []
    for d in info.detours:
        region = gaz.get(d.region_id) if d.region_id else None
        name = region.name if region is not None else d.passage
        if d.no_alternative:
            parts.append(f"{name}: no sea alternative")
        elif d.extra_days is not None:
            parts.append(f"{name}: detour +{d.extra_days:.0f} days")
        else:
            parts.append(f"{name}: detour not computed")
    via = "; ".join(parts) if parts else "no chokepoint"
    return f"{info.length_km:,.0f} km, {info.days:.1f} days; {via}"
