-- The units of each case's newest revision: one row per (case, unit). `responsible`: the unit
-- answers for the failure (sampled unit, producer, an inspection's supplier) and is ordered to
-- rectify; false for a unit that only holds the batch; null in revisions before rules 31.
SELECT DISTINCT u.case_id, u.revision, u.uscc, u.name, u.role, u.direction, u.hops,
       u.quantity_received, u.district, u.in_region, u.referred, u.responsible
FROM case_unit_revisions u
JOIN (SELECT case_id, max(revision) AS revision FROM case_revisions GROUP BY case_id) latest
  ON u.case_id = latest.case_id AND u.revision = latest.revision
