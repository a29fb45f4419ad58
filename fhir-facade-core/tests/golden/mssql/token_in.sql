-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (EXISTS (SELECT 1 FROM loinc_map m WHERE m.local = l.labcode AND ((m.loinc = @P1 AND m.loinc COLLATE Latin1_General_BIN2 = @P2) OR 1=0))) ORDER BY l.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Text("718-7"), Text("718-7"), Int(0), Int(101)]
