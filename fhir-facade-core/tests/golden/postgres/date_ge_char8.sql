-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.birth >= $1 OR p.birth IN ($2, $3)) OR (p.birth >= $4 AND (p.birth < $5 AND p.birth NOT IN ($6, $7))))) ORDER BY p.id ASC LIMIT $8 OFFSET $9
-- binds: [Text("19800516"), Text("19800500"), Text("19800000"), Text("19800515"), Text("19800516"), Text("19800500"), Text("19800000"), Int(101), Int(0)]
