-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((CASE WHEN l.value IS NOT NULL THEN 1 ELSE 0 END) = 0) ORDER BY l.id ASC OFFSET @P1 ROWS FETCH NEXT @P2 ROWS ONLY
-- binds: [Int(0), Int(101)]
