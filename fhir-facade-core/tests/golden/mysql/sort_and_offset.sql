-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) ORDER BY CASE WHEN p.birth IS NULL THEN 1 ELSE 0 END DESC, p.birth DESC, CASE WHEN p.family IS NULL THEN 1 ELSE 0 END ASC, p.family ASC, p.id ASC LIMIT ? OFFSET ?
-- binds: [Int(6), Int(10)]
-- count
SELECT COUNT(*) FROM (SELECT p.id FROM patient p WHERE (p.deleted = 0)) AS t
-- binds: []
