-- Traceback cases, newest revision of each (a re-sent revision counts once).
SELECT case_id, revision, report_no, lab_id, category, batch_key, producer_uscc, producer_name,
       model, batch, status, origin_uscc, origin_name, origin_role, units, referrals,
       notices_proposed, objection_until, final_on, rectify_by, recheck_by, notices_json,
       gaps_json, updated_at, steps_json, gaps_zh_json, cleared_items
FROM (
    SELECT *, row_number() OVER (PARTITION BY case_id ORDER BY revision DESC, source_offset DESC) AS revision_rank
    FROM case_revisions
)
WHERE revision_rank = 1
