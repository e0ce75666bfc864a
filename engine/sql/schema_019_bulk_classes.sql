-- Migration 019: exposure classes without a primary key index (issue 15, the bulk load).
-- Reads: exposure_classes. Writes: exposure_classes, rebuilt with the same columns, constraints
-- and rows, in (client, version, class) order, without its primary key.
-- A class's (client_id, version, class_id) is unique by construction: the loader numbers a
-- version's classes 1, 2, ... as it writes the version, once (exposures.prepare.assign_classes),
-- and a version number is taken once (exposure_versions keeps its primary key). The index only
-- cost time: a million classes a book load inserted into it, and every checkpoint rewrote it.
-- (On PostgreSQL the store drops the constraint itself instead: engine/store.py.)
CREATE TABLE exposure_classes_019 (
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
    headcount BIGINT DEFAULT 0
);
INSERT INTO exposure_classes_019 BY NAME
SELECT * FROM exposure_classes ORDER BY client_id, version, class_id;
DROP TABLE exposure_classes;
ALTER TABLE exposure_classes_019 RENAME TO exposure_classes;
