"""Drafts of the rules and the threat register being edited in one session, as typed objects.

The rules editor turns the rules document into tables (category x key factors, likelihood terms,
bands, single settings) and back. Nothing here scores or touches the database: the pages store a
draft with ``ctx.publish_rules(..., publish=False)`` / ``ctx.publish_register(...)``, score it
with ``ctx.run(...)`` and compare.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.errors import RuleError
from scoring_rules.rules import Rules, parse_rules
from scoring_rules.threats import Register, parse_register

# The category x key tables an analyst edits: (document path, title, rows list, columns list).
TABLES: tuple[tuple[str, str, str, str], ...] = (
    (
        "vulnerability.assets",
        "Asset vulnerability (category x asset type)",
        "categories",
        "asset_types",
    ),
    (
        "vulnerability.routes",
        "Route vulnerability (category x commodity)",
        "categories",
        "commodities",
    ),
    (
        "targeting.sector_sensitivity",
        "Sector sensitivity (category x sector)",
        "categories",
        "sectors",
    ),
    (
        "mitigation.credits",
        "Mitigation credits (mitigation x category)",
        "mitigations",
        "categories",
    ),
)

# Single numbers an analyst may edit (route speed is left out: it keys the route cache).
SETTINGS: tuple[str, ...] = (
    "targeting.collateral_factor",
    "aggregation.default_business_value_usd",
    "aggregation.worst_item_min_criticality",
    "aggregation.worst_item_weight",
    "aggregation.score_exponent",
    "routes.detour_floor",
    "routes.no_alternative",
    "routes.no_alternative_ratio",
    "routes.default_tolerance_days",
    "hotspots.full_within",
    "horizon.outlook_months",
    "impact.severity_max",
    "people.value_per_person_usd",
)


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node[part]
    return node


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def doc_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


# -- tables <-> document --------------------------------------------------------------------------


def table_frame(doc: dict[str, Any], path: str, rows_key: str, cols_key: str) -> pd.DataFrame:
    """Every cell of a factor table, defaults filled in."""
    table = _get(doc, path)
    default = float(table["default"])
    values = table.get("values", {})
    rows, cols = doc[rows_key], doc[cols_key]
    data = {c: [float(values.get(r, {}).get(c, default)) for r in rows] for c in cols}
    return pd.DataFrame(data, index=pd.Index(rows, name="row"))


def apply_table(doc: dict[str, Any], path: str, frame: pd.DataFrame) -> None:
    """Write an edited factor table back: cells equal to the default stay implicit unless the
    document named them already."""
    table = _get(doc, path)
    default = float(table["default"])
    old = table.get("values", {})
    new: dict[str, dict[str, float]] = {}
    for row in frame.index:
        for col in frame.columns:
            value = _number(frame.at[row, col], f"{path}.values.{row}.{col}")
            if value != default or col in old.get(row, {}):
                new.setdefault(str(row), {})[str(col)] = value
    table["values"] = new


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RuleError(f"draft rules, {where}: {value!r} is not a number") from exc
    if math.isnan(number) or math.isinf(number):
        raise RuleError(f"draft rules, {where}: the cell is empty; enter a number from 0 to 1")
    return number


def likelihood_frame(doc: dict[str, Any]) -> pd.DataFrame:
    lk = doc["likelihood"]
    rows = {**lk["terms"], "not_assessed": lk["not_assessed"]}
    return pd.DataFrame(
        {
            "low": [float(v["low"]) for v in rows.values()],
            "high": [float(v["high"]) for v in rows.values()],
        },
        index=pd.Index(list(rows), name="term"),
    )


def apply_likelihood(doc: dict[str, Any], frame: pd.DataFrame) -> None:
    lk = doc["likelihood"]
    for term in frame.index:
        rng = {
            "low": _number(frame.at[term, "low"], f"likelihood.{term}.low"),
            "high": _number(frame.at[term, "high"], f"likelihood.{term}.high"),
        }
        if term == "not_assessed":
            lk["not_assessed"] = rng
        else:
            lk["terms"][str(term)] = rng


def bands_frame(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": [b["label"] for b in doc["bands"]],
            "min_score": [float(b["min_score"]) for b in doc["bands"]],
        },
        index=pd.Index([b["band"] for b in doc["bands"]], name="band"),
    )


def apply_bands(doc: dict[str, Any], frame: pd.DataFrame) -> None:
    doc["bands"] = [
        {
            "band": str(band),
            "label": str(frame.at[band, "label"]),
            "min_score": _number(frame.at[band, "min_score"], f"bands.{band}.min_score"),
        }
        for band in frame.index
    ]


def settings_frame(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {"value": [float(_get(doc, p)) for p in SETTINGS]},
        index=pd.Index(list(SETTINGS), name="setting"),
    )


def apply_settings(doc: dict[str, Any], frame: pd.DataFrame) -> None:
    for path in frame.index:
        if path not in SETTINGS:
            continue
        value = _number(frame.at[path, "value"], str(path))
        old = _get(doc, str(path))
        _set(doc, str(path), int(value) if isinstance(old, int) and value.is_integer() else value)


def validate(doc: dict[str, Any]) -> Rules:
    """The draft as rules, or RuleError naming the key and the allowed range."""
    return parse_rules(doc, "draft rules")


def changes(before: Rules, after: Rules) -> list[tuple[str, str, str]]:
    """(key, old, new) for every cell or setting the draft changes."""
    out: list[tuple[str, str, str]] = []
    b_doc, a_doc = json.loads(before.model_dump_json()), json.loads(after.model_dump_json())
    for path, _, rows_key, cols_key in TABLES:
        tb = table_frame(b_doc, path, rows_key, cols_key)
        ta = table_frame(a_doc, path, rows_key, cols_key)
        for r in ta.index:
            for c in ta.columns:
                old: Any = tb.at[r, c] if r in tb.index and c in tb.columns else None
                new: Any = ta.at[r, c]
                if old is None or abs(float(old) - float(new)) > 1e-12:
                    out.append((f"{path}.{r}.{c}", _fmt(old), _fmt(new)))
    for prefix, frame_of in (
        ("likelihood", likelihood_frame),
        ("bands", bands_frame),
        ("", settings_frame),
    ):
        fb, fa = frame_of(b_doc), frame_of(a_doc)
        for r in fa.index:
            for c in fa.columns:
                old = fb.at[r, c] if r in fb.index else None
                new = fa.at[r, c]
                if old is None or str(old) != str(new):
                    key = f"{prefix}.{r}.{c}" if prefix else str(r)
                    out.append((key, _fmt(old), _fmt(new)))
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass
class RulesDraft:
    """The rules being edited in this session: the document, which published version it starts
    from, and the stored preview (draft version and run) of a given document."""

    base_version: int
    doc: dict[str, Any]
    generation: int = 0  # bumps to reset the table editors after the document changed
    preview_hash: str | None = None
    preview_version: int | None = None
    preview_run: int | None = None

    @classmethod
    def start(cls, version: int, rules: Rules) -> RulesDraft:
        return cls(base_version=version, doc=json.loads(rules.model_dump_json()))

    def candidate(self, edits: dict[str, pd.DataFrame]) -> dict[str, Any]:
        """The document with the table editors' current contents applied."""
        doc = copy.deepcopy(self.doc)
        for path, frame in edits.items():
            if path == "likelihood":
                apply_likelihood(doc, frame)
            elif path == "bands":
                apply_bands(doc, frame)
            elif path == "settings":
                apply_settings(doc, frame)
            else:
                apply_table(doc, path, frame)
        return doc

    def set_cell(self, doc: dict[str, Any], path: str, row: str, col: str, value: float) -> None:
        """One factor changed (the quick-edit form); the editors are reset to show it."""
        table = _get(doc, path)
        table.setdefault("values", {}).setdefault(row, {})[col] = float(value)
        self.doc = doc
        self.generation += 1


# -- the threat register --------------------------------------------------------------------------


@dataclass
class RegisterDraft:
    """The register being edited in this session."""

    base_version: int
    register: Register
    changed: set[str] = field(default_factory=set)
    preview_hash: str | None = None
    preview_version: int | None = None
    preview_run: int | None = None

    def doc(self) -> dict[str, Any]:
        return json.loads(self.register.model_dump_json())

    def update_threat(self, threat_id: str, **fields: Any) -> None:
        """Replace fields of one threat; the whole register is validated again (RuleError)."""
        doc = self.doc()
        for t in doc["threats"]:
            if t["id"] == threat_id:
                t.update(fields)
                break
        else:
            raise RuleError(f"draft register: no threat {threat_id!r}")
        self.register = parse_register(doc, "draft register")
        self.changed.add(threat_id)


# -- an upload ------------------------------------------------------------------------------------


@dataclass
class UploadDraft:
    """The upload in progress in this session (one at a time)."""

    client_id: str
    kind: str
    filename: str
    digest: str
    payload: bytes
    mapping: dict[str, str | None] | None
    prepared: Any  # PreparedUpload from the facade
    outcome: Any = None  # UploadOutcome once loaded
    mode: str = "replace"  # replace | upsert | delete (delete files need only the ids)
    plan: Any = None  # UploadPlan: what loading would do, worked out before the button
