-- select
SELECT e.id, e.admitted, e.discharged FROM encounter e WHERE (((e.admitted IS NOT NULL OR e.discharged IS NOT NULL) AND ((e.discharged IS NULL OR e.discharged >= ?) AND (e.admitted IS NULL OR e.admitted < ?)))) ORDER BY e.id ASC LIMIT ? OFFSET ?
-- binds: [Date(2024-11-27), Date(2025-01-05), Int(101), Int(0)]
