-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) ORDER BY p.birth DESC NULLS FIRST, p.family ASC NULLS LAST, p.id ASC LIMIT ? OFFSET ?
-- binds: [Int(6), Int(10)]
-- count
SELECT COUNT(*) FROM (SELECT p.id FROM patient p WHERE (p.deleted = 0)) AS t
-- binds: []
