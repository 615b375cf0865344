-- The six-month rule (docs/domain.md; 产品质量监督抽查管理暂行办法): an organiser (however written:
-- `organiser_key`, 南开区市场监管局 = 天津市南开区市场监督管理局) may not spot-check
-- the same producer's same product (brand, model, standard) again within {repeat_months} months,
-- except as a follow-up check (跟踪抽查) of a failed product. One row per pair of samplings that
-- breaks it: `later` repeats `earlier`. A sampling marked `follow_up` breaks it only when none of
-- the samplings it repeats failed as things stand (a failure a re-test overturned, or a result
-- revoked, is none: `cases`). The same producer is the same credit code when both samplings
-- give one, else the same name however spelt (`name_key`: 天津市… = 天津…, 有限责任公司 =
-- 有限公司, widths and spaces aside; a label that names none, `/` for a 三无 product, is no
-- producer: two such are not the same; a label the producer denies, `denied_labels`, was no
-- sampling of its product);
-- brand and model match however written (`product_key`: widths, spaces, case, Ⅴ = V, a trailing
-- 型; `/`, `无`, `无商标` for no brand are no brand);
-- standards match when they name the same numbers however written (`standards_key`: titles,
-- spaces, widths and order aside) or either sampling names none. Samplings on one day are
-- ordered by lab and report number, so a pair is reported once. Used by the `warnings` view
-- (both sides `results`) and by the plan check (`later` = the planned or just accepted
-- samplings).
WITH spellings AS (
    -- Each way an organiser is written, with its key (keyed once per spelling, not per row).
    SELECT organiser, organiser_key(organiser) AS organiser_key
    FROM (SELECT organiser FROM {later} UNION SELECT organiser FROM {earlier})
    WHERE organiser IS NOT NULL
)
SELECT report_no, lab_id, organiser, category, producer_name, producer_uscc, brand, model,
       sampling_date, earlier_report_no, earlier_lab_id, earlier_sampling_date, earlier_verdict,
       CASE WHEN follow_up
            THEN concat(message, '；标注为跟踪抽查，但此前抽查无不合格（或不合格已被复检推翻、撤销）')
            ELSE concat(message, '且未标注为跟踪抽查')
       END AS message
FROM (
    SELECT later.report_no,
           later.lab_id,
           later.organiser,
           later.category,
           later.producer_name,
           later.producer_uscc,
           later.brand,
           later.model,
           later.sampling_date,
           earlier.report_no AS earlier_report_no,
           earlier.lab_id AS earlier_lab_id,
           earlier.sampling_date AS earlier_sampling_date,
           earlier.verdict AS earlier_verdict,
           coalesce(later.follow_up, false) AS follow_up,
           max(CASE WHEN earlier.verdict = 'fail'
                         AND coalesce(c.status, '') NOT IN ('overturned', 'revoked')
                    THEN 1 ELSE 0 END)
               OVER (PARTITION BY later.lab_id, later.report_no) AS follows_a_failure,
           concat('同一组织单位已于', CAST(earlier.sampling_date AS VARCHAR),
                  '抽查该生产企业同一产品（', earlier.lab_id, ' 报告 ', earlier.report_no,
                  '），六个月内再次抽查') AS message
    FROM (SELECT l.*, k.organiser_key FROM {later} AS l
          JOIN spellings AS k ON k.organiser = l.organiser) AS later
    JOIN (SELECT e.*, k.organiser_key FROM {earlier} AS e
          JOIN spellings AS k ON k.organiser = e.organiser) AS earlier
      ON later.organiser_key = earlier.organiser_key
     AND product_key(later.model) = product_key(earlier.model)
     AND coalesce(product_key(later.brand), '') = coalesce(product_key(earlier.brand), '')
    LEFT JOIN cases AS c ON c.report_no = earlier.report_no AND c.lab_id = earlier.lab_id
    LEFT JOIN denied_labels AS f ON f.report_no = earlier.report_no AND f.lab_id = earlier.lab_id
    WHERE names_a_producer(later.producer_name)
      AND f.report_no IS NULL
      AND CASE WHEN later.producer_uscc IS NOT NULL AND earlier.producer_uscc IS NOT NULL
               THEN later.producer_uscc = earlier.producer_uscc
               ELSE name_key(later.producer_name) = name_key(earlier.producer_name)
          END
      AND (coalesce(later.standards, '') = ''
           OR coalesce(earlier.standards, '') = ''
           OR standards_key(later.standards) = standards_key(earlier.standards))
      AND later.sampling_date < earlier.sampling_date + INTERVAL '{repeat_months}' MONTH
      AND (earlier.sampling_date < later.sampling_date
           OR (earlier.sampling_date = later.sampling_date
               AND concat(earlier.lab_id, '/', earlier.report_no)
                   < concat(later.lab_id, '/', later.report_no)))
)
WHERE NOT follow_up OR follows_a_failure = 0
