-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.family = ? AND CONVERT(p.family USING utf8mb4) COLLATE utf8mb4_bin = ?) OR (p.given = ? AND CONVERT(p.given USING utf8mb4) COLLATE utf8mb4_bin = ?))) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("Smith"), Text("Smith"), Text("Smith"), Text("Smith"), Int(11), Int(0)]
