//! Database faults under the adapter: backends ended by the server while their connections sit
//! in the pool, on PostgreSQL and MariaDB.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers. An
//! unreachable server skips its test, except under `CI=true`, where it fails.

use std::time::Duration;

use fhir_facade_core::error::DatabaseErrorKind;
use fhir_facade_core::sql::SqlFragment;
use fhir_facade_sqlx::{Database, Pool};

const POOL_SIZE: usize = 3;

fn unreachable(variable: &str, error: impl std::fmt::Debug) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{variable}: database unreachable under CI: {error:?}");
    }
    println!("skipped: set {variable} to a reachable server ({error:?})");
}

fn url(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// The backend pids of every connection of a PostgreSQL pool of [`POOL_SIZE`], all held at once
/// so that each is a different one.
async fn backend_pids(db: &Database) -> Vec<i32> {
    let Pool::Postgres(pool) = db.pool() else {
        unreachable!("a postgres:// URL makes a PostgreSQL pool")
    };
    let mut held = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..POOL_SIZE {
        let mut connection = pool.acquire().await.unwrap();
        let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        pids.push(pid);
        held.push(connection);
    }
    pids
}

fn kind(error: &fhir_facade_core::Error) -> Option<DatabaseErrorKind> {
    match error {
        fhir_facade_core::Error::Database { kind, .. } => Some(*kind),
        _ => None,
    }
}

/// Every pooled connection's backend is terminated while idle: the next reads all succeed, each
/// retried once on a live connection, and the pool holds live connections again.
#[tokio::test]
async fn postgres_reads_survive_terminated_backends() {
    let url = url(
        "FHIR_FACADE_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let (pool, admin) = match (
        Pool::connect(&url, POOL_SIZE as u32).await,
        Pool::connect(&url, 1).await,
    ) {
        (Ok(pool), Ok(admin)) => (pool, admin),
        (Err(e), _) | (_, Err(e)) => return unreachable("FHIR_FACADE_PG_URL", e),
    };
    let db = Database::new(pool, Duration::from_secs(10));
    let admin = Database::new(admin, Duration::from_secs(10));
    let ids = backend_pids(&db).await;
    let terminate = SqlFragment::sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({})",
        ids.iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    assert_eq!(
        admin.fetch_all(&terminate, None).await.unwrap().len(),
        POOL_SIZE
    );
    // pg_terminate_backend only signals; give the backends time to end.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = SqlFragment::sql("SELECT 1 AS one");
    for attempt in 0..2 * POOL_SIZE {
        let rows = db.fetch_all(&read, None).await;
        assert!(rows.is_ok(), "read {attempt} after termination: {rows:?}");
    }
    let after = backend_pids(&db).await;
    assert!(
        after.iter().all(|id| !ids.contains(id)),
        "{ids:?} {after:?}"
    );
}

/// A write's connection ended by the server is a 503 (`Unavailable`), never a 500, and is not
/// retried: the adapter cannot know whether it was applied.
#[tokio::test]
async fn postgres_a_terminated_session_is_unavailable() {
    let url = url(
        "FHIR_FACADE_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let db = match Pool::connect(&url, 1).await {
        Ok(pool) => Database::new(pool, Duration::from_secs(10)),
        Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
    };
    let error = db
        .execute(
            &SqlFragment::sql("SELECT pg_terminate_backend(pg_backend_pid())"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        kind(&error),
        Some(DatabaseErrorKind::Unavailable),
        "{error:?}"
    );
    assert_eq!(error.status(), 503);
}

/// MariaDB: every pooled connection is killed while idle, and the next reads all succeed.
#[tokio::test]
async fn mariadb_reads_survive_killed_connections() {
    let url = url("FHIR_FACADE_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    let (pool, admin) = match (
        Pool::connect(&url, POOL_SIZE as u32).await,
        Pool::connect(&url, 1).await,
    ) {
        (Ok(Pool::MySql(pool)), Ok(admin)) => (pool, admin),
        (Err(e), _) | (_, Err(e)) => return unreachable("FHIR_FACADE_MYSQL_URL", e),
        _ => unreachable!("a mysql:// URL makes a MySQL pool"),
    };
    let admin = Database::new(admin, Duration::from_secs(10));
    let mut held = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..POOL_SIZE {
        let mut connection = pool.acquire().await.unwrap();
        let (id,): (u64,) = sqlx::query_as("SELECT CONNECTION_ID()")
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        ids.push(id);
        held.push(connection);
    }
    drop(held);
    for id in &ids {
        admin
            .execute(&SqlFragment::sql(format!("KILL CONNECTION {id}")), None)
            .await
            .unwrap();
    }
    let db = Database::new(Pool::MySql(pool), Duration::from_secs(10));
    let read = SqlFragment::sql("SELECT 1 AS one");
    for attempt in 0..2 * POOL_SIZE {
        let rows = db.fetch_all(&read, None).await;
        assert!(rows.is_ok(), "read {attempt} after KILL: {rows:?}");
    }
}
