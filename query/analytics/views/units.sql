-- The unit registry: the latest version of each unit (units are keyed by USCC on their topic, so
-- every version of one unit is in one partition and the highest offset is the latest).
SELECT uscc, name, address, district, roles, licences_json, area
FROM (
    SELECT *, row_number() OVER (PARTITION BY uscc ORDER BY source_offset DESC) AS version_rank
    FROM unit_versions
)
WHERE version_rank = 1
