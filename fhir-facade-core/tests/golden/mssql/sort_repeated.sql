-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) ORDER BY CASE WHEN p.family IS NULL THEN 1 ELSE 0 END ASC, p.family ASC, CASE WHEN p.birth IS NULL THEN 1 ELSE 0 END ASC, p.birth ASC, p.id ASC OFFSET @P1 ROWS FETCH NEXT @P2 ROWS ONLY
-- binds: [Int(0), Int(101)]
