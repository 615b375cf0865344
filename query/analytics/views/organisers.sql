-- Each way the results write an organiser, with its key (`organiser_key`: one authority however
-- written, 南开区市场监管局 = 天津市南开区市场监督管理局): queries join on the exact text and compare
-- the key, so the key is computed once per spelling, never per result.
SELECT organiser, organiser_key(organiser) AS organiser_key
FROM (SELECT DISTINCT organiser FROM results WHERE organiser IS NOT NULL)
