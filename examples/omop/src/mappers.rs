//! Row mappers: one per resource type, over [`SqlRow`], so the same code maps PostgreSQL, SQLite
//! and SQL Server rows. They read the column names the [`mapping`](crate::mapping) selects.

use fhir_facade_core::sql::{RowMapper, SqlRow};
use fhir_facade_core::{Resource, Result};
use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime, Time};

use crate::mapping::ENCOUNTER_CLASSES;
use crate::vocab::{OBSERVATION_CATEGORY, codeable_concept, system_uri};

fn reference(resource_type: &str, id: i64) -> Value {
    json!({ "reference": format!("{resource_type}/{id}") })
}

fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A FHIR `dateTime`: the date alone when the time is midnight (OMOP often stores dates in
/// datetime columns), the UTC instant otherwise.
fn date_time(date: Option<Date>, datetime: Option<OffsetDateTime>) -> Option<String> {
    match (datetime, date) {
        (Some(t), _) if t.time() != Time::MIDNIGHT => Some(format!(
            "{}T{:02}:{:02}:{:02}Z",
            date_text(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )),
        (Some(t), None) => Some(date_text(t.date())),
        (_, Some(d)) => Some(date_text(d)),
        (None, None) => None,
    }
}

fn insert_some(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value);
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn code(row: &impl SqlRow) -> Result<Option<Value>> {
    codeable_concept(row, "code", row.get_opt_str("source_value")?)
}

/// `person` (+ `location`, `death`) → `Patient`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatientMapper;

impl<R: SqlRow> RowMapper<R> for PatientMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let mut p = Map::new();
        p.insert("resourceType".into(), json!("Patient"));
        p.insert("id".into(), json!(id.to_string()));
        if let Some(value) = trimmed(row.get_opt_str("person_source_value")?) {
            p.insert("identifier".into(), json!([{ "value": value }]));
        }
        let gender = match row.get_opt_i64("gender_concept_id")? {
            Some(8507) => "male",
            Some(8532) => "female",
            _ => "unknown",
        };
        p.insert("gender".into(), json!(gender));
        let year = row.get_opt_i64("year_of_birth")?;
        let month = row.get_opt_i64("month_of_birth")?;
        let day = row.get_opt_i64("day_of_birth")?;
        let birth = match (year, month, day) {
            (Some(y), Some(m @ 1..=12), Some(d @ 1..=31)) => Some(format!("{y:04}-{m:02}-{d:02}")),
            (Some(y), Some(m @ 1..=12), _) => Some(format!("{y:04}-{m:02}")),
            (Some(y), _, _) => Some(format!("{y:04}")),
            _ => None,
        };
        insert_some(&mut p, "birthDate", birth.map(Value::from));
        if let Some(death) = row.get_opt_date("death_date")? {
            p.insert("deceasedDateTime".into(), json!(date_text(death)));
        }
        let mut address = Map::new();
        let lines: Vec<String> = [
            trimmed(row.get_opt_str("address_1")?),
            trimmed(row.get_opt_str("address_2")?),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !lines.is_empty() {
            address.insert("line".into(), json!(lines));
        }
        insert_some(
            &mut address,
            "city",
            trimmed(row.get_opt_str("city")?).map(Value::from),
        );
        insert_some(
            &mut address,
            "state",
            trimmed(row.get_opt_str("state")?).map(Value::from),
        );
        insert_some(
            &mut address,
            "postalCode",
            trimmed(row.get_opt_str("zip")?).map(Value::from),
        );
        if !address.is_empty() {
            p.insert("address".into(), Value::Array(vec![Value::Object(address)]));
        }
        Resource::new(Value::Object(p))
    }
}

/// `visit_occurrence` → `Encounter`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncounterMapper;

impl<R: SqlRow> RowMapper<R> for EncounterMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let class = row
            .get_opt_str("class_code")?
            .and_then(|code| {
                ENCOUNTER_CLASSES
                    .iter()
                    .find(|(_, c, _)| *c == code)
                    .map(|(_, c, display)| {
                        json!({
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "code": c,
                            "display": display,
                        })
                    })
            })
            .unwrap_or_else(|| {
                json!({
                    "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
                    "code": "UNK",
                    "display": "unknown",
                })
            });
        let mut e = Map::new();
        e.insert("resourceType".into(), json!("Encounter"));
        e.insert("id".into(), json!(id.to_string()));
        e.insert("status".into(), json!("finished"));
        e.insert("class".into(), class);
        insert_some(&mut e, "type", code(row)?.map(|c| Value::Array(vec![c])));
        e.insert(
            "subject".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        let mut period = Map::new();
        insert_some(
            &mut period,
            "start",
            row.get_opt_date("start_date")?.map(|d| json!(date_text(d))),
        );
        insert_some(
            &mut period,
            "end",
            row.get_opt_date("end_date")?.map(|d| json!(date_text(d))),
        );
        if !period.is_empty() {
            e.insert("period".into(), Value::Object(period));
        }
        Resource::new(Value::Object(e))
    }
}

fn encounter_reference(row: &impl SqlRow) -> Result<Option<Value>> {
    Ok(row
        .get_opt_i64("visit_occurrence_id")?
        .filter(|v| *v != 0)
        .map(|v| reference("Encounter", v)))
}

/// `condition_occurrence` → `Condition`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionMapper;

impl<R: SqlRow> RowMapper<R> for ConditionMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let mut c = Map::new();
        c.insert("resourceType".into(), json!("Condition"));
        c.insert("id".into(), json!(id.to_string()));
        let status = row.get_str("clinical_status")?;
        c.insert(
            "clinicalStatus".into(),
            json!({ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": status,
            }]}),
        );
        let category = row.get_str("category")?;
        c.insert(
            "category".into(),
            json!([{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                "code": category,
            }]}]),
        );
        insert_some(&mut c, "code", code(row)?);
        c.insert(
            "subject".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        insert_some(&mut c, "encounter", encounter_reference(row)?);
        insert_some(
            &mut c,
            "onsetDateTime",
            row.get_opt_date("onset_date")?.map(|d| json!(date_text(d))),
        );
        insert_some(
            &mut c,
            "abatementDateTime",
            row.get_opt_date("abatement_date")?
                .map(|d| json!(date_text(d))),
        );
        Resource::new(Value::Object(c))
    }
}

/// `procedure_occurrence` → `Procedure`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcedureMapper;

impl<R: SqlRow> RowMapper<R> for ProcedureMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let mut p = Map::new();
        p.insert("resourceType".into(), json!("Procedure"));
        p.insert("id".into(), json!(id.to_string()));
        p.insert("status".into(), json!("completed"));
        insert_some(&mut p, "code", code(row)?);
        p.insert(
            "subject".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        insert_some(&mut p, "encounter", encounter_reference(row)?);
        let start = row.get_opt_date("start_date")?;
        match (start, row.get_opt_date("end_date")?) {
            (Some(s), Some(e)) => {
                p.insert(
                    "performedPeriod".into(),
                    json!({ "start": date_text(s), "end": date_text(e) }),
                );
            }
            (Some(s), None) => {
                p.insert("performedDateTime".into(), json!(date_text(s)));
            }
            (None, _) => {}
        }
        Resource::new(Value::Object(p))
    }
}

/// `drug_exposure` (not CVX) → `MedicationRequest`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MedicationRequestMapper;

impl<R: SqlRow> RowMapper<R> for MedicationRequestMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let mut m = Map::new();
        m.insert("resourceType".into(), json!("MedicationRequest"));
        m.insert("id".into(), json!(id.to_string()));
        m.insert("status".into(), json!("completed"));
        m.insert("intent".into(), json!("order"));
        m.insert(
            "medicationCodeableConcept".into(),
            code(row)?.unwrap_or_else(|| json!({ "text": "unknown" })),
        );
        m.insert(
            "subject".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        insert_some(&mut m, "encounter", encounter_reference(row)?);
        insert_some(
            &mut m,
            "authoredOn",
            row.get_opt_date("start_date")?.map(|d| json!(date_text(d))),
        );
        if let Some(sig) = trimmed(row.get_opt_str("sig")?) {
            m.insert("dosageInstruction".into(), json!([{ "text": sig }]));
        }
        Resource::new(Value::Object(m))
    }
}

/// `drug_exposure` with a CVX concept → `Immunization`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImmunizationMapper;

impl<R: SqlRow> RowMapper<R> for ImmunizationMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_i64("id")?;
        let mut i = Map::new();
        i.insert("resourceType".into(), json!("Immunization"));
        i.insert("id".into(), json!(id.to_string()));
        i.insert("status".into(), json!("completed"));
        i.insert(
            "vaccineCode".into(),
            code(row)?.unwrap_or_else(|| json!({ "text": "unknown" })),
        );
        i.insert(
            "patient".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        insert_some(&mut i, "encounter", encounter_reference(row)?);
        let occurrence = row
            .get_opt_date("start_date")?
            .map(date_text)
            .ok_or_else(|| fhir_facade_core::Error::Internal("start_date is NULL".into()))?;
        i.insert("occurrenceDateTime".into(), json!(occurrence));
        Resource::new(Value::Object(i))
    }
}

/// `measurement` and `observation` → `Observation` (`meas-N`, `obs-N`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ObservationMapper;

impl<R: SqlRow> RowMapper<R> for ObservationMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let id = row.get_str("id")?;
        let mut o = Map::new();
        o.insert("resourceType".into(), json!("Observation"));
        o.insert("id".into(), json!(id));
        o.insert("status".into(), json!("final"));
        let category = row.get_str("category")?;
        o.insert(
            "category".into(),
            json!([{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": category }] }]),
        );
        o.insert(
            "code".into(),
            code(row)?.unwrap_or_else(|| json!({ "text": "unknown" })),
        );
        o.insert(
            "subject".into(),
            reference("Patient", row.get_i64("person_id")?),
        );
        insert_some(&mut o, "encounter", encounter_reference(row)?);
        insert_some(
            &mut o,
            "effectiveDateTime",
            date_time(
                row.get_opt_date("obs_date")?,
                row.get_opt_timestamp("obs_datetime")?,
            )
            .map(Value::from),
        );
        if let Some(value) = row.get_opt_decimal("value_as_number")? {
            let mut quantity = Map::new();
            let number: Value = serde_json::from_str(&value.normalize().to_string())
                .map_err(|e| fhir_facade_core::Error::Internal(format!("value_as_number: {e}")))?;
            quantity.insert("value".into(), number);
            let unit_code = trimmed(row.get_opt_str("unit_code")?);
            let unit_system = row
                .get_opt_str("unit_vocabulary")?
                .as_deref()
                .and_then(system_uri);
            let unit = trimmed(row.get_opt_str("unit_display")?)
                .or_else(|| unit_code.clone())
                .or(trimmed(row.get_opt_str("unit_source_value")?));
            insert_some(&mut quantity, "unit", unit.map(Value::from));
            if let (Some(system), Some(code)) = (unit_system, unit_code) {
                quantity.insert("system".into(), json!(system));
                quantity.insert("code".into(), json!(code));
            }
            o.insert("valueQuantity".into(), Value::Object(quantity));
        } else if let Some(value) = codeable_concept(row, "value", None)? {
            o.insert("valueCodeableConcept".into(), value);
        } else if let Some(text) = trimmed(row.get_opt_str("value_as_string")?) {
            o.insert("valueString".into(), json!(text));
        }
        Resource::new(Value::Object(o))
    }
}
