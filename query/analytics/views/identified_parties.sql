-- The credit codes of the parties a result names without one (real bulletins give the nominal
-- producer, and some labs the sampled unit, by name and address only): one row per such result,
-- with the code of each party as it is now known, else null. A result with a case takes its
-- case's word (`case_subjects`: the traceback's identification by an official, by the registry
-- under the name and district, by the ledger; a party still pending stays null); a result
-- without one (a pass) takes the only registered unit whose name is the same however spelt
-- (`name_key`; a name two units bear names neither; a 三无 label's `/` names no unit).
WITH named AS (
    SELECT report_no, lab_id,
           CASE WHEN sampled_unit_uscc IS NULL THEN sampled_unit_name END AS sampled_name,
           CASE WHEN producer_uscc IS NULL THEN producer_name END AS producer_name
    FROM results
    WHERE sampled_unit_uscc IS NULL OR producer_uscc IS NULL
),
registered AS (
    SELECT name_key(name) AS name_key, min(uscc) AS uscc
    FROM units
    GROUP BY name_key(name)
    HAVING count(*) = 1
),
-- Each name once: its key is computed per name, not per result (a LEFT JOIN: an inner one
-- would have the engine filter the results' names by the registry's keys while reading them).
by_name AS (
    SELECT n.name, r.uscc
    FROM (SELECT sampled_name AS name FROM named UNION SELECT producer_name FROM named) AS n
    LEFT JOIN registered AS r ON r.name_key = name_key(n.name)
),
subjects AS (
    SELECT report_no, lab_id,
           max(CASE WHEN role = 'seller' THEN uscc END) AS seller,
           max(CASE WHEN role = 'producer' THEN uscc END) AS producer,
           -- Sampled where it is made: one subject, the producer.
           max(CASE WHEN role = 'seller' THEN 1 ELSE 0 END) = 0 AS made_where_sampled
    FROM case_subjects
    GROUP BY report_no, lab_id
)
SELECT n.report_no, n.lab_id,
       CASE WHEN n.sampled_name IS NULL THEN NULL
            WHEN s.report_no IS NOT NULL
                 THEN coalesce(s.seller, CASE WHEN s.made_where_sampled THEN s.producer END)
            ELSE rs.uscc END AS sampled_unit_uscc,
       CASE WHEN n.producer_name IS NULL THEN NULL
            WHEN s.report_no IS NOT NULL THEN s.producer
            ELSE rp.uscc END AS producer_uscc
FROM named AS n
LEFT JOIN subjects AS s ON s.report_no = n.report_no AND s.lab_id = n.lab_id
LEFT JOIN by_name AS rs ON rs.name = n.sampled_name
LEFT JOIN by_name AS rp ON rp.name = n.producer_name
