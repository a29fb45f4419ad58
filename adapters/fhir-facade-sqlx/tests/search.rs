//! One table of searches, run unchanged on PostgreSQL, MariaDB and SQLite over one fixture.
//!
//! The fixture and the table are shared with the SQL Server tests of `fhir-facade-tiberius`
//! (`fhir_facade_tests::search_table::{fixture, suite}`); this file only connects and creates the fixture.
//!
//! `FHIR_FACADE_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `FHIR_FACADE_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) name the servers; each
//! run works in its own schema or database and drops it. An unreachable server skips its test,
//! except under `CI=true`, where it fails.
//!
//! The table runs with the clock pinned at `fixture::NOW`, so that `ap` (whose margin depends on
//! the distance to now) has fixed boundaries.

use std::str::FromStr;
use std::time::Duration;

use fhir_facade_core::sql::SqlFragment;
use fhir_facade_sqlx::{Database, Pool};

use fhir_facade_tests::search_table::fixture::{self, Engine};
use fhir_facade_tests::search_table::suite::Suite;

/// Creates the fixture's tables in the database `db` works in.
async fn fixture(db: &Database, engine: Engine) {
    for statement in fixture::statements(engine, "") {
        db.execute(&statement, None).await.unwrap();
    }
}

/// The suite over the fixture's tables in the database `db` works in.
fn suite(db: Database) -> Suite<Database> {
    Suite::new(db, fixture::schema(""))
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
    Database::new(pool, Duration::from_secs(30))
}

#[tokio::test]
async fn sqlite() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let db = database(Pool::Sqlite(pool));
    fixture(&db, Engine::Sqlite).await;
    suite(db).run("sqlite").await;
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
    fixture(&db, Engine::Postgres).await;
    let outcome = tokio::spawn(async move { suite(db).run("postgres").await }).await;
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
    fixture(&db, Engine::MariaDb).await;
    let outcome = tokio::spawn(async move { suite(db).run("mariadb").await }).await;
    admin
        .execute(&SqlFragment::sql(format!("DROP DATABASE {name}")), None)
        .await
        .unwrap();
    outcome.unwrap();
}

/// The same statement with other values, three times, as three requests of one search send it.
fn one_search(n: i64) -> SqlFragment {
    let mut statement = SqlFragment::sql("SELECT 1 + ");
    statement.push_bind(fhir_facade_core::sql::BindValue::Int(n));
    statement.push(" AS prepared_once_probe");
    statement
}

/// A statement is parsed and planned once per connection, then executed from the driver's
/// cache: the facade sends the same SQL text for every request of one search shape.
#[tokio::test]
async fn postgres_prepares_a_statement_once_per_connection() {
    let url = std::env::var("FHIR_FACADE_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    // One connection, so the probe below sees the session that ran the statements.
    let pool = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
    {
        Ok(pool) => pool,
        Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
    };
    let db = database(Pool::Postgres(pool.clone()));
    for n in 1..=3 {
        assert_eq!(db.fetch_all(&one_search(n), None).await.unwrap().len(), 1);
    }
    let prepared: Vec<(String,)> = sqlx::query_as(
        "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT 1 + %'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(prepared.len(), 1, "{prepared:?}");
}

#[tokio::test]
async fn mariadb_prepares_a_statement_once_per_connection() {
    let url = std::env::var("FHIR_FACADE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let pool = match sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
    {
        Ok(pool) => pool,
        Err(e) => return unreachable("FHIR_FACADE_MYSQL_URL", e),
    };
    let prepares = || async {
        let (_, count): (String, String) =
            sqlx::query_as("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
                .fetch_one(&pool)
                .await
                .unwrap();
        count.parse::<u64>().unwrap()
    };
    let db = database(Pool::MySql(pool.clone()));
    // The first run prepares the statement (the counter counts), later runs must not (the
    // status query, prepared by its own first run, is cached too).
    let start = prepares().await;
    db.fetch_all(&one_search(0), None).await.unwrap();
    let before = prepares().await;
    assert_eq!(before - start, 1);
    for n in 1..=3 {
        assert_eq!(db.fetch_all(&one_search(n), None).await.unwrap().len(), 1);
    }
    assert_eq!(prepares().await - before, 0);
}

/// A column is read by the first Rust type its SQL type decodes as: every integer width, a
/// timestamp with or without time zone, `NULL` as `None`; a column of another type, or none of
/// that name, is an error naming the column.
#[tokio::test]
async fn postgres_rows_decode_by_the_column_type() {
    let url = std::env::var("FHIR_FACADE_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = match Pool::connect(&url, 1).await {
        Ok(pool) => pool,
        Err(e) => return unreachable("FHIR_FACADE_PG_URL", e),
    };
    let db = database(pool);
    let rows = db
        .fetch_all(
            &SqlFragment::sql(
                "SELECT CAST(1 AS SMALLINT) AS s, CAST(2 AS INTEGER) AS i, CAST(3 AS BIGINT) AS b, \
                 CAST(NULL AS INTEGER) AS n, 'x' AS t, \
                 CAST('2020-01-02 03:04:05' AS TIMESTAMP) AS ts, \
                 CAST('2020-01-02 03:04:05+02' AS TIMESTAMPTZ) AS tz",
            ),
            None,
        )
        .await
        .unwrap();
    let row = &rows[0];
    let ints: Vec<Option<i64>> = ["s", "i", "b", "n"]
        .iter()
        .map(|c| row.get_opt_i64(c).unwrap())
        .collect();
    assert_eq!(ints, [Some(1), Some(2), Some(3), None]);
    let ts = row.get_timestamp("ts").unwrap();
    assert_eq!((ts.hour(), ts.offset().is_utc()), (3, true));
    assert_eq!(row.get_timestamp("tz").unwrap().hour(), 1);
    for column in ["t", "nope"] {
        match row.get_opt_i64(column) {
            Err(fhir_facade_sqlx::SqlxError::Column { column: named, .. }) => {
                assert_eq!(named, column)
            }
            other => panic!("{column}: {other:?}"),
        }
    }
}
