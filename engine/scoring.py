"""One scoring run in SQL: the statements every run executes, in order, and their parameters.

``Context.run`` calls ``score_run`` on the book; ``engine/examples.py`` calls it on the small books
of the rules' worked examples and of the tests. Both go through these statements and no other
copy of the method, so what the examples check is what scores clients.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import polars as pl

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
    run_contributions, run_profiles, run_classes (in client order, each with its profile's
    risk), run_clients. Runs inside the caller's transaction.
    """
    cur.execute(queries.THREAT_WINDOW, only(params, queries.THREAT_WINDOW))
    # The run's classes, their profiles, the profiles' contributions and risks are worked out
    # once each, in temporary tables, and the stored tables are written from them (no stored
    # table is read back while the run is scored).
    temps = [
        ("run_cls", queries.class_rows_sql()),
        ("run_prof", queries.profile_rows_sql("run_cls")),
        ("run_contrib", queries.contributions_sql(None, profiles="run_prof")),
        ("run_risk", queries.profile_risks_sql("run_contrib")),
    ]
    profiles = queries.profiles_sql(None, "run_contrib", profiles="run_prof", risks="run_risk")
    statements = [
        "INSERT INTO run_contributions SELECT $run_id, * FROM run_contrib",
        "INSERT INTO run_profiles SELECT $run_id, * FROM (" + profiles + ")",  # noqa: S608
        "INSERT INTO run_classes BY NAME SELECT $run_id AS run_id, k.client_id, k.class_id, "
        "k.profile_id, k.n_items, k.value_usd, k.max_criticality, k.weight, k.headcount, "
        "coalesce(p.risk_low, 0.0) AS risk_low, coalesce(p.risk_central, 0.0) AS risk_central, "
        "coalesce(p.risk_high, 0.0) AS risk_high "
        "FROM run_cls k LEFT JOIN run_risk p USING (profile_id) ORDER BY k.client_id, k.class_id",
        "INSERT INTO run_clients SELECT $run_id, * FROM ("  # noqa: S608
        + queries.clients_sql(RUN_CLASSES, None)
        + ")",
    ]
    for name, sql in temps:  # the names and the SQL are this package's own
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS " + sql, only(params, sql))
    for sql in statements:
        cur.execute(sql, only(params, sql))
    for name, _ in reversed(temps):
        cur.execute(f"DROP TABLE {name}")


RUN_CLASSES = "(SELECT * FROM run_classes WHERE run_id = $run_id)"


# The risk the run gave each profile of one client (run classes carry their profile's risk;
# runs scored before migration 015 have none, and their profiles are scored again).
_KNOWN = """
    SELECT profile_id, any_value(risk_low) AS risk_low, any_value(risk_central) AS risk_central,
           any_value(risk_high) AS risk_high
    FROM run_classes
    WHERE run_id = $run_id AND client_id = $client_id AND risk_low IS NOT NULL
    GROUP BY profile_id"""


def _with_classes(source: str) -> str:
    """The what-if's two relations: the client's classes of ``source`` (wi_cls, as
    ``queries.class_rows_sql`` makes them) and the risks the run gave its profiles (wi_known)."""
    return (
        "WITH wi_cls AS ("
        + queries.class_rows_sql(one_client=True, source=source)
        + "), wi_known AS ("
        + _KNOWN
        + ") "
    )


def known_sql(source: str) -> str:
    """The what-if of a client whose every profile the run scored for it, as one statement.

    Reads: the client's classes of ``source`` and its run classes. Produces: the client's row as
    ``queries.clients_sql`` makes it (no bands), no row when the client has no exposures. A class
    whose profile the run did not score for the client carries a NaN risk, which the sums, the
    worst item and so the scores inherit: a NaN score means ``rescore_sql`` must score the rest.
    """
    classes = (
        "(SELECT c.*, coalesce(p.risk_low, 'NaN'::DOUBLE) AS risk_low, "
        "coalesce(p.risk_central, 'NaN'::DOUBLE) AS risk_central, "
        "coalesce(p.risk_high, 'NaN'::DOUBLE) AS risk_high "
        "FROM wi_cls c LEFT JOIN wi_known p USING (profile_id))"
    )
    return (
        _with_classes(source)  # noqa: S608 - relation names and SQL of engine.queries
        + "SELECT * FROM ("
        + queries.clients_sql(classes, None, bands=False)
        + ")"
    )


def rescore_sql(source: str) -> str:
    """The what-if of one client as one statement, new profiles included.

    Reads: what ``known_sql`` reads and, for the profiles the run did not score for the client,
    what ``queries.contributions_sql`` reads. Produces: the client's row as
    ``queries.clients_sql`` makes it (no bands); no row when the client has no exposures. The new
    profiles are scored by the run's own contributions and profiles SQL.
    """
    fresh = "(SELECT * FROM wi_cls WHERE profile_id NOT IN (SELECT profile_id FROM wi_known))"
    scored = queries.profiles_sql(fresh, "(" + queries.contributions_sql(fresh) + ")")
    profiles = (
        "(SELECT profile_id, risk_low, risk_central, risk_high FROM wi_known "  # noqa: S608
        "UNION ALL SELECT profile_id, risk_low, risk_central, risk_high FROM (" + scored + "))"
    )
    return (
        _with_classes(source)  # noqa: S608 - relation names and SQL of engine.queries
        + "SELECT * FROM ("
        + queries.clients_sql("wi_cls", profiles, bands=False)
        + ")"
    )


def rescore_one(
    cur: duckdb.DuckDBPyConnection, params: dict[str, Any], source: str
) -> pl.DataFrame:
    """Rate one client's exposures (``params["client_id"]``; ``source`` names the version, as
    ``queries.class_rows_sql`` takes it) against a run's threats and rules; nothing is written.

    The work is the client's, not the book's: its classes are read by client (the tables are
    stored in client order), each class whose risk profile the client already had in the run
    takes that risk from its own run classes, and only the profiles it did not have (its
    exposures or details changed since the run) are scored, against the run's threats. Most of
    a what-if's cost is DuckDB planning its statements, so it is one statement when the run knew
    every profile (``known_sql``) and one more when it did not (``rescore_sql``); nothing is
    materialised. Returns the client's row as ``queries.clients_sql`` makes it (scores, no
    bands); no row when the client has no exposures.
    """
    sql = known_sql(source)
    result = cur.execute(sql, only(params, sql))
    columns = [d[0] for d in result.description or []]
    rows = result.fetchall()
    if rows and any(math.isnan(rows[0][columns.index(k)]) for k in _SCORES):
        sql = rescore_sql(source)
        rows = cur.execute(sql, only(params, sql)).fetchall()
    return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)


_SCORES = ("score_low", "score", "score_high")
