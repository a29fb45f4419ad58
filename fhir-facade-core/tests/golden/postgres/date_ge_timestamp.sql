-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.taken >= (CAST($1 AS TIMESTAMPTZ) AT TIME ZONE 'UTC') OR (l.taken >= (CAST($2 AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AND l.taken < (CAST($3 AS TIMESTAMPTZ) AT TIME ZONE 'UTC')))) ORDER BY l.id ASC LIMIT $4 OFFSET $5
-- binds: [Timestamp(2024-03-01 10:00:01.0 +00:00:00), Timestamp(2024-03-01 10:00:00.0 +00:00:00), Timestamp(2024-03-01 10:00:01.0 +00:00:00), Int(101), Int(0)]
