-- select
SELECT p.id, p.family, p.given, p.gender, p.birth FROM patient p WHERE (p.deleted = 0) AND (p.mrn = $1) ORDER BY p.id ASC LIMIT $2 OFFSET $3
-- binds: [Text("M100"), Int(101), Int(0)]
