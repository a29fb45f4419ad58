-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.taken >= CAST(@P1 AS DATETIME2) OR (l.taken >= CAST(@P2 AS DATETIME2) AND l.taken < CAST(@P3 AS DATETIME2)))) ORDER BY l.id ASC OFFSET @P4 ROWS FETCH NEXT @P5 ROWS ONLY
-- binds: [Timestamp(2024-03-01 10:00:01.0 +00:00:00), Timestamp(2024-03-01 10:00:00.0 +00:00:00), Timestamp(2024-03-01 10:00:01.0 +00:00:00), Int(0), Int(101)]
