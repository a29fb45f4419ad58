-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.birth >= ? OR p.birth IN (?, ?)) AND p.birth < ?)) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("20191112"), Text("20191100"), Text("20190000"), Text("20201119"), Int(101), Int(0)]
