-- The units of each case's newest revision: one row per (case, unit).
SELECT DISTINCT u.case_id, u.revision, u.uscc, u.name, u.role, u.direction, u.hops,
       u.quantity_received, u.district, u.in_region, u.referred
FROM case_unit_revisions u
JOIN (SELECT case_id, max(revision) AS revision FROM case_revisions GROUP BY case_id) latest
  ON u.case_id = latest.case_id AND u.revision = latest.revision
