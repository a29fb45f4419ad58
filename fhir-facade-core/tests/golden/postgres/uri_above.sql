-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.source = $1 OR l.source = $2 OR l.source = $3 OR l.source = $4 OR l.source = $5 OR l.source = $6 OR l.source = $7 OR l.source = $8)) ORDER BY l.id ASC LIMIT $9 OFFSET $10
-- binds: [Text("http:"), Text("http:/"), Text("http://"), Text("http://acme.org"), Text("http://acme.org/"), Text("http://acme.org/lis"), Text("http://acme.org/lis/"), Text("http://acme.org/lis/ward-3"), Int(101), Int(0)]
