-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.birth >= ? OR p.birth IN (?, ?)) OR (p.birth >= ? AND (p.birth < ? AND p.birth NOT IN (?, ?))))) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("19800516"), Text("19800500"), Text("19800000"), Text("19800515"), Text("19800516"), Text("19800500"), Text("19800000"), Int(101), Int(0)]
