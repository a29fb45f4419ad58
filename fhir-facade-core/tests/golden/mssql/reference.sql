-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.patient_id = @P1 OR l.patient_id = @P2)) ORDER BY l.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Int(7), Int(8), Int(0), Int(101)]
