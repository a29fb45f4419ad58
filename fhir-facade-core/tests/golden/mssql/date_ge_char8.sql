-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.birth >= @P1 OR p.birth IN (@P2, @P3)) OR (p.birth >= @P4 AND (p.birth < @P5 AND p.birth NOT IN (@P6, @P7))))) ORDER BY p.id ASC OFFSET @P8 ROWS FETCH NEXT @P9 ROWS ONLY
-- binds: [Text("19800516"), Text("19800500"), Text("19800000"), Text("19800515"), Text("19800516"), Text("19800500"), Text("19800000"), Int(0), Int(101)]
