-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.patient_id = ? OR l.patient_id = ?)) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Int(7), Int(8), Int(101), Int(0)]
