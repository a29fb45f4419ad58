-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND ((CASE WHEN (p.gender = @P1 AND p.gender COLLATE Latin1_General_BIN2 = @P2) THEN 1 ELSE 0 END) = 0) ORDER BY p.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("f"), Text("f"), Int(0), Int(101)]
