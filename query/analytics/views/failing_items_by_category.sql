-- How often each test item was tested and failed, per category: the items that fail most.
SELECT category,
       item_name,
       count(*) AS tested,
       sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures
FROM result_items
GROUP BY 1, 2
