-- Results and failure rate per product category and quarter of sampling (e.g. 2026Q2).
SELECT category, quarter,
       count(*) AS results,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures,
       round(avg(CASE WHEN verdict = 'fail' THEN 1.0 ELSE 0.0 END), 4) AS failure_rate
FROM results_by_quarter
GROUP BY 1, 2
