-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((p.mrn = @P1 AND p.mrn COLLATE Latin1_General_BIN2 = @P2)) ORDER BY p.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("M100"), Text("M100"), Int(0), Int(101)]
