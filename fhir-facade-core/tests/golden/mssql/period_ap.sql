-- select
SELECT e.id, e.admitted, e.discharged FROM encounter e WHERE (((e.admitted IS NOT NULL OR e.discharged IS NOT NULL) AND ((e.discharged IS NULL OR e.discharged >= @P1) AND (e.admitted IS NULL OR e.admitted < @P2)))) ORDER BY e.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Date(2024-11-27), Date(2025-01-05), Int(0), Int(101)]
