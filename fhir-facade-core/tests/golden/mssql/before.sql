-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (p.id < @P1) ORDER BY p.id DESC OFFSET @P2 ROWS FETCH NEXT @P3 ROWS ONLY
-- binds: [Int(12), Int(0), Int(6)]
