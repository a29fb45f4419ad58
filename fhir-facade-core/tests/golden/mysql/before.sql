-- select
SELECT p.id, p.family, p.given, p.gender, p.birth FROM patient p WHERE (p.deleted = 0) AND (p.id < ?) ORDER BY p.id DESC LIMIT ? OFFSET ?
-- binds: [Int(12), Int(6), Int(0)]
