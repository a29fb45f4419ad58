//! The conformance fixture of `shared/conformance/cases.md` as a small legacy schema (German
//! column names, a coded sex column, identifiers and components in child tables, effective times
//! as a start/end pair with a precision flag), its SqlProvider mappings and row mappers.

use std::sync::Arc;

use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    CompositeMapping, DateMapping, IdKind, ParamMapping, QuantityMapping, ReferenceMapping,
    SqlSchema, StringColumn, TableMapping, TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::{Error, Resource, Result};
use fhir_facade_sqlx::{Database, Row, RowMapper, SqlxProvider};
use fhir_facade_tests::contract::IncludeKey;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const UCUM: &str = "http://unitsofmeasure.org";
pub(crate) const CATSYS: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub(crate) const CONDCAT: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const INTENT: &str = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent";

fn p(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code).unwrap_or_else(|| panic!("{resource_type}.{code} is R4"))
}

/// The DDL and rows. `{ts}` is the timestamp type; statements run in the suite's own schema.
pub(crate) fn statements(ts: &str) -> Vec<String> {
    [
        "CREATE TABLE pat (pat_id VARCHAR(20) PRIMARY KEY, nachname VARCHAR(100) NOT NULL, \
         vorname1 VARCHAR(100), vorname2 VARCHAR(100), geschlecht CHAR(1), geburt DATE, \
         id_system VARCHAR(100), id_wert VARCHAR(100), id_typ_system VARCHAR(100), \
         id_typ_code VARCHAR(20), version INTEGER NOT NULL, geaendert {ts} NOT NULL)",
        "CREATE TABLE loinc_katalog (loinc VARCHAR(20) PRIMARY KEY, anzeige VARCHAR(200) NOT NULL)",
        "CREATE TABLE befund (befund_id VARCHAR(20) PRIMARY KEY, pat_id VARCHAR(20) NOT NULL, \
         kategorie VARCHAR(20), loinc VARCHAR(20) NOT NULL, zeit_art CHAR(1) NOT NULL, \
         zeit_von {ts} NOT NULL, zeit_bis {ts} NOT NULL, wert NUMERIC(10,2), einheit VARCHAR(20))",
        "CREATE TABLE befund_komponente (befund_id VARCHAR(20) NOT NULL, loinc VARCHAR(20) NOT NULL, \
         wert NUMERIC(10,2) NOT NULL, einheit VARCHAR(20) NOT NULL)",
        "CREATE TABLE diagnose (diag_id VARCHAR(20) PRIMARY KEY, pat_id VARCHAR(20) NOT NULL, \
         liste VARCHAR(40) NOT NULL, snomed VARCHAR(20) NOT NULL, text VARCHAR(100) NOT NULL)",
        "CREATE TABLE medikament (med_id VARCHAR(20) PRIMARY KEY, bezeichnung VARCHAR(100) NOT NULL)",
        "CREATE TABLE verordnung (vo_id VARCHAR(20) PRIMARY KEY, pat_id VARCHAR(20) NOT NULL, \
         absicht VARCHAR(20) NOT NULL, med_id VARCHAR(20), freitext VARCHAR(100))",
        // p1–p3. The sex column is the legacy code: W, M, or NULL when unknown. Each patient
        // has at most one identifier, with its issuer and type where known.
        "INSERT INTO pat VALUES \
         ('p1', 'Müller', 'José', 'Eve', 'W', '1980-06-15', 'http://hosp/mrn', '123', \
          'http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 3, '2024-01-02 03:04:05'), \
         ('p2', 'Mullerson', 'Evelyn', NULL, NULL, '1979-12-31', NULL, NULL, NULL, NULL, 1, \
          '2024-01-02 03:04:05'), \
         ('p3', 'Smith', NULL, NULL, 'M', '1981-01-01', NULL, '123', NULL, NULL, 1, \
          '2024-01-02 03:04:05')",
        "INSERT INTO loinc_katalog VALUES \
         ('2823-3', 'Potassium [Moles/volume] in Serum or Plasma'), \
         ('8867-4', 'Heart rate'), \
         ('85354-9', 'Blood pressure panel with all children optional'), \
         ('8480-6', 'Systolic blood pressure'), \
         ('8462-4', 'Diastolic blood pressure')",
        // zeit_art: T an instant (von = bis), D a whole day, P a period of whole days; bis is
        // inclusive, to the microsecond.
        "INSERT INTO befund VALUES \
         ('o1', 'p1', 'laboratory', '2823-3', 'T', '2020-03-01 10:00:00', '2020-03-01 10:00:00', 5.4, 'mmol/L'), \
         ('o2', 'p1', 'vital-signs', '8867-4', 'T', '2020-01-01 04:30:00', '2020-01-01 04:30:00', 72, '/min'), \
         ('o3', 'p2', 'laboratory', '2823-3', 'P', '2020-01-10 00:00:00', '2020-01-20 23:59:59.999999', 2.04, 'mmol/L'), \
         ('o4', 'p2', NULL, '85354-9', 'D', '2020-02-01 00:00:00', '2020-02-01 23:59:59.999999', NULL, NULL)",
        "INSERT INTO befund_komponente VALUES \
         ('o4', '8480-6', 120, 'mm[Hg]'), ('o4', '8462-4', 55, 'mm[Hg]')",
        // Beyond the cases' fixture: Conditions of p1, so that a token without a Condition
        // scope meets a served type that holds its patient's data (case 40), and of p2; each
        // Condition and Medication search then has rows it must not match.
        "INSERT INTO diagnose VALUES \
         ('c1', 'p1', 'problem-list-item', '44054006', 'Diabetes mellitus type 2'), \
         ('c2', 'p1', 'encounter-diagnosis', '38341003', 'Hypertensive disorder'), \
         ('c3', 'p2', 'problem-list-item', '195967001', 'Asthma')",
        "INSERT INTO medikament VALUES ('med1', 'Metformin 500 mg tablet'), \
         ('med2', 'Salbutamol 100 microgram inhaler')",
        "INSERT INTO verordnung VALUES \
         ('m1', 'p1', 'order', 'med1', NULL), ('m2', 'p1', 'plan', NULL, 'Ibuprofen 400 mg'), \
         ('m3', 'p2', 'order', 'med2', NULL)",
    ]
    .iter()
    .map(|s| s.replace("{ts}", ts))
    .collect()
}

/// Creates the tables and rows.
pub(crate) async fn load(db: &Database, ts: &str) {
    for statement in statements(ts) {
        db.execute(&SqlFragment::sql(statement.clone()), None)
            .await
            .unwrap_or_else(|e| panic!("fixture statement failed ({e}): {statement}"));
    }
}

/// The answer key of the include checks, over the fixture's tables.
pub(crate) fn include_key(db: &Database) -> IncludeKey {
    let db = db.clone();
    let key = IncludeKey::new(move |sql: String, id: String| {
        let db = db.clone();
        async move {
            let mut statement = SqlFragment::new();
            let (head, tail) = sql.split_once('?').expect("one ? for the id");
            statement.push(head);
            statement.push_bind(BindValue::Text(id));
            statement.push(tail);
            let rows = db
                .fetch_all(&statement, None)
                .await
                .expect("the key's SQL runs");
            rows.iter()
                .map(|row| row.get_str("v").expect("a text column v"))
                .collect()
        }
    });
    let patient_of = |table: &str, key: &str| {
        format!(
            "SELECT x.pat_id AS v FROM {table} x JOIN pat p ON p.pat_id = x.pat_id WHERE x.{key} = ?"
        )
    };
    let rows_of =
        |table: &str, key: &str| format!("SELECT {key} AS v FROM {table} WHERE pat_id = ?");
    key.include(
        "Observation:patient",
        "Patient",
        &patient_of("befund", "befund_id"),
    )
    .include(
        "Observation:subject",
        "Patient",
        &patient_of("befund", "befund_id"),
    )
    .include(
        "Condition:patient",
        "Patient",
        &patient_of("diagnose", "diag_id"),
    )
    .include(
        "MedicationRequest:patient",
        "Patient",
        &patient_of("verordnung", "vo_id"),
    )
    .include(
        "MedicationRequest:subject",
        "Patient",
        &patient_of("verordnung", "vo_id"),
    )
    .include(
        "MedicationRequest:medication",
        "Medication",
        "SELECT m.med_id AS v FROM verordnung x JOIN medikament m ON m.med_id = x.med_id \
             WHERE x.vo_id = ?",
    )
    .revinclude(
        "Patient",
        "Observation:patient",
        &rows_of("befund", "befund_id"),
    )
    .revinclude(
        "Patient",
        "Observation:subject",
        &rows_of("befund", "befund_id"),
    )
    .revinclude(
        "Patient",
        "Condition:patient",
        &rows_of("diagnose", "diag_id"),
    )
    .revinclude(
        "Patient",
        "MedicationRequest:patient",
        &rows_of("verordnung", "vo_id"),
    )
    .revinclude(
        "Patient",
        "MedicationRequest:subject",
        &rows_of("verordnung", "vo_id"),
    )
    .revinclude(
        "Medication",
        "MedicationRequest:medication",
        "SELECT vo_id AS v FROM verordnung WHERE med_id = ?",
    )
}

/// The mappings of the four types.
pub(crate) fn schema() -> Arc<SqlSchema> {
    let sex = "(CASE p.geschlecht WHEN 'W' THEN 'female' WHEN 'M' THEN 'male' END)";
    let mut identifier = TokenMapping::new(
        TokenCode::Column("p.id_wert".into()),
        ValueSource::Column("p.id_system".into()),
    );
    identifier.identifier_type = identifier_type_columns();
    let patient = TableMapping::new("Patient", "pat", "p", "p.pat_id", IdKind::Text)
        .select([
            "p.pat_id",
            "p.nachname",
            "p.vorname1",
            "p.vorname2",
            "p.geschlecht",
            "p.geburt",
            "p.id_system",
            "p.id_wert",
            "p.id_typ_system",
            "p.id_typ_code",
            "p.version",
            "p.geaendert",
        ])
        .param(p("Patient", "_id"), ParamMapping::Id)
        .param(
            p("Patient", "family"),
            ParamMapping::String(vec![StringColumn::new("p.nachname")]),
        )
        .param(
            p("Patient", "given"),
            ParamMapping::String(vec![
                StringColumn::new("p.vorname1"),
                StringColumn::new("p.vorname2"),
            ]),
        )
        .param(
            p("Patient", "name"),
            ParamMapping::String(vec![
                StringColumn::new("p.nachname"),
                StringColumn::new("p.vorname1"),
                StringColumn::new("p.vorname2"),
            ]),
        )
        .param(
            p("Patient", "gender"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column(sex.into()),
                ValueSource::Constant("http://hl7.org/fhir/administrative-gender".into()),
            )),
        )
        .param(
            p("Patient", "birthdate"),
            ParamMapping::Date(DateMapping::Point {
                expr: "p.geburt".into(),
                kind: TimeKind::Date,
            }),
        )
        .param(p("Patient", "identifier"), ParamMapping::Token(identifier));

    let mut code = TokenMapping::new(
        TokenCode::Lookup {
            from: "loinc_katalog k".into(),
            join: "k.loinc = o.loinc".into(),
            code: "k.loinc".into(),
        },
        ValueSource::Constant(LOINC.into()),
    );
    code.text = Some("k.anzeige".into());
    let subject = || ParamMapping::Reference(ReferenceMapping::new("o.pat_id", "Patient"));
    let mut observation =
        TableMapping::new("Observation", "befund", "o", "o.befund_id", IdKind::Text)
            .select([
                "o.befund_id",
                "o.pat_id",
                "o.kategorie",
                "o.loinc",
                "(SELECT k.anzeige FROM loinc_katalog k WHERE k.loinc = o.loinc) AS anzeige",
                "o.zeit_art",
                "o.zeit_von",
                "o.zeit_bis",
                "o.wert",
                "o.einheit",
            ])
            .param(p("Observation", "_id"), ParamMapping::Id)
            .param(p("Observation", "code"), ParamMapping::Token(code))
            .param(
                p("Observation", "category"),
                ParamMapping::Token(TokenMapping::new(
                    TokenCode::Column("o.kategorie".into()),
                    ValueSource::Constant(CATSYS.into()),
                )),
            )
            .param(
                p("Observation", "date"),
                ParamMapping::Date(DateMapping::Period {
                    start: "o.zeit_von".into(),
                    end: "o.zeit_bis".into(),
                    kind: TimeKind::Instant,
                }),
            )
            .param(
                p("Observation", "value-quantity"),
                ParamMapping::Quantity(QuantityMapping {
                    value: "o.wert".into(),
                    system: ValueSource::Constant(UCUM.into()),
                    code: ValueSource::Column("o.einheit".into()),
                }),
            )
            .param(p("Observation", "patient"), subject())
            .param(p("Observation", "subject"), subject());
    if let Some(composite) = component_code_value_quantity() {
        observation =
            observation.param(p("Observation", "component-code-value-quantity"), composite);
    }

    let condition = TableMapping::new("Condition", "diagnose", "d", "d.diag_id", IdKind::Text)
        .select(["d.diag_id", "d.pat_id", "d.liste", "d.snomed", "d.text"])
        .param(p("Condition", "_id"), ParamMapping::Id)
        .param(
            p("Condition", "patient"),
            ParamMapping::Reference(ReferenceMapping::new("d.pat_id", "Patient")),
        )
        .param(
            p("Condition", "category"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("d.liste".into()),
                ValueSource::Constant(CONDCAT.into()),
            )),
        )
        .param(
            p("Condition", "code"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("d.snomed".into()),
                ValueSource::Constant(SNOMED.into()),
            )),
        );
    let medication = TableMapping::new("Medication", "medikament", "md", "md.med_id", IdKind::Text)
        .select(["md.med_id", "md.bezeichnung"])
        .param(p("Medication", "_id"), ParamMapping::Id);

    let mr_patient = || ParamMapping::Reference(ReferenceMapping::new("v.pat_id", "Patient"));
    let medication_request = TableMapping::new(
        "MedicationRequest",
        "verordnung",
        "v",
        "v.vo_id",
        IdKind::Text,
    )
    .select(["v.vo_id", "v.pat_id", "v.absicht", "v.med_id", "v.freitext"])
    .param(p("MedicationRequest", "_id"), ParamMapping::Id)
    .param(p("MedicationRequest", "patient"), mr_patient())
    .param(p("MedicationRequest", "subject"), mr_patient())
    .param(
        p("MedicationRequest", "intent"),
        ParamMapping::Token(TokenMapping::new(
            TokenCode::Column("v.absicht".into()),
            ValueSource::Constant(INTENT.into()),
        )),
    )
    .param(
        p("MedicationRequest", "medication"),
        ParamMapping::Reference(ReferenceMapping::new("v.med_id", "Medication")),
    );
    Arc::new(
        SqlSchema::new([
            patient,
            observation,
            condition,
            medication,
            medication_request,
        ])
        .expect("the fixture mapping is valid"),
    )
}

/// `:of-type` needs each identifier's own type, which this schema keeps per row.
fn identifier_type_columns() -> Option<(ValueSource, ValueSource)> {
    Some((
        ValueSource::Column("p.id_typ_system".into()),
        ValueSource::Column("p.id_typ_code".into()),
    ))
}

/// `component-code-value-quantity` over the component table.
fn component_code_value_quantity() -> Option<ParamMapping> {
    Some(ParamMapping::Composite(CompositeMapping {
        from: Some((
            "befund_komponente c".into(),
            "c.befund_id = o.befund_id".into(),
        )),
        components: vec![
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("c.loinc".into()),
                ValueSource::Constant(LOINC.into()),
            )),
            ParamMapping::Quantity(QuantityMapping {
                value: "c.wert".into(),
                system: ValueSource::Constant(UCUM.into()),
                code: ValueSource::Column("c.einheit".into()),
            }),
        ],
    }))
}

fn column<T>(r: std::result::Result<T, fhir_facade_sqlx::SqlxError>) -> Result<T> {
    r.map_err(|e| Error::Internal(format!("row mapping: {e}")))
}

fn number(d: Decimal) -> Value {
    let text = d.normalize().to_string();
    text.parse::<i64>()
        .map(Value::from)
        .or_else(|_| text.parse::<f64>().map(Value::from))
        .unwrap_or(Value::Null)
}

fn instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn reference(resource_type: &str, id: &str) -> Value {
    json!({ "reference": format!("{resource_type}/{id}") })
}

/// Row mappers, one per type.
pub(crate) struct Mapper(pub &'static str);

impl RowMapper<Row> for Mapper {
    fn to_resource(&self, row: &Row) -> Result<Resource> {
        let json = match self.0 {
            "Patient" => patient(row)?,
            "Observation" => observation(row)?,
            "Medication" => json!({
                "resourceType": "Medication",
                "id": column(row.get_str("med_id"))?,
                "code": {"text": column(row.get_str("bezeichnung"))?},
            }),
            "MedicationRequest" => medication_request(row)?,
            "Condition" => json!({
                "resourceType": "Condition",
                "id": column(row.get_str("diag_id"))?,
                "clinicalStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active"
                }]},
                "category": [{"coding": [{"system": CONDCAT, "code": column(row.get_str("liste"))?}]}],
                "code": {
                    "coding": [{"system": SNOMED, "code": column(row.get_str("snomed"))?}],
                    "text": column(row.get_str("text"))?
                },
                "subject": reference("Patient", &column(row.get_str("pat_id"))?),
            }),
            other => return Err(Error::Internal(format!("no mapper for {other}"))),
        };
        Resource::new(json)
    }
}

fn patient(row: &Row) -> Result<Value> {
    let id = column(row.get_str("pat_id"))?;
    let given: Vec<String> = [
        column(row.get_opt_str("vorname1"))?,
        column(row.get_opt_str("vorname2"))?,
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut name = json!({"family": column(row.get_str("nachname"))?});
    if !given.is_empty() {
        name["given"] = json!(given);
    }
    let mut json = json!({
        "resourceType": "Patient",
        "id": id,
        "meta": {
            "versionId": column(row.get_i64("version"))?.to_string(),
            "lastUpdated": instant(column(row.get_timestamp("geaendert"))?),
        },
        "name": [name],
    });
    match column(row.get_opt_str("geschlecht"))?
        .as_deref()
        .map(str::trim)
    {
        Some("W") => json["gender"] = json!("female"),
        Some("M") => json["gender"] = json!("male"),
        _ => {}
    }
    if let Some(born) = column(row.get_opt_date("geburt"))? {
        json["birthDate"] = json!(born.to_string());
    }
    if let Some(value) = column(row.get_opt_str("id_wert"))? {
        let mut identifier = json!({"value": value});
        if let Some(system) = column(row.get_opt_str("id_system"))? {
            identifier["system"] = json!(system);
        }
        if let (Some(system), Some(code)) = (
            column(row.get_opt_str("id_typ_system"))?,
            column(row.get_opt_str("id_typ_code"))?,
        ) {
            identifier["type"] = json!({"coding": [{"system": system, "code": code}]});
        }
        json["identifier"] = json!([identifier]);
    }
    Ok(json)
}

fn observation(row: &Row) -> Result<Value> {
    let code = column(row.get_str("loinc"))?;
    let mut coding = json!({"system": LOINC, "code": code});
    if let Some(display) = column(row.get_opt_str("anzeige"))? {
        coding["display"] = json!(display);
    }
    let mut json = json!({
        "resourceType": "Observation",
        "id": column(row.get_str("befund_id"))?,
        "status": "final",
        "code": {"coding": [coding]},
        "subject": reference("Patient", &column(row.get_str("pat_id"))?),
    });
    if let Some(category) = column(row.get_opt_str("kategorie"))? {
        json["category"] = json!([{"coding": [{"system": CATSYS, "code": category}]}]);
    }
    let start = column(row.get_timestamp("zeit_von"))?;
    let end = column(row.get_timestamp("zeit_bis"))?;
    match column(row.get_str("zeit_art"))?.trim() {
        "T" => json["effectiveDateTime"] = json!(instant(start)),
        "D" => json["effectiveDateTime"] = json!(start.date().to_string()),
        "P" => {
            json["effectivePeriod"] =
                json!({"start": start.date().to_string(), "end": end.date().to_string()});
        }
        other => return Err(Error::Internal(format!("unknown zeit_art {other:?}"))),
    }
    if let Some(value) = column(row.get_opt_decimal("wert"))? {
        let unit = column(row.get_str("einheit"))?;
        json["valueQuantity"] =
            json!({"value": number(value), "unit": unit, "system": UCUM, "code": unit});
    }
    Ok(json)
}

fn medication_request(row: &Row) -> Result<Value> {
    let mut json = json!({
        "resourceType": "MedicationRequest",
        "id": column(row.get_str("vo_id"))?,
        "status": "active",
        "intent": column(row.get_str("absicht"))?,
        "subject": reference("Patient", &column(row.get_str("pat_id"))?),
    });
    match (
        column(row.get_opt_str("med_id"))?,
        column(row.get_opt_str("freitext"))?,
    ) {
        (Some(med), _) => json["medicationReference"] = reference("Medication", &med),
        (None, Some(text)) => json["medicationCodeableConcept"] = json!({"text": text}),
        (None, None) => {}
    }
    Ok(json)
}

/// The served types.
pub(crate) const TYPES: [&str; 5] = [
    "Patient",
    "Observation",
    "Condition",
    "Medication",
    "MedicationRequest",
];

/// The providers of the served types over `db`.
pub(crate) fn providers(db: &Database) -> Vec<SqlxProvider<Mapper>> {
    let schema = schema();
    TYPES
        .into_iter()
        .map(|t| SqlxProvider::new(db.clone(), schema.clone(), t, Mapper(t)).expect("mapped"))
        .collect()
}
