-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((CASE WHEN l.value IS NOT NULL THEN 1 ELSE 0 END) = 0) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Int(101), Int(0)]
