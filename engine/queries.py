"""The scoring SQL, in one module.

Scoring works at two levels of sharing:

- an exposure class is the set of a client version's items that every threat treats alike (same
  geo profile, asset type or commodity, mitigations and, for routes, business service); it is
  formed when the exposures are loaded, with its item count, value, headcount and highest
  criticality;
- a risk profile is what a class looks like to the threats: the client's sector and affiliations
  plus the class's geo profile, type, mitigations and impact tolerance. Classes of different
  clients share a profile when those agree. Contributions r(x,t) and item risk R(x) are worked out
  once per profile; every item of every class with that profile has those numbers.

A run therefore writes one row per class (its profile and weight), one per profile and one per
(profile, threat), never one per item, and still accounts for every item through the class
counts and weights. The numbers are exactly those of the per-item method (scoring_rules/method.py;
tests/engine/test_golden.py checks them by hand).

Each query names what it reads and what it produces. Values are bound parameters ($name); the
few identifiers spliced in (relation names, the client filter) are constants of this module.

Parameters:
    $run_id, $rules_version        which threats (run_threats) and rule tables to use
    $client_id                     one client, for the single-client (what-if) path
    $outlook                       the outlook window in months (THREAT_WINDOW)
    $collateral, $full_within      targeting collateral factor, hotspot full-intensity fraction
    $severity_max                  i(t) = severity / severity_max
    $detour_cats, $floor, $no_alt, $no_alt_ratio, $default_tol   route detour handling
    $default_bv, $per_person, $min_crit, $worst_w, $exponent  aggregation
"""

from __future__ import annotations

_EXP = """
exp AS (
    SELECT client_id, version FROM {exposure_source}
    WHERE {client_filter_x}
),
bv AS (
    SELECT client_id, coalesce(c.business_value_usd, $default_bv) AS b, c.sector,
           list_sort(c.affiliations) AS affiliations
    FROM clients c JOIN exp USING (client_id)
)"""

# Reads: run_threats (one run's rows, as the run inserted them).
# Writes: run_threats.window_share and status: the share of each judgement's horizon that the
#         run's outlook window covers, and whether the judgement is current, expired (its
#         horizon, or the expiry an analyst set, ended before the run's date: it keeps counting
#         as last judged), upcoming, beyond the outlook, or from a brief written after the run's
#         date (not counted). scoring_rules.method.window_share states the same rule.
THREAT_WINDOW = """
UPDATE run_threats SET
    window_share = CASE
        WHEN months_elapsed < 0 THEN 0.0  -- its brief was written after the run's date
        ELSE least(1.0, greatest(0.0, least($outlook, months_elapsed + $outlook - horizon_from))
                        / (horizon_to - horizon_from))
    END,
    status = CASE
        WHEN months_elapsed < 0 THEN 'not_yet_written'
        WHEN horizon_to < months_elapsed THEN 'expired'
        WHEN horizon_from > months_elapsed + $outlook THEN 'beyond_outlook'
        WHEN horizon_from > months_elapsed THEN 'upcoming'
        ELSE 'current'
    END
WHERE run_id = $run_id
"""

# Reads: run_exposures, clients, services, exposure_classes.
# Produces: one row per class of the run: its risk profile (id and attributes), item count,
#           value, headcount, highest criticality and weight in the client's expected
#           disruption: (value + value per person x headcount) / business value. The weight is
#           linear in value, so how a client splits or merges its rows changes nothing.
CLASS_ROWS = (
    "WITH"
    + _EXP
    + """
SELECT k.client_id, k.class_id,
       hash(bv.sector, bv.affiliations, k.item_kind, k.geo_key, k.vkey,
            array_to_string(k.mitigations, ';'),
            CASE WHEN k.item_kind = 'route'
                 THEN coalesce(sv.tolerance_days, $default_tol) END) AS profile_id,
       bv.sector, bv.affiliations, k.item_kind, k.geo_key, k.vkey,
       array_to_string(k.mitigations, ';') AS mkey,
       CASE WHEN k.item_kind = 'route' THEN coalesce(sv.tolerance_days, $default_tol) END AS tol,
       k.n_items, k.value_usd, k.max_criticality,
       (k.value_usd + $per_person * coalesce(k.headcount, 0)) / bv.b AS weight,
       coalesce(k.headcount, 0) AS headcount
FROM exposure_classes k
JOIN exp USING (client_id, version)
JOIN bv USING (client_id)
LEFT JOIN services sv ON sv.client_id = k.client_id AND sv.service_id = k.service_id
WHERE {client_filter_k}
"""
)

# Reads: a classes relation named {classes} (as CLASS_ROWS produces), or the profiles PROFILE_ROWS
#        made of them, geo_regions, regions, run_threats, run_threat_regions, rule_sector,
#        rule_vuln, rule_mitigation.
# Produces: one row per (profile, threat) that touches it: the region where the threat bears
#           hardest and r = p * e * g * v * i at low / central / high likelihood. Exposure is
#           worked out once per geo profile, vulnerability once per (type, mitigation set),
#           targeting once per (sector, affiliations).
CONTRIBUTIONS = """
WITH
prof AS ({profiles}),
combos AS (
    SELECT item_kind, vkey, mkey, row_number() OVER () AS combo
    FROM (SELECT DISTINCT item_kind, vkey, mkey FROM prof)
),
cks AS (
    SELECT sector, affiliations, row_number() OVER () AS ck
    FROM (SELECT DISTINCT sector, affiliations FROM prof)
),
p AS (
    SELECT prof.profile_id, prof.item_kind, prof.geo_key, prof.tol, combos.combo, cks.ck
    FROM prof JOIN combos USING (item_kind, vkey, mkey) JOIN cks USING (sector, affiliations)
),
-- each threat's likelihood within the outlook window: p spread at a constant hazard over the
-- horizon, of which the window covers window_share (THREAT_WINDOW)
threat AS (
    SELECT * REPLACE (1 - pow(1 - p_low, window_share) AS p_low,
                      1 - pow(1 - p_central, window_share) AS p_central,
                      1 - pow(1 - p_high, window_share) AS p_high),
           row_number() OVER () AS tn  -- joins below go by this number, not the id's text
    FROM run_threats WHERE run_id = $run_id AND p_high > 0 AND window_share > 0
),
-- exposure of each geo profile to each threat: the hotspot fall-off applied, then the highest
-- over the profile's regions (for routes, after the detour factor at each region)
reach AS (
    SELECT g.geo_key, g.region_id, g.extra_days,
           g.no_alternative OR coalesce(g.alt_ratio > $no_alt_ratio, false) AS no_alternative,
           tr.threat_id, t.tn, t.category,
           tr.intensity * CASE
               WHEN h.radius_km IS NULL OR g.distance_km IS NULL THEN 1.0
               WHEN g.distance_km <= $full_within * h.radius_km THEN 1.0
               ELSE greatest(0.0, (h.radius_km - g.distance_km)
                                  / (h.radius_km * (1 - $full_within)))
           END AS e
    FROM (SELECT DISTINCT geo_key FROM p) u
    JOIN geo_regions g USING (geo_key)
    JOIN run_threat_regions tr ON tr.run_id = $run_id AND tr.region_id = g.region_id
    JOIN threat t USING (threat_id)
    LEFT JOIN regions h ON h.region_id = g.region_id AND h.kind = 'hotspot'
),
geo_asset AS (
    SELECT geo_key, tn, any_value(threat_id) AS threat_id,
           arg_max(region_id, (e, region_id)) AS region_id, max(e) AS ev
    FROM reach GROUP BY geo_key, tn
),
geo_route AS (
    SELECT r.geo_key, u.tol, r.tn, any_value(r.threat_id) AS threat_id,
           arg_max(r.region_id, (r.e * d.f, r.region_id)) AS region_id, max(r.e * d.f) AS ev
    FROM (SELECT DISTINCT geo_key, tol FROM p WHERE item_kind = 'route') u
    JOIN reach r USING (geo_key)
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN NOT list_contains($detour_cats, r.category) THEN 1.0
            WHEN r.no_alternative THEN $no_alt
            WHEN r.extra_days IS NULL THEN 1.0
            ELSE least(1.0, $floor + (1 - $floor) * r.extra_days / u.tol)
        END AS f
    ) d
    GROUP BY r.geo_key, u.tol, r.tn
),
exposed AS (
    SELECT p.profile_id, p.combo, p.ck, x.tn, x.threat_id, x.region_id, x.ev
    FROM p JOIN geo_asset x USING (geo_key)
    WHERE p.item_kind = 'asset'
    UNION ALL
    SELECT p.profile_id, p.combo, p.ck, x.tn, x.threat_id, x.region_id, x.ev
    FROM p JOIN geo_route x USING (geo_key, tol)
    WHERE p.item_kind = 'route'
),
-- per (sector, affiliations) and threat: likelihood, impact x sector sensitivity, and whether
-- the client's affiliations or sector are among the threat's targets
ct AS (
    SELECT k.ck, t.tn, t.p_low, t.p_central, t.p_high,
           t.severity / $severity_max * s.factor AS gi,
           t.untargeted OR list_has_any(k.affiliations, t.t_affiliations)
               OR list_contains(t.t_sectors, k.sector) AS client_match
    FROM cks k
    CROSS JOIN threat t
    JOIN rule_sector s
      ON s.rules_version = $rules_version AND s.category = t.category AND s.sector = k.sector
),
-- per (kind, type or commodity, mitigation set) and threat: vulnerability after mitigations,
-- and whether the asset type or commodity is among the threat's targets
vt AS (
    SELECT u.combo, t.tn,
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
    SELECT x.profile_id, x.threat_id, x.region_id, ct.p_low, ct.p_central, ct.p_high,
           x.ev * ct.gi * vt.factor
             * CASE WHEN ct.client_match OR vt.item_match THEN 1.0 ELSE $collateral END AS egvi
    FROM exposed x
    JOIN vt USING (combo, tn)
    JOIN ct USING (ck, tn)
)
SELECT profile_id, threat_id, region_id,
       egvi * p_low AS r_low, egvi * p_central AS r_central, egvi * p_high AS r_high
FROM scored
WHERE egvi * p_high > 0
"""

# Reads: {contrib} (CONTRIBUTIONS).
# Produces: R = 1 - prod_t (1 - r) for each profile some threat touches (PROFILE_RISKS), and
#           with {classes} (CLASS_ROWS) or the profiles PROFILE_ROWS made of them, one row per
#           profile with its attributes and R (0 where no threat touches it: PROFILES).
PROFILE_RISKS = """
SELECT profile_id,
       1 - product(1 - r_low) AS risk_low,
       1 - product(1 - r_central) AS risk_central,
       1 - product(1 - r_high) AS risk_high
FROM {contrib}
GROUP BY profile_id
"""

PROFILES = """
WITH
prof AS ({profiles}),
agg AS ({risks})
SELECT p.profile_id, p.sector, p.affiliations, p.item_kind, p.geo_key, p.vkey, p.mkey, p.tol,
       coalesce(a.risk_low, 0.0) AS risk_low,
       coalesce(a.risk_central, 0.0) AS risk_central,
       coalesce(a.risk_high, 0.0) AS risk_high
FROM prof p LEFT JOIN agg a USING (profile_id)
"""

# Reads: {classes} (CLASS_ROWS), {profiles} (PROFILES) unless the classes carry their risks
#        (run_classes), rule_bands.
# Produces: one row per client: the expected disruption (share of business value B)
#           ead = 1 - prod over items (1 - R)^(value / B), the worst critical item,
#           risk = 1 - (1 - ead)(1 - w * worst), score = 100 (1 - risk)^k and bands, at each end
#           of the likelihood range.
CLIENTS = """
WITH
k AS (
    SELECT c.client_id, c.n_items, c.value_usd, c.weight, c.max_criticality,
           {risks}
    FROM {classes} c {profile_join}
),
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
    FROM k
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
{bands_cte}
SELECT client_id, n_items, total_value_usd, ead_central, worst_central,
       risk_low, risk_central, risk_high, score_low, score, score_high
       {band_columns}
FROM s
"""

_BANDS_CTE = """b AS (
    SELECT band, min_score FROM rule_bands WHERE rules_version = $rules_version
)"""
_BAND_COLUMNS = """,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score_low) AS band_low,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score) AS band,
       (SELECT arg_max(band, min_score) FROM b WHERE b.min_score <= s.score_high) AS band_high"""


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
           arg_max(c.threat_id, (c.r_central, c.threat_id)) AS top_threat,
           arg_max(c.region_id, (c.r_central, c.threat_id, c.region_id)) AS top_region
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
#           category, for explanations and what-if arithmetic.
CLIENT_CONTRIBUTIONS = """
SELECT k.class_id, c.threat_id, t.category, c.region_id, c.r_low, c.r_central, c.r_high
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
WHERE k.run_id = $r AND k.client_id = $c
ORDER BY k.class_id, c.threat_id
"""


# Reads: run_classes, run_contributions, run_threats.
# Produces: one row: the client's headcount in the run, and the headcount at sites that a threat
#           of one of $cats (the rules' people categories) reaches.
CLIENT_PEOPLE = """
WITH reached AS (
    SELECT DISTINCT k.class_id
    FROM run_classes k
    JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
    JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
    WHERE k.run_id = $r AND k.client_id = $c AND list_contains($cats, t.category)
)
SELECT coalesce(sum(k.headcount), 0)::BIGINT AS total,
       coalesce(sum(k.headcount) FILTER (WHERE k.class_id IN (SELECT class_id FROM reached)),
                0)::BIGINT AS exposed
FROM run_classes k WHERE k.run_id = $r AND k.client_id = $c
"""

# Reads: run_classes, run_contributions, run_threats.
# Produces: per threat of one of $cats, the headcount at the client's sites it reaches.
CLIENT_PEOPLE_BY_THREAT = """
SELECT t.threat_id, t.title, sum(k.headcount)::BIGINT AS headcount
FROM run_classes k
JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id
JOIN run_threats t ON t.run_id = c.run_id AND t.threat_id = c.threat_id
WHERE k.run_id = $r AND k.client_id = $c AND list_contains($cats, t.category)
GROUP BY ALL HAVING sum(k.headcount) > 0
ORDER BY headcount DESC, t.threat_id
"""


def _client_filters(sql: str, one_client: bool) -> str:
    """Spell the client filter out on the scans, so DuckDB skips other clients' row groups."""
    for alias in ("x", "k"):
        sql = sql.replace(
            "{client_filter_" + alias + "}",
            "client_id = $client_id"
            if alias == "x" and one_client
            else f"{alias}.client_id = $client_id"
            if one_client
            else "TRUE",
        )
    return sql


RUN_EXPOSURES = "(SELECT * FROM run_exposures WHERE run_id = $run_id)"
CURRENT_EXPOSURES = "exposure_current"
ONE_VERSION = "(SELECT $client_id::VARCHAR AS client_id, $version::INTEGER AS version)"


def class_rows_sql(*, one_client: bool = False, source: str = RUN_EXPOSURES) -> str:
    """Class rows of a run's exposure versions, the current versions, or one given version."""
    return _client_filters(CLASS_ROWS.replace("{exposure_source}", source), one_client)


# A profile's attributes, from any of its classes: profile_id is their hash, so grouping by it
# alone gives one row per profile (cheaper than DISTINCT over the attributes, a list among them).
_PROFILE_ATTRIBUTES = ", ".join(
    f"any_value({c}) AS {c}"
    for c in ("sector", "affiliations", "item_kind", "geo_key", "vkey", "mkey", "tol")
)


# Reads: {classes} (CLASS_ROWS).
# Produces: one row per risk profile of the classes with its attributes (CONTRIBUTIONS and
#           PROFILES take it in place of the classes, so a run groups its classes once).
PROFILE_ROWS = "SELECT profile_id, {profile_attributes} FROM {classes} GROUP BY profile_id"


def profile_rows_sql(classes: str) -> str:
    return PROFILE_ROWS.replace("{classes}", classes).replace(
        "{profile_attributes}", _PROFILE_ATTRIBUTES
    )


def _profiles_of(classes: str | None, profiles: str | None) -> str:
    if profiles is not None:
        return f"SELECT * FROM {profiles}"  # noqa: S608 (a relation name of this package)
    if classes is None:
        raise ValueError("give the classes or their profiles")
    return profile_rows_sql(classes)


def contributions_sql(classes: str | None, *, profiles: str | None = None) -> str:
    """(profile, threat) contributions of the classes' profiles; ``profiles`` names a relation
    PROFILE_ROWS made already (the classes are then not read)."""
    return CONTRIBUTIONS.replace("{profiles}", _profiles_of(classes, profiles))


def profile_risks_sql(contrib: str) -> str:
    """Item risk of each profile that has contributions."""
    return PROFILE_RISKS.replace("{contrib}", contrib)


def profiles_sql(
    classes: str | None, contrib: str, *, profiles: str | None = None, risks: str | None = None
) -> str:
    """Item risk per profile from its contributions; ``profiles`` as for contributions_sql;
    ``risks`` names a relation PROFILE_RISKS made of the contributions already."""
    sql = PROFILES.replace("{profiles}", _profiles_of(classes, profiles))
    agg = f"SELECT * FROM {risks}" if risks is not None else profile_risks_sql(contrib)  # noqa: S608
    return sql.replace("{risks}", agg)


def clients_sql(classes: str, profiles: str | None, *, bands: bool = True) -> str:
    """Client ratings; without ``bands`` the caller maps scores to bands itself (one client).

    ``profiles`` gives each class's risk by its profile_id; None when the classes carry their
    risks themselves (run_classes of a scored run)."""
    if profiles is None:
        sql = CLIENTS.replace("{risks}", "c.risk_low, c.risk_central, c.risk_high")
        sql = sql.replace("{profile_join}", "")
    else:
        sql = CLIENTS.replace("{risks}", "p.risk_low, p.risk_central, p.risk_high")
        sql = sql.replace("{profile_join}", f"JOIN {profiles} p USING (profile_id)")
    sql = sql.replace("{classes}", classes)
    sql = sql.replace("{bands_cte}", _BANDS_CTE if bands else "b AS (SELECT 1)")
    return sql.replace("{band_columns}", _BAND_COLUMNS if bands else "")
