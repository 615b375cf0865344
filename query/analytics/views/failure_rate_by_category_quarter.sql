-- Results and failure rate per product category and quarter of sampling (e.g. 2026Q2).
-- Counted per day first, then the days summed into quarters: the quarter is computed for a
-- few hundred days instead of for every row (in DataFusion 55 that halves the time, 1M rows).
SELECT category,
       concat(CAST(date_part('year', sampling_date) AS BIGINT), 'Q',
              CAST(date_part('quarter', sampling_date) AS BIGINT)) AS quarter,
       sum(results) AS results,
       sum(failures) AS failures,
       round(CAST(sum(failures) AS DOUBLE) / sum(results), 4) AS failure_rate
FROM (
    SELECT category,
           sampling_date,
           count(*) AS results,
           sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures
    FROM results
    GROUP BY 1, 2
)
GROUP BY 1, 2
