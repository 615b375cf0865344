-- Every result with the quarter of its sampling date (e.g. 2026Q2): the base of the quarterly views.
SELECT *,
       concat(CAST(date_part('year', sampling_date) AS BIGINT), 'Q', CAST(date_part('quarter', sampling_date) AS BIGINT)) AS quarter
FROM results
