-- Every test item as it stands (the quarterly report counts these): a failed item of a failure
-- the re-test overturned, or one an upheld re-test found conforming (复检合格, the case's
-- `cleared_items`), is the pass the re-test concluded; the items of a result revoked by a
-- decision are none. Every column of `result_items`, plus `standing_verdict`.
SELECT i.*,
       CASE WHEN i.verdict = 'fail'
                 AND (c.status = 'overturned'
                      OR coalesce(array_has(string_to_array(c.cleared_items, '; '), i.item_name), false))
            THEN 'pass' ELSE i.verdict END AS standing_verdict
FROM result_items AS i
LEFT JOIN cases AS c ON c.report_no = i.report_no AND c.lab_id = i.lab_id
WHERE c.status IS NULL OR c.status <> 'revoked'
