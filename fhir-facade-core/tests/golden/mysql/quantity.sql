-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE ((l.value > ? AND (l.unit = ? AND CONVERT(l.unit USING utf8mb4) COLLATE utf8mb4_bin = ?))) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Decimal(5.4), Text("mg/dL"), Text("mg/dL"), Int(101), Int(0)]
