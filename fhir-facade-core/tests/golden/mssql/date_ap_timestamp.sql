-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.taken >= CAST(@P1 AS DATETIME2) AND l.taken < CAST(@P2 AS DATETIME2))) ORDER BY l.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Timestamp(2024-01-30 9:36:00.0 +00:00:00), Timestamp(2024-04-01 14:24:00.0 +00:00:00), Int(0), Int(101)]
