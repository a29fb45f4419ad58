-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.taken >= (CAST($1 AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AND l.taken < (CAST($2 AS TIMESTAMPTZ) AT TIME ZONE 'UTC'))) ORDER BY l.id ASC LIMIT $3 OFFSET $4
-- binds: [Timestamp(2024-01-30 9:36:00.0 +00:00:00), Timestamp(2024-04-01 14:24:00.0 +00:00:00), Int(101), Int(0)]
