//! Searches on a real SQL Server, when `FHIR_FACADE_MSSQL_URL` names one
//! (`mssql://user:password@host:1433/database?trust_server_certificate=true`); skipped otherwise.
//!
//! The test works in a schema of its own (a small patient table with umlauts and legacy
//! `CHAR(8)` birth dates) and drops it afterwards.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fhir_facade_core::translate::{BindValue, SqlFragment};
use fhir_facade_core::{Context, Resource, ResourceProvider};
use fhir_facade_tiberius::{Database, Pool, Row, RowMapper, SqlProvider};
use serde_json::json;

const URL_VAR: &str = "FHIR_FACADE_MSSQL_URL";

/// (id, family, given, birth, deleted)
const PATIENTS: &[(i64, &str, &str, Option<&str>, bool)] = &[
    (1, "Müller", "Jürgen", Some("19800517"), false),
    (2, "Mueller", "Anna", Some("19800500"), false),
    (3, "MÜLLER", "Özlem", Some("19791231"), false),
    (4, "Meier", "Ümit", Some("19800000"), false),
    (5, "Muster", "Zoë", Some("20010203"), false),
    (6, "Müller", "Gelöscht", Some("19800517"), true),
    (7, "Müllerová", "Eva", None, false),
];

struct PatientRow;

impl RowMapper<Row> for PatientRow {
    fn to_resource(&self, row: &Row) -> fhir_facade_core::Result<Resource> {
        let mut patient = json!({
            "resourceType": "Patient",
            "id": row.get_i64("id")?.to_string(),
            "name": [{"family": row.get_str("family")?}],
        });
        if let Some(birth) = row.get_opt_str("birth")? {
            patient["extension"] = json!([{"url": "urn:legacy-birth", "valueString": birth}]);
        }
        Resource::new(patient)
    }
}

async fn run(db: &Database, sql: String) {
    db.execute(&SqlFragment::sql(sql), Some("live-test"))
        .await
        .unwrap();
}

async fn fixture(db: &Database, schema: &str) {
    run(db, format!("CREATE SCHEMA {schema}")).await;
    run(
        db,
        format!(
            "CREATE TABLE {schema}.patient (id INT NOT NULL PRIMARY KEY, family NVARCHAR(100), \
             given NVARCHAR(100), birth CHAR(8), deleted BIT NOT NULL)"
        ),
    )
    .await;
    for &(id, family, given, birth, deleted) in PATIENTS {
        let mut insert = SqlFragment::sql(format!("INSERT INTO {schema}.patient VALUES ("));
        let values = [
            BindValue::Int(id),
            BindValue::Text(family.into()),
            BindValue::Text(given.into()),
            birth.map_or(BindValue::Null, |b| BindValue::Text(b.into())),
            BindValue::Bool(deleted),
        ];
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            insert.push_bind(value);
        }
        insert.push(")");
        assert_eq!(db.execute(&insert, None).await.unwrap(), 1);
    }
}

async fn ids(provider: &SqlProvider<PatientRow>, query: &str) -> Result<Vec<String>, String> {
    let schema = &provider.translator().schema;
    let page = provider
        .search(&common::parse(schema, query), &Context::new())
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(page
        .resources
        .iter()
        .map(|r| r.id().unwrap_or_default().to_owned())
        .collect())
}

async fn searches(provider: &SqlProvider<PatientRow>, failures: &mut Vec<String>) {
    let cases: &[(&str, &[&str])] = &[
        // Starts-with, folded: case and accents do not matter.
        ("family=muller", &["1", "3", "7"]),
        ("family=M%C3%9CLL", &["1", "3", "7"]),
        ("family=mue", &["2"]),
        ("name=ozl", &["3"]),
        // Exact: case and accents matter.
        ("family:exact=M%C3%BCller", &["1"]),
        ("family:exact=muller", &[]),
        // Legacy CHAR(8) dates: 00 month or day stands for the whole year or month.
        ("birthdate=1980", &["1", "2", "4"]),
        ("birthdate=1980-05", &["1", "2"]),
        ("birthdate=1980-05-17", &["1"]),
        ("birthdate=lt1980", &["3"]),
        ("birthdate=ge2001-02-03", &["5"]),
        ("_id=1,5,6", &["1", "5"]),
    ];
    for (query, expected) in cases {
        match ids(provider, &format!("{query}&_sort=_id")).await {
            Ok(got) if got == *expected => {}
            other => failures.push(format!("{query}: expected {expected:?}, got {other:?}")),
        }
    }
}

async fn paging(provider: &SqlProvider<PatientRow>, failures: &mut Vec<String>) {
    let ctx = Context::new();
    let schema = &provider.translator().schema;
    for query in [
        "_count=2",
        "_count=2&_sort=-birthdate",
        "_count=1&_sort=family",
    ] {
        let full = match ids(provider, &query.replace("_count=", "_count=10")).await {
            Ok(full) => full,
            Err(e) => {
                failures.push(format!("{query}: {e}"));
                continue;
            }
        };
        let mut parsed = common::parse(schema, &format!("{query}&_total=accurate"));
        let mut walked = Vec::new();
        for _ in 0..10 {
            let page = match provider.search(&parsed, &ctx).await {
                Ok(page) => page,
                Err(e) => {
                    failures.push(format!("paging {query}: {e:?}"));
                    break;
                }
            };
            if page.total != Some(6) {
                failures.push(format!("paging {query}: total {:?}", page.total));
            }
            walked.extend(page.resources.iter().map(|r| r.id().unwrap().to_owned()));
            match page.next {
                Some(token) => parsed.result.page = Some(token),
                None => break,
            }
        }
        if walked != full || full.len() != 6 {
            failures.push(format!(
                "paging {query}: walked {walked:?}, unpaged {full:?}"
            ));
        }
    }
    match provider.read("6", &ctx).await {
        Err(e) if e.status() == 404 => {}
        other => failures.push(format!("read of a deleted row: {other:?}")),
    }
    match provider.read("7", &ctx).await {
        Ok(r) if r.as_json()["name"][0]["family"] == "Müllerová" => {}
        other => failures.push(format!("read 7: {other:?}")),
    }
    let many = ["1", "4", "6", "x"].map(String::from);
    match provider.read_many(&many, &ctx).await {
        Ok(r) if r.len() == 2 => {}
        other => failures.push(format!("read_many: {other:?}")),
    }
}

#[tokio::test]
async fn searches_on_sql_server() {
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!(
            "skipped: set {URL_VAR} (mssql://user:password@host:1433/database?trust_server_certificate=true) \
             to run the SQL Server tests"
        );
        return;
    };
    let db = Database {
        pool: Pool::connect(&url, 2).await.expect("connect to SQL Server"),
        timeout: Duration::from_secs(30),
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!("fhir_facade_t{}_{nanos}", std::process::id());
    fixture(&db, &schema).await;
    let provider = SqlProvider::new(
        db.clone(),
        common::schema(&format!("{schema}.patient")),
        "Patient",
        PatientRow,
    )
    .unwrap();
    let mut failures = Vec::new();
    searches(&provider, &mut failures).await;
    paging(&provider, &mut failures).await;
    run(&db, format!("DROP TABLE {schema}.patient")).await;
    run(&db, format!("DROP SCHEMA {schema}")).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
