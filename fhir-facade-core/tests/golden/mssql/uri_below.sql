-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((((l.source = @P1 AND l.source COLLATE Latin1_General_BIN2 = @P2) OR l.source COLLATE Latin1_General_BIN2 LIKE @P3 ESCAPE '\') OR l.source COLLATE Latin1_General_BIN2 LIKE @P4 ESCAPE '\')) ORDER BY l.id ASC OFFSET @P5 ROWS FETCH NEXT @P6 ROWS ONLY
-- binds: [Text("http://acme.org/l%_s"), Text("http://acme.org/l%_s"), Text("http://acme.org/l\\%\\_s/%"), Text("http://acme.org/lis/%"), Int(0), Int(101)]
