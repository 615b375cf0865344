-- The sampling-plan warnings on accepted results (never a refusal): one row per warning.
-- `six_month_repeat`: the organiser sampled the same producer's same product within six months
-- before, and this result is not marked `follow_up` (跟踪抽查). `licence_missing`: the category
-- needs a licence or certificate (`licence_requirements`) and the producer's registry entry
-- (`units`) holds none of those kinds valid on the sampling date; a producer without a USCC or
-- without a registry entry is not judged.
SELECT report_no,
       lab_id,
       'six_month_repeat' AS kind,
       '六个月内重复抽查' AS kind_zh,
       organiser,
       category,
       producer_name,
       producer_uscc,
       brand,
       model,
       sampling_date,
       earlier_report_no,
       earlier_lab_id,
       earlier_sampling_date,
       CAST(NULL AS VARCHAR) AS licence_required,
       concat('同一组织单位已于', CAST(earlier_sampling_date AS VARCHAR),
              '抽查该生产企业同一产品（', earlier_lab_id, ' 报告 ', earlier_report_no,
              '），六个月内再次抽查且未标注为跟踪抽查') AS message
FROM ({six_month_repeats})
UNION ALL
SELECT r.report_no,
       r.lab_id,
       'licence_missing' AS kind,
       '无有效许可证或认证' AS kind_zh,
       r.organiser,
       r.category,
       r.producer_name,
       r.producer_uscc,
       r.brand,
       r.model,
       r.sampling_date,
       CAST(NULL AS VARCHAR) AS earlier_report_no,
       CAST(NULL AS VARCHAR) AS earlier_lab_id,
       CAST(NULL AS DATE) AS earlier_sampling_date,
       q.licence_zh AS licence_required,
       concat('标称生产企业在抽样日（', CAST(r.sampling_date AS VARCHAR), '）无有效的',
              q.licence_zh, '（', q.basis, '）') AS message
FROM results AS r
JOIN licence_requirements AS q ON r.category = q.category
JOIN units AS u ON u.uscc = r.producer_uscc
WHERE NOT holds_licence(u.licences_json, q.licence_kinds, r.sampling_date)
