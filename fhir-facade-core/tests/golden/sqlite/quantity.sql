-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.value > ? AND l.unit COLLATE BINARY = ?)) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Decimal(5.4), Text("mg/dL"), Int(101), Int(0)]
