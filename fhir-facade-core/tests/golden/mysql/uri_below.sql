-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((((l.source = ? AND CONVERT(l.source USING utf8mb4) COLLATE utf8mb4_bin = ?) OR CONVERT(l.source USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE '\\') OR CONVERT(l.source USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE '\\')) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Text("http://acme.org/l%_s"), Text("http://acme.org/l%_s"), Text("http://acme.org/l\\%\\_s/%"), Text("http://acme.org/lis/%"), Int(101), Int(0)]
