-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (EXISTS (SELECT 1 FROM loinc_map m WHERE m.local = l.labcode AND ((m.loinc = ? AND CONVERT(m.loinc USING utf8mb4) COLLATE utf8mb4_bin = ?) OR 1=0))) ORDER BY l.id ASC LIMIT ? OFFSET ?
-- binds: [Text("718-7"), Text("718-7"), Int(101), Int(0)]
