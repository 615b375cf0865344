-- Every result of a nominal producer, newest first within a producer.
SELECT producer_uscc, producer_name, category, product_name, model, batch,
       report_no, lab_id, sampling_date, verdict, items_failed
FROM results
