-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((p.birth >= $1 AND p.birth < $2)) ORDER BY p.id ASC LIMIT $3 OFFSET $4
-- binds: [Text("19800000"), Text("19810000"), Int(101), Int(0)]
