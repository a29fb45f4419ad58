-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ? OR l.source COLLATE BINARY = ?)) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Text("http:"), Text("http:/"), Text("http://"), Text("http://acme.org"), Text("http://acme.org/"), Text("http://acme.org/lis"), Text("http://acme.org/lis/"), Text("http://acme.org/lis/ward-3"), Int(101), Int(0)]
