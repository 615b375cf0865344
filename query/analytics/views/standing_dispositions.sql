-- The officials' records that count: every disposition but those withdrawn as entered by mistake
-- (a `withdrawn` record of the same case naming its `disposition_id`) and the withdrawals
-- themselves, as the traceback stage counts them. An identification is never withdrawn (a new
-- identification corrects it). The same columns as `dispositions`.
SELECT d.*
FROM dispositions AS d
WHERE d.kind <> 'withdrawn'
  AND (d.kind = 'identified'
       OR NOT EXISTS (SELECT 1 FROM dispositions AS w
                      WHERE w.kind = 'withdrawn' AND w.case_id = d.case_id
                        AND w.withdraws = d.disposition_id))
