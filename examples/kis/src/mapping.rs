//! The FHIR side of the legacy tables: search mappings ([`schema`]) and one row mapper per
//! resource type, written against [`SqlRow`] so the same mapper reads rows from every database.
//!
//! | resource | table | id |
//! |---|---|---|
//! | Patient | `patient p` (without `geloescht = 1`) | `pat_id` |
//! | Encounter | `fall f` | `fall_id` |
//! | Observation | `labor_befund l` (+ `labcode_map`) | `befund_id` |
//! | Condition | `diagnose d` | `diag_id` |
//! | Practitioner | `arzt a` | `arzt_id` |
//!
//! Cases, lab results and diagnoses of a soft-deleted patient are hidden with the patient.

use std::str::FromStr;
use std::sync::Arc;

use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, ReferenceMapping, SqlSchema, StringColumn, TableMapping,
    TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::sql::{RowMapper, SqlRow};
use fhir_facade_core::{Error, Resource, Result};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Backend;
use crate::quantity::{CodeAt, UCUM, multi_system_token, value_quantity};
use crate::value::{LabValue, RefRange, legacy_date_to_fhir, non_blank};

/// The hospital's patient number system (`pat_nr`).
pub const PATNR_SYSTEM: &str = "https://klinikum.example.org/sid/patnr";
/// The statutory insurance number system (`kvnr`).
pub const KVID_SYSTEM: &str = "http://fhir.de/sid/gkv/kvid-10";
/// The case number system (`fall_nr`).
pub const FALLNR_SYSTEM: &str = "https://klinikum.example.org/sid/fallnr";
/// The local lab code system (`labcode`).
pub const LABCODE_SYSTEM: &str = "https://klinikum.example.org/CodeSystem/labcode";
/// LOINC.
pub const LOINC_SYSTEM: &str = "http://loinc.org";
/// ICD-10-GM.
pub const ICD10GM_SYSTEM: &str = "http://fhir.de/CodeSystem/bfarm/icd-10-gm";
/// The physician number (LANR) system.
pub const LANR_SYSTEM: &str = "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR";

const GENDER_SYSTEM: &str = "http://hl7.org/fhir/administrative-gender";
const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const ENCOUNTER_STATUS_SYSTEM: &str = "http://hl7.org/fhir/encounter-status";
const OBSERVATION_STATUS_SYSTEM: &str = "http://hl7.org/fhir/observation-status";
const OBSERVATION_CATEGORY_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/observation-category";
const VER_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CLINICAL_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

/// `geschlecht` and its FHIR gender, both ways.
pub const GENDERS: [(&str, &str); 4] = [
    ("M", "male"),
    ("W", "female"),
    ("D", "other"),
    ("U", "unknown"),
];
/// `labor_befund.status` and its FHIR status, both ways.
pub const OBSERVATION_STATUSES: [(&str, &str); 4] = [
    ("E", "final"),
    ("V", "preliminary"),
    ("K", "amended"),
    ("S", "cancelled"),
];
const CLASSES: [(&str, &str, &str); 3] = [
    ("S", "IMP", "inpatient encounter"),
    ("A", "AMB", "ambulatory"),
    ("N", "EMER", "emergency"),
];
/// `sicherheit` → (verification status, clinical status).
const CERTAINTIES: [(&str, &str, Option<&str>); 4] = [
    ("G", "confirmed", Some("active")),
    ("V", "provisional", Some("active")),
    ("A", "refuted", None),
    ("Z", "confirmed", Some("resolved")),
];

fn p(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code)
        .unwrap_or_else(|| panic!("{resource_type}.{code} is an R4 search parameter"))
}

/// `(CASE expr WHEN 'a' THEN 'x' ... END)`: a legacy code as its FHIR code, for token searches
/// (parenthesised, so a dialect's `COLLATE` or `BINARY` applies to the whole expression).
fn case(expr: &str, pairs: impl IntoIterator<Item = (&'static str, &'static str)>) -> String {
    let mut sql = format!("(CASE {expr}");
    for (legacy, fhir) in pairs {
        sql.push_str(&format!(" WHEN '{legacy}' THEN '{fhir}'"));
    }
    sql.push_str(" END)");
    sql
}

fn strings(columns: &[&str]) -> ParamMapping {
    ParamMapping::String(columns.iter().map(|c| StringColumn::new(*c)).collect())
}

fn token(expr: String, system: &str) -> ParamMapping {
    ParamMapping::Token(TokenMapping::new(
        TokenCode::Column(expr),
        ValueSource::Constant(system.to_owned()),
    ))
}

fn reference(fk: &str, target: &str) -> ParamMapping {
    // Keys only: the row mappers render no `Reference.identifier`, so `:identifier` is a 400.
    ParamMapping::Reference(ReferenceMapping::new(fk, target))
}

fn instant(expr: &str) -> ParamMapping {
    ParamMapping::Date(DateMapping::Point {
        expr: expr.to_owned(),
        kind: TimeKind::Instant,
    })
}

/// A legacy `CHAR(8)` date; `00000000` is no date at all (not the year 0).
fn legacy_date(expr: &str) -> ParamMapping {
    ParamMapping::Date(DateMapping::Point {
        expr: format!("NULLIF({expr}, '00000000')"),
        kind: TimeKind::LegacyYmd,
    })
}

fn live_patient(alias: &str, fk: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM patient {alias} WHERE {alias}.pat_id = {fk} AND {alias}.geloescht = 0)"
    )
}

/// The Patient mapping (also used by the writes to read a stored patient back).
pub fn patient_table() -> TableMapping {
    TableMapping::new("Patient", "patient", "p", "p.pat_id", IdKind::Integer)
        .filter("p.geloescht = 0")
        .select([
            "p.pat_id",
            "p.pat_nr",
            "p.kvnr",
            "p.nachname",
            "p.vorname",
            "p.titel",
            "p.geb_datum",
            "p.geschlecht",
            "p.strasse",
            "p.plz",
            "p.ort",
            "p.land",
            "p.telefon",
            "p.verstorben_am",
            "p.aend_zaehler",
            "p.geaendert_am",
        ])
        .param(p("Patient", "_id"), ParamMapping::Id)
        .param(
            p("Patient", "identifier"),
            multi_system_token(vec![
                (PATNR_SYSTEM, CodeAt::Column("p.pat_nr".into())),
                (KVID_SYSTEM, CodeAt::Column("p.kvnr".into())),
            ]),
        )
        .param(
            p("Patient", "name"),
            strings(&["p.nachname", "p.vorname", "p.titel"]),
        )
        .param(p("Patient", "family"), strings(&["p.nachname"]))
        .param(p("Patient", "given"), strings(&["p.vorname"]))
        .param(p("Patient", "birthdate"), legacy_date("p.geb_datum"))
        .param(
            p("Patient", "gender"),
            token(case("p.geschlecht", GENDERS), GENDER_SYSTEM),
        )
        .param(p("Patient", "address-city"), strings(&["p.ort"]))
        .param(p("Patient", "address-postalcode"), strings(&["p.plz"]))
        .param(
            p("Patient", "telecom"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("p.telefon".into()),
                ValueSource::Constant("phone".into()),
            )),
        )
        .param(p("Patient", "_lastUpdated"), instant("p.geaendert_am"))
}

/// The Observation mapping.
pub fn observation_table(backend: Backend) -> TableMapping {
    let map = |column: &str| {
        format!("(SELECT m.{column} FROM labcode_map m WHERE m.labcode = l.labcode) AS {column}")
    };
    TableMapping::new(
        "Observation",
        "labor_befund",
        "l",
        "l.befund_id",
        IdKind::Integer,
    )
    .filter(live_patient("lp", "l.pat_id"))
    .select([
        "l.befund_id".to_owned(),
        "l.pat_id".to_owned(),
        "l.fall_id".to_owned(),
        "l.labcode".to_owned(),
        "l.wert".to_owned(),
        "l.einheit".to_owned(),
        "l.abnahme".to_owned(),
        "l.status".to_owned(),
        "l.ref_bereich".to_owned(),
        map("loinc"),
        map("bezeichnung"),
        map("ucum"),
    ])
    .param(p("Observation", "_id"), ParamMapping::Id)
    .param(
        p("Observation", "patient"),
        reference("l.pat_id", "Patient"),
    )
    .param(
        p("Observation", "subject"),
        reference("l.pat_id", "Patient"),
    )
    .param(
        p("Observation", "encounter"),
        reference("l.fall_id", "Encounter"),
    )
    .param(
        p("Observation", "code"),
        multi_system_token(vec![
            (
                LOINC_SYSTEM,
                CodeAt::Lookup {
                    from: "labcode_map cm".into(),
                    join: "cm.labcode = l.labcode".into(),
                    code: "cm.loinc".into(),
                },
            ),
            (LABCODE_SYSTEM, CodeAt::Column("l.labcode".into())),
        ]),
    )
    .param(p("Observation", "date"), instant("l.abnahme"))
    .param(
        p("Observation", "status"),
        token(
            case("l.status", OBSERVATION_STATUSES),
            OBSERVATION_STATUS_SYSTEM,
        ),
    )
    .param(
        p("Observation", "category"),
        token("'laboratory'".into(), OBSERVATION_CATEGORY_SYSTEM),
    )
    .param(
        p("Observation", "value-quantity"),
        value_quantity(backend, "l"),
    )
}

/// The Encounter mapping.
pub fn encounter_table() -> TableMapping {
    TableMapping::new("Encounter", "fall", "f", "f.fall_id", IdKind::Integer)
        .filter(live_patient("fp", "f.pat_id"))
        .select([
            "f.fall_id",
            "f.fall_nr",
            "f.pat_id",
            "f.fallart",
            "f.aufnahme",
            "f.entlassung",
            "f.station",
            "f.storniert",
        ])
        .param(p("Encounter", "_id"), ParamMapping::Id)
        .param(p("Encounter", "patient"), reference("f.pat_id", "Patient"))
        .param(p("Encounter", "subject"), reference("f.pat_id", "Patient"))
        .param(
            p("Encounter", "date"),
            ParamMapping::Date(DateMapping::Period {
                start: "f.aufnahme".into(),
                end: "f.entlassung".into(),
                kind: TimeKind::Instant,
            }),
        )
        .param(
            p("Encounter", "class"),
            token(
                case("f.fallart", CLASSES.map(|(l, c, _)| (l, c))),
                ACT_CODE_SYSTEM,
            ),
        )
        .param(
            p("Encounter", "status"),
            token(
                "(CASE WHEN f.storniert = 1 THEN 'cancelled' \
                 WHEN f.entlassung IS NULL THEN 'in-progress' ELSE 'finished' END)"
                    .into(),
                ENCOUNTER_STATUS_SYSTEM,
            ),
        )
        .param(
            p("Encounter", "identifier"),
            token("f.fall_nr".into(), FALLNR_SYSTEM),
        )
}

/// The Condition mapping.
pub fn condition_table() -> TableMapping {
    TableMapping::new("Condition", "diagnose", "d", "d.diag_id", IdKind::Integer)
        .filter(live_patient("dp", "d.pat_id"))
        .select([
            "d.diag_id",
            "d.fall_id",
            "d.pat_id",
            "d.icd",
            "d.icd_version",
            "d.diag_art",
            "d.diag_datum",
            "d.sicherheit",
        ])
        .param(p("Condition", "_id"), ParamMapping::Id)
        .param(p("Condition", "patient"), reference("d.pat_id", "Patient"))
        .param(p("Condition", "subject"), reference("d.pat_id", "Patient"))
        .param(
            p("Condition", "encounter"),
            reference("d.fall_id", "Encounter"),
        )
        .param(
            p("Condition", "code"),
            token("d.icd".into(), ICD10GM_SYSTEM),
        )
        .param(
            p("Condition", "verification-status"),
            token(
                case("d.sicherheit", CERTAINTIES.map(|(l, v, _)| (l, v))),
                VER_STATUS_SYSTEM,
            ),
        )
        .param(p("Condition", "recorded-date"), legacy_date("d.diag_datum"))
}

/// The Practitioner mapping.
pub fn practitioner_table() -> TableMapping {
    TableMapping::new("Practitioner", "arzt", "a", "a.arzt_id", IdKind::Integer)
        .select([
            "a.arzt_id",
            "a.lanr",
            "a.nachname",
            "a.vorname",
            "a.fachrichtung",
        ])
        .param(p("Practitioner", "_id"), ParamMapping::Id)
        .param(
            p("Practitioner", "identifier"),
            token("a.lanr".into(), LANR_SYSTEM),
        )
        .param(
            p("Practitioner", "name"),
            strings(&["a.nachname", "a.vorname"]),
        )
        .param(p("Practitioner", "family"), strings(&["a.nachname"]))
        .param(p("Practitioner", "given"), strings(&["a.vorname"]))
}

/// The search mappings of all five types on `backend`.
pub fn schema(backend: Backend) -> Result<SqlSchema> {
    SqlSchema::new([
        patient_table(),
        observation_table(backend),
        encounter_table(),
        condition_table(),
        practitioner_table(),
    ])
}

fn instant_text(t: OffsetDateTime) -> Result<String> {
    t.format(&Rfc3339)
        .map_err(|e| Error::Internal(format!("formatting a timestamp: {e}")))
}

fn text<R: SqlRow>(row: &R, column: &str) -> Result<Option<String>> {
    Ok(non_blank(row.get_opt_str(column)?))
}

fn lookup<'a>(pairs: &'a [(&'a str, &'a str)], legacy: &str, column: &str) -> Result<&'a str> {
    pairs
        .iter()
        .find(|(l, _)| *l == legacy)
        .map(|(_, f)| *f)
        .ok_or_else(|| Error::Internal(format!("unknown code in {column}")))
}

fn decimal_json(d: Decimal) -> Value {
    // Whole numbers stay integers; others go through f64, which holds lab precision exactly
    // enough (serde_json has no decimal type without arbitrary_precision).
    if d.fract().is_zero()
        && let Some(i) = d.to_i64()
    {
        return json!(i);
    }
    d.to_f64().map_or(Value::Null, |f| json!(f))
}

/// Rows of [`patient_table`] → Patient.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatientMapper;

impl<R: SqlRow> RowMapper<R> for PatientMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let mut patient = Map::new();
        patient.insert("resourceType".into(), json!("Patient"));
        patient.insert("id".into(), json!(row.get_i64("pat_id")?.to_string()));
        patient.insert(
            "meta".into(),
            json!({
                "versionId": row.get_i64("aend_zaehler")?.to_string(),
                "lastUpdated": instant_text(row.get_timestamp("geaendert_am")?)?,
            }),
        );
        let mut identifiers = vec![json!({
            "use": "usual",
            "system": PATNR_SYSTEM,
            "value": row.get_str("pat_nr")?.trim(),
        })];
        if let Some(kvnr) = text(row, "kvnr")? {
            identifiers.push(json!({"system": KVID_SYSTEM, "value": kvnr}));
        }
        patient.insert("identifier".into(), Value::Array(identifiers));
        let mut name = json!({"use": "official", "family": row.get_str("nachname")?.trim()});
        if let Some(given) = text(row, "vorname")? {
            name["given"] = json!([given]);
        }
        if let Some(title) = text(row, "titel")? {
            name["prefix"] = json!([title]);
        }
        patient.insert("name".into(), json!([name]));
        if let Some(phone) = text(row, "telefon")? {
            patient.insert(
                "telecom".into(),
                json!([{"system": "phone", "value": phone}]),
            );
        }
        let gender = row.get_str("geschlecht")?;
        patient.insert(
            "gender".into(),
            json!(lookup(&GENDERS, gender.trim(), "geschlecht")?),
        );
        if let Some(birth) = legacy_date_to_fhir(&row.get_str("geb_datum")?) {
            patient.insert("birthDate".into(), json!(birth));
        }
        if let Some(died) = text(row, "verstorben_am")?.and_then(|d| legacy_date_to_fhir(&d)) {
            patient.insert("deceasedDateTime".into(), json!(died));
        }
        let mut address = Map::new();
        if let Some(street) = text(row, "strasse")? {
            address.insert("line".into(), json!([street]));
        }
        for (column, element) in [("plz", "postalCode"), ("ort", "city"), ("land", "country")] {
            if let Some(value) = text(row, column)? {
                address.insert(element.into(), json!(value));
            }
        }
        if !address.is_empty() {
            patient.insert("address".into(), json!([address]));
        }
        Resource::new(Value::Object(patient))
    }
}

/// Rows of [`encounter_table`] → Encounter.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncounterMapper;

impl<R: SqlRow> RowMapper<R> for EncounterMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let fallart = row.get_str("fallart")?;
        let (_, code, display) = CLASSES
            .iter()
            .find(|(l, ..)| *l == fallart.trim())
            .ok_or_else(|| Error::Internal("unknown code in fallart".into()))?;
        let end = row.get_opt_timestamp("entlassung")?;
        let status = if row.get_i64("storniert")? == 1 {
            "cancelled"
        } else if end.is_none() {
            "in-progress"
        } else {
            "finished"
        };
        let mut period = json!({"start": instant_text(row.get_timestamp("aufnahme")?)?});
        if let Some(end) = end {
            period["end"] = json!(instant_text(end)?);
        }
        let mut encounter = json!({
            "resourceType": "Encounter",
            "id": row.get_i64("fall_id")?.to_string(),
            "identifier": [{"system": FALLNR_SYSTEM, "value": row.get_str("fall_nr")?.trim()}],
            "status": status,
            "class": {"system": ACT_CODE_SYSTEM, "code": code, "display": display},
            "subject": {"reference": format!("Patient/{}", row.get_i64("pat_id")?)},
            "period": period,
        });
        if let Some(station) = text(row, "station")? {
            encounter["location"] = json!([{"location": {"display": station}}]);
        }
        Resource::new(encounter)
    }
}

/// Rows of [`observation_table`] → Observation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObservationMapper;

impl<R: SqlRow> RowMapper<R> for ObservationMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let labcode = row.get_str("labcode")?.trim().to_owned();
        let name = text(row, "bezeichnung")?;
        let ucum = text(row, "ucum")?;
        let unit = text(row, "einheit")?;
        let mut codings = Vec::new();
        if let Some(loinc) = text(row, "loinc")? {
            let mut coding = json!({"system": LOINC_SYSTEM, "code": loinc});
            if let Some(name) = &name {
                coding["display"] = json!(name);
            }
            codings.push(coding);
        }
        codings.push(json!({"system": LABCODE_SYSTEM, "code": labcode}));
        let mut code = json!({"coding": codings});
        if let Some(name) = &name {
            code["text"] = json!(name);
        }
        let status = row.get_str("status")?;
        let mut observation = json!({
            "resourceType": "Observation",
            "id": row.get_i64("befund_id")?.to_string(),
            "status": lookup(&OBSERVATION_STATUSES, status.trim(), "status")?,
            "category": [{"coding": [{
                "system": OBSERVATION_CATEGORY_SYSTEM, "code": "laboratory", "display": "Laboratory"
            }]}],
            "code": code,
            "subject": {"reference": format!("Patient/{}", row.get_i64("pat_id")?)},
            "effectiveDateTime": instant_text(row.get_timestamp("abnahme")?)?,
        });
        if let Some(fall) = row.get_opt_i64("fall_id")? {
            observation["encounter"] = json!({"reference": format!("Encounter/{fall}")});
        }
        let quantity = |value: Decimal| {
            let mut q = json!({"value": decimal_json(value)});
            if let Some(unit) = unit.as_ref().or(ucum.as_ref()) {
                q["unit"] = json!(unit);
            }
            if let Some(ucum) = &ucum {
                q["system"] = json!(UCUM);
                q["code"] = json!(ucum);
            }
            q
        };
        match LabValue::parse(&row.get_str("wert")?) {
            LabValue::Quantity { comparator, value } => {
                let mut q = quantity(value);
                if let Some(c) = comparator {
                    q["comparator"] = json!(c.symbol());
                }
                observation["valueQuantity"] = q;
            }
            LabValue::Text(t) if t.is_empty() => {}
            LabValue::Text(t) => observation["valueString"] = json!(t),
        }
        if let Some(range) = text(row, "ref_bereich")? {
            observation["referenceRange"] = match RefRange::parse(&range) {
                Some(r) => {
                    let mut out = json!({});
                    if let Some(low) = r.low {
                        out["low"] = quantity(low);
                    }
                    if let Some(high) = r.high {
                        out["high"] = quantity(high);
                    }
                    json!([out])
                }
                None => json!([{"text": range}]),
            };
        }
        Resource::new(observation)
    }
}

/// Rows of [`condition_table`] → Condition.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionMapper;

impl<R: SqlRow> RowMapper<R> for ConditionMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let certainty = row.get_str("sicherheit")?;
        let (_, verification, clinical) = CERTAINTIES
            .iter()
            .find(|(l, ..)| *l == certainty.trim())
            .ok_or_else(|| Error::Internal("unknown code in sicherheit".into()))?;
        let mut coding = json!({"system": ICD10GM_SYSTEM, "code": row.get_str("icd")?.trim()});
        if let Some(version) = text(row, "icd_version")? {
            coding["version"] = json!(version);
        }
        let mut condition = json!({
            "resourceType": "Condition",
            "id": row.get_i64("diag_id")?.to_string(),
            "verificationStatus": {"coding": [{"system": VER_STATUS_SYSTEM, "code": verification}]},
            "category": [{"coding": [{
                "system": CONDITION_CATEGORY_SYSTEM, "code": "encounter-diagnosis"
            }]}],
            "code": {"coding": [coding]},
            "subject": {"reference": format!("Patient/{}", row.get_i64("pat_id")?)},
            "encounter": {"reference": format!("Encounter/{}", row.get_i64("fall_id")?)},
        });
        if let Some(clinical) = clinical {
            condition["clinicalStatus"] =
                json!({"coding": [{"system": CLINICAL_STATUS_SYSTEM, "code": clinical}]});
        }
        if let Some(date) = legacy_date_to_fhir(&row.get_str("diag_datum")?) {
            condition["recordedDate"] = json!(date);
        }
        Resource::new(condition)
    }
}

/// Rows of [`practitioner_table`] → Practitioner.
#[derive(Debug, Clone, Copy, Default)]
pub struct PractitionerMapper;

impl<R: SqlRow> RowMapper<R> for PractitionerMapper {
    fn to_resource(&self, row: &R) -> Result<Resource> {
        let mut practitioner = json!({
            "resourceType": "Practitioner",
            "id": row.get_i64("arzt_id")?.to_string(),
            "identifier": [{"system": LANR_SYSTEM, "value": row.get_str("lanr")?.trim()}],
            "name": [{"family": row.get_str("nachname")?.trim(), "given": [row.get_str("vorname")?.trim()]}],
        });
        if let Some(specialty) = text(row, "fachrichtung")? {
            practitioner["qualification"] = json!([{"code": {"text": specialty}}]);
        }
        Resource::new(practitioner)
    }
}

/// The mapping schema, shared by all providers of one database.
pub fn shared_schema(backend: Backend) -> Result<Arc<SqlSchema>> {
    schema(backend).map(Arc::new)
}

/// A decimal from a JSON number, exactly as written where possible.
pub fn decimal_from_json(value: &Value) -> Option<Decimal> {
    let n = value.as_number()?;
    let text = n.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_facade_core::SearchQuery;
    use fhir_facade_core::SearchTranslator;
    use fhir_facade_core::search::ParseOptions;
    use fhir_facade_core::sql::{PgDialect, SqlTranslator};

    fn sql(backend: Backend, resource_type: &str, query: &str) -> String {
        let schema = shared_schema(backend).unwrap();
        let q = SearchQuery::parse(
            resource_type,
            query,
            &schema.supported_params(),
            &ParseOptions::default(),
        )
        .unwrap();
        let translator = SqlTranslator::new(&PgDialect, schema);
        let plan = translator.translate(&q, &[]).unwrap();
        plan.select.unwrap().render(|n| format!("${n}")).0
    }

    #[test]
    fn the_schema_is_consistent() {
        for backend in [
            Backend::Postgres,
            Backend::MySql,
            Backend::Sqlite,
            Backend::MsSql,
        ] {
            assert!(schema(backend).is_ok());
        }
    }

    #[test]
    fn soft_deleted_patients_and_their_data_are_filtered() {
        assert!(sql(Backend::Postgres, "Patient", "family=x").contains("p.geloescht = 0"));
        assert!(sql(Backend::Postgres, "Observation", "code=x").contains("lp.geloescht = 0"));
    }

    #[test]
    fn unknown_birth_dates_never_match() {
        let s = sql(Backend::Postgres, "Patient", "birthdate=lt2000");
        assert!(s.contains("NULLIF(p.geb_datum, '00000000') < $1"), "{s}");
    }

    #[test]
    fn decimals_keep_their_value() {
        assert_eq!(decimal_json(Decimal::new(540, 2)), json!(5.4));
        assert_eq!(decimal_json(Decimal::new(200, 0)), json!(200));
        assert_eq!(
            decimal_from_json(&json!(5.4)),
            Some(Decimal::from_str("5.4").unwrap())
        );
        assert_eq!(decimal_from_json(&json!("5")), None);
    }
}
