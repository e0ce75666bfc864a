-- Migration 001: the whole system of record.
-- Reads: nothing. Writes: creates every table. Versioned data is never updated in place:
-- a new version is inserted and a pointer moves (register, rules, each client's exposures).

CREATE TABLE IF NOT EXISTS pointers (
    name VARCHAR PRIMARY KEY,           -- 'register' or 'rules'
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS register_versions (
    version INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- draft | published
    title VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    document JSON NOT NULL              -- the register as loaded, for reproduction
);

CREATE TABLE IF NOT EXISTS threats (
    register_version INTEGER NOT NULL,
    threat_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    likelihood VARCHAR NOT NULL,
    likelihood_words VARCHAR NOT NULL,
    severity INTEGER NOT NULL,
    horizon_from DOUBLE NOT NULL,
    horizon_to DOUBLE NOT NULL,
    confidence VARCHAR NOT NULL,
    PRIMARY KEY (register_version, threat_id)
);

CREATE TABLE IF NOT EXISTS rules_versions (
    version INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- draft | published
    label VARCHAR NOT NULL,             -- the rules file's own version string
    document JSON NOT NULL
);

-- Rule tables, materialised in full (every cell, defaults filled) per rules version so that the
-- scoring SQL needs no defaults.
CREATE TABLE IF NOT EXISTS rule_likelihood (
    rules_version INTEGER, term VARCHAR, p_low DOUBLE, p_central DOUBLE, p_high DOUBLE
);
CREATE TABLE IF NOT EXISTS rule_sector (
    rules_version INTEGER, category VARCHAR, sector VARCHAR, factor DOUBLE
);
CREATE TABLE IF NOT EXISTS rule_vuln (
    rules_version INTEGER, item_kind VARCHAR, category VARCHAR, key VARCHAR, factor DOUBLE
);
CREATE TABLE IF NOT EXISTS rule_mitigation (
    rules_version INTEGER, mitigation VARCHAR, category VARCHAR, credit DOUBLE
);
CREATE TABLE IF NOT EXISTS rule_bands (
    rules_version INTEGER, band VARCHAR, label VARCHAR, min_score DOUBLE
);

CREATE TABLE IF NOT EXISTS regions (
    region_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    country VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    radius_km DOUBLE
);

CREATE TABLE IF NOT EXISTS clients (
    client_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    hq_country VARCHAR NOT NULL,
    affiliations VARCHAR[] NOT NULL,
    description VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    business_value_usd DOUBLE           -- sets the client's materiality threshold (rules)
);

CREATE TABLE IF NOT EXISTS services (
    client_id VARCHAR NOT NULL,
    service_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    tolerance_days DOUBLE NOT NULL,
    PRIMARY KEY (client_id, service_id)
);

CREATE TABLE IF NOT EXISTS exposure_versions (
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    n_assets INTEGER NOT NULL,
    n_routes INTEGER NOT NULL,
    PRIMARY KEY (client_id, version)
);

CREATE TABLE IF NOT EXISTS exposure_current (
    client_id VARCHAR PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS assets (
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    asset_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    asset_type VARCHAR NOT NULL,
    lat DOUBLE,
    lon DOUBLE,
    city VARCHAR,
    country VARCHAR,
    country_iso3 VARCHAR,
    subdivision VARCHAR,
    geo_precision VARCHAR,
    value_usd DOUBLE NOT NULL,
    criticality INTEGER NOT NULL,
    headcount INTEGER NOT NULL,
    service_id VARCHAR,
    mitigations VARCHAR[] NOT NULL,
    class_id INTEGER NOT NULL           -- its exposure class (see exposure_classes)
);

CREATE TABLE IF NOT EXISTS routes (
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    route_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    route_key VARCHAR NOT NULL,
    commodity VARCHAR NOT NULL,
    annual_value_usd DOUBLE NOT NULL,
    shipments_per_year INTEGER NOT NULL,
    service_id VARCHAR,
    criticality INTEGER NOT NULL,
    class_id INTEGER NOT NULL
);

-- A geo profile: the set of regions that contain a place (or a sea route), with the distance to
-- each hotspot centre and, for routes, the detour if the region's chokepoint closes. Items at
-- the same place share one profile; profiles are shared by all clients and versions.
CREATE TABLE IF NOT EXISTS geo_regions (
    geo_key VARCHAR NOT NULL,
    region_id VARCHAR NOT NULL,
    distance_km DOUBLE,
    extra_days DOUBLE,
    no_alternative BOOLEAN NOT NULL,
    PRIMARY KEY (geo_key, region_id)
);

-- An exposure class: the items of one client version that every threat treats alike (same
-- geo profile, asset type or commodity, mitigations and business service). Scoring works on
-- classes; an item's numbers are its class's numbers.
CREATE TABLE IF NOT EXISTS exposure_classes (
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    class_id INTEGER NOT NULL,
    item_kind VARCHAR NOT NULL,         -- asset | route
    geo_key VARCHAR NOT NULL,
    vkey VARCHAR NOT NULL,              -- asset type or commodity
    asset_type VARCHAR,
    commodity VARCHAR,
    mitigations VARCHAR[] NOT NULL,
    service_id VARCHAR,
    n_items INTEGER NOT NULL,
    value_usd DOUBLE NOT NULL,
    max_criticality INTEGER NOT NULL,
    weight_m DOUBLE NOT NULL,           -- the materiality threshold the load weighed with
    weight DOUBLE NOT NULL,             -- sum over its items of value / (value + weight_m)
    PRIMARY KEY (client_id, version, class_id)
);

-- Class weights for other materiality thresholds (rules or business value changed after load).
CREATE TABLE IF NOT EXISTS class_weights (
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    materiality DOUBLE NOT NULL,
    class_id INTEGER NOT NULL,
    weight DOUBLE NOT NULL,
    PRIMARY KEY (client_id, version, materiality, class_id)
);

-- Sea routes by port pair: computed once, reused by every client and version.
CREATE TABLE IF NOT EXISTS route_cache (
    route_key VARCHAR PRIMARY KEY,
    info JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    register_version INTEGER NOT NULL,
    rules_version INTEGER NOT NULL,
    scenario_id VARCHAR,
    as_of DATE NOT NULL,
    n_clients INTEGER NOT NULL,
    seconds DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS run_exposures (
    run_id INTEGER NOT NULL,
    client_id VARCHAR NOT NULL,
    version INTEGER NOT NULL
);

-- The threats exactly as scored in a run: register + scenario, likelihood already mapped through
-- the yardstick and the horizon.
CREATE TABLE IF NOT EXISTS run_threats (
    run_id INTEGER NOT NULL,
    threat_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    likelihood VARCHAR NOT NULL,
    likelihood_words VARCHAR NOT NULL,
    p_low DOUBLE NOT NULL,
    p_central DOUBLE NOT NULL,
    p_high DOUBLE NOT NULL,
    severity INTEGER NOT NULL,
    in_horizon BOOLEAN NOT NULL,
    untargeted BOOLEAN NOT NULL,
    t_affiliations VARCHAR[] NOT NULL,
    t_sectors VARCHAR[] NOT NULL,
    t_asset_types VARCHAR[] NOT NULL,
    t_commodities VARCHAR[] NOT NULL,
    evidence JSON NOT NULL,             -- [{section, paragraph, summary}]
    from_scenario BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS run_threat_regions (
    run_id INTEGER NOT NULL,
    threat_id VARCHAR NOT NULL,
    region_id VARCHAR NOT NULL,
    intensity DOUBLE NOT NULL
);

-- Per run: each class of the book, its risk profile and its weight in the client's rating.
CREATE TABLE IF NOT EXISTS run_classes (
    run_id INTEGER NOT NULL,
    client_id VARCHAR NOT NULL,
    class_id INTEGER NOT NULL,
    profile_id UBIGINT NOT NULL,
    n_items INTEGER NOT NULL,
    value_usd DOUBLE NOT NULL,
    max_criticality INTEGER NOT NULL,
    weight DOUBLE NOT NULL
);

-- Per run: each risk profile (what a class looks like to the threats) and its item risk R.
CREATE TABLE IF NOT EXISTS run_profiles (
    run_id INTEGER NOT NULL,
    profile_id UBIGINT NOT NULL,
    sector VARCHAR NOT NULL,
    affiliations VARCHAR[] NOT NULL,
    item_kind VARCHAR NOT NULL,
    geo_key VARCHAR NOT NULL,
    vkey VARCHAR NOT NULL,
    mkey VARCHAR NOT NULL,
    tol DOUBLE,
    risk_low DOUBLE NOT NULL,
    risk_central DOUBLE NOT NULL,
    risk_high DOUBLE NOT NULL
);

-- Per run: each (profile, threat) contribution r; every item with that profile has it.
CREATE TABLE IF NOT EXISTS run_contributions (
    run_id INTEGER NOT NULL,
    profile_id UBIGINT NOT NULL,
    threat_id VARCHAR NOT NULL,
    region_id VARCHAR NOT NULL,         -- the region where the threat bears hardest
    r_low DOUBLE NOT NULL,
    r_central DOUBLE NOT NULL,
    r_high DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS run_clients (
    run_id INTEGER NOT NULL,
    client_id VARCHAR NOT NULL,
    n_items INTEGER NOT NULL,
    total_value_usd DOUBLE NOT NULL,
    ead_central DOUBLE NOT NULL,
    worst_central DOUBLE NOT NULL,
    risk_low DOUBLE NOT NULL,
    risk_central DOUBLE NOT NULL,
    risk_high DOUBLE NOT NULL,
    score_low DOUBLE NOT NULL,          -- resilience at the high end of every likelihood range
    score DOUBLE NOT NULL,
    score_high DOUBLE NOT NULL,         -- resilience at the low end of every likelihood range
    band_low VARCHAR NOT NULL,
    band VARCHAR NOT NULL,
    band_high VARCHAR NOT NULL
);
