-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (l.source = $1) ORDER BY l.id ASC LIMIT $2 OFFSET $3
-- binds: [Text("http://acme.org/lis"), Int(101), Int(0)]
