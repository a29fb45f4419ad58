//! The KIS database on PostgreSQL, MariaDB or SQLite for one test: a schema or database of the
//! test's own (`kis_test_<pid>_<n>`, dropped afterwards), filled by the generator.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers. An
//! unreachable server skips the test with the variable's name, except under `CI=true`.

#![allow(dead_code, unreachable_pub)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fhir_facade_core::search::{Handling, ParseOptions};
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_core::sql::write::{Transact, Transaction};
use fhir_facade_core::{Context, Facade, Resource, SearchQuery};
use fhir_facade_sqlx::{Database, Pool, Row};
use kis_facade::Backend;
use kis_facade::generate::{Dataset, load};

pub const PATIENTS: u32 = 50;
pub const SEED: u64 = 20_260_101;
pub const BASE: &str = "http://kis.test/fhir";

pub struct Kis {
    pub name: &'static str,
    pub backend: Backend,
    pub db: Database,
    pub facade: Facade,
    pub data: Dataset,
    cleanup: Option<(Database, String)>,
}

fn unreachable(variable: &str, error: impl std::fmt::Display) -> Option<Kis> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{variable}: database unreachable under CI: {error}");
    }
    println!("skipped: set {variable} to a reachable server ({error})");
    None
}

fn run_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "kis_test_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn database(pool: Pool) -> Database {
    Database::new(pool, Duration::from_secs(60))
}

async fn fill(db: &Database, backend: Backend, data: &Dataset) {
    let mut tx = db.begin(Some("fixture")).await.unwrap();
    load(&mut tx, backend, data, false).await.unwrap();
    tx.commit().await.unwrap();
}

impl Kis {
    async fn new(
        name: &'static str,
        backend: Backend,
        db: Database,
        cleanup: Option<(Database, String)>,
        patients: u32,
    ) -> Kis {
        let data = Dataset::generate(patients, SEED);
        let facade = kis_facade::server::facade(db.clone(), backend).unwrap();
        Kis {
            name,
            backend,
            db,
            facade,
            data,
            cleanup,
        }
    }

    pub async fn sqlite() -> Option<Kis> {
        Kis::sqlite_of(PATIENTS).await
    }

    /// An in-memory SQLite database with `patients` generated patients.
    pub async fn sqlite_of(patients: u32) -> Option<Kis> {
        // A shared in-memory database of its own, so several connections see the same data.
        let url = format!("sqlite:file:{}?mode=memory&cache=shared", run_name());
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap();
        Some(
            Kis::new(
                "sqlite",
                Backend::Sqlite,
                database(Pool::Sqlite(pool)),
                None,
                patients,
            )
            .await,
        )
    }

    pub async fn postgres() -> Option<Kis> {
        let url = std::env::var("FHIR_FACADE_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = match Pool::connect(&url, 1).await {
            Ok(pool) => database(pool),
            Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
        };
        let schema = run_name();
        admin
            .execute(&SqlFragment::sql(format!("CREATE SCHEMA {schema}")), None)
            .await
            .unwrap();
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(6)
            .connect_with(options)
            .await
            .unwrap();
        let cleanup = Some((admin, format!("DROP SCHEMA {schema} CASCADE")));
        Some(
            Kis::new(
                "postgres",
                Backend::Postgres,
                database(Pool::Postgres(pool)),
                cleanup,
                PATIENTS,
            )
            .await,
        )
    }

    pub async fn mariadb() -> Option<Kis> {
        let url = std::env::var("FHIR_FACADE_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
        let options = match sqlx::mysql::MySqlConnectOptions::from_str(&url) {
            Ok(o) => o,
            Err(e) => return unreachable("FHIR_FACADE_MYSQL_URL", e),
        };
        let admin = match sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
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
            .max_connections(6)
            .connect_with(options.database(&name))
            .await
            .unwrap();
        let cleanup = Some((admin, format!("DROP DATABASE {name}")));
        Some(
            Kis::new(
                "mariadb",
                Backend::MySql,
                database(Pool::MySql(pool)),
                cleanup,
                PATIENTS,
            )
            .await,
        )
    }

    /// Rows of a direct query over the legacy tables.
    pub async fn rows(&self, sql: &str) -> Vec<Row> {
        self.db
            .fetch_all(&SqlFragment::sql(sql), Some("direct"))
            .await
            .unwrap()
    }

    /// Rows of a direct query with bound values.
    pub async fn rows_with(&self, statement: &SqlFragment) -> Vec<Row> {
        self.db.fetch_all(statement, Some("direct")).await.unwrap()
    }

    /// Every match of a search, as the provider returns it (no page-size cap).
    pub async fn search_all(
        &self,
        resource_type: &str,
        query: &str,
    ) -> fhir_facade_core::Result<Vec<Resource>> {
        let options = ParseOptions {
            handling: Handling::Strict,
            base_url: Some(BASE),
        };
        let mut q = SearchQuery::parse(
            resource_type,
            query,
            self.facade.supported_params(),
            &options,
        )?;
        q.result.count = Some(100_000);
        let provider = self.facade.provider(resource_type)?;
        Ok(provider.search(&q, &Context::new()).await?.resources)
    }

    /// The sorted ids of every match.
    pub async fn ids(&self, resource_type: &str, query: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .search_all(resource_type, query)
            .await
            .unwrap_or_else(|e| panic!("{}: {resource_type}?{query}: {e}", self.name))
            .iter()
            .map(|r| r.id().unwrap().parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Fills `kis` and runs `test` on it when its database is reachable, and drops the database
/// afterwards, also when the fixture or the test fails.
pub async fn run<F, Fut>(kis: Option<Kis>, test: F)
where
    F: FnOnce(std::sync::Arc<Kis>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(mut kis) = kis else { return };
    // Taken first, so that the database is dropped even when the test leaves tasks behind.
    let cleanup = kis.cleanup.take();
    let kis = std::sync::Arc::new(kis);
    let outcome = tokio::spawn(async move {
        fill(&kis.db, kis.backend, &kis.data).await;
        test(kis).await
    })
    .await;
    if let Some((admin, statement)) = cleanup {
        admin
            .execute(&SqlFragment::sql(statement), None)
            .await
            .unwrap();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
