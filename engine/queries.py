"""The scoring SQL, in one module.

Each query names what it reads and what it produces. Values are bound parameters ($name);
the few identifiers spliced in (CTE names) are constants of this module.

Parameters common to the scoring queries:
    $run_id, $rules_version        which threats (run_threats) and rule tables to use
    $client_id                     NULL for the whole book, else one client
    $collateral, $full_within      targeting collateral factor, hotspot full-intensity fraction
    $detour_cats, $floor, $no_alt, $default_tol   route detour handling
"""

from __future__ import annotations

# Reads: run_exposures, assets, routes, item_regions, regions, clients, services, run_threats,
#        run_threat_regions, rule_sector, rule_vuln, rule_mitigation.
# Produces: one row per (item, threat) that touches it, with the region where the threat bears
#           hardest and r = p * e * g * v * i at low / central / high likelihood.
CONTRIBUTIONS = """
WITH
exp AS (
    SELECT client_id, version FROM run_exposures
    WHERE run_id = $run_id AND ($client_id IS NULL OR client_id = $client_id)
),
items AS (
    SELECT a.client_id, 'asset' AS item_kind, a.asset_id AS item_id, a.asset_type AS vkey,
           a.asset_type, NULL::VARCHAR AS commodity, a.mitigations, a.service_id
    FROM assets a JOIN exp USING (client_id, version)
    UNION ALL
    SELECT r.client_id, 'route', r.route_id, r.commodity, NULL::VARCHAR, r.commodity,
           []::VARCHAR[], r.service_id
    FROM routes r JOIN exp USING (client_id, version)
),
mitsets AS (
    SELECT DISTINCT mitigations FROM items WHERE len(mitigations) > 0
),
mit AS (
    SELECT u.mitigations, m.category, product(1 - m.credit) AS factor
    FROM (SELECT mitigations, unnest(mitigations) AS mitigation FROM mitsets) u
    JOIN rule_mitigation m ON m.rules_version = $rules_version AND m.mitigation = u.mitigation
    GROUP BY u.mitigations, m.category
),
ct AS (
    SELECT c.client_id, t.threat_id, t.category, t.p_low, t.p_central, t.p_high,
           t.severity / 5.0 AS imp,
           t.untargeted OR list_has_any(c.affiliations, t.t_affiliations)
               OR list_contains(t.t_sectors, c.sector) AS client_match,
           t.t_asset_types, t.t_commodities, s.factor AS sector_factor
    FROM clients c
    JOIN exp USING (client_id)
    CROSS JOIN run_threats t
    JOIN rule_sector s
      ON s.rules_version = $rules_version AND s.category = t.category AND s.sector = c.sector
    WHERE t.run_id = $run_id AND t.p_high > 0
),
hits AS (
    SELECT m.client_id, m.item_kind, m.item_id, tr.threat_id, m.region_id, m.extra_days,
           m.no_alternative,
           tr.intensity * CASE
               WHEN g.radius_km IS NULL OR m.distance_km IS NULL THEN 1.0
               WHEN m.distance_km <= $full_within * g.radius_km THEN 1.0
               ELSE greatest(0.0, (g.radius_km - m.distance_km)
                                  / (g.radius_km * (1 - $full_within)))
           END AS e
    FROM item_regions m
    JOIN exp USING (client_id, version)
    JOIN run_threat_regions tr ON tr.run_id = $run_id AND tr.region_id = m.region_id
    LEFT JOIN regions g ON g.region_id = m.region_id AND g.kind = 'hotspot'
),
scored AS (
    SELECT h.client_id, h.item_kind, h.item_id, h.threat_id, h.region_id,
           h.e * CASE
               WHEN h.item_kind <> 'route' OR NOT list_contains($detour_cats, ct.category) THEN 1.0
               WHEN h.no_alternative THEN $no_alt
               WHEN h.extra_days IS NULL THEN 1.0
               ELSE least(1.0, $floor + (1 - $floor) * h.extra_days
                                        / coalesce(sv.tolerance_days, $default_tol))
           END AS ev,
           (CASE WHEN ct.client_match OR list_contains(ct.t_asset_types, i.asset_type)
                      OR list_contains(ct.t_commodities, i.commodity)
                 THEN 1.0 ELSE $collateral END)
             * ct.sector_factor * v.factor * coalesce(mit.factor, 1.0) * ct.imp AS gvi,
           ct.p_low, ct.p_central, ct.p_high
    FROM hits h
    JOIN items i USING (client_id, item_kind, item_id)
    JOIN ct USING (client_id, threat_id)
    JOIN rule_vuln v
      ON v.rules_version = $rules_version AND v.item_kind = i.item_kind
     AND v.category = ct.category AND v.key = i.vkey
    LEFT JOIN mit ON mit.mitigations = i.mitigations AND mit.category = ct.category
    LEFT JOIN services sv ON sv.client_id = i.client_id AND sv.service_id = i.service_id
)
SELECT client_id, item_kind, item_id, threat_id,
       arg_max(region_id, ev) AS region_id,
       max(ev) * any_value(gvi) * any_value(p_low) AS r_low,
       max(ev) * any_value(gvi) * any_value(p_central) AS r_central,
       max(ev) * any_value(gvi) * any_value(p_high) AS r_high
FROM scored
GROUP BY client_id, item_kind, item_id, threat_id
HAVING max(ev) * any_value(gvi) * any_value(p_high) > 0
"""

# Reads: run_exposures, assets, routes and a contributions relation named {contrib}.
# Produces: every item of the run (touched or not) with R = 1 - prod(1 - r).
ITEMS = """
WITH
exp AS (
    SELECT client_id, version FROM run_exposures
    WHERE run_id = $run_id AND ($client_id IS NULL OR client_id = $client_id)
),
items AS (
    SELECT a.client_id, 'asset' AS item_kind, a.asset_id AS item_id, a.value_usd,
           a.criticality
    FROM assets a JOIN exp USING (client_id, version)
    UNION ALL
    SELECT r.client_id, 'route', r.route_id, r.annual_value_usd, r.criticality
    FROM routes r JOIN exp USING (client_id, version)
),
agg AS (
    SELECT client_id, item_kind, item_id,
           1 - product(1 - r_low) AS risk_low,
           1 - product(1 - r_central) AS risk_central,
           1 - product(1 - r_high) AS risk_high
    FROM {contrib}
    GROUP BY client_id, item_kind, item_id
)
SELECT i.client_id, i.item_kind, i.item_id, i.value_usd, i.criticality,
       coalesce(a.risk_low, 0.0) AS risk_low,
       coalesce(a.risk_central, 0.0) AS risk_central,
       coalesce(a.risk_high, 0.0) AS risk_high
FROM items i LEFT JOIN agg a USING (client_id, item_kind, item_id)
"""

# Reads: an items relation named {items} (as ITEMS produces), rule_bands.
# Produces: one row per client: the materiality-weighted expected disruption
#           ead = 1 - prod (1 - R)^(value / (value + materiality)), the worst critical item,
#           risk = 1 - (1 - ead)(1 - w * worst), score = 100 (1 - risk)^k and bands, at each end
#           of the likelihood range. $materiality, $min_crit, $worst_w, $exponent are bound.
CLIENTS = """
WITH
c AS (
    SELECT client_id, count(*) AS n_items, sum(value_usd) AS total_value_usd,
           1 - exp(sum(value_usd / (value_usd + $materiality) * ln(greatest(1e-12, 1 - risk_low))))
               AS ead_low,
           1 - exp(sum(value_usd / (value_usd + $materiality)
                       * ln(greatest(1e-12, 1 - risk_central)))) AS ead_central,
           1 - exp(sum(value_usd / (value_usd + $materiality)
                       * ln(greatest(1e-12, 1 - risk_high)))) AS ead_high,
           coalesce(max(risk_low) FILTER (WHERE criticality >= $min_crit), 0.0) AS worst_low,
           coalesce(max(risk_central) FILTER (WHERE criticality >= $min_crit), 0.0)
               AS worst_central,
           coalesce(max(risk_high) FILTER (WHERE criticality >= $min_crit), 0.0) AS worst_high
    FROM {items}
    GROUP BY client_id
),
r AS (
    SELECT *,
           1 - (1 - ead_low) * (1 - $worst_w * worst_low) AS risk_low,
           1 - (1 - ead_central) * (1 - $worst_w * worst_central) AS risk_central,
           1 - (1 - ead_high) * (1 - $worst_w * worst_high) AS risk_high
    FROM c
),
s AS (
    SELECT *,
           100 * pow(1 - risk_high, $exponent) AS score_low,
           100 * pow(1 - risk_central, $exponent) AS score,
           100 * pow(1 - risk_low, $exponent) AS score_high
    FROM r
),
b AS (
    SELECT band, min_score FROM rule_bands WHERE rules_version = $rules_version
)
SELECT client_id, n_items, total_value_usd, ead_central, worst_central,
       risk_low, risk_central, risk_high, score_low, score, score_high,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score_low) AS band_low,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score) AS band,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score_high) AS band_high
FROM s
"""


def items_sql(contrib: str) -> str:
    return ITEMS.replace("{contrib}", contrib)


def clients_sql(items: str) -> str:
    return CLIENTS.replace("{items}", items)


def whatif_sql() -> str:
    """Contributions -> items -> client rating in one statement, nothing written."""
    clients = clients_sql("items_scored").strip()
    return (
        f"WITH contrib AS ({CONTRIBUTIONS}),\n"
        f"items_scored AS ({items_sql('contrib')}),\n"
        f"{clients.removeprefix('WITH')}"
    )
