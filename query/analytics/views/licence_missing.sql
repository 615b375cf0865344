-- The licence rule: the category needs a licence or certificate (`licence_requirements`) and the
-- producer's registry entry (`units`) holds none of those kinds valid on the sampling date. A
-- producer without a USCC or without a registry entry is not judged. One row per sampling of
-- `{sampled}` (the results, or the planned or just accepted samplings) that breaks it.
SELECT s.report_no,
       s.lab_id,
       s.organiser,
       s.category,
       s.producer_name,
       s.producer_uscc,
       s.brand,
       s.model,
       s.sampling_date,
       q.licence_zh AS licence_required,
       concat('标称生产企业在抽样日（', CAST(s.sampling_date AS VARCHAR), '）无有效的',
              q.licence_zh, '（', q.basis, '）') AS message
FROM {sampled} AS s
JOIN licence_requirements AS q ON s.category = q.category
JOIN units AS u ON u.uscc = s.producer_uscc
WHERE NOT holds_licence(u.licences_json, q.licence_kinds, s.sampling_date)
