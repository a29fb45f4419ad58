-- select
SELECT e.id, e.admitted, e.discharged FROM encounter e WHERE (((e.admitted IS NOT NULL OR e.discharged IS NOT NULL) AND (e.admitted >= @P1 AND e.discharged < @P2))) ORDER BY e.id ASC OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY
-- binds: [Date(2024-03-01), Date(2024-04-01), Int(0), Int(101)]
