-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((p.birth >= @P1 AND p.birth < @P2)) ORDER BY p.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("19800000"), Text("19810000"), Int(0), Int(101)]
