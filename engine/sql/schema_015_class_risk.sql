-- Migration 015: each class of a run carries its risk profile's item risk (issue 15).
-- Reads: run_classes, run_profiles. Writes: adds run_classes.risk_low, risk_central and
-- risk_high, filled for the runs already stored.
-- A client's rating, and a what-if on it, then reads only that client's rows of run_classes
-- (stored in client order) instead of probing the run's profiles, which grow with the book.
ALTER TABLE run_classes ADD COLUMN risk_low DOUBLE;
ALTER TABLE run_classes ADD COLUMN risk_central DOUBLE;
ALTER TABLE run_classes ADD COLUMN risk_high DOUBLE;
UPDATE run_classes SET risk_low = p.risk_low, risk_central = p.risk_central,
    risk_high = p.risk_high
FROM run_profiles p
WHERE p.run_id = run_classes.run_id AND p.profile_id = run_classes.profile_id;
