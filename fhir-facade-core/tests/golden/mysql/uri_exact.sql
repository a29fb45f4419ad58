-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.source = ? AND CONVERT(l.source USING utf8mb4) COLLATE utf8mb4_bin = ?)) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Text("http://acme.org/lis"), Text("http://acme.org/lis"), Int(101), Int(0)]
