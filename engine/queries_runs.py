"""The SQL of runs: their keys, their records, their ratings and the drivers that explain them.

The scoring itself is engine/queries.py's. Each query names what it reads and writes. Values are
bound parameters ($name); the client filter spliced into ``ratings_sql`` is a ``Scope``'s own SQL
(engine/store.py), never user text.
"""

from __future__ import annotations

# Reads: exposure_current, clients, services. Produces: a digest of what a run's results depend
# on besides its versions: each client's exposure version and the client details the scoring
# reads (sector, home country, affiliations, value, services); $ids: some clients, or all.
RUN_INPUTS = """
SELECT md5(coalesce(string_agg(concat_ws('|', e.client_id, e.version, c.sector, c.hq_country,
           array_to_string(c.affiliations, ','), c.business_value_usd,
           (SELECT string_agg(concat_ws(':', s.service_id, s.tolerance_days), ','
                              ORDER BY s.service_id)
            FROM services s WHERE s.client_id = e.client_id)), ';' ORDER BY e.client_id), ''))
FROM exposure_current e JOIN clients c USING (client_id)
WHERE $ids IS NULL OR e.client_id IN (SELECT unnest($ids))
"""

# Reads: run_keys. Produces: the run stored for key $k.
RUN_OF_KEY = "SELECT run_id FROM run_keys WHERE run_key = $k"

# Writes: run_keys (key $k is run $r's).
INSERT_KEY = "INSERT INTO run_keys VALUES ($k, $r)"

# Reads: run_claims. Produces: who claimed key $k for which run, and when it last renewed it.
CLAIM_OF_KEY = "SELECT run_id, owner, heartbeat FROM run_claims WHERE run_key = $k"

# Writes: run_claims (key $k claimed for run $r by $o at $t, seconds since 1970).
INSERT_CLAIM = "INSERT INTO run_claims VALUES ($k, $r, $o, $t)"

# Writes: run_claims (the expired claim of run $old on key $k becomes run $r's).
TAKE_OVER_CLAIM = (
    "UPDATE run_claims SET run_id = $r, owner = $o, heartbeat = $t "
    "WHERE run_key = $k AND run_id = $old"
)

# Writes: run_claims (the scorer of run $r says at $t that it still works on key $k).
RENEW_CLAIM = "UPDATE run_claims SET heartbeat = $t WHERE run_key = $k AND run_id = $r"

# Writes: run_claims (run $r's claim on key $k ends).
RELEASE_CLAIM = "DELETE FROM run_claims WHERE run_key = $k AND run_id = $r"

# Writes: runs (run $r's record; its client count and time are set when it is scored).
INSERT_RUN = (
    "INSERT INTO runs (run_id, created_at, register_version, rules_version, scenario_id, as_of, "
    "n_clients, seconds, scenario_version, gazetteer_version) "
    "VALUES ($r, now(), $reg, $rules, $sc, $as_of, 0, 0, $sc_v, $gaz_v)"
)

# Reads: exposure_current. Writes: run_exposures (the exposure version of each client run $r
# scores; $ids: some clients, or all).
RUN_EXPOSURES = (
    "INSERT INTO run_exposures SELECT $r, client_id, version FROM exposure_current "
    "WHERE $ids IS NULL OR client_id IN (SELECT unnest($ids))"
)

# Reads: run_clients. Produces: how many clients run $r rated.
RUN_CLIENT_COUNT = "SELECT count(*) FROM run_clients WHERE run_id = $r"

# Writes: runs (run $r's client count $n and scoring time $s).
FINISH_RUN = "UPDATE runs SET n_clients = $n, seconds = $s WHERE run_id = $r"

# Reads: runs, gazetteer_versions. Produces: run $r's record (``RUN_INFO_COLUMNS``).
RUN_INFO = (
    "SELECT run_id, r.created_at, register_version, rules_version, scenario_id, as_of, "
    "n_clients, seconds, scenario_version, gazetteer_version, g.sha256 FROM runs r "
    "LEFT JOIN gazetteer_versions g ON g.version = r.gazetteer_version WHERE run_id = $r"
)
RUN_INFO_COLUMNS = (
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
)


def ratings_sql(where: str) -> str:
    """Reads: run_clients, clients, run_exposures. Produces: run $r's ratings of the clients
    the scope filter ``where`` lets through, the lowest score first."""
    return (
        "SELECT rc.client_id, c.name, c.sector, c.hq_country, rc.band, rc.score, "  # noqa: S608
        "rc.score_low, rc.score_high, rc.band_low, rc.band_high, rc.risk_central AS risk, "
        "rc.n_items, rc.total_value_usd, x.version AS exposure_version "
        "FROM run_clients rc JOIN clients c USING (client_id) "
        "JOIN run_exposures x ON x.run_id = rc.run_id AND x.client_id = rc.client_id "
        f"WHERE rc.run_id = $r AND {where} ORDER BY rc.score, rc.client_id"
    )


# Reads: run_classes, run_contributions, run_threats. Produces: client $c's threats in run $r
# by expected disruption (value x central contribution), with the region each weighs most in.
THREAT_DRIVERS = """
SELECT t.threat_id, t.title, t.category, t.likelihood, t.likelihood_words,
       t.evidence, coalesce(t.status, 'current') AS status,
       sum(k.value_usd * c.r_central) AS ed,
       arg_max(c.region_id, (k.value_usd * c.r_central, c.region_id)) AS main_region
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
WHERE k.run_id = $r AND k.client_id = $c
GROUP BY ALL ORDER BY ed DESC, t.threat_id
"""

# Reads: run_classes, run_contributions, regions. Produces: client $c's regions in run $r by
# expected disruption.
REGION_DRIVERS = """
SELECT c.region_id, coalesce(g.name, c.region_id) AS name,
       sum(k.value_usd * c.r_central) AS ed
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
LEFT JOIN regions g ON g.region_id = c.region_id
WHERE k.run_id = $r AND k.client_id = $c
GROUP BY ALL ORDER BY ed DESC, c.region_id
"""

# Reads: run_threats. Produces: run $r's judgements whose horizon ended before its date.
EXPIRED_THREATS = (
    "SELECT threat_id FROM run_threats WHERE run_id = $r AND status = 'expired' ORDER BY threat_id"
)

# Reads: score_variants (a frame the caller registers). Produces: one class per variant item,
# as the CLIENTS aggregation reads classes (engine/queries.py).
VARIANT_CLASSES = (
    "(SELECT variant::VARCHAR AS client_id, 1 AS n_items, 0.0 AS value_usd, weight, "
    "crit AS max_criticality, hash(variant, idx) AS profile_id FROM score_variants)"
)
# Reads: score_variants. Produces: one risk profile per variant item (its central risk).
VARIANT_PROFILES = (
    "(SELECT hash(variant, idx) AS profile_id, risk AS risk_low, risk AS risk_central, "
    "risk AS risk_high FROM score_variants)"
)
