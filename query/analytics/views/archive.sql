-- A unit's quality-safety credit archive (产品质量安全信用档案): one row per event that concerns the unit,
-- by USCC — each result where it was sampled or is the nominal producer (pass or fail; named with
-- its credit code, or without one and identified since: `identified_parties`), each case it is in
-- (with its referral), each notice (三书一函) addressed to it, each disclosure and retraction under
-- its name, each sampling-plan warning on its products, each on-site inspection of it (one row per
-- finding; `status` the finding kind, `no_finding` when nothing was found) and each finding where
-- it is the supplier. `event` is an id (sampled, produced, case, notice, disclosure, retraction,
-- warning, inspected, supplied); `status` and `kind` are the ids of the event's own vocabulary
-- (verdict, case status, notice kind…). Pages show them in Chinese. A date taken from a time (a
-- case's or a notice's update, a publication) is China's date (UTC+8): the lake keeps times in
-- UTC.
WITH known AS (
    SELECT r.*,
           coalesce(r.sampled_unit_uscc, p.sampled_unit_uscc) AS known_sampled_unit_uscc,
           coalesce(r.producer_uscc, p.producer_uscc) AS known_producer_uscc,
           d.report_no IS NOT NULL AS denied_label
    FROM results AS r
    LEFT JOIN identified_parties AS p ON p.report_no = r.report_no AND p.lab_id = r.lab_id
    LEFT JOIN denied_labels AS d ON d.report_no = r.report_no AND d.lab_id = r.lab_id
)
SELECT known_sampled_unit_uscc AS uscc, sampling_date AS on_date, 'sampled' AS event, report_no,
       lab_id, CAST(NULL AS VARCHAR) AS case_id, verdict AS status, category AS kind,
       concat(product_name, ' ', coalesce(brand, ''), ' ', model, ' 批号 ', batch) AS detail
FROM known
WHERE known_sampled_unit_uscc IS NOT NULL
UNION ALL
SELECT known_producer_uscc, sampling_date, 'produced', report_no, lab_id, CAST(NULL AS VARCHAR),
       verdict, category,
       concat(product_name, ' ', coalesce(brand, ''), ' ', model, ' 批号 ', batch, '（于 ',
              sampled_unit_name, ' 抽样',
              CASE WHEN denied_label THEN '；标称生产企业否认生产，涉嫌假冒' ELSE '' END, '）')
FROM known
WHERE known_producer_uscc IS NOT NULL
  AND (known_sampled_unit_uscc IS NULL OR known_sampled_unit_uscc <> known_producer_uscc)
UNION ALL
SELECT u.uscc, CAST(c.updated_at + INTERVAL '8 hours' AS DATE), 'case', c.report_no, c.lab_id, c.case_id, c.status,
       u.direction,
       concat(c.producer_name, ' ', c.model, ' 批号 ', c.batch,
              CASE WHEN u.referred AND f.report_no IS NOT NULL AND u.uscc = c.producer_uscc
                        THEN '（标称生产企业否认生产，涉嫌假冒，已移送调查）'
                   WHEN u.referred THEN '（辖区外，已移送）'
                   WHEN NOT u.responsible THEN '（持有该批次产品，停止销售、召回；非整改责任单位）'
                   ELSE '' END)
FROM case_units AS u
JOIN cases AS c ON c.case_id = u.case_id
LEFT JOIN denied_labels AS f ON f.report_no = c.report_no AND f.lab_id = c.lab_id
UNION ALL
SELECT n.notice['to'], CAST(n.updated_at + INTERVAL '8 hours' AS DATE), 'notice', n.report_no, n.lab_id, n.case_id,
       n.notice['status'], n.notice['kind'],
       concat('第', CAST(n.notice['number'] AS VARCHAR), '号文书，期限 ',
              coalesce(n.notice['due_on'], '—'))
FROM (
    SELECT case_id, report_no, lab_id, updated_at, unnest(notices_of(notices_json)) AS notice
    FROM cases
) AS n
UNION ALL
SELECT subject_uscc, CAST(published_at + INTERVAL '8 hours' AS DATE),
       CASE WHEN action = 'retract' THEN 'retraction' ELSE 'disclosure' END, report_no, lab_id,
       case_id, action, subject_role,
       concat(product_name, ' ', model, ' 批号 ', batch, '：', coalesce(failed_items, ''))
FROM disclosures
UNION ALL
SELECT coalesce(w.producer_uscc, p.producer_uscc), w.sampling_date, 'warning', w.report_no,
       w.lab_id, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), w.kind, w.message
FROM warnings AS w
LEFT JOIN identified_parties AS p ON p.report_no = w.report_no AND p.lab_id = w.lab_id
WHERE coalesce(w.producer_uscc, p.producer_uscc) IS NOT NULL
UNION ALL
SELECT unit_uscc, inspected_on, 'inspected', coalesce(case_report_no, inspection_id), 'inspection',
       CAST(NULL AS VARCHAR), coalesce(kind, 'no_finding'), category,
       concat('检查记录 ', inspection_id, '；检查人员 ', inspectors,
              CASE WHEN place IS NULL THEN '' ELSE concat('；地点 ', place) END,
              CASE WHEN product_name IS NULL THEN '' ELSE concat('；', product_name) END,
              CASE WHEN description IS NULL THEN '' ELSE concat('：', description) END)
FROM inspections
WHERE unit_uscc IS NOT NULL
UNION ALL
SELECT supplier_uscc, inspected_on, 'supplied', case_report_no, 'inspection',
       CAST(NULL AS VARCHAR), kind, category,
       concat(coalesce(product_name, ''), '（于 ', unit_name, ' 现场检查发现，检查记录 ',
              inspection_id, '）')
FROM inspections
WHERE supplier_uscc IS NOT NULL
