-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.family = @P1 AND p.family COLLATE Latin1_General_BIN2 = @P2) OR (p.given = @P3 AND p.given COLLATE Latin1_General_BIN2 = @P4))) ORDER BY p.id ASC OFFSET @P5 ROWS FETCH NEXT @P6 ROWS ONLY
-- binds: [Text("Smith"), Text("Smith"), Text("Smith"), Text("Smith"), Int(0), Int(11)]
