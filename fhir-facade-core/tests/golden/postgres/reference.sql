-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.patient_id = $1 OR l.patient_id = $2)) ORDER BY l.id ASC LIMIT $3 OFFSET $4
-- binds: [Int(7), Int(8), Int(101), Int(0)]
