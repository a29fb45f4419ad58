//! `_include` costs one statement per include path per page, never one per row (FHIR R4
//! `search.html#include`; the brief's "no N+1 queries"). Counted at the executor, so every SQL
//! statement the facade causes is seen. Runs on SQLite in memory; needs no server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use fhir_facade_core::search::Handling;
use fhir_facade_core::search::registry::r4_param;
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_core::sql::mapping::{
    IdKind, ParamMapping, ReferenceMapping, SqlSchema, TableMapping,
};
use fhir_facade_core::sql::{Dialect, Executor, SqlProvider};
use fhir_facade_core::{Context, Facade, Resource, SearchRequest};
use fhir_facade_sqlx::{Database, Pool, Row, RowMapper};
use serde_json::{Value, json};

/// Counts the statements it runs for the real database behind it.
#[derive(Clone)]
struct Counting {
    inner: Database,
    statements: Arc<AtomicUsize>,
}

#[async_trait]
impl Executor for Counting {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect()
    }

    async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<Vec<Row>> {
        self.statements.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch_all(statement, request_id).await
    }

    async fn fetch_count(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<u64> {
        self.statements.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch_count(statement, request_id).await
    }
}

/// Maps rows to resources whose references the facade follows for `_include`.
struct Mapper(fn(&Row) -> fhir_facade_core::Result<Value>);

impl RowMapper<Row> for Mapper {
    fn to_resource(&self, row: &Row) -> fhir_facade_core::Result<Resource> {
        Resource::new((self.0)(row)?)
    }
}

fn schema() -> Arc<SqlSchema> {
    let p = |t, c| r4_param(t, c).unwrap();
    let reference =
        |fk: &str, target: &str| ParamMapping::Reference(ReferenceMapping::new(fk, target));
    let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
        .select(["p.id"])
        .param(p("Patient", "_id"), ParamMapping::Id);
    let encounter = TableMapping::new("Encounter", "encounter", "e", "e.id", IdKind::Integer)
        .select(["e.id", "e.patient_id"])
        .param(p("Encounter", "_id"), ParamMapping::Id)
        .param(
            p("Encounter", "patient"),
            reference("e.patient_id", "Patient"),
        );
    let lab = TableMapping::new("Observation", "lab", "l", "l.id", IdKind::Integer)
        .select(["l.id", "l.patient_id", "l.encounter_id"])
        .param(p("Observation", "_id"), ParamMapping::Id)
        .param(
            p("Observation", "subject"),
            reference("l.patient_id", "Patient"),
        )
        .param(
            p("Observation", "encounter"),
            reference("l.encounter_id", "Encounter"),
        );
    Arc::new(SqlSchema::new([patient, encounter, lab]).unwrap())
}

async fn facade(statements: Arc<AtomicUsize>) -> Facade {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let db = Database::new(Pool::Sqlite(pool), std::time::Duration::from_secs(30));
    let mut setup = vec![
        "CREATE TABLE patient (id INTEGER PRIMARY KEY)".to_owned(),
        "CREATE TABLE encounter (id INTEGER PRIMARY KEY, patient_id INTEGER)".to_owned(),
        "CREATE TABLE lab (id INTEGER PRIMARY KEY, patient_id INTEGER, encounter_id INTEGER)"
            .to_owned(),
    ];
    // 20 patients, one encounter each, three results per encounter: every row of a page refers
    // to a patient and an encounter, many of them different.
    for i in 1..=20 {
        setup.push(format!("INSERT INTO patient VALUES ({i})"));
        setup.push(format!("INSERT INTO encounter VALUES ({i}, {i})"));
        for k in 0..3 {
            setup.push(format!("INSERT INTO lab VALUES ({}, {i}, {i})", i * 10 + k));
        }
    }
    for statement in setup {
        db.execute(&SqlFragment::sql(statement), None)
            .await
            .unwrap();
    }
    let executor = Counting {
        inner: db,
        statements,
    };
    let schema = schema();
    let patients = SqlProvider::new(
        executor.clone(),
        schema.clone(),
        "Patient",
        Mapper(|row| Ok(json!({"resourceType": "Patient", "id": row.get_i64("id")?.to_string()}))),
    )
    .unwrap();
    let encounters = SqlProvider::new(
        executor.clone(),
        schema.clone(),
        "Encounter",
        Mapper(|row| {
            Ok(json!({
                "resourceType": "Encounter", "id": row.get_i64("id")?.to_string(), "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": format!("Patient/{}", row.get_i64("patient_id")?)}
            }))
        }),
    )
    .unwrap();
    let labs = SqlProvider::new(
        executor,
        schema,
        "Observation",
        Mapper(|row| {
            Ok(json!({
                "resourceType": "Observation", "id": row.get_i64("id")?.to_string(),
                "status": "final", "code": {"text": "lab"},
                "subject": {"reference": format!("Patient/{}", row.get_i64("patient_id")?)},
                "encounter": {"reference": format!("Encounter/{}", row.get_i64("encounter_id")?)}
            }))
        }),
    )
    .unwrap();
    Facade::builder()
        .provider(patients)
        .provider(encounters)
        .provider(labs)
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_includes_cost_two_statements_whatever_the_page_size() {
    let statements = Arc::new(AtomicUsize::new(0));
    let facade = facade(statements.clone()).await;
    let mut seen = Vec::new();
    for count in [2, 9, 30] {
        let query =
            format!("_count={count}&_include=Observation:subject&_include=Observation:encounter");
        statements.store(0, Ordering::SeqCst);
        let bundle = facade
            .search(
                &SearchRequest {
                    resource_type: "Observation",
                    query: &query,
                    handling: Handling::Strict,
                    base_url: "http://localhost/fhir",
                    compartment: None,
                },
                &Context::new(),
            )
            .await
            .unwrap()
            .to_json();
        let entries = bundle["entry"].as_array().unwrap();
        let matches = entries
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count();
        let included = |t: &str| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == "include" && e["resource"]["resourceType"] == t)
                .count()
        };
        assert_eq!(matches, count);
        // Every distinct patient and encounter of the page is included, once.
        let distinct = count.div_ceil(3);
        assert!(
            included("Patient") >= distinct && included("Encounter") >= distinct,
            "{bundle}"
        );
        // One page statement and one per include path, for 2 rows as for 30.
        seen.push(statements.load(Ordering::SeqCst));
    }
    assert_eq!(seen, [3, 3, 3]);
}
