-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.taken >= datetime(?) AND l.taken < datetime(?))) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Timestamp(2024-01-30 9:36:00.0 +00:00:00), Timestamp(2024-04-01 14:24:00.0 +00:00:00), Int(101), Int(0)]
