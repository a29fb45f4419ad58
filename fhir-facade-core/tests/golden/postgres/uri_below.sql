-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (((l.source = $1 OR l.source LIKE $2 ESCAPE '\') OR l.source LIKE $3 ESCAPE '\')) ORDER BY l.id ASC LIMIT $4 OFFSET $5
-- binds: [Text("http://acme.org/l%_s"), Text("http://acme.org/l\\%\\_s/%"), Text("http://acme.org/lis/%"), Int(101), Int(0)]
