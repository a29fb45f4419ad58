-- select
SELECT l.id, l.patient_id, l.labcode, l.value, l.unit, l.taken FROM lab l WHERE (EXISTS (SELECT 1 FROM loinc_map m WHERE m.local = l.labcode AND (m.loinc = $1 OR 1=0))) ORDER BY l.id ASC LIMIT $2 OFFSET $3
-- binds: [Text("718-7"), Int(101), Int(0)]
