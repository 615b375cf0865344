-- The subjects of each case's newest revision: who the failure is recorded under, how each was
-- identified, and whether it is disclosed (disclose | identification_pending | referred | expired).
SELECT DISTINCT s.case_id, s.revision, s.report_no, s.lab_id, s.role, s.name, s.uscc,
       s.identified_by, s.disclosure, s.reason
FROM case_subject_revisions s
JOIN (SELECT case_id, max(revision) AS revision FROM case_revisions GROUP BY case_id) latest
  ON s.case_id = latest.case_id AND s.revision = latest.revision
