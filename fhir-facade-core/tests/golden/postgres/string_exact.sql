-- select
SELECT p.id, p.family, p.given, p.gender, p.birth FROM patient p WHERE (p.deleted = 0) AND ((p.family = $1 OR p.given = $2)) ORDER BY p.id ASC LIMIT $3 OFFSET $4
-- binds: [Text("Smith"), Text("Smith"), Int(11), Int(0)]
