-- Results and failure rate per district of the sampled unit (GB/T 2260 code) and quarter.
-- Grouped by the year and the quarter as numbers, the label built once per group (see
-- `lab_volume`).
SELECT district,
       concat(year, 'Q', quarter_of_year) AS quarter,
       results,
       failures,
       failure_rate
FROM (
    SELECT district,
           CAST(date_part('year', sampling_date) AS BIGINT) AS year,
           CAST(date_part('quarter', sampling_date) AS BIGINT) AS quarter_of_year,
           count(*) AS results,
           sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures,
           round(avg(CASE WHEN verdict = 'fail' THEN 1.0 ELSE 0.0 END), 4) AS failure_rate
    FROM results
    GROUP BY 1, 2, 3
)
