-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.source = @P1 AND l.source COLLATE Latin1_General_BIN2 = @P2)) ORDER BY l.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("http://acme.org/lis"), Text("http://acme.org/lis"), Int(0), Int(101)]
