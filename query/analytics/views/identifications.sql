-- The identification queue: parties of the newest case revisions named without a credit code
-- that neither the registry nor an official has identified yet (nothing is served or disclosed
-- to them until then). One row per (case, party).
SELECT case_id, report_no, lab_id, role, name, reason
FROM case_subjects
WHERE disclosure = 'identification_pending'
