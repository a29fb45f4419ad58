-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.value > @P1 AND (l.unit = @P2 AND l.unit COLLATE Latin1_General_BIN2 = @P3))) ORDER BY l.id ASC OFFSET @P4 ROWS FETCH NEXT @P5 ROWS ONLY
-- binds: [Decimal(5.4), Text("mg/dL"), Text("mg/dL"), Int(0), Int(101)]
