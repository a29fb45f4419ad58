-- select
SELECT e.id, e.admitted, e.discharged FROM encounter e WHERE (((e.admitted IS NOT NULL OR e.discharged IS NOT NULL) AND (e.admitted >= ? AND e.discharged < ?))) ORDER BY e.id ASC LIMIT ? OFFSET ?
-- binds: [Date(2024-03-01), Date(2024-04-01), Int(101), Int(0)]
