-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (p.id = ?) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Int(7), Int(101), Int(0)]
