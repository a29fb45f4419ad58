-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (EXISTS (SELECT 1 FROM patient p WHERE p.id = l.patient_id AND (p.deleted = 0) AND (p.mrn = @P1 AND p.mrn COLLATE Latin1_General_BIN2 = @P2))) ORDER BY l.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("M100"), Text("M100"), Int(0), Int(101)]
