//! The shared search table (`fhir_facade_tests::search_table`) on a real SQL Server, when
//! `FHIR_FACADE_MSSQL_URL` names one
//! (`mssql://user:password@host:1433/database?trust_server_certificate=true`); `#[ignore]`d otherwise
//! (no SQL Server runs in CI), and run by `scripts/test` when the variable is set. The same cases, rejections, compartments, paging walks and
//! hostile corpus as on PostgreSQL, MariaDB and SQLite run through `TiberiusProvider` over the
//! tiberius `Database`.
//!
//! The test creates the fixture in a scratch schema of its own (the user needs `CREATE SCHEMA`
//! and `CREATE TABLE`) and drops it afterwards, also when the table fails.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fhir_facade_core::sql::SqlFragment;
use fhir_facade_core::{Context, Resource, ResourceProvider};
use fhir_facade_tiberius::{Database, Pool, Row, RowMapper, TiberiusProvider};
use serde_json::json;

use fhir_facade_tests::search_table::fixture::{self, Engine, TABLES};
use fhir_facade_tests::search_table::suite::Suite;

const URL_VAR: &str = "FHIR_FACADE_MSSQL_URL";

/// A schema name no other run uses.
fn scratch_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("fhir_facade_t{}_{nanos}", std::process::id())
}

/// The statements that drop what the fixture created in `schema`, whatever of it exists
/// (`DROP … IF EXISTS` needs SQL Server 2016; the dialect supports 2012).
fn cleanup(schema: &str) -> Vec<SqlFragment> {
    let mut statements: Vec<SqlFragment> = TABLES
        .iter()
        .map(|table| {
            SqlFragment::sql(format!(
                "IF OBJECT_ID(N'{schema}.{table}', N'U') IS NOT NULL DROP TABLE {schema}.{table}"
            ))
        })
        .collect();
    statements.push(SqlFragment::sql(format!(
        "IF SCHEMA_ID(N'{schema}') IS NOT NULL DROP SCHEMA {schema}"
    )));
    statements
}

/// Without a server, what the live test would send: the fixture stays inside the scratch
/// schema (nothing is created in the user's default schema), and the cleanup drops every table
/// the fixture creates before the schema.
#[test]
fn the_fixture_stays_in_its_scratch_schema() {
    let schema = "fhir_facade_t1_2";
    let prefix = format!("{schema}.");
    let statements: Vec<String> = fixture::statements(Engine::MsSql, &prefix)
        .iter()
        .map(|s| Engine::MsSql.dialect().render(s).0)
        .collect();
    let mut created = Vec::new();
    for sql in &statements {
        let (verb, rest) = if let Some(rest) = sql.strip_prefix("CREATE TABLE ") {
            ("create", rest)
        } else if let Some(rest) = sql.strip_prefix("INSERT INTO ") {
            ("insert", rest)
        } else {
            panic!("an unexpected statement: {sql}");
        };
        let table = rest
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("outside {schema}: {sql}"));
        let table = table.split([' ', '(']).next().unwrap();
        if verb == "create" {
            created.push(table.to_owned());
        } else {
            assert!(created.iter().any(|t| t == table), "{sql}");
        }
    }
    let mut dropped: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    dropped.sort();
    created.sort();
    assert_eq!(dropped, created);
    let cleanup: Vec<String> = cleanup(schema)
        .iter()
        .map(|s| Engine::MsSql.dialect().render(s).0)
        .collect();
    assert_eq!(cleanup.len(), TABLES.len() + 1);
    assert!(
        cleanup
            .last()
            .unwrap()
            .ends_with(&format!("DROP SCHEMA {schema}"))
    );
}

/// Reads the family name back, which the suite (comparing ids only) never does.
struct Family;

impl RowMapper<Row> for Family {
    fn to_resource(&self, row: &Row) -> fhir_facade_core::Result<Resource> {
        Resource::new(json!({
            "resourceType": "Patient",
            "id": row.get_i64("id")?.to_string(),
            "name": [{"family": row.get_str("family")?}],
        }))
    }
}

/// Names with umlauts, accents, quotes and backslashes come back from `NVARCHAR` unchanged,
/// and a deleted row cannot be read.
async fn names_round_trip(db: &Database, prefix: &str) {
    let patients =
        TiberiusProvider::new(db.clone(), fixture::schema(prefix), "Patient", Family).unwrap();
    let ctx = Context::new();
    for &(id, family, .., deleted) in fixture::PATIENTS {
        match patients.read(&id.to_string(), &ctx).await {
            Ok(patient) if deleted == 0 => {
                assert_eq!(patient.as_json()["name"][0]["family"], family, "{id}");
            }
            Err(e) if deleted == 1 => assert_eq!(e.status(), 404, "{id}"),
            other => panic!("read {id}: {other:?}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs a SQL Server: set FHIR_FACADE_MSSQL_URL; scripts/test then runs it"]
async fn the_search_table_on_sql_server() {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "set {URL_VAR} (mssql://user:password@host:1433/database?trust_server_certificate=true)"
        )
    });
    let db = Database::new(
        Pool::connect(&url, 2).await.expect("connect to SQL Server"),
        Duration::from_secs(30),
    );
    let schema = scratch_name();
    db.execute(&SqlFragment::sql(format!("CREATE SCHEMA {schema}")), None)
        .await
        .unwrap();
    let prefix = format!("{schema}.");
    let outcome = {
        let db = db.clone();
        // Spawned, so that a failure still reaches the cleanup below.
        tokio::spawn(async move {
            for statement in fixture::statements(Engine::MsSql, &prefix) {
                db.execute(&statement, Some("fixture")).await.unwrap();
            }
            names_round_trip(&db, &prefix).await;
            Suite::new(db, fixture::schema(&prefix))
                .run("sqlserver")
                .await;
        })
        .await
    };
    for statement in cleanup(&schema) {
        db.execute(&statement, Some("cleanup")).await.unwrap();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
