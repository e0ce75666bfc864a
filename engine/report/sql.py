"""The read-only queries the reports and exports need, beyond what the facade returns.

Every query reads one run ($r) and, where it says so, one client ($c); values are bound
parameters. None of them writes anything.
"""

from __future__ import annotations

# Reads: assets, routes, exposure_classes, run_exposures, run_classes, run_profiles,
#        run_contributions, route_cache, services.
# Produces: every item (site or route) of one client in one run, with its class's risk at the
#           low / central / high ends of the likelihood ranges, the threat that contributes most
#           to it and the region where that threat bears hardest, its business service and
#           tolerance, and (routes) the cached sea route as JSON.
CLIENT_ITEMS = """
WITH
cls AS (
    SELECT k.class_id, k.profile_id, p.risk_low, p.risk_central, p.risk_high
    FROM run_classes k
    JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
    WHERE k.run_id = $r AND k.client_id = $c
),
top AS (
    SELECT k.class_id,
           arg_max(c.threat_id, c.r_central) AS top_threat,
           arg_max(c.region_id, c.r_central) AS top_region
    FROM cls k
    JOIN run_contributions c ON c.run_id = $r AND c.profile_id = k.profile_id
    GROUP BY k.class_id
),
items AS (
    SELECT 'asset' AS item_kind, a.asset_id AS item_id, a.name, a.asset_type AS item_type,
           a.lat, a.lon, a.city, a.country, a.country_iso3, NULL AS origin,
           NULL AS destination, NULL AS info, a.value_usd, a.criticality, a.headcount,
           a.service_id, a.mitigations, a.class_id
    FROM assets a
    JOIN run_exposures x ON x.client_id = a.client_id AND x.version = a.version
    WHERE x.run_id = $r AND a.client_id = $c
    UNION ALL
    SELECT 'route', r.route_id, r.name, r.commodity, NULL, NULL, NULL, NULL, NULL, r.origin,
           r.destination, rc.info, r.annual_value_usd, r.criticality, NULL, r.service_id,
           coalesce(k.mitigations, []::VARCHAR[]), r.class_id
    FROM routes r
    JOIN run_exposures x ON x.client_id = r.client_id AND x.version = r.version
    LEFT JOIN exposure_classes k
      ON k.client_id = r.client_id AND k.version = r.version AND k.class_id = r.class_id
    LEFT JOIN route_cache rc ON rc.route_key = r.route_key
    WHERE x.run_id = $r AND r.client_id = $c
)
SELECT i.*, s.name AS service_name, s.tolerance_days,
       coalesce(k.risk_low, 0.0) AS risk_low, coalesce(k.risk_central, 0.0) AS risk,
       coalesce(k.risk_high, 0.0) AS risk_high, t.top_threat, t.top_region
FROM items i
LEFT JOIN cls k ON k.class_id = i.class_id
LEFT JOIN top t ON t.class_id = i.class_id
LEFT JOIN services s ON s.client_id = $c AND s.service_id = i.service_id
ORDER BY risk DESC, i.value_usd DESC, i.item_kind, i.item_id
"""

# Reads: run_classes, run_contributions, run_threats.
# Produces: every (class, threat) contribution of one client in one run with the threat's
#           category, for the recommendations' what-if arithmetic.
CLIENT_CONTRIBUTIONS = """
SELECT k.class_id, c.threat_id, t.category, c.region_id, c.r_low, c.r_central, c.r_high
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
WHERE k.run_id = $r AND k.client_id = $c
ORDER BY k.class_id, c.threat_id
"""

# Reads: run_threats.
# Produces: every threat as scored in the run: likelihood range after the horizon, severity.
RUN_THREATS = """
SELECT threat_id, category, title, likelihood, likelihood_words, p_low, p_central, p_high,
       severity, in_horizon, from_scenario
FROM run_threats WHERE run_id = $r ORDER BY threat_id
"""

# Reads: run_classes, run_profiles, run_contributions.
# Produces: per client of the run: expected disrupted value (sum of value x item risk) at each
#           end of the likelihood range, and the threat contributing most value x r.
BOOK_SUMMARY = """
WITH
cls AS (
    SELECT k.client_id, k.profile_id, k.value_usd, p.risk_low, p.risk_central, p.risk_high
    FROM run_classes k
    JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
    WHERE k.run_id = $r AND k.client_id IN (SELECT unnest($ids))
),
ed AS (
    SELECT client_id, sum(value_usd * risk_low) AS ed_low, sum(value_usd * risk_central) AS ed,
           sum(value_usd * risk_high) AS ed_high
    FROM cls GROUP BY client_id
),
top AS (
    SELECT k.client_id, arg_max(c.threat_id, k.value_usd * c.r_central) AS top_threat
    FROM cls k
    JOIN run_contributions c ON c.run_id = $r AND c.profile_id = k.profile_id
    GROUP BY k.client_id
)
SELECT ed.*, top.top_threat FROM ed LEFT JOIN top USING (client_id)
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
