-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (p.id < ?) ORDER BY p.id DESC LIMIT ? OFFSET ?
-- binds: [Int(12), Int(6), Int(0)]
