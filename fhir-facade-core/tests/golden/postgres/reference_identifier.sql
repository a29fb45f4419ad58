-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (EXISTS (SELECT 1 FROM patient p WHERE p.id = l.patient_id AND (p.deleted = 0) AND p.mrn = $1)) ORDER BY l.id ASC LIMIT $2 OFFSET $3
-- binds: [Text("M100"), Int(101), Int(0)]
