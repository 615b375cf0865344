-- Results and failure rate per district of the sampled unit (GB/T 2260 code) and quarter.
SELECT district,
       concat(CAST(date_part('year', sampling_date) AS BIGINT), 'Q', CAST(date_part('quarter', sampling_date) AS BIGINT)) AS quarter,
       count(*) AS results,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures,
       round(avg(CASE WHEN verdict = 'fail' THEN 1.0 ELSE 0.0 END), 4) AS failure_rate
FROM results
GROUP BY 1, 2
