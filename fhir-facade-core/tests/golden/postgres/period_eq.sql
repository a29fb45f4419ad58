-- select
SELECT e.id, e.admitted, e.discharged FROM encounter e WHERE (((e.admitted IS NOT NULL OR e.discharged IS NOT NULL) AND (e.admitted >= $1 AND e.discharged < $2))) ORDER BY e.id ASC LIMIT $3 OFFSET $4
-- binds: [Date(2024-03-01), Date(2024-04-01), Int(101), Int(0)]
