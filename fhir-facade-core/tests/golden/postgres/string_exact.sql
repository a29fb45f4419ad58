-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((p.family = $1 OR p.given = $2)) ORDER BY p.id ASC LIMIT $3 OFFSET $4
-- binds: [Text("Smith"), Text("Smith"), Int(11), Int(0)]
