"""The scoring SQL, in one module.

Scoring works on exposure classes: the items of a client version that every threat treats alike
(same geo profile, asset type or commodity, mitigations and business service). Each class is
scored once; its items share its numbers. The run still scans every item once, to weigh each
class by its items' values and criticality.

Each query names what it reads and what it produces. Values are bound parameters ($name); the
few identifiers spliced in (relation names) are constants of this module.

Parameters:
    $run_id, $rules_version        which threats (run_threats) and rule tables to use
    $client_id                     NULL for the whole book, else one client
    $collateral, $full_within      targeting collateral factor, hotspot full-intensity fraction
    $detour_cats, $floor, $no_alt, $default_tol   route detour handling
    $materiality, $min_crit, $worst_w, $exponent  aggregation
"""

from __future__ import annotations

# Reads: run_exposures, exposure_classes, geo_regions, regions, clients, services, run_threats,
#        run_threat_regions, rule_sector, rule_vuln, rule_mitigation.
# Produces: one row per (class, threat) that touches it: the region where the threat bears
#           hardest and r = p * e * g * v * i at low / central / high likelihood. Exposure is
#           worked out once per geo profile, vulnerability once per (type, mitigation set).
CONTRIBUTIONS = """
WITH
exp AS (
    SELECT client_id, version FROM run_exposures
    WHERE run_id = $run_id AND ($client_id IS NULL OR client_id = $client_id)
),
cls0 AS (
    SELECT k.client_id, k.class_id, k.item_kind, k.geo_key, k.vkey, k.asset_type, k.commodity,
           array_to_string(k.mitigations, ';') AS mkey,
           CASE WHEN k.item_kind = 'route'
                THEN coalesce(sv.tolerance_days, $default_tol) END AS tol
    FROM exposure_classes k
    JOIN exp USING (client_id, version)
    LEFT JOIN services sv ON sv.client_id = k.client_id AND sv.service_id = k.service_id
    WHERE {client_filter_k}
),
-- the distinct (kind, asset type or commodity, mitigation set) combinations, numbered
combos AS (
    SELECT item_kind, vkey, mkey, row_number() OVER () AS combo
    FROM (SELECT DISTINCT item_kind, vkey, mkey FROM cls0)
),
cls AS (
    SELECT k.*, c.combo FROM cls0 k JOIN combos c USING (item_kind, vkey, mkey)
),
threat AS (
    SELECT * FROM run_threats WHERE run_id = $run_id AND p_high > 0
),
-- exposure of each geo profile to each threat: the hotspot fall-off applied, then the highest
-- over the profile's regions (for routes, after the detour factor at each region)
reach AS (
    SELECT g.geo_key, g.region_id, g.extra_days, g.no_alternative, tr.threat_id, t.category,
           tr.intensity * CASE
               WHEN h.radius_km IS NULL OR g.distance_km IS NULL THEN 1.0
               WHEN g.distance_km <= $full_within * h.radius_km THEN 1.0
               ELSE greatest(0.0, (h.radius_km - g.distance_km)
                                  / (h.radius_km * (1 - $full_within)))
           END AS e
    FROM (SELECT DISTINCT geo_key FROM cls) u
    JOIN geo_regions g USING (geo_key)
    JOIN run_threat_regions tr ON tr.run_id = $run_id AND tr.region_id = g.region_id
    JOIN threat t USING (threat_id)
    LEFT JOIN regions h ON h.region_id = g.region_id AND h.kind = 'hotspot'
),
geo_asset AS (
    SELECT geo_key, threat_id, arg_max(region_id, e) AS region_id, max(e) AS ev
    FROM reach GROUP BY geo_key, threat_id
),
geo_route AS (
    SELECT r.geo_key, u.tol, r.threat_id,
           arg_max(r.region_id, r.e * d.f) AS region_id, max(r.e * d.f) AS ev
    FROM (SELECT DISTINCT geo_key, tol FROM cls WHERE item_kind = 'route') u
    JOIN reach r USING (geo_key)
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN NOT list_contains($detour_cats, r.category) THEN 1.0
            WHEN r.no_alternative THEN $no_alt
            WHEN r.extra_days IS NULL THEN 1.0
            ELSE least(1.0, $floor + (1 - $floor) * r.extra_days / u.tol)
        END AS f
    ) d
    GROUP BY r.geo_key, u.tol, r.threat_id
),
exposed AS (
    SELECT k.client_id, k.class_id, k.combo, x.threat_id, x.region_id, x.ev
    FROM cls k JOIN geo_asset x USING (geo_key)
    WHERE k.item_kind = 'asset'
    UNION ALL
    SELECT k.client_id, k.class_id, k.combo, x.threat_id, x.region_id, x.ev
    FROM cls k JOIN geo_route x USING (geo_key, tol)
    WHERE k.item_kind = 'route'
),
-- per client and threat: likelihood, impact x sector sensitivity, and whether the client's
-- affiliations or sector are among the threat's targets
ct AS (
    SELECT c.client_id, t.threat_id, t.p_low, t.p_central, t.p_high,
           t.severity / 5.0 * s.factor AS gi,
           t.untargeted OR list_has_any(c.affiliations, t.t_affiliations)
               OR list_contains(t.t_sectors, c.sector) AS client_match
    FROM clients c
    JOIN exp USING (client_id)
    CROSS JOIN threat t
    JOIN rule_sector s
      ON s.rules_version = $rules_version AND s.category = t.category AND s.sector = c.sector
),
-- per combination and threat: vulnerability after mitigations, and whether the asset type or
-- commodity is among the threat's targets
vt AS (
    SELECT u.combo, t.threat_id,
           v.factor * coalesce((
               SELECT product(1 - m.credit) FROM rule_mitigation m
               WHERE m.rules_version = $rules_version AND m.category = t.category
                 AND list_contains(string_split(u.mkey, ';'), m.mitigation)
           ), 1.0) AS factor,
           CASE u.item_kind WHEN 'asset' THEN list_contains(t.t_asset_types, u.vkey)
                ELSE list_contains(t.t_commodities, u.vkey) END AS item_match
    FROM combos u
    CROSS JOIN threat t
    JOIN rule_vuln v
      ON v.rules_version = $rules_version AND v.item_kind = u.item_kind AND v.key = u.vkey
     AND v.category = t.category
),
scored AS (
    SELECT x.client_id, x.class_id, x.threat_id, x.region_id, ct.p_low, ct.p_central,
           ct.p_high,
           x.ev * ct.gi * vt.factor
             * CASE WHEN ct.client_match OR vt.item_match THEN 1.0 ELSE $collateral END AS egvi
    FROM exposed x
    JOIN vt USING (combo, threat_id)
    JOIN ct USING (client_id, threat_id)
)
SELECT client_id, class_id, threat_id, region_id,
       egvi * p_low AS r_low, egvi * p_central AS r_central, egvi * p_high AS r_high
FROM scored
WHERE egvi * p_high > 0
"""

# Reads: run_exposures, assets, routes and a contributions relation named {contrib}.
# Produces: every class of the run (touched or not): its items' count, value, materiality weight
#           sum(value / (value + m)) with m the client's materiality threshold, highest
#           criticality, and R = 1 - prod(1 - r).
CLASSES = """
WITH
exp AS (
    SELECT client_id, version FROM run_exposures
    WHERE run_id = $run_id AND ($client_id IS NULL OR client_id = $client_id)
),
members AS (
    SELECT a.client_id, a.class_id, a.value_usd, a.criticality
    FROM assets a JOIN exp USING (client_id, version)
    WHERE {client_filter_a}
    UNION ALL
    SELECT r.client_id, r.class_id, r.annual_value_usd, r.criticality
    FROM routes r JOIN exp USING (client_id, version)
    WHERE {client_filter_r}
),
-- each client's materiality threshold: a share of its business value, or the rules' default
mat AS (
    SELECT client_id, coalesce(c.business_value_usd * $materiality_share, $materiality) AS m
    FROM clients c JOIN exp USING (client_id)
),
stats AS (
    SELECT client_id, class_id, count(*) AS n_items, sum(value_usd) AS value_usd,
           sum(value_usd / (value_usd + mat.m)) AS weight,
           max(criticality) AS max_criticality
    FROM members JOIN mat USING (client_id)
    GROUP BY client_id, class_id
),
agg AS (
    SELECT client_id, class_id,
           1 - product(1 - r_low) AS risk_low,
           1 - product(1 - r_central) AS risk_central,
           1 - product(1 - r_high) AS risk_high
    FROM {contrib}
    GROUP BY client_id, class_id
)
SELECT s.client_id, s.class_id, s.n_items, s.value_usd, s.weight, s.max_criticality,
       coalesce(a.risk_low, 0.0) AS risk_low,
       coalesce(a.risk_central, 0.0) AS risk_central,
       coalesce(a.risk_high, 0.0) AS risk_high
FROM stats s LEFT JOIN agg a USING (client_id, class_id)
"""

# Reads: a classes relation named {classes} (as CLASSES produces), rule_bands.
# Produces: one row per client: the materiality-weighted expected disruption
#           ead = 1 - prod (1 - R)^(value / (value + m)) over items, the worst critical
#           item, risk = 1 - (1 - ead)(1 - w * worst), score = 100 (1 - risk)^k and bands, at
#           each end of the likelihood range.
CLIENTS = """
WITH
c AS (
    SELECT client_id, sum(n_items)::INTEGER AS n_items, sum(value_usd) AS total_value_usd,
           1 - exp(sum(weight * ln(greatest(1e-12, 1 - risk_low)))) AS ead_low,
           1 - exp(sum(weight * ln(greatest(1e-12, 1 - risk_central)))) AS ead_central,
           1 - exp(sum(weight * ln(greatest(1e-12, 1 - risk_high)))) AS ead_high,
           coalesce(max(risk_low) FILTER (WHERE max_criticality >= $min_crit), 0.0) AS worst_low,
           coalesce(max(risk_central) FILTER (WHERE max_criticality >= $min_crit), 0.0)
               AS worst_central,
           coalesce(max(risk_high) FILTER (WHERE max_criticality >= $min_crit), 0.0)
               AS worst_high
    FROM {classes}
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


def _client_filters(sql: str, one_client: bool) -> str:
    """Spell the client filter out on the big scans, so DuckDB can skip other clients' row
    groups (a filter hidden behind a join or an IS NULL test cannot be pushed into the scan)."""
    for alias in ("a", "r", "k"):
        sql = sql.replace(
            "{client_filter_" + alias + "}",
            f"{alias}.client_id = $client_id" if one_client else "TRUE",
        )
    return sql


def contributions_sql(*, one_client: bool = False) -> str:
    return _client_filters(CONTRIBUTIONS, one_client)


def classes_sql(contrib: str, *, one_client: bool = False) -> str:
    return _client_filters(CLASSES.replace("{contrib}", contrib), one_client)


def clients_sql(classes: str) -> str:
    return CLIENTS.replace("{classes}", classes)


def whatif_sql() -> str:
    """One client: contributions -> classes -> rating in one statement, nothing written."""
    clients = clients_sql("classes_scored").strip()
    return (
        f"WITH contrib AS ({contributions_sql(one_client=True)}),\n"
        f"classes_scored AS ({classes_sql('contrib', one_client=True)}),\n"
        f"{clients.removeprefix('WITH')}"
    )
