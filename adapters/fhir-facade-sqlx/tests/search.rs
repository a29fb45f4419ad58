//! One table of searches, run unchanged on PostgreSQL, MariaDB and SQLite over one fixture.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers; each
//! run works in its own schema or database and drops it. An unreachable server skips its test,
//! except under `CI=true`, where it fails.

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
        );
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
        ParamMapping::Reference(ReferenceMapping {
            fk: "l.patient_id".into(),
            target_type: "Patient".into(),
        }),
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
            ParamMapping::Reference(ReferenceMapping {
                fk: "e.patient_id".into(),
                target_type: "Patient".into(),
            }),
        );
    Arc::new(SqlSchema::new([patient, lab, encounter]).unwrap())
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

async fn fixture(db: &Database, ts_type: &str) {
    let ddl = [
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, family VARCHAR(100), given VARCHAR(100), \
         gender CHAR(1), birth CHAR(8), deleted INTEGER NOT NULL)"
            .to_owned(),
        "CREATE TABLE loinc_map (local_code VARCHAR(20), loinc VARCHAR(20), display VARCHAR(100))".to_owned(),
        format!(
            "CREATE TABLE lab (id INTEGER PRIMARY KEY, patient_id INTEGER, labcode VARCHAR(20), \
             value NUMERIC(10,2), unit VARCHAR(20), taken {ts_type})"
        ),
        "CREATE TABLE encounter (id INTEGER PRIMARY KEY, patient_id INTEGER, admitted DATE, discharged DATE)"
            .to_owned(),
        "INSERT INTO loinc_map VALUES ('HB', '718-7', 'Hemoglobin'), ('GLU', '2345-7', 'Glucose')".to_owned(),
        "INSERT INTO lab VALUES (1, 1, 'HB', 13.5, 'g/dL', '2024-03-01 10:00:00'), \
         (2, 1, 'GLU', 5.4, 'mmol/L', '2024-03-02 08:30:00'), \
         (3, 2, 'HB', 12.0, 'g/dL', '2024-02-28 23:59:59'), \
         (4, 3, 'GLU', 100, 'mg/dL', '2023-12-31 12:00:00'), \
         (5, 3, 'XX', NULL, NULL, '2024-03-01 00:00:00'), \
         (6, 6, 'HB', 14, 'g/dL', '2024-01-15 12:00:00')"
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
            patients: provider("Patient", "", "id"),
            labs: provider("Observation", "lab-", "id"),
            encounters: provider("Encounter", "", "id"),
            schema,
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

    async fn run(&self, db_name: &str) {
        let mut failures = Vec::new();
        let ctx = Context::new().with_request_id("test");
        for (resource_type, query, expected, ordered) in CASES {
            let parsed = self.parse(resource_type, query).unwrap();
            let ids = match self.ids(resource_type, &parsed, &ctx).await {
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
        self.compartments(&mut failures).await;
        self.paging(&mut failures).await;
        self.hostile(&mut failures).await;
        assert!(
            failures.is_empty(),
            "{db_name}: {} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        println!("{db_name}: {} table cases passed", CASES.len());
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
        .filter(|(_, family, given, gender, ..)| match param {
            "family" => any(&|t| fold(family).starts_with(&fold(t))),
            "family:exact" => any(&|t| *family == t),
            "family:contains" => any(&|t| fold(family).contains(&fold(t))),
            "name" => {
                any(&|t| fold(family).starts_with(&fold(t)) || fold(given).starts_with(&fold(t)))
            }
            "gender" => any(&|t| *gender == Some(t)),
            "gender:not" => !any(&|t| *gender == Some(t)),
            _ => false,
        })
        .map(|p| p.0)
        .collect();
    matches!(
        param,
        "family" | "family:exact" | "family:contains" | "name" | "gender" | "gender:not"
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
