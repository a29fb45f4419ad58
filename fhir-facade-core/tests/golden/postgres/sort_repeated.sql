-- select
SELECT p.id, p.family, p.given, p.gender, p.birth FROM patient p WHERE (p.deleted = 0) ORDER BY p.family ASC NULLS LAST, p.birth ASC NULLS LAST, p.id ASC LIMIT $1 OFFSET $2
-- binds: [Int(101), Int(0)]
