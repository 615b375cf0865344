-- Results reported by each lab per quarter, and how many failed.
SELECT lab_id, quarter,
       count(*) AS results,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures
FROM results_by_quarter
GROUP BY 1, 2
