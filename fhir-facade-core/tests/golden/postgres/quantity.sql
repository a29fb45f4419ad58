-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.value > $1 AND l.unit = $2)) ORDER BY l.id ASC LIMIT $3 OFFSET $4
-- binds: [Decimal(5.4), Text("mg/dL"), Int(101), Int(0)]
