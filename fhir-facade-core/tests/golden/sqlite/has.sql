-- select
SELECT p.id, p.family, p.given, p.gender, p.birth, a.city FROM patient p LEFT JOIN address a ON a.id = p.address_id WHERE (p.deleted = 0) AND (EXISTS (SELECT 1 FROM lab l WHERE l.patient_id = p.id AND EXISTS (SELECT 1 FROM loinc_map m WHERE m.local = l.labcode AND m.loinc COLLATE BINARY = ?))) ORDER BY p.id ASC LIMIT ? OFFSET ?
-- binds: [Text("718-7"), Int(101), Int(0)]
