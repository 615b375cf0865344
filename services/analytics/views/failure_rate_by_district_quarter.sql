-- Results and failure rate per district of the sampled unit (GB/T 2260 code) and quarter.
SELECT district, quarter,
       count(*) AS results,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures,
       round(avg(CASE WHEN verdict = 'fail' THEN 1.0 ELSE 0.0 END), 4) AS failure_rate
FROM results_by_quarter
GROUP BY 1, 2
