-- Results reported by each lab per quarter, and how many failed.
SELECT lab_id,
       concat(CAST(date_part('year', sampling_date) AS BIGINT), 'Q', CAST(date_part('quarter', sampling_date) AS BIGINT)) AS quarter,
       count(*) AS results,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures
FROM results
GROUP BY 1, 2
