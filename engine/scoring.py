"""One scoring run in SQL: the statements every run executes, in order, and their parameters.

``Context.run`` calls ``score_run`` on the book; ``engine/examples.py`` calls it on the small books
of the rules' worked examples and of the tests. Both go through these statements and no other
copy of the method, so what the examples check is what scores clients.
"""

from __future__ import annotations

from typing import Any

import duckdb

from engine import queries
from scoring_rules.rules import Rules


def score_params(run_id: int, rules_version: int, rules: Rules) -> dict[str, Any]:
    """Every rules number the scoring SQL binds, by parameter name."""
    return {
        "run_id": run_id,
        "rules_version": rules_version,
        "client_id": None,
        "outlook": rules.horizon.outlook_months,
        "collateral": rules.targeting.collateral_factor,
        "full_within": rules.hotspots.full_within,
        "severity_max": float(rules.impact.severity_max),
        "detour_cats": list(rules.routes.detour_categories),
        "floor": rules.routes.detour_floor,
        "no_alt": rules.routes.no_alternative,
        "no_alt_ratio": rules.routes.no_alternative_ratio,
        "default_tol": rules.routes.default_tolerance_days,
        "default_bv": rules.aggregation.default_business_value_usd,
        "per_person": rules.people.value_per_person_usd,
        "min_crit": rules.aggregation.worst_item_min_criticality,
        "worst_w": rules.aggregation.worst_item_weight,
        "exponent": rules.aggregation.score_exponent,
    }


def only(params: dict[str, Any], sql: str) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB refuses unused named parameters)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def score_run(cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Score a run whose runs, run_exposures, run_threats and run_threat_regions rows exist.

    Reads: run_exposures, run_threats, run_threat_regions, clients, services, exposure_classes,
    geo_regions, regions and the rule tables. Writes: run_threats (window share and status),
    run_contributions, run_profiles, run_classes, run_clients. Runs inside the caller's
    transaction.
    """
    cur.execute(queries.THREAT_WINDOW, only(params, queries.THREAT_WINDOW))
    cls_sql = queries.class_rows_sql()
    cur.execute("CREATE OR REPLACE TEMP TABLE run_cls AS " + cls_sql, only(params, cls_sql))
    this_run = "(SELECT * FROM run_contributions WHERE run_id = $run_id)"
    statements = [
        "INSERT INTO run_contributions SELECT $run_id, * FROM ("  # noqa: S608
        + queries.contributions_sql("run_cls")
        + ")",
        "INSERT INTO run_profiles SELECT $run_id, * FROM ("  # noqa: S608
        + queries.profiles_sql("run_cls", this_run)
        + ")",
        "INSERT INTO run_classes BY NAME SELECT $run_id AS run_id, client_id, class_id, "
        "profile_id, n_items, value_usd, max_criticality, weight, headcount FROM run_cls",
        "INSERT INTO run_clients SELECT $run_id, * FROM ("  # noqa: S608
        + queries.clients_sql("run_cls", "(SELECT * FROM run_profiles WHERE run_id = $run_id)")
        + ")",
    ]
    for sql in statements:
        cur.execute(sql, only(params, sql))
    cur.execute("DROP TABLE run_cls")
