-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((p.mrn = ? AND CONVERT(p.mrn USING utf8mb4) COLLATE utf8mb4_bin = ?)) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("M100"), Text("M100"), Int(101), Int(0)]
