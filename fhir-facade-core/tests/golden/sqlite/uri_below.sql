-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (((l.source COLLATE BINARY = ? OR l.source GLOB ?) OR l.source GLOB ?)) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Text("http://acme.org/l%_s"), Text("http://acme.org/l%_s/*"), Text("http://acme.org/lis/*"), Int(101), Int(0)]
