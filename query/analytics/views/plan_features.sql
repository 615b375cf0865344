-- What the "where to sample next" ranking reads of each unit (query/analytics/src/plan.rs
-- turns it into points and reasons): every registered unit and every unit a result names, in
-- the district `{district}` (a division-code prefix; '' for all), as of `{as_of}`:
-- failures that stand (as sampled unit or nominal producer, named with a credit code or without
-- one and identified since, `identified_parties`; `standing_results`: not one a re-test
-- overturned or a decision revoked; a nominal producer not for a label it denies,
-- `denied_labels`) in the 12 months before and in the 24 before those, the last sampling (by
-- anyone, and by the organiser `{organiser}` however written — `organiser_key` — and whether
-- the organiser's last one failed), cases not closed and overdue
-- ones, its latest category's failure rate over the 12 months before, whether its registry entry
-- (a producer's) lacks a licence the category needs, and its area (urban, urban_rural_fringe,
-- rural).
-- The planning organiser's spellings among the results.
WITH planning AS (
    SELECT organiser FROM organisers WHERE organiser_key = organiser_key({organiser})
),
known AS (
    SELECT s.sampled_unit_name, s.producer_name, s.district, s.category, s.sampling_date,
           s.standing_verdict, g.organiser IS NOT NULL AS by_organiser,
           coalesce(s.sampled_unit_uscc, p.sampled_unit_uscc) AS sampled_unit_uscc,
           coalesce(s.producer_uscc, p.producer_uscc) AS producer_uscc,
           d.report_no IS NOT NULL AS denied_label
    FROM standing_results AS s
    LEFT JOIN identified_parties AS p ON p.report_no = s.report_no AND p.lab_id = s.lab_id
    LEFT JOIN planning AS g ON g.organiser = s.organiser
    LEFT JOIN denied_labels AS d ON d.report_no = s.report_no AND d.lab_id = s.lab_id
    WHERE s.sampling_date < DATE '{as_of}'
),
involvement AS (
    SELECT sampled_unit_uscc AS uscc, sampled_unit_name AS name, district, category,
           sampling_date, standing_verdict AS verdict, by_organiser
    FROM known
    WHERE sampled_unit_uscc IS NOT NULL
    UNION ALL
    SELECT producer_uscc, producer_name, CAST(NULL AS VARCHAR), category, sampling_date,
           standing_verdict, by_organiser
    FROM known
    -- A label the nominal producer denies (`denied_labels`) is no sample of its product.
    WHERE producer_uscc IS NOT NULL AND NOT denied_label
      AND (sampled_unit_uscc IS NULL OR sampled_unit_uscc <> producer_uscc)
),
history AS (
    SELECT uscc,
           max(name) AS seen_name,
           max(district) AS seen_district,
           last_value(category ORDER BY sampling_date) AS category,
           sum(CASE WHEN verdict = 'fail' AND sampling_date >= DATE '{as_of}' - INTERVAL '12' MONTH
                    THEN 1 ELSE 0 END) AS failures_12m,
           sum(CASE WHEN verdict = 'fail' AND sampling_date < DATE '{as_of}' - INTERVAL '12' MONTH
                     AND sampling_date >= DATE '{as_of}' - INTERVAL '36' MONTH
                    THEN 1 ELSE 0 END) AS failures_older,
           sum(CASE WHEN sampling_date >= DATE '{as_of}' - INTERVAL '36' MONTH THEN 1 ELSE 0 END)
               AS samples_36m,
           max(sampling_date) AS last_sampled,
           max(CASE WHEN by_organiser THEN sampling_date END) AS last_by_organiser,
           max(CASE WHEN by_organiser AND verdict = 'fail' THEN sampling_date END)
               AS last_failed_by_organiser
    FROM involvement
    GROUP BY uscc
),
rates AS (
    SELECT category, avg(CASE WHEN standing_verdict = 'fail' THEN 1.0 ELSE 0.0 END) AS rate
    FROM standing_results
    WHERE sampling_date < DATE '{as_of}' AND sampling_date >= DATE '{as_of}' - INTERVAL '12' MONTH
    GROUP BY category
),
open_cases AS (
    SELECT u.uscc,
           count(DISTINCT c.case_id) AS open_cases,
           -- Overdue: ordered (recorded or the notice served: `rectifying`, or still in the
           -- re-test, which does not suspend the order) and past the deadline; a unit that only
           -- holds the batch was not ordered to rectify.
           count(DISTINCT CASE WHEN c.rectify_by < DATE '{as_of}'
                                AND c.status IN ('rectifying', 'retest')
                                AND coalesce(u.responsible, true)
                               THEN c.case_id END) AS overdue_cases
    FROM case_units AS u
    JOIN cases AS c ON c.case_id = u.case_id
    WHERE c.status NOT IN ('closed', 'overturned', 'revoked')
    GROUP BY u.uscc
),
candidates AS (
    SELECT coalesce(r.uscc, h.uscc) AS uscc,
           coalesce(r.name, h.seen_name) AS name,
           coalesce(r.district, h.seen_district) AS district,
           r.area,
           r.roles,
           r.licences_json,
           r.uscc IS NOT NULL AS registered,
           h.category,
           coalesce(h.failures_12m, 0) AS failures_12m,
           coalesce(h.failures_older, 0) AS failures_older,
           coalesce(h.samples_36m, 0) AS samples_36m,
           h.last_sampled,
           h.last_by_organiser,
           h.last_failed_by_organiser
    FROM units AS r
    FULL OUTER JOIN history AS h ON h.uscc = r.uscc
)
SELECT k.uscc, k.name, k.district, k.area, k.category, k.failures_12m, k.failures_older,
       k.samples_36m,
       CAST(k.last_sampled AS VARCHAR) AS last_sampled,
       CAST(k.last_by_organiser AS VARCHAR) AS last_by_organiser,
       CAST(k.last_failed_by_organiser AS VARCHAR) AS last_failed_by_organiser,
       coalesce(o.open_cases, 0) AS open_cases,
       coalesce(o.overdue_cases, 0) AS overdue_cases,
       coalesce(t.rate, 0.0) AS category_rate,
       coalesce(k.registered AND q.category IS NOT NULL AND k.roles LIKE '%producer%'
                AND NOT holds_licence(k.licences_json, q.licence_kinds, DATE '{as_of}'),
                false) AS licence_missing,
       q.licence_zh AS licence_required
FROM candidates AS k
LEFT JOIN open_cases AS o ON o.uscc = k.uscc
LEFT JOIN rates AS t ON t.category = k.category
LEFT JOIN licence_requirements AS q ON q.category = k.category
WHERE coalesce(k.district, '') LIKE '{district}%'
