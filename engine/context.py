"""The facade: the CLI, the app and the tests drive the engine through ``Context``.

A context is opened on one database (a DuckDB file, or a PostgreSQL URL). It owns the store and
delegates each concern to its own module, so each stays readable in a sitting:

    engine/versions.py       the published register and rules, stored versions, the gazetteer
    engine/publication.py    draft -> preview -> publish -> roll back, for every document
    engine/scenarios.py      scenarios as versioned documents
    engine/exposure_book.py  clients, their services and exposure versions
    engine/uploads.py        checked uploads of exposure files
    engine/runs.py           run keys, scoring a run once, reusing it
    engine/ratings.py        ratings out of a run, comparisons, what-if scores
    engine/explanations.py   the drivers of a rating, in words

Every method that reads or changes client data takes a ``scope``; its default ``REQUIRED``
refuses the call (deny by default).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import audit, explanations, exposure_book, publication, ratings, runs, uploads, versions
from engine import scenarios as scenario_store
from engine.access import EVERYONE, REQUIRED
from engine.explanations import country_name, describe_route, port_name
from engine.exposure_book import StagedVersion
from engine.models import (
    ClientSpec,
    Explanation,
    PeopleAtRisk,
    Rating,
    RunInfo,
    ScenarioEvent,
    ScenarioInfo,
    ScenarioRow,
    ScenarioVersion,
)
from engine.store import Scope, Store
from engine.versions import REGION_SCHEMA
from scoring_rules.rules import Rules, default_rules_path, load_rules
from scoring_rules.scenarios import Scenario
from scoring_rules.threats import Register, default_register_path, load_register

if TYPE_CHECKING:
    from exposures.ports import Port
    from exposures.routes import RouteInfo
    from exposures.upload.pipeline import PreparedUpload

__all__ = [
    "DEFAULT_DB",
    "EVERYONE",
    "REGION_SCHEMA",
    "REQUIRED",
    "Context",
    "StagedVersion",
    "country_name",
    "default_db_path",
    "describe_route",
    "port_name",
]

DEFAULT_DB = Path("data") / "resilience.duckdb"


def default_db_path() -> Path:
    return Path(os.environ.get("RESILIENCE_DB", str(DEFAULT_DB)))


class Context:
    """One open database and everything the product does with it."""

    def __init__(
        self, db: Path | str | None = None, *, threads: int = 2, memory_limit: str = "8GB"
    ) -> None:
        raw = db if db is not None else os.environ.get("RESILIENCE_DB") or DEFAULT_DB
        self.store = Store(raw, threads=threads, memory_limit=memory_limit)
        self.db_path = self.store.path
        self.db_name = self.store.name  # the file, or the PostgreSQL URL without its password
        self._cache = versions.DocumentCache()
        # the runs this context scored itself (a run another caller stored, or was scoring, is
        # reused and not listed): what the concurrency tests and benchmarks count
        self.scored_runs: list[int] = []

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup and the published picture (engine/versions.py, engine/publication.py) ------------

    def init(self) -> None:
        """Gazetteer regions, the default rules and register when none is published yet, and
        each built-in scenario the database has never held (as its version 1).

        One process at a time (``Store.exclusive``): app servers started at once on an empty
        store set it up once; the others wait, then find it done."""
        with self.store.exclusive("to set up the store"):
            self._init()

    def _init(self) -> None:
        versions.sync_regions(self)
        self.gazetteer_version()
        # the first publications: no history or follower to tell yet (engine/history.py)
        if versions.pointer(self, "rules") is None:
            rules = load_rules(default_rules_path())
            publication.publish(self, "rules", rules, note="default rules", alert=False)
        if versions.pointer(self, "register") is None:
            register = load_register(default_register_path())
            note = "register from the seed brief"
            publication.publish(self, "register", register, note=note, alert=False)
        scenario_store.seed(self)

    def gazetteer_version(self) -> int:
        """The stored version of the gazetteer this process loaded (stored on first sight)."""
        with self._cache.gazetteer_lock:  # sessions of one app process may ask at once
            if self._cache.gazetteer is None:
                self._cache.gazetteer = versions.store_gazetteer(self)
        return self._cache.gazetteer

    def cached_document(self, kind: str, version: int, load: Callable[[], Any]) -> Any:
        """A stored document version (register, rules, a scenario), loaded once per context."""
        return self._cache.get(kind, version, load)

    def register(self, version: int | None = None) -> Register:
        return versions.register(self, version)

    def register_version(self) -> int:
        return versions.require_init(self)[0]

    def rules(self, version: int | None = None) -> Rules:
        return versions.rules(self, version)

    def rules_version(self) -> int:
        return versions.require_init(self)[1]

    def publish_register(
        self, register: Register, note: str, *, publish: bool = True, by: str = ""
    ) -> int:
        """Publish a register version (make it current), or with ``publish=False`` save it as a
        draft; the same document stored already is reused. Followers are told of a publish."""
        if publish:
            return publication.publish(self, "register", register, note=note, by=by).version
        return publication.save_draft(self, "register", register, note=note, by=by)

    def publish_rules(self, rules: Rules, note: str, *, publish: bool = True, by: str = "") -> int:
        """Publish a rules version, or with ``publish=False`` save it as a draft."""
        if publish:
            return publication.publish(self, "rules", rules, note=note, by=by).version
        return publication.save_draft(self, "rules", rules, note=note, by=by)

    def history(self, kind: str) -> pl.DataFrame:
        """The register or rules versions (drafts and published; previews left out)."""
        return publication.history(self, versions.doc_kind(kind))

    def rollback_targets(self, kind: str) -> list[int]:
        """The published versions a roll-back may choose, the latest first."""
        return publication.rollback_targets(self, versions.doc_kind(kind))

    def preview_document(self, kind: str, doc: Any, *, scope: Scope) -> publication.Preview:
        """Which ratings a draft register or rules would move (stored as a preview version)."""
        return publication.preview(self, versions.doc_kind(kind), doc, scope=scope)

    def rollback(self, kind: str, version: int, *, note: str = "", by: str = "") -> None:
        """Make an earlier published register or rules version current again (with a note)."""
        publication.rollback(self, versions.doc_kind(kind), version, note=note, by=by)

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

    # -- scenarios (engine/scenarios.py; ``by`` is who makes the change) ---------------------------

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
        return publication.add_scenario(self, text, where=where, note=note, by=by)

    def edit_scenario(
        self, scenario_id: str, text: str, *, note: str, by: str, where: str = "scenario text"
    ) -> ScenarioVersion:
        """Store YAML text as the scenario's next version and make it current."""
        return publication.edit_scenario(self, scenario_id, text, where=where, note=note, by=by)

    def scenario_history(self, scenario_id: str) -> list[ScenarioVersion]:
        return scenario_store.history(self, scenario_id)

    def scenario_events(self, scenario_id: str) -> list[ScenarioEvent]:
        return scenario_store.events(self, scenario_id)

    def rollback_scenario(self, scenario_id: str, version: int, *, by: str, note: str = "") -> None:
        """Make an earlier published version current again (a note is required)."""
        publication.rollback_scenario(self, scenario_id, version, note=note, by=by)

    def retire_scenario(self, scenario_id: str, *, by: str, note: str = "") -> None:
        publication.retire_scenario(self, scenario_id, note=note, by=by)

    def applicable_scenarios(self, register_version: int | None = None) -> dict[str, Scenario]:
        """The scenarios whose overrides name only threats of a register version (the current
        one by default)."""
        register = self.register(register_version)
        return {k: s for k, s in self.scenarios().items() if s.applies_to(register)}

    # -- clients and exposures (engine/exposure_book.py, engine/uploads.py) -----------------------

    def upsert_client(
        self, spec: ClientSpec, *, audit: tuple[str, str, dict[str, Any]] | None = None
    ) -> None:
        """Create or replace a client (and its services); ``audit`` = (actor, action, detail)
        writes an audit entry in the same transaction (engine/clients.py)."""
        exposure_book.upsert_client(self, spec, audit=audit)

    def clients(self, scope: Scope = REQUIRED) -> list[ClientSpec]:
        return exposure_book.clients(self, scope)

    def client(self, client_id: str, scope: Scope = REQUIRED) -> ClientSpec:
        return exposure_book.client(self, client_id, scope)

    def route(self, origin: Port, destination: Port) -> RouteInfo:
        """The sea route between two ports, from the cache or computed once and cached."""
        return exposure_book.route(self, origin, destination)

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
        """Make a new exposure version current for a client, in one transaction."""
        return exposure_book.load(self, client_id, assets, routes, note=note, source=source, by=by)

    def stage_exposures(
        self, client_id: str, assets: pl.DataFrame | None = None, routes: pl.DataFrame | None = None
    ) -> StagedVersion:
        """The rows of a new exposure version, ready to write (nothing is written)."""
        return exposure_book.stage(self, client_id, assets, routes)

    def write_staged(
        self, cur: Any, staged: StagedVersion, *, note: str = "", source: str = "", by: str = ""
    ) -> None:
        """Write a staged version and make it current, inside the caller's transaction."""
        exposure_book.write_staged(self, cur, staged, note=note, source=source, by=by)

    def exposure_version(self, client_id: str) -> int | None:
        return exposure_book.exposure_version(self, client_id)

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
        """Read and validate an uploaded file in a sandboxed child process; stores nothing."""
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
        """Load the valid rows of a checked upload as a new version, or nothing."""
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
        self, client_id: str, version: int, scope: Scope = REQUIRED, *, note: str = "", by: str = ""
    ) -> int:
        """Make an earlier exposure version current again (a note is required)."""
        scope.require(client_id)
        return publication.rollback_exposures(self, client_id, version, note=note, by=by).version

    # -- runs and ratings (engine/runs.py, engine/ratings.py, engine/explanations.py) --------------

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
        """The run of the book (or some clients) on these inputs: scored and stored once, then
        reused. A scenario is applied at its current version, or at ``scenario_version``."""
        return runs.run(
            self,
            scenario_id,
            as_of,
            register_version=register_version,
            rules_version=rules_version,
            client_ids=client_ids,
            scenario_version=scenario_version,
        )

    def run_info(self, run_id: int) -> RunInfo:
        return runs.run_info(self, run_id)

    def current_run(self, scenario_id: str | None = None, as_of: dt.date | None = None) -> RunInfo:
        """The run of the current register, rules, scenario version, gazetteer and exposures;
        scored now if none (once, when several callers ask at the same time)."""
        return runs.current_run(self, scenario_id, as_of)

    def ratings(self, run_id: int, scope: Scope = REQUIRED) -> list[Rating]:
        return ratings.ratings(self, run_id, scope)

    def rating(self, run_id: int, client_id: str, scope: Scope = REQUIRED) -> Rating:
        return ratings.rating(self, run_id, client_id, scope)

    def compare_runs(
        self, before_run: int, after_run: int, scope: Scope = REQUIRED
    ) -> list[ScenarioRow]:
        """Each client's rating in two runs, the biggest fall first."""
        return ratings.compare_runs(self, before_run, after_run, scope)

    def compare_scenario(
        self, scenario_id: str, as_of: dt.date | None = None, scope: Scope = REQUIRED
    ) -> list[ScenarioRow]:
        return ratings.compare_scenario(self, scenario_id, as_of, scope)

    def preview(
        self,
        *,
        register_version: int | None = None,
        rules_version: int | None = None,
        scope: Scope = REQUIRED,
    ) -> list[ScenarioRow]:
        """Which ratings a draft register or rules version would move, against the current run."""
        return ratings.preview(
            self, register_version=register_version, rules_version=rules_version, scope=scope
        )

    def score_items(self, run_id: int, variants: list[list[dict[str, Any]]]) -> list[float]:
        """Scores of item sets under a run's rules, aggregated by the engine's CLIENTS SQL."""
        return ratings.score_items(self, run_id, variants)

    def rescore_client(
        self, run_id: int, client_id: str, *, version: int | None = None
    ) -> dict[str, Any]:
        """Re-score one client's exposures against a run's threats and rules (what-if)."""
        return ratings.rescore_client(self, run_id, client_id, version=version)

    def explain(
        self, client_id: str, run_id: int | None = None, *, scope: Scope = REQUIRED, top: int = 10
    ) -> Explanation:
        scope.require(client_id)
        return explanations.explain(self, client_id, run_id, top=top)

    def expired_threats(self, run_id: int) -> list[str]:
        """Judgements whose horizon ended before the run's date (they count as last judged)."""
        return explanations.expired_threats(self, run_id)

    def people_at_risk(self, run_id: int, client_id: str) -> PeopleAtRisk:
        """Staff at the client's sites that threats to people's safety reach in this run."""
        return explanations.people_at_risk(self, run_id, client_id)
