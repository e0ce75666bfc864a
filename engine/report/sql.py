"""The read-only queries the reports and exports need, beyond what the facade returns.

Every query reads one run ($r) and, where it says so, one client ($c); values are bound
parameters. None of them writes anything.
"""

from __future__ import annotations

# the per-client item and contribution queries are the engine's own (engine/queries.py)
from engine.queries import CLIENT_CONTRIBUTIONS as CLIENT_CONTRIBUTIONS
from engine.queries import CLIENT_ITEMS as CLIENT_ITEMS

# Reads: run_threats.
# Produces: every threat as scored in the run: likelihood range after the horizon, severity.
RUN_THREATS = """
SELECT threat_id, category, title, likelihood, likelihood_words, p_low, p_central, p_high,
       severity, in_horizon, from_scenario
FROM run_threats WHERE run_id = $r ORDER BY threat_id
"""

# Reads: run_classes, run_profiles.
# Produces: per client of the run: the value at risk of disruption (sum of value x item risk) at
#           each end of the likelihood range. The top threat is engine.insights.top_drivers'.
BOOK_SUMMARY = """
WITH
cls AS (
    SELECT k.client_id, k.value_usd, p.risk_low, p.risk_central, p.risk_high
    FROM run_classes k
    JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
    WHERE k.run_id = $r AND k.client_id IN (SELECT unnest($ids))
)
SELECT client_id, sum(value_usd * risk_low) AS ed_low, sum(value_usd * risk_central) AS ed,
       sum(value_usd * risk_high) AS ed_high
FROM cls GROUP BY client_id
"""

# Reads: run_classes, run_contributions, regions.
# Produces: per region (where each threat bears hardest on each item), the value-weighted
#           expected disruption sum(value x r) over the chosen clients, and how many clients
#           it touches.
CONCENTRATION = """
SELECT c.region_id, coalesce(g.name, c.region_id) AS name, coalesce(g.kind, '') AS kind,
       sum(k.value_usd * c.r_central) AS ed, count(DISTINCT k.client_id) AS n_clients
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
LEFT JOIN regions g ON g.region_id = c.region_id
WHERE k.run_id = $r AND k.client_id IN (SELECT unnest($ids))
GROUP BY ALL
ORDER BY ed DESC, c.region_id
"""

# Reads: routes, run_exposures, route_cache, run_classes, run_profiles.
# Produces: every route of the chosen clients in the run with its cached sea route (JSON), its
#           annual value and its risk, to count the trade that passes each chokepoint.
BOOK_ROUTES = """
SELECT r.client_id, r.route_id, r.annual_value_usd, rc.info,
       coalesce(p.risk_central, 0.0) AS risk
FROM routes r
JOIN run_exposures x ON x.client_id = r.client_id AND x.version = r.version
LEFT JOIN route_cache rc ON rc.route_key = r.route_key
LEFT JOIN run_classes k
  ON k.run_id = x.run_id AND k.client_id = r.client_id AND k.class_id = r.class_id
LEFT JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
WHERE x.run_id = $r AND r.client_id IN (SELECT unnest($ids))
"""

# Reads: runs, run_exposures, run_clients.
# Produces: for each chosen client, its rating in the latest earlier baseline run (no scenario)
#           that used an earlier or other register, rules or exposure version than run $r did.
PREVIOUS_RATINGS = """
WITH cur AS (
    SELECT x.client_id, x.version, r.register_version, r.rules_version
    FROM run_exposures x JOIN runs r USING (run_id)
    WHERE x.run_id = $r AND x.client_id IN (SELECT unnest($ids))
),
prev AS (
    SELECT x.client_id, max(r.run_id) AS run_id
    FROM runs r
    JOIN run_exposures x USING (run_id)
    JOIN cur ON cur.client_id = x.client_id
    WHERE r.run_id < $r AND r.scenario_id IS NULL
      AND (r.register_version <> cur.register_version OR r.rules_version <> cur.rules_version
           OR x.version <> cur.version)
    GROUP BY x.client_id
)
SELECT p.client_id, p.run_id, r.register_version, r.rules_version, x.version AS exposure_version,
       r.as_of, rc.band, rc.score
FROM prev p
JOIN runs r ON r.run_id = p.run_id
JOIN run_exposures x ON x.run_id = p.run_id AND x.client_id = p.client_id
JOIN run_clients rc ON rc.run_id = p.run_id AND rc.client_id = p.client_id
"""

# Reads: exposure_versions.
# Produces: when and from what one client exposure version was loaded.
EXPOSURE_VERSION = """
SELECT version, created_at, note, source, n_assets, n_routes
FROM exposure_versions WHERE client_id = $c AND version = $v
"""

# Reads: run_classes, run_contributions, run_threats.
# Produces: the title of the threat that carries most of one client's value at risk in the run
#           (ties: the lower threat id), as the facade's explanation ranks them.
TOP_THREAT_TITLE = """
SELECT t.title
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
WHERE k.run_id = $r AND k.client_id = $c
GROUP BY t.threat_id, t.title
ORDER BY sum(k.value_usd * c.r_central) DESC, t.threat_id
LIMIT 1
"""
