-- select
SELECT p.id, p.family, p.given, p.gender, p.birth FROM patient p WHERE (p.deleted = 0) AND (p.id < $1) ORDER BY p.id DESC LIMIT $2 OFFSET $3
-- binds: [Int(12), Int(6), Int(0)]
