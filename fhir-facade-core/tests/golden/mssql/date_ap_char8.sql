-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (((p.birth >= @P1 OR p.birth IN (@P2, @P3)) AND p.birth < @P4)) ORDER BY p.id ASC OFFSET @P5 ROWS FETCH NEXT @P6 ROWS ONLY
-- binds: [Text("20191112"), Text("20191100"), Text("20190000"), Text("20201119"), Int(0), Int(101)]
