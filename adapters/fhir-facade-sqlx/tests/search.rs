//! One table of searches, run unchanged on PostgreSQL, MariaDB and SQLite over one fixture.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers; each
//! run works in its own schema or database and drops it. An unreachable server skips its test,
//! except under `CI=true`, where it fails.
//!
//! The table runs with the clock pinned at [`NOW`], so that `ap` (whose margin depends on the
//! distance to now) has fixed boundaries.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::search::{PageToken, ParseOptions, SearchParamDef, SearchValue};
use fhir_facade_core::sql::fold;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, QuantityMapping, ReferenceMapping, SqlSchema, StringColumn,
    TableMapping, TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::translate::{BindValue, SqlFragment};
use fhir_facade_core::{Constraint, Context, Resource, ResourceProvider, SearchQuery};
use fhir_facade_sqlx::{Database, Pool, Row, RowMapper, SqlProvider};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

/// The clock of the table's searches: ten days after the first lab results.
const NOW: OffsetDateTime = datetime!(2024-03-11 00:00 UTC);

const MRN_SYSTEM: &str = "urn:oid:1.2.36.146.595.217.0.1";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

fn p(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code).unwrap()
}

fn schema() -> Arc<SqlSchema> {
    let string =
        |cols: &[&str]| ParamMapping::String(cols.iter().map(|c| StringColumn::new(*c)).collect());
    let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
        .filter("p.deleted = 0")
        .select(["p.id", "p.family"])
        .param(p("Patient", "_id"), ParamMapping::Id)
        .param(p("Patient", "family"), string(&["p.family"]))
        .param(p("Patient", "name"), string(&["p.family", "p.given"]))
        .param(
            p("Patient", "gender"),
            ParamMapping::Token(TokenMapping::new(
                TokenCode::Column("p.gender".into()),
                ValueSource::None,
            )),
        )
        .param(
            p("Patient", "birthdate"),
            ParamMapping::Date(DateMapping::Point {
                expr: "p.birth".into(),
                kind: TimeKind::LegacyYmd,
            }),
        )
        .param(p("Patient", "identifier"), {
            let mut mrn = TokenMapping::new(
                TokenCode::Column("p.mrn".into()),
                ValueSource::Constant(MRN_SYSTEM.into()),
            );
            mrn.identifier_type = Some((V2_0203.into(), "MR".into()));
            ParamMapping::Token(mrn)
        });
    let mut code = TokenMapping::new(
        TokenCode::Lookup {
            from: "loinc_map m".into(),
            join: "m.local_code = l.labcode".into(),
            code: "m.loinc".into(),
        },
        ValueSource::Constant("http://loinc.org".into()),
    );
    code.text = Some("m.display".into());
    let lab = TableMapping::new(
        "Observation",
        "lab",
        "l",
        "l.id",
        IdKind::PrefixedInteger("lab-".into()),
    )
    .select(["l.id", "l.value"])
    .param(p("Observation", "_id"), ParamMapping::Id)
    .param(p("Observation", "code"), ParamMapping::Token(code))
    .param(
        p("Observation", "date"),
        ParamMapping::Date(DateMapping::Point {
            expr: "l.taken".into(),
            kind: TimeKind::Instant,
        }),
    )
    .param(
        p("Observation", "value-quantity"),
        ParamMapping::Quantity(QuantityMapping {
            value: "l.value".into(),
            system: ValueSource::Constant("http://unitsofmeasure.org".into()),
            code: ValueSource::Column("l.unit".into()),
        }),
    )
    .param(
        p("Observation", "subject"),
        ParamMapping::Reference(
            ReferenceMapping::new("l.patient_id", "Patient").with_identifier("identifier"),
        ),
    )
    .param(
        p("Observation", "_source"),
        ParamMapping::Uri("l.source".into()),
    );
    let encounter = TableMapping::new("Encounter", "encounter", "e", "e.id", IdKind::Integer)
        .select(["e.id"])
        .param(p("Encounter", "_id"), ParamMapping::Id)
        .param(
            p("Encounter", "date"),
            ParamMapping::Date(DateMapping::Period {
                start: "e.admitted".into(),
                end: "e.discharged".into(),
                kind: TimeKind::Date,
            }),
        )
        .param(
            p("Encounter", "patient"),
            ParamMapping::Reference(ReferenceMapping::new("e.patient_id", "Patient")),
        );
    let loinc = "http://loinc.org";
    Arc::new(
        SqlSchema::new([patient, lab, encounter])
            .unwrap()
            .value_set("http://example.org/vs/hemoglobin", [(loinc, "718-7")])
            // The SNOMED code shares the LOINC code's text and must not match it.
            .value_set(
                "http://example.org/vs/chemistry",
                [(loinc, "2345-7"), ("http://snomed.info/sct", "718-7")],
            )
            .value_set(
                "http://example.org/vs/gender-m",
                [("http://hl7.org/fhir/administrative-gender", "m")],
            ),
    )
}

struct ById {
    resource_type: &'static str,
    prefix: &'static str,
    column: &'static str,
}

impl RowMapper<Row> for ById {
    fn to_resource(&self, row: &Row) -> fhir_facade_core::Result<Resource> {
        let id = format!("{}{}", self.prefix, row.get_i64(self.column)?);
        Resource::new(json!({"resourceType": self.resource_type, "id": id}))
    }
}

type Patient = (
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    i64,
);

/// (id, family, given, gender, birth, deleted)
const PATIENTS: &[Patient] = &[
    (1, "Müller", "Hans", Some("m"), Some("19800515"), 0),
    (2, "Mullerson", "Anna", Some("f"), Some("19800500"), 0),
    (3, "Smith", "John", Some("m"), Some("19811231"), 0),
    (4, "García", "José", Some("m"), Some("19800000"), 0),
    (5, "smith", "Eva", Some("f"), Some("19790101"), 0),
    (6, "Deleted", "Gone", Some("f"), Some("19800515"), 1),
    (7, "O'Brien", "Liam", None, None, 0),
    (8, "100%_Te\\st", "Back", Some("u"), Some("19810101"), 0),
];

/// Medical record numbers by patient id; the others have none. The deleted patient 6 shares
/// patient 1's number, which only patient 1 may answer.
const MRNS: &[(i64, &str)] = &[
    (1, "M100"),
    (2, "M200"),
    (3, "M300"),
    (5, "M500"),
    (6, "M100"),
];

/// `Meta.source` of the lab rows by id (lab 6 has none): path segments, a case variant and LIKE
/// wildcards that must match only themselves.
const SOURCES: &[(i64, &str)] = &[
    (1, "http://acme.org/lis/ward-3"),
    (2, "http://acme.org/lis/ward-3/bed-2"),
    (3, "http://acme.org/lis/ward-30"),
    (4, "http://acme.org/lis"),
    (5, "http://acme.org/LIS/ward-3/100%_Te\\st"),
];

async fn fixture(db: &Database, ts_type: &str) {
    let ddl = [
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, family VARCHAR(100), given VARCHAR(100), \
         gender CHAR(1), birth CHAR(8), deleted INTEGER NOT NULL, mrn VARCHAR(20))"
            .to_owned(),
        "CREATE TABLE loinc_map (local_code VARCHAR(20), loinc VARCHAR(20), display VARCHAR(100))".to_owned(),
        format!(
            "CREATE TABLE lab (id INTEGER PRIMARY KEY, patient_id INTEGER, labcode VARCHAR(20), \
             value NUMERIC(10,2), unit VARCHAR(20), taken {ts_type}, source VARCHAR(200))"
        ),
        "CREATE TABLE encounter (id INTEGER PRIMARY KEY, patient_id INTEGER, admitted DATE, discharged DATE)"
            .to_owned(),
        "INSERT INTO loinc_map VALUES ('HB', '718-7', 'Hemoglobin'), ('GLU', '2345-7', 'Glucose')".to_owned(),
        "INSERT INTO lab VALUES (1, 1, 'HB', 13.5, 'g/dL', '2024-03-01 10:00:00', NULL), \
         (2, 1, 'GLU', 5.4, 'mmol/L', '2024-03-02 08:30:00', NULL), \
         (3, 2, 'HB', 12.0, 'g/dL', '2024-02-28 23:59:59', NULL), \
         (4, 3, 'GLU', 100, 'mg/dL', '2023-12-31 12:00:00', NULL), \
         (5, 3, 'XX', NULL, NULL, '2024-03-01 00:00:00', NULL), \
         (6, 6, 'HB', 14, 'g/dL', '2024-01-15 12:00:00', NULL)"
            .to_owned(),
        "INSERT INTO encounter VALUES (1, 1, '2024-03-01', '2024-03-05'), (2, 2, '2024-02-25', '2024-03-02'), \
         (3, 3, '2024-03-10', NULL), (4, 1, '2023-01-01', '2023-01-02')"
            .to_owned(),
    ];
    for statement in ddl {
        db.execute(&SqlFragment::sql(statement), None)
            .await
            .unwrap();
    }
    // Bound, so that quotes and backslashes need no dialect-specific literals.
    for &(id, family, given, gender, birth, deleted) in PATIENTS {
        let mut insert = SqlFragment::sql("INSERT INTO patient VALUES (");
        let text = |v: Option<&str>| v.map_or(BindValue::Null, |s| BindValue::Text(s.to_owned()));
        let values = [
            BindValue::Int(id),
            text(Some(family)),
            text(Some(given)),
            text(gender),
            text(birth),
            BindValue::Int(deleted),
            text(MRNS.iter().find(|m| m.0 == id).map(|m| m.1)),
        ];
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            insert.push_bind(v);
        }
        insert.push(")");
        db.execute(&insert, None).await.unwrap();
    }
    for &(id, source) in SOURCES {
        let mut update = SqlFragment::sql("UPDATE lab SET source = ");
        update.push_bind(BindValue::Text(source.to_owned()));
        update.push(" WHERE id = ");
        update.push_bind(BindValue::Int(id));
        db.execute(&update, None).await.unwrap();
    }
}

/// (type, query, expected ids, ordered)
const CASES: &[(&str, &str, &[&str], bool)] = &[
    ("Patient", "family=muller", &["1", "2"], false),
    ("Patient", "family=M%C3%9CLLER", &["1", "2"], false),
    ("Patient", "family=mullers", &["2"], false),
    ("Patient", "family:exact=M%C3%BCller", &["1"], false),
    ("Patient", "family:exact=m%C3%BCller", &[], false),
    ("Patient", "family:exact=smith", &["5"], false),
    ("Patient", "family:contains=LLER", &["1", "2"], false),
    ("Patient", "name=jos", &["4"], false),
    ("Patient", "name=JOS%C3%89", &["4"], false),
    ("Patient", "family=smith", &["3", "5"], false),
    ("Patient", "family=smith,garcia", &["3", "4", "5"], false),
    ("Patient", "family=smith&gender=f", &["5"], false),
    ("Patient", "family=100%25_", &["8"], false),
    ("Patient", "family=_", &[], false),
    ("Patient", "family:contains=%5C", &["8"], false),
    ("Patient", "gender=m", &["1", "3", "4"], false),
    ("Patient", "gender=m,u", &["1", "3", "4", "8"], false),
    ("Patient", "gender:not=m", &["2", "5", "7", "8"], false),
    ("Patient", "gender:missing=true", &["7"], false),
    (
        "Patient",
        "gender:missing=false",
        &["1", "2", "3", "4", "5", "8"],
        false,
    ),
    ("Patient", "birthdate=1980", &["1", "2", "4"], false),
    ("Patient", "birthdate=1980-05", &["1", "2"], false),
    ("Patient", "birthdate=1980-05-15", &["1"], false),
    ("Patient", "birthdate=1981", &["3", "8"], false),
    ("Patient", "birthdate=1981-01-01", &["8"], false),
    ("Patient", "birthdate=ge1981-01-01", &["3", "8"], false),
    ("Patient", "birthdate=lt1980-05-15", &["2", "4", "5"], false),
    (
        "Patient",
        "birthdate=gt1980-05-15",
        &["2", "3", "4", "8"],
        false,
    ),
    ("Patient", "birthdate=sa1980", &["3", "8"], false),
    ("Patient", "birthdate=eb1980", &["5"], false),
    ("Patient", "birthdate=ne1980", &["3", "5", "8"], false),
    (
        "Patient",
        "birthdate=le1980-05",
        &["1", "2", "4", "5"],
        false,
    ),
    (
        "Patient",
        "birthdate=ge1980-05-15&birthdate=le1980-12",
        &["1", "2", "4"],
        false,
    ),
    ("Patient", "birthdate:missing=true", &["7"], false),
    ("Patient", "_id=1,3", &["1", "3"], false),
    ("Patient", "_id=abc", &[], false),
    ("Patient", "_id=6", &[], false),
    (
        "Patient",
        "_has:Observation:subject:code=718-7",
        &["1", "2"],
        false,
    ),
    (
        "Patient",
        "_has:Observation:subject:value-quantity=gt13",
        &["1", "3"],
        false,
    ),
    (
        "Patient",
        "_sort=birthdate",
        &["5", "4", "2", "1", "8", "3", "7"],
        true,
    ),
    (
        "Patient",
        "_sort=-birthdate",
        &["7", "3", "8", "1", "2", "4", "5"],
        true,
    ),
    (
        "Patient",
        "_sort=-_id",
        &["8", "7", "5", "4", "3", "2", "1"],
        true,
    ),
    (
        "Observation",
        "code=718-7",
        &["lab-1", "lab-3", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code=http://loinc.org|718-7",
        &["lab-1", "lab-3", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code=http://snomed.info/sct|718-7",
        &[],
        false,
    ),
    ("Observation", "code=|718-7", &[], false),
    (
        "Observation",
        "code=http://loinc.org|",
        &["lab-1", "lab-2", "lab-3", "lab-4", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code:not=718-7",
        &["lab-2", "lab-4", "lab-5"],
        false,
    ),
    ("Observation", "code:missing=true", &["lab-5"], false),
    (
        "Observation",
        "code:text=hemo",
        &["lab-1", "lab-3", "lab-6"],
        false,
    ),
    ("Observation", "date=2024-03-01", &["lab-1", "lab-5"], false),
    ("Observation", "date=2024-03-01T10:00Z", &["lab-1"], false),
    (
        "Observation",
        "date=ge2024-03-01T10:00:00Z",
        &["lab-1", "lab-2"],
        false,
    ),
    (
        "Observation",
        "date=lt2024-03-01",
        &["lab-3", "lab-4", "lab-6"],
        false,
    ),
    ("Observation", "date=sa2024-03-01", &["lab-2"], false),
    (
        "Observation",
        "date=eb2024-03-01",
        &["lab-3", "lab-4", "lab-6"],
        false,
    ),
    (
        "Observation",
        "date=ne2024-03-01",
        &["lab-2", "lab-3", "lab-4", "lab-6"],
        false,
    ),
    (
        "Observation",
        "date=gt2024-02-28T23:59:59Z",
        &["lab-1", "lab-2", "lab-5"],
        false,
    ),
    (
        "Observation",
        "date=le2024-02-28T23:59:59Z",
        &["lab-3", "lab-4", "lab-6"],
        false,
    ),
    ("Observation", "value-quantity=13.5", &["lab-1"], false),
    ("Observation", "value-quantity=13", &[], false),
    ("Observation", "value-quantity=12", &["lab-3"], false),
    (
        "Observation",
        "value-quantity=gt13",
        &["lab-1", "lab-4", "lab-6"],
        false,
    ),
    (
        "Observation",
        "value-quantity=le12",
        &["lab-2", "lab-3"],
        false,
    ),
    (
        "Observation",
        "value-quantity=ne12",
        &["lab-1", "lab-2", "lab-4", "lab-6"],
        false,
    ),
    ("Observation", "value-quantity=ap100", &["lab-4"], false),
    (
        "Observation",
        "value-quantity=ge100|http://unitsofmeasure.org|mg/dL",
        &["lab-4"],
        false,
    ),
    (
        "Observation",
        "value-quantity=5.4||mmol/L",
        &["lab-2"],
        false,
    ),
    (
        "Observation",
        "value-quantity=5.4|http://other|mmol/L",
        &[],
        false,
    ),
    (
        "Observation",
        "subject=Patient/1",
        &["lab-1", "lab-2"],
        false,
    ),
    ("Observation", "subject=1", &["lab-1", "lab-2"], false),
    (
        "Observation",
        "subject:Patient=3",
        &["lab-4", "lab-5"],
        false,
    ),
    ("Observation", "subject=Group/1", &[], false),
    (
        "Observation",
        "subject=http://other.org/fhir/Patient/1",
        &[],
        false,
    ),
    (
        "Observation",
        "subject:Patient.family=muller",
        &["lab-1", "lab-2", "lab-3"],
        false,
    ),
    (
        "Observation",
        "subject:Patient.birthdate=1981",
        &["lab-4", "lab-5"],
        false,
    ),
    ("Observation", "_id=lab-1,lab-2", &["lab-1", "lab-2"], false),
    ("Observation", "_id=1", &[], false),
    (
        "Observation",
        "code=718-7,2345-7&date=ge2024-03-01",
        &["lab-1", "lab-2"],
        false,
    ),
    ("Encounter", "date=2024-03", &["1"], false),
    ("Encounter", "date=ge2024-03-05", &["3"], false),
    ("Encounter", "date=lt2024-03-01", &["2", "4"], false),
    ("Encounter", "date=2023", &["4"], false),
    ("Encounter", "date=sa2024-03-05", &["3"], false),
    ("Encounter", "date=eb2024-03-01", &["4"], false),
    ("Encounter", "patient=1", &["1", "4"], false),
    // ap: the margin is a tenth of the distance from NOW (2024-03-11) to the value.
    // 2024-03-01 ± 1 day: [02-29 00:00, 03-03 00:00); lab-3 is one second short of it.
    (
        "Observation",
        "date=ap2024-03-01",
        &["lab-1", "lab-2", "lab-5"],
        false,
    ),
    // ± (11 days + 1 s) / 10: [02-27 21:35:58.9, 03-01 02:24:00.1].
    (
        "Observation",
        "date=ap2024-02-28T23:59:59Z",
        &["lab-3", "lab-5"],
        false,
    ),
    // ± 4.8 h reaches into 2024-03-10, the day encounter 3 starts; ± 7.2 h around 03-08 does not.
    ("Encounter", "date=ap2024-03-09", &["3"], false),
    ("Encounter", "date=ap2024-03-08", &[], false),
    // ± 1431.4 days: from 1981-01-30 14:24 on, so 1981-12-31 is in and 1981-01-01 is out.
    ("Patient", "birthdate=ap1985-01-01", &["3"], false),
    // Identifiers, :of-type (the column's type is MR) and reference :identifier.
    ("Patient", "identifier=M100", &["1"], false),
    (
        "Patient",
        "identifier=urn:oid:1.2.36.146.595.217.0.1|M300",
        &["3"],
        false,
    ),
    ("Patient", "identifier=http://other.org|M100", &[], false),
    (
        "Patient",
        "identifier:missing=true",
        &["4", "7", "8"],
        false,
    ),
    (
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|M100",
        &["1"],
        false,
    ),
    (
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|M100,\
         http://terminology.hl7.org/CodeSystem/v2-0203|MR|M500",
        &["1", "5"],
        false,
    ),
    (
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|DL|M100",
        &[],
        false,
    ),
    (
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|m100",
        &[],
        false,
    ),
    (
        "Observation",
        "subject:identifier=urn:oid:1.2.36.146.595.217.0.1|M100",
        &["lab-1", "lab-2"],
        false,
    ),
    (
        "Observation",
        "subject:identifier=M300",
        &["lab-4", "lab-5"],
        false,
    ),
    (
        "Observation",
        "subject:identifier=M100,M200",
        &["lab-1", "lab-2", "lab-3"],
        false,
    ),
    (
        "Observation",
        "subject:identifier=http://other.org|M100",
        &[],
        false,
    ),
    // :in and :not-in over the value sets declared in the schema.
    (
        "Observation",
        "code:in=http://example.org/vs/hemoglobin",
        &["lab-1", "lab-3", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code:in=http://example.org/vs/chemistry",
        &["lab-2", "lab-4"],
        false,
    ),
    (
        "Observation",
        "code:in=http://example.org/vs/hemoglobin,http://example.org/vs/chemistry",
        &["lab-1", "lab-2", "lab-3", "lab-4", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code:not-in=http://example.org/vs/hemoglobin",
        &["lab-2", "lab-4", "lab-5"],
        false,
    ),
    (
        "Observation",
        "code:not-in=http://example.org/vs/chemistry",
        &["lab-1", "lab-3", "lab-5", "lab-6"],
        false,
    ),
    (
        "Observation",
        "code:in=http://example.org/vs/hemoglobin&code:not-in=http://example.org/vs/chemistry",
        &["lab-1", "lab-3", "lab-6"],
        false,
    ),
    // gender stores no system, so a system-qualified code matches nothing, as gender=system|m.
    (
        "Patient",
        "gender:in=http://example.org/vs/gender-m",
        &[],
        false,
    ),
    (
        "Patient",
        "gender=http://hl7.org/fhir/administrative-gender|m",
        &[],
        false,
    ),
    (
        "Patient",
        "gender:not-in=http://example.org/vs/gender-m",
        &["1", "2", "3", "4", "5", "7", "8"],
        false,
    ),
    // uri: exact, and :below / :above by whole path segments.
    (
        "Observation",
        "_source=http://acme.org/lis/ward-3",
        &["lab-1"],
        false,
    ),
    ("Observation", "_source=HTTP://acme.org/lis", &[], false),
    (
        "Observation",
        "_source=http://acme.org/lis,http://acme.org/LIS/ward-3/100%25_Te%5Cst",
        &["lab-4", "lab-5"],
        false,
    ),
    ("Observation", "_source:missing=true", &["lab-6"], false),
    (
        "Observation",
        "_source:below=http://acme.org/lis/ward-3",
        &["lab-1", "lab-2"],
        false,
    ),
    (
        "Observation",
        "_source:below=http://acme.org/lis/",
        &["lab-1", "lab-2", "lab-3"],
        false,
    ),
    (
        "Observation",
        "_source:below=http://acme.org/lis",
        &["lab-1", "lab-2", "lab-3", "lab-4"],
        false,
    ),
    (
        "Observation",
        "_source:below=http://acme.org/lis/ward",
        &[],
        false,
    ),
    (
        "Observation",
        "_source:below=http://acme.org/LIS/ward-3/100%25_Te%5Cst",
        &["lab-5"],
        false,
    ),
    // Unescaped, `_` would match `-` and `%` would match `ward-3`.
    (
        "Observation",
        "_source:below=http://acme.org/LIS/ward_3",
        &[],
        false,
    ),
    (
        "Observation",
        "_source:below=http://acme.org/LIS/%25",
        &[],
        false,
    ),
    (
        "Observation",
        "_source:above=http://acme.org/lis/ward-3/bed-2/monitor",
        &["lab-1", "lab-2", "lab-4"],
        false,
    ),
    (
        "Observation",
        "_source:above=http://acme.org/lis/ward-3",
        &["lab-1", "lab-4"],
        false,
    ),
    (
        "Observation",
        "_source:above=http://acme.org/lis/ward-300",
        &["lab-4"],
        false,
    ),
    (
        "Observation",
        "_source:above=http://acme.org/LIS/ward-3/100%25_Te%5Cst/x",
        &["lab-5"],
        false,
    ),
    (
        "Observation",
        "_source:above=http://acme.org/lis/ward-3/100%25_Te%5Cst",
        &["lab-1", "lab-4"],
        false,
    ),
];

/// Searches the table expects a 400 for: (type, query, text the message must contain).
const REJECTED: &[(&str, &str, &str)] = &[
    ("Observation", "code:below=718-7", "terminology server"),
    (
        "Observation",
        "code:above=http://loinc.org|718-7",
        "terminology server",
    ),
    ("Observation", "subject:above=Patient/1", "hierarchies"),
    ("Observation", "subject:below=Patient/1", "hierarchies"),
    (
        "Observation",
        "code:in=http://example.org/vs/unknown",
        "http://example.org/vs/unknown",
    ),
    (
        "Observation",
        "code:not-in=http://example.org/vs/unknown",
        "http://example.org/vs/unknown",
    ),
    (
        "Encounter",
        "patient:identifier=urn:oid:1.2.36.146.595.217.0.1|M100",
        "does not expose an identifier",
    ),
];

struct Suite {
    schema: Arc<SqlSchema>,
    patients: SqlProvider<ById>,
    labs: SqlProvider<ById>,
    encounters: SqlProvider<ById>,
}

impl Suite {
    fn new(db: Database) -> Suite {
        let schema = schema();
        let provider = |resource_type: &'static str, prefix: &'static str, column: &'static str| {
            SqlProvider::new(
                db.clone(),
                schema.clone(),
                resource_type,
                ById {
                    resource_type,
                    prefix,
                    column,
                },
            )
            .unwrap()
        };
        Suite {
            patients: provider("Patient", Suite::prefix("Patient"), "id"),
            labs: provider("Observation", Suite::prefix("Observation"), "id"),
            encounters: provider("Encounter", Suite::prefix("Encounter"), "id"),
            schema,
        }
    }

    fn prefix(resource_type: &str) -> &'static str {
        if resource_type == "Observation" {
            "lab-"
        } else {
            ""
        }
    }

    fn provider(&self, resource_type: &str) -> &SqlProvider<ById> {
        match resource_type {
            "Patient" => &self.patients,
            "Observation" => &self.labs,
            _ => &self.encounters,
        }
    }

    fn parse(&self, resource_type: &str, query: &str) -> fhir_facade_core::Result<SearchQuery> {
        SearchQuery::parse(
            resource_type,
            query,
            &self.schema.supported_params(),
            &ParseOptions::default(),
        )
    }

    async fn ids(
        &self,
        resource_type: &str,
        query: &SearchQuery,
        ctx: &Context,
    ) -> fhir_facade_core::Result<Vec<String>> {
        let page = self.provider(resource_type).search(query, ctx).await?;
        Ok(page
            .resources
            .iter()
            .map(|r| r.id().unwrap().to_owned())
            .collect())
    }

    /// The ids of one page of `query` as the provider finds them, but with the clock at
    /// [`NOW`].
    async fn ids_at_now(
        &self,
        resource_type: &str,
        query: &SearchQuery,
    ) -> fhir_facade_core::Result<Vec<String>> {
        let provider = self.provider(resource_type);
        let plan = provider.translator().translate_at(query, &[], NOW)?;
        let select = plan.select.expect("the table's searches return rows");
        let rows = provider.executor().fetch_all(&select, Some("test")).await?;
        let prefix = Suite::prefix(resource_type);
        rows.iter()
            .take(usize::try_from(plan.limit).unwrap())
            .map(|row| Ok(format!("{prefix}{}", row.get_i64("id")?)))
            .collect()
    }

    async fn run(&self, db_name: &str) {
        let mut failures = Vec::new();
        for (resource_type, query, expected, ordered) in CASES {
            let parsed = self.parse(resource_type, query).unwrap();
            let ids = match self.ids_at_now(resource_type, &parsed).await {
                Ok(ids) => ids,
                Err(e) => {
                    failures.push(format!("{resource_type}?{query}: {e:?}"));
                    continue;
                }
            };
            let ok = if *ordered {
                ids == *expected
            } else {
                ids.iter().collect::<BTreeSet<_>>()
                    == expected
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect::<BTreeSet<_>>()
                        .iter()
                        .collect()
                    && ids.len() == expected.len()
            };
            if !ok {
                failures.push(format!(
                    "{resource_type}?{query}: got {ids:?}, expected {expected:?}"
                ));
            }
        }
        let ctx = Context::new().with_request_id("test");
        for (resource_type, query, message) in REJECTED {
            let parsed = self.parse(resource_type, query).unwrap();
            match self.ids(resource_type, &parsed, &ctx).await {
                Err(e) if e.status() == 400 && e.to_string().contains(message) => {}
                other => failures.push(format!(
                    "{resource_type}?{query}: expected a 400 about {message:?}, got {other:?}"
                )),
            }
        }
        self.compartments(&mut failures).await;
        self.paging(&mut failures).await;
        self.hostile(&mut failures).await;
        assert!(
            failures.is_empty(),
            "{db_name}: {} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        println!(
            "{db_name}: {} table cases and {} rejections passed",
            CASES.len(),
            REJECTED.len()
        );
    }

    async fn compartments(&self, failures: &mut Vec<String>) {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("Observation", "", "1", &["lab-1", "lab-2"]),
            ("Observation", "code=718-7", "2", &["lab-3"]),
            ("Observation", "", "abc", &[]),
            ("Patient", "", "1", &["1"]),
            ("Patient", "family=smith", "1", &[]),
            ("Encounter", "", "1", &["1", "4"]),
        ];
        for (resource_type, query, patient, expected) in cases {
            let ctx = Context::new().with_constraint(Constraint::Compartment {
                compartment_type: "Patient".into(),
                id: (*patient).into(),
            });
            let parsed = self
                .parse(resource_type, &format!("{query}&_sort=_id"))
                .unwrap();
            match self.ids(resource_type, &parsed, &ctx).await {
                Ok(ids) if ids == *expected => {}
                other => failures.push(format!(
                    "compartment {patient} {resource_type}?{query}: {other:?}"
                )),
            }
        }
        let ctx = Context::new().with_constraint(Constraint::Compartment {
            compartment_type: "Patient".into(),
            id: "1".into(),
        });
        match self.patients.read("3", &ctx).await {
            Err(e) if e.status() == 404 => {}
            other => failures.push(format!("read outside the compartment: {other:?}")),
        }
        match self
            .labs
            .read_many(&["lab-1".into(), "lab-3".into(), "x".into()], &ctx)
            .await
        {
            Ok(r) if r.len() == 1 => {}
            other => failures.push(format!("read_many in the compartment: {other:?}")),
        }
    }

    async fn paging(&self, failures: &mut Vec<String>) {
        let ctx = Context::new();
        for query in [
            "_count=2",
            "_count=3&_sort=birthdate",
            "_count=1&_sort=-_id",
            "_count=2&_sort=-birthdate,family",
        ] {
            let full = self
                .ids(
                    "Patient",
                    &self
                        .parse("Patient", &query.replace("_count=", "_count=10"))
                        .unwrap(),
                    &ctx,
                )
                .await
                .unwrap();
            let mut parsed = self
                .parse("Patient", &format!("{query}&_total=accurate"))
                .unwrap();
            let page_ids = |page: &fhir_facade_core::SearchPage| -> Vec<String> {
                page.resources
                    .iter()
                    .map(|r| r.id().unwrap().to_owned())
                    .collect()
            };
            let mut walked = Vec::new();
            let mut last_page = (Vec::new(), None);
            for _ in 0..20 {
                let page = self.patients.search(&parsed, &ctx).await.unwrap();
                if page.total != Some(7) {
                    failures.push(format!("paging {query}: total {:?}", page.total));
                }
                walked.extend(page_ids(&page));
                last_page = (page_ids(&page), page.previous.clone());
                match page.next {
                    Some(token) => parsed.result.page = Some(token),
                    None => break,
                }
            }
            if walked != full || full.len() != 7 {
                failures.push(format!(
                    "paging {query}: walked {walked:?}, unpaged {full:?}"
                ));
            }
            // Back from the last page by `previous` links: the same pages, in reverse.
            let (mut backward, mut previous) = last_page;
            for _ in 0..20 {
                let Some(token) = previous else { break };
                parsed.result.page = Some(token);
                let page = self.patients.search(&parsed, &ctx).await.unwrap();
                backward.splice(0..0, page_ids(&page));
                previous = page.previous;
            }
            if backward != full {
                failures.push(format!(
                    "paging {query} backwards: walked {backward:?}, unpaged {full:?}"
                ));
            }
        }
        let count_only = self.parse("Patient", "family=smith&_count=0").unwrap();
        match self.patients.search(&count_only, &ctx).await {
            Ok(page) if page.total == Some(2) && page.resources.is_empty() => {}
            other => failures.push(format!("_count=0: {other:?}")),
        }
        for token in [
            PageToken::Cursor("x'--".into()),
            PageToken::Before("x'--".into()),
        ] {
            let mut bad_cursor = self.parse("Patient", "_count=2").unwrap();
            bad_cursor.result.page = Some(token);
            match self.patients.search(&bad_cursor, &ctx).await {
                Err(e) if e.status() == 400 => {}
                other => failures.push(format!("bad cursor: {other:?}")),
            }
        }
    }

    async fn hostile(&self, failures: &mut Vec<String>) {
        let long = "x".repeat(10_000);
        let values = [
            "'",
            "\"",
            "%",
            "_",
            "\\",
            "\\\\",
            "--",
            ";",
            "' OR 1=1 --",
            "Robert'); DROP TABLE patient;--",
            "日本語🙂",
            "a\0b",
            "\0",
            &long,
            "[a]",
            "*?",
            "100%",
            "Te\\st",
            "$",
            "|",
            "a,b",
            "O'Brien",
        ];
        let params = [
            ("Patient", "family"),
            ("Patient", "family:exact"),
            ("Patient", "family:contains"),
            ("Patient", "name"),
            ("Patient", "gender"),
            ("Patient", "gender:not"),
            ("Patient", "birthdate"),
            ("Patient", "_id"),
            ("Observation", "code"),
            ("Observation", "code:text"),
            ("Observation", "date"),
            ("Observation", "value-quantity"),
            ("Observation", "subject"),
            ("Observation", "subject:Patient.family"),
            ("Patient", "_has:Observation:subject:code"),
            ("Patient", "identifier"),
            ("Patient", "identifier:of-type"),
            ("Observation", "subject:identifier"),
            ("Observation", "code:in"),
            ("Observation", "code:not-in"),
            ("Observation", "_source"),
            ("Observation", "_source:below"),
            ("Observation", "_source:above"),
        ];
        let ctx = Context::new();
        for (resource_type, param) in params {
            for value in values {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair(param, value)
                    .finish();
                let parsed = match self.parse(resource_type, &query) {
                    Ok(parsed) => parsed,
                    Err(e) if e.status() == 400 => continue,
                    Err(e) => {
                        failures.push(format!("{param}={value:.40?}: parse {e:?}"));
                        continue;
                    }
                };
                let ids = match self.ids(resource_type, &parsed, &ctx).await {
                    // No hostile value is a declared value set.
                    Err(e) if param.ends_with("in") && e.status() == 400 => continue,
                    Ok(ids) if param.ends_with("in") => {
                        failures.push(format!("{param}={value:.40?}: found {ids:?}"));
                        continue;
                    }
                    Ok(ids) => ids.into_iter().collect::<BTreeSet<_>>(),
                    Err(e) => {
                        failures.push(format!("{param}={value:.40?}: {e:?}"));
                        continue;
                    }
                };
                if let Some(expected) = expected_patients(param, &parsed) {
                    if ids != expected {
                        failures.push(format!(
                            "{param}={value:.40?}: got {ids:?}, expected {expected:?}"
                        ));
                    }
                }
            }
        }
    }
}

/// What a string or gender search should find, computed from the fixture in Rust.
fn expected_patients(param: &str, query: &SearchQuery) -> Option<BTreeSet<String>> {
    let fhir_facade_core::search::Criterion::Values { values, .. } = &query.criteria[0] else {
        return None;
    };
    let live = PATIENTS.iter().filter(|p| p.5 == 0);
    let texts: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            SearchValue::String(s) => Some(s.as_str()),
            SearchValue::Token(t) => t.code.as_deref(),
            _ => None,
        })
        .collect();
    let any = |f: &dyn Fn(&str) -> bool| texts.iter().any(|t| !t.contains('\0') && f(t));
    let matched: Vec<i64> = live
        .filter(|(id, family, given, gender, ..)| match param {
            "family" => any(&|t| fold(family).starts_with(&fold(t))),
            "family:exact" => any(&|t| *family == t),
            "family:contains" => any(&|t| fold(family).contains(&fold(t))),
            "name" => {
                any(&|t| fold(family).starts_with(&fold(t)) || fold(given).starts_with(&fold(t)))
            }
            "gender" => any(&|t| *gender == Some(t)),
            "gender:not" => !any(&|t| *gender == Some(t)),
            "identifier" => any(&|t| MRNS.iter().any(|m| m.0 == *id && m.1 == t)),
            _ => false,
        })
        .map(|p| p.0)
        .collect();
    matches!(
        param,
        "family"
            | "family:exact"
            | "family:contains"
            | "name"
            | "gender"
            | "gender:not"
            | "identifier"
    )
    .then(|| matched.into_iter().map(|id| id.to_string()).collect())
}

fn unreachable(variable: &str, error: impl std::fmt::Debug) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{variable}: database unreachable under CI: {error:?}");
    }
    println!("skipped: set {variable} to a reachable server ({error:?})");
}

fn run_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("fhir_facade_test_{}_{nanos}", std::process::id())
}

fn database(pool: Pool) -> Database {
    Database {
        pool,
        timeout: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn sqlite() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let db = database(Pool::Sqlite(pool));
    fixture(&db, "TIMESTAMP").await;
    Suite::new(db).run("sqlite").await;
}

#[tokio::test]
async fn postgres() {
    let url = std::env::var("FHIR_FACADE_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = match Pool::connect(&url, 1).await {
        Ok(pool) => database(pool),
        Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
    };
    let name = run_name();
    admin
        .execute(&SqlFragment::sql(format!("CREATE SCHEMA {name}")), None)
        .await
        .unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", name.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let db = database(Pool::Postgres(pool));
    fixture(&db, "TIMESTAMP").await;
    let outcome = tokio::spawn(async move { Suite::new(db).run("postgres").await }).await;
    admin
        .execute(
            &SqlFragment::sql(format!("DROP SCHEMA {name} CASCADE")),
            None,
        )
        .await
        .unwrap();
    outcome.unwrap();
}

#[tokio::test]
async fn mariadb() {
    let url = std::env::var("FHIR_FACADE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let options = sqlx::mysql::MySqlConnectOptions::from_str(&url).unwrap();
    let admin = match sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().database(""))
        .await
    {
        Ok(pool) => database(Pool::MySql(pool)),
        Err(e) => return unreachable("FHIR_FACADE_MYSQL_URL", e),
    };
    let name = run_name();
    admin
        .execute(
            &SqlFragment::sql(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )),
            None,
        )
        .await
        .unwrap();
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .connect_with(options.database(&name))
        .await
        .unwrap();
    let db = database(Pool::MySql(pool));
    fixture(&db, "DATETIME").await;
    let outcome = tokio::spawn(async move { Suite::new(db).run("mariadb").await }).await;
    admin
        .execute(&SqlFragment::sql(format!("DROP DATABASE {name}")), None)
        .await
        .unwrap();
    outcome.unwrap();
}
