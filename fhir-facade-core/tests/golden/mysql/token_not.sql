-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((CASE WHEN (p.gender = ? AND CONVERT(p.gender USING utf8mb4) COLLATE utf8mb4_bin = ?) THEN 1 ELSE 0 END) = 0) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("f"), Text("f"), Int(101), Int(0)]
