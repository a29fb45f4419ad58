-- The answer key of the leakage check (tests/tests/smart_leakage.rs) over a KIS database: every
-- row the facade can serve, with the patient whose compartment holds it, read off the legacy
-- tables' own patient keys (pat_id), not off the facade's compartment rules. Doctors are in no
-- patient's compartment.
SELECT 'Patient' AS resource_type, CAST(pat_id AS TEXT) AS id, CAST(pat_id AS TEXT) AS patient
  FROM patient
UNION ALL
SELECT 'Encounter', CAST(fall_id AS TEXT), CAST(pat_id AS TEXT) FROM fall
UNION ALL
SELECT 'Observation', CAST(befund_id AS TEXT), CAST(pat_id AS TEXT) FROM labor_befund
UNION ALL
SELECT 'Condition', CAST(diag_id AS TEXT), CAST(pat_id AS TEXT) FROM diagnose
UNION ALL
SELECT 'Practitioner', CAST(arzt_id AS TEXT), NULL FROM arzt
