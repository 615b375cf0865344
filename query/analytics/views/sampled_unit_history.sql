-- Every result taken at a sampled unit (shop, distributor, producer, online shop).
SELECT sampled_unit_uscc, sampled_unit_name, district, sampled_unit_role, category, product_name,
       producer_name, report_no, lab_id, sampling_date, sampling_domain, verdict
FROM results
