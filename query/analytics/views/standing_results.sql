-- Every result as it stands (the quarterly report and the where-to-sample ranking count these):
-- a failure the re-test overturned is the pass the re-test concluded (PQL Art 15, as the
-- bulletin lists it), and a result revoked by a decision is no result at all. Every column of
-- `results_by_quarter`, plus `standing_verdict`.
SELECT q.*,
       CASE WHEN c.status = 'overturned' THEN 'pass' ELSE q.verdict END AS standing_verdict
FROM results_by_quarter AS q
LEFT JOIN cases AS c ON c.report_no = q.report_no AND c.lab_id = q.lab_id
WHERE c.status IS NULL OR c.status <> 'revoked'
