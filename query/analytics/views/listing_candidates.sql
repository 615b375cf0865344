-- Units that may belong on the serious-dishonesty list (严重违法失信名单, SAMR Order 44), for human
-- review — never a listing by itself: a failed second re-check (the case is suspended), or
-- {failures} or more final failures disclosed within the last {months} months (each disclosure
-- as it stands now: its newest action; retracted ones do not count, a corrected one counts once).
-- One row per unit and reason.
SELECT subject_uscc AS uscc,
       max(subject_name) AS name,
       'repeated_final_failures' AS reason,
       count(*) AS final_failures,
       min(final_on) AS first_final_on,
       max(final_on) AS last_final_on
FROM (
    SELECT *, row_number() OVER (PARTITION BY disclosure_id
                                 ORDER BY published_at DESC, source_offset DESC) AS newest
    FROM disclosures
)
WHERE newest = 1
  AND action = 'publish'
  -- Today in China (UTC+8), whatever the server's time zone (docs/domain.md, Periods).
  AND final_on >= CAST(now() + INTERVAL '8 hours' AS DATE) - INTERVAL '{months}' MONTH
GROUP BY subject_uscc
HAVING count(*) >= {failures}
UNION ALL
-- The unit whose second re-check failed: the one its listed supervision for that cause is
-- addressed to (the sampled unit, the producer, or both when the re-check named no unit).
SELECT n.notice['to'] AS uscc,
       max(u.name) AS name,
       'second_recheck_failed' AS reason,
       CAST(NULL AS BIGINT) AS final_failures,
       min(n.final_on) AS first_final_on,
       max(n.final_on) AS last_final_on
FROM (
    SELECT case_id, final_on, unnest(notices_of(notices_json)) AS notice
    FROM cases
    WHERE status IN ('suspended', 'revocation_referred')
) AS n
LEFT JOIN case_units AS u ON u.case_id = n.case_id AND u.uscc = n.notice['to']
WHERE n.notice['kind'] = 'listed_supervision' AND n.notice['cause'] = 'second_recheck_failed'
GROUP BY n.notice['to']
