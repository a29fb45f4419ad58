//! The search fixture both adapters' tests share: the mapping of a small legacy schema, its
//! data, the DDL and inserts that create it on each database, and the table of searches with the
//! ids they must find.
//!
//! Included, not a crate, so that it needs no publishing and each test crate compiles it against
//! its own driver: `#[path = "../../search-fixture.rs"] mod fixture;` (the runner in
//! `search-suite.rs` expects it under the name `fixture`). Nothing here knows a driver; what differs
//! between databases is the [`Dialect`] and the column types of [`Engine`].
//!
//! `fhir-facade-sqlx/tests/search.rs` runs the table on PostgreSQL, MariaDB and SQLite,
//! `fhir-facade-tiberius/tests/render.rs` renders it as T-SQL into a golden file, and
//! `fhir-facade-tiberius/tests/live.rs` runs it on SQL Server when one is configured.

use std::sync::Arc;

use fhir_facade_core::search::SearchParamDef;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::mapping::{
    DateMapping, IdKind, ParamMapping, QuantityMapping, ReferenceMapping, SqlSchema, StringColumn,
    TableMapping, TimeKind, TokenCode, TokenMapping, ValueSource,
};
use fhir_facade_core::sql::{Dialect, MsSqlDialect, MySqlDialect, PgDialect, SqliteDialect};
use fhir_facade_core::translate::{BindValue, SqlFragment};
use rust_decimal::Decimal;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

/// The clock of the table's searches: ten days after the first lab results.
pub(crate) const NOW: OffsetDateTime = datetime!(2024-03-11 00:00 UTC);

const MRN_SYSTEM: &str = "urn:oid:1.2.36.146.595.217.0.1";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// The databases the fixture is created on; they differ in column types only.
#[allow(dead_code)] // Each test crate creates the fixture on its own driver's engines only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MariaDB (and MySQL).
    MariaDb,
    /// SQLite.
    Sqlite,
    /// SQL Server.
    MsSql,
}

impl Engine {
    /// The dialect the statements and searches are rendered in.
    pub(crate) fn dialect(self) -> &'static dyn Dialect {
        match self {
            Engine::Postgres => &PgDialect,
            Engine::MariaDb => &MySqlDialect,
            Engine::Sqlite => &SqliteDialect,
            Engine::MsSql => &MsSqlDialect,
        }
    }

    /// A timestamp without time zone, holding UTC wall-clock time.
    fn timestamp(self) -> &'static str {
        match self {
            Engine::Postgres | Engine::Sqlite => "TIMESTAMP",
            Engine::MariaDb => "DATETIME",
            // `datetime` would round to 1/300 s; `datetime2` is what the dialect casts to.
            Engine::MsSql => "DATETIME2",
        }
    }

    /// A text column of up to `n` characters. SQL Server's `VARCHAR` holds only the code page
    /// of its collation, so names with accents need `NVARCHAR` there.
    fn text(self, n: u32) -> String {
        match self {
            Engine::MsSql => format!("NVARCHAR({n})"),
            _ => format!("VARCHAR({n})"),
        }
    }
}

fn p(resource_type: &str, code: &str) -> &'static SearchParamDef {
    r4_param(resource_type, code).unwrap()
}

/// The mapping of the fixture's tables, each named `{prefix}table` (a prefix such as
/// `scratch.` puts them in a schema of their own where a connection cannot choose one).
pub(crate) fn schema(prefix: &str) -> Arc<SqlSchema> {
    let string =
        |cols: &[&str]| ParamMapping::String(cols.iter().map(|c| StringColumn::new(*c)).collect());
    let patient = TableMapping::new(
        "Patient",
        format!("{prefix}patient"),
        "p",
        "p.id",
        IdKind::Integer,
    )
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
            from: format!("{prefix}loinc_map m"),
            join: "m.local_code = l.labcode".into(),
            code: "m.loinc".into(),
        },
        ValueSource::Constant("http://loinc.org".into()),
    );
    code.text = Some("m.display".into());
    let lab = TableMapping::new(
        "Observation",
        format!("{prefix}lab"),
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
    let encounter = TableMapping::new(
        "Encounter",
        format!("{prefix}encounter"),
        "e",
        "e.id",
        IdKind::Integer,
    )
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

/// (id, family, given, gender, birth, deleted)
pub(crate) type Patient = (
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    i64,
);

/// Patients, with names that fold (umlauts, accents, case), legacy `CHAR(8)` birth dates with
/// `00` for an unknown month or day, and a name full of `LIKE` metacharacters.
pub(crate) const PATIENTS: &[Patient] = &[
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
pub(crate) const MRNS: &[(i64, &str)] = &[
    (1, "M100"),
    (2, "M200"),
    (3, "M300"),
    (5, "M500"),
    (6, "M100"),
];

/// The lookup table from local lab codes to LOINC: (local code, LOINC code, display).
const LOINC_MAP: &[(&str, &str, &str)] =
    &[("HB", "718-7", "Hemoglobin"), ("GLU", "2345-7", "Glucose")];

/// (id, patient id, local code, value, unit, taken): lab 5 has an unmapped code and no value,
/// lab 6 belongs to the deleted patient.
type Lab = (
    i64,
    i64,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    OffsetDateTime,
);

const LABS: &[Lab] = &[
    (
        1,
        1,
        "HB",
        Some("13.5"),
        Some("g/dL"),
        datetime!(2024-03-01 10:00:00 UTC),
    ),
    (
        2,
        1,
        "GLU",
        Some("5.4"),
        Some("mmol/L"),
        datetime!(2024-03-02 08:30:00 UTC),
    ),
    (
        3,
        2,
        "HB",
        Some("12.0"),
        Some("g/dL"),
        datetime!(2024-02-28 23:59:59 UTC),
    ),
    (
        4,
        3,
        "GLU",
        Some("100"),
        Some("mg/dL"),
        datetime!(2023-12-31 12:00:00 UTC),
    ),
    (5, 3, "XX", None, None, datetime!(2024-03-01 00:00:00 UTC)),
    (
        6,
        6,
        "HB",
        Some("14"),
        Some("g/dL"),
        datetime!(2024-01-15 12:00:00 UTC),
    ),
];

/// `Meta.source` of the lab rows by id (lab 6 has none): path segments, a case variant and LIKE
/// wildcards that must match only themselves.
pub(crate) const SOURCES: &[(i64, &str)] = &[
    (1, "http://acme.org/lis/ward-3"),
    (2, "http://acme.org/lis/ward-3/bed-2"),
    (3, "http://acme.org/lis/ward-30"),
    (4, "http://acme.org/lis"),
    (5, "http://acme.org/LIS/ward-3/100%_Te\\st"),
];

/// (id, patient id, admitted, discharged): encounter 3 is still open.
const ENCOUNTERS: &[(i64, i64, Date, Option<Date>)] = &[
    (1, 1, date!(2024 - 03 - 01), Some(date!(2024 - 03 - 05))),
    (2, 2, date!(2024 - 02 - 25), Some(date!(2024 - 03 - 02))),
    (3, 3, date!(2024 - 03 - 10), None),
    (4, 1, date!(2023 - 01 - 01), Some(date!(2023 - 01 - 02))),
];

fn text(value: Option<&str>) -> BindValue {
    value.map_or(BindValue::Null, |s| BindValue::Text(s.to_owned()))
}

/// One value of an insert. `NULL` is written as such: a bound null is typed (text, for most
/// drivers), and PostgreSQL does not assign text to a `NUMERIC` or `DATE` column. Instants go
/// through the dialect, which stores them as UTC wall-clock time the way searches compare them.
fn value(dialect: &dyn Dialect, value: BindValue) -> SqlFragment {
    match value {
        BindValue::Null => SqlFragment::sql("NULL"),
        BindValue::Timestamp(at) => dialect.utc_timestamp_param(at),
        other => {
            let mut bound = SqlFragment::new();
            bound.push_bind(other);
            bound
        }
    }
}

/// `INSERT INTO table VALUES (…), (…)` with every value bound, so that quotes and backslashes
/// need no dialect-specific literals.
fn insert(dialect: &dyn Dialect, table: &str, rows: Vec<Vec<BindValue>>) -> SqlFragment {
    let mut insert = SqlFragment::sql(format!("INSERT INTO {table} VALUES "));
    for (r, row) in rows.into_iter().enumerate() {
        insert.push(if r == 0 { "(" } else { ", (" });
        for (i, v) in row.into_iter().enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            insert.append(value(dialect, v));
        }
        insert.push(")");
    }
    insert
}

/// The statements that create and fill the fixture's tables (named as in [`schema`] with the
/// same `prefix`) on `engine`, in order.
pub(crate) fn statements(engine: Engine, prefix: &str) -> Vec<SqlFragment> {
    let d = engine.dialect();
    let t = |n| engine.text(n);
    let ddl = [
        format!(
            "CREATE TABLE {prefix}patient (id INTEGER PRIMARY KEY, family {}, given {}, \
             gender CHAR(1), birth CHAR(8), deleted INTEGER NOT NULL, mrn {})",
            t(100),
            t(100),
            t(20)
        ),
        format!(
            "CREATE TABLE {prefix}loinc_map (local_code {}, loinc {}, display {})",
            t(20),
            t(20),
            t(100)
        ),
        format!(
            "CREATE TABLE {prefix}lab (id INTEGER PRIMARY KEY, patient_id INTEGER, labcode {}, \
             value NUMERIC(10,2), unit {}, taken {}, source {})",
            t(20),
            t(20),
            engine.timestamp(),
            t(200)
        ),
        format!(
            "CREATE TABLE {prefix}encounter (id INTEGER PRIMARY KEY, patient_id INTEGER, \
             admitted DATE, discharged DATE)"
        ),
    ];
    let mut statements: Vec<SqlFragment> = ddl.into_iter().map(SqlFragment::sql).collect();
    let patients = PATIENTS
        .iter()
        .map(|&(id, family, given, gender, birth, deleted)| {
            vec![
                BindValue::Int(id),
                text(Some(family)),
                text(Some(given)),
                text(gender),
                text(birth),
                BindValue::Int(deleted),
                text(MRNS.iter().find(|m| m.0 == id).map(|m| m.1)),
            ]
        })
        .collect();
    statements.push(insert(d, &format!("{prefix}patient"), patients));
    let codes = LOINC_MAP
        .iter()
        .map(|&(local, loinc, display)| {
            vec![text(Some(local)), text(Some(loinc)), text(Some(display))]
        })
        .collect();
    statements.push(insert(d, &format!("{prefix}loinc_map"), codes));
    let labs = LABS
        .iter()
        .map(|&(id, patient, code, amount, unit, taken)| {
            vec![
                BindValue::Int(id),
                BindValue::Int(patient),
                text(Some(code)),
                amount.map_or(BindValue::Null, |a| {
                    BindValue::Decimal(a.parse::<Decimal>().unwrap())
                }),
                text(unit),
                BindValue::Timestamp(taken),
                text(SOURCES.iter().find(|s| s.0 == id).map(|s| s.1)),
            ]
        })
        .collect();
    statements.push(insert(d, &format!("{prefix}lab"), labs));
    let encounters = ENCOUNTERS
        .iter()
        .map(|&(id, patient, admitted, discharged)| {
            vec![
                BindValue::Int(id),
                BindValue::Int(patient),
                BindValue::Date(admitted),
                discharged.map_or(BindValue::Null, BindValue::Date),
            ]
        })
        .collect();
    statements.push(insert(d, &format!("{prefix}encounter"), encounters));
    statements
}

/// The tables of [`statements`], in an order they can be dropped in.
#[allow(dead_code)] // Only the SQL Server test drops them one by one; the others drop a schema.
pub(crate) const TABLES: &[&str] = &["encounter", "lab", "loinc_map", "patient"];

/// (type, query, expected ids, ordered)
pub(crate) const CASES: &[(&str, &str, &[&str], bool)] = &[
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
pub(crate) const REJECTED: &[(&str, &str, &str)] = &[
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

/// Searches in a SMART patient compartment, sorted by `_id`: (type, query, patient id, expected
/// ids).
pub(crate) const COMPARTMENTS: &[(&str, &str, &str, &[&str])] = &[
    ("Observation", "", "1", &["lab-1", "lab-2"]),
    ("Observation", "code=718-7", "2", &["lab-3"]),
    ("Observation", "", "abc", &[]),
    ("Patient", "", "1", &["1"]),
    ("Patient", "family=smith", "1", &[]),
    ("Encounter", "", "1", &["1", "4"]),
];

/// `Patient` searches walked page by page, forwards and back; each finds all seven live
/// patients.
pub(crate) const PAGING_WALKS: &[&str] = &[
    "_count=2",
    "_count=3&_sort=birthdate",
    "_count=1&_sort=-_id",
    "_count=2&_sort=-birthdate,family",
];

/// Values that break naive SQL: quotes, `LIKE` and `GLOB` metacharacters (`[` only on SQL
/// Server), backslashes, comments, statement separators, unicode, NUL and 10 kB.
pub(crate) fn hostile_values() -> Vec<String> {
    let long = "x".repeat(10_000);
    [
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
        long.as_str(),
        "[a]",
        "*?",
        "100%",
        "Te\\st",
        "$",
        "|",
        "a,b",
        "O'Brien",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Every parameter type and modifier the hostile values are tried in: (type, parameter).
pub(crate) const HOSTILE_PARAMS: &[(&str, &str)] = &[
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
