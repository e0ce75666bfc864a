-- Migration 003: the split-invariant method (issue 9).
-- Reads: exposure_classes, assets. Writes: alters exposure_classes, geo_regions, run_threats,
-- run_classes; drops class_weights.
-- An item now weighs by value / business value, worked out by each run under its own rules, so the
-- classes no longer carry a weight fixed at load time. Classes carry their headcount (people can
-- count in the rating when the rules say so); route regions carry the detour's length ratio, so
-- the rules, not the loader, decide when a detour is no sea alternative; run threats carry the
-- horizon and the outlook window's share of it.

ALTER TABLE exposure_classes ADD COLUMN headcount BIGINT DEFAULT 0;
UPDATE exposure_classes SET headcount = coalesce((
    SELECT sum(a.headcount) FROM assets a
    WHERE a.client_id = exposure_classes.client_id AND a.version = exposure_classes.version
      AND a.class_id = exposure_classes.class_id), 0);
ALTER TABLE exposure_classes DROP COLUMN weight;
ALTER TABLE exposure_classes DROP COLUMN weight_m;
DROP TABLE IF EXISTS class_weights;

-- length of the shortest detour over the usual route's; NULL where none was computed
ALTER TABLE geo_regions ADD COLUMN alt_ratio DOUBLE;

ALTER TABLE run_threats ADD COLUMN months_elapsed DOUBLE;   -- run date, months after the brief
ALTER TABLE run_threats ADD COLUMN horizon_from DOUBLE;
ALTER TABLE run_threats ADD COLUMN horizon_to DOUBLE;
-- current | expired (horizon ended: counted as last judged) | upcoming (starts inside the window)
-- | beyond_outlook (starts after the window: not counted)
ALTER TABLE run_threats ADD COLUMN status VARCHAR;
ALTER TABLE run_threats ADD COLUMN window_share DOUBLE;     -- share of the horizon in the window

ALTER TABLE run_classes ADD COLUMN headcount BIGINT;
