-- The results whose label the nominal producer denies (涉嫌假冒, suspected counterfeit): marked so
-- by the lab (`suspected_counterfeit`), or the producer's denial (`producer_denied`) recorded for
-- the result's case and not withdrawn (`standing_dispositions`). The producer the label names is
-- referred, not blamed: such a result is no sampling of its product.
SELECT report_no, lab_id FROM results WHERE suspected_counterfeit
UNION
SELECT report_no, lab_id FROM standing_dispositions WHERE kind = 'producer_denied'
