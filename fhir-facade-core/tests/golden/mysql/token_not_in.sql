-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((CASE WHEN (1=0 OR 1=0) THEN 1 ELSE 0 END) = 0) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Int(101), Int(0)]
