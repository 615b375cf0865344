-- The sampling-plan warnings on accepted results (never a refusal): one row per warning.
-- `six_month_repeat`: the organiser sampled the same producer's same product within six months
-- before, and this result is not marked `follow_up` (跟踪抽查) — see six_month_repeats.sql.
-- `licence_missing`: the producer holds no valid licence its category needs — see
-- licence_missing.sql.
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
       message
FROM ({six_month_repeats})
UNION ALL
SELECT report_no,
       lab_id,
       'licence_missing' AS kind,
       '无有效许可证或认证' AS kind_zh,
       organiser,
       category,
       producer_name,
       producer_uscc,
       brand,
       model,
       sampling_date,
       CAST(NULL AS VARCHAR) AS earlier_report_no,
       CAST(NULL AS VARCHAR) AS earlier_lab_id,
       CAST(NULL AS DATE) AS earlier_sampling_date,
       licence_required,
       message
FROM ({licence_missing})
