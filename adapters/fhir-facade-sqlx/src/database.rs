//! Pools, binding and execution with a time limit.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use fhir_facade_core::sql::write::{Transact, Transaction as WriteTransaction};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::sql::{DatabaseKind, Dialect, Executor, PoolSettings};
#[cfg(any(feature = "mysql", feature = "sqlite"))]
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::{Row, SqlxError};

/// A connection pool of one of the enabled drivers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Pool {
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
}

impl Pool {
    /// Connects a pool of at most `max_connections` for a `postgres://`, `mysql://` or
    /// `sqlite:` URL, with the other [`PoolSettings`] at their defaults.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Pool, SqlxError> {
        let settings = PoolSettings {
            max_connections,
            ..PoolSettings::default()
        };
        Pool::connect_with(url, &settings).await
    }

    /// Connects a pool for a `postgres://`, `mysql://` or `sqlite:` URL, sized and timed by
    /// `settings`. Connections are not pinged before each use (`test_before_acquire(false)`):
    /// a dead connection fails its statement (a read is then retried on a live connection, see
    /// [`Database::fetch_all`]) instead of costing every request a round trip.
    pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<Pool, SqlxError> {
        let unsupported = |why: String| SqlxError::Sqlx(sqlx::Error::Configuration(why.into()));
        let kind = DatabaseKind::from_url(url).map_err(|e| unsupported(e.to_string()))?;
        macro_rules! pool {
            ($options:ty) => {
                <$options>::new()
                    .max_connections(settings.max_connections.max(1))
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(false)
                    .connect(url)
                    .await?
            };
        }
        match kind {
            #[cfg(feature = "postgres")]
            DatabaseKind::Postgres => Ok(Pool::Postgres(pool!(sqlx::postgres::PgPoolOptions))),
            #[cfg(feature = "mysql")]
            DatabaseKind::MySql => Ok(Pool::MySql(pool!(sqlx::mysql::MySqlPoolOptions))),
            #[cfg(feature = "sqlite")]
            DatabaseKind::Sqlite => Ok(Pool::Sqlite(pool!(sqlx::sqlite::SqlitePoolOptions))),
            #[allow(unreachable_patterns, reason = "every driver's feature may be enabled")]
            other => Err(unsupported(format!("no enabled driver for {other:?}"))),
        }
    }

    /// The database this pool connects to.
    fn kind(&self) -> DatabaseKind {
        match self {
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => DatabaseKind::Postgres,
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => DatabaseKind::MySql,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => DatabaseKind::Sqlite,
        }
    }

    /// The SQL dialect of this pool's database.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.kind().dialect()
    }
}

/// A pool with a per-statement time limit: what a [`SqlxProvider`](crate::SqlxProvider) runs on.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
    timeout: Duration,
}

#[cfg(any(feature = "mysql", feature = "sqlite"))]
fn utc(value: &OffsetDateTime) -> PrimitiveDateTime {
    let utc = value.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(utc.date(), utc.time())
}

/// Binds every value with the type the driver and [`Dialect`] expect.
macro_rules! bind_all {
    ($query:expr, $binds:expr, $convert:expr) => {{
        let mut query = $query;
        for value in $binds {
            query = $convert(query, value);
        }
        query
    }};
}

impl Database {
    /// Statements on `pool`, each allowed `timeout`, including waiting for a connection.
    pub fn new(pool: Pool, timeout: Duration) -> Database {
        Database { pool, timeout }
    }

    /// Connects a pool for `url` ([`Pool::connect_with`]) whose statements are allowed
    /// `settings.statement_timeout`.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Database, SqlxError> {
        let pool = Pool::connect_with(url, settings).await?;
        Ok(Database::new(pool, settings.statement_timeout))
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The longest a statement may take, including waiting for a connection.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs a `SELECT` and returns its rows. A read whose connection failed (a server restart,
    /// a terminated backend: [`SqlxError::is_connection_failure`]) on PostgreSQL or MySQL runs
    /// once more, on a connection opened for it, within the same time limit.
    pub async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<Vec<Row>> {
        let (sql, binds) = self.pool.dialect().render(statement);
        let run = async {
            match self.select(&sql, &binds, false).await {
                Err(e) if e.is_connection_failure() => {
                    tracing::warn!(
                        request_id = request_id.unwrap_or("-"),
                        error = %e,
                        "a read's connection failed; retrying it once on a fresh connection"
                    );
                    self.select(&sql, &binds, true).await
                }
                result => result,
            }
        };
        self.limited(run, &sql, request_id).await
    }

    /// The rows of `sql`, on any pooled connection or, when `fresh`, on a connection opened for
    /// it outside the pool. Pooled connections that a restart or a kill left dead are each
    /// discarded after their one failure (sqlx pings a connection when it comes back), so a
    /// fresh one is needed once per dead connection at most: the database is not flooded. On
    /// SQLite, a new connection could open another database (`sqlite::memory:`), and a failure
    /// is the disk's, not a network's: it is not retried.
    async fn select(
        &self,
        sql: &str,
        binds: &[BindValue],
        fresh: bool,
    ) -> Result<Vec<Row>, SqlxError> {
        macro_rules! select {
            ($pool:expr, $connection:ty, $bind:expr, $row:expr, $retry:expr) => {{
                let query = bind_all!(sqlx::query(sql), binds, $bind);
                let rows = if fresh && $retry {
                    use sqlx::Connection as _;
                    let mut connection =
                        <$connection>::connect_with(&*$pool.connect_options()).await?;
                    let rows = query.fetch_all(&mut connection).await;
                    // Its work is done either way; a failed goodbye changes nothing.
                    let _ = connection.close().await;
                    rows?
                } else {
                    query.fetch_all($pool).await?
                };
                rows.into_iter().map($row).collect()
            }};
        }
        Ok(match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => select!(pool, sqlx::PgConnection, bind_pg, Row::Postgres, true),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => select!(pool, sqlx::MySqlConnection, bind_mysql, Row::MySql, true),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => select!(
                pool,
                sqlx::SqliteConnection,
                bind_sqlite,
                Row::Sqlite,
                false
            ),
        })
    }

    /// Runs a `SELECT COUNT(*)` and returns the number.
    pub async fn fetch_count(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<u64> {
        let rows = self.fetch_all(statement, request_id).await?;
        let count = match rows.first() {
            Some(row) => row.get_i64_at(0),
            None => Err(SqlxError::Sqlx(sqlx::Error::RowNotFound)),
        };
        count
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| log(e, "SELECT COUNT(*) …", request_id))
    }

    /// Runs a statement that returns no rows (DDL, writes); returns the rows affected.
    pub async fn execute(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<u64> {
        let (sql, binds) = self.pool.dialect().render(statement);
        let run = async {
            Ok(match &self.pool {
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => bind_all!(sqlx::query(&sql), &binds, bind_pg)
                    .execute(pool)
                    .await?
                    .rows_affected(),
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => bind_all!(sqlx::query(&sql), &binds, bind_mysql)
                    .execute(pool)
                    .await?
                    .rows_affected(),
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => bind_all!(sqlx::query(&sql), &binds, bind_sqlite)
                    .execute(pool)
                    .await?
                    .rows_affected(),
            })
        };
        self.limited(run, &sql, request_id).await
    }

    async fn limited<T>(
        &self,
        run: impl Future<Output = Result<T, SqlxError>>,
        sql: &str,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<T> {
        let result = match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(SqlxError::Timeout(self.timeout)),
        };
        result.map_err(|e| log(e, sql, request_id))
    }
}

#[async_trait]
impl Executor for Database {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        self.pool.dialect()
    }

    async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<Vec<Row>> {
        Database::fetch_all(self, statement, request_id).await
    }

    async fn fetch_count(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<u64> {
        Database::fetch_count(self, statement, request_id).await
    }
}

#[async_trait]
impl Transact for Database {
    type Transaction = Transaction;

    async fn begin(&self, request_id: Option<&str>) -> fhir_facade_core::Result<Transaction> {
        let run = async {
            Ok(match &self.pool {
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => Open::Postgres(pool.begin().await?),
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => Open::MySql(pool.begin().await?),
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => Open::Sqlite(pool.begin().await?),
            })
        };
        let open = self.limited(run, "BEGIN", request_id).await?;
        Ok(Transaction {
            open,
            dialect: self.pool.dialect(),
            database: self.clone(),
            request_id: request_id.map(str::to_owned),
        })
    }
}

enum Open {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// A transaction on one pooled connection, opened by [`Transact::begin`]: statements run under
/// the [`Database`]'s time limit; dropping it without [`commit`](WriteTransaction::commit) rolls
/// it back (sqlx does so before the connection is used again).
pub struct Transaction {
    open: Open,
    dialect: &'static dyn Dialect,
    database: Database,
    request_id: Option<String>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl WriteTransaction for Transaction {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    async fn fetch_all(&mut self, statement: &SqlFragment) -> fhir_facade_core::Result<Vec<Row>> {
        let (sql, binds) = self.dialect.render(statement);
        let run = async {
            Ok(match &mut self.open {
                #[cfg(feature = "postgres")]
                Open::Postgres(tx) => bind_all!(sqlx::query(&sql), &binds, bind_pg)
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(Row::Postgres)
                    .collect(),
                #[cfg(feature = "mysql")]
                Open::MySql(tx) => bind_all!(sqlx::query(&sql), &binds, bind_mysql)
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(Row::MySql)
                    .collect(),
                #[cfg(feature = "sqlite")]
                Open::Sqlite(tx) => bind_all!(sqlx::query(&sql), &binds, bind_sqlite)
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(Row::Sqlite)
                    .collect(),
            })
        };
        self.database
            .limited(run, &sql, self.request_id.as_deref())
            .await
    }

    async fn execute(&mut self, statement: &SqlFragment) -> fhir_facade_core::Result<u64> {
        let (sql, binds) = self.dialect.render(statement);
        let run = async {
            Ok(match &mut self.open {
                #[cfg(feature = "postgres")]
                Open::Postgres(tx) => bind_all!(sqlx::query(&sql), &binds, bind_pg)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
                #[cfg(feature = "mysql")]
                Open::MySql(tx) => bind_all!(sqlx::query(&sql), &binds, bind_mysql)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
                #[cfg(feature = "sqlite")]
                Open::Sqlite(tx) => bind_all!(sqlx::query(&sql), &binds, bind_sqlite)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            })
        };
        self.database
            .limited(run, &sql, self.request_id.as_deref())
            .await
    }

    async fn commit(self) -> fhir_facade_core::Result<()> {
        let run = async {
            match self.open {
                #[cfg(feature = "postgres")]
                Open::Postgres(tx) => tx.commit().await?,
                #[cfg(feature = "mysql")]
                Open::MySql(tx) => tx.commit().await?,
                #[cfg(feature = "sqlite")]
                Open::Sqlite(tx) => tx.commit().await?,
            }
            Ok(())
        };
        self.database
            .limited(run, "COMMIT", self.request_id.as_deref())
            .await
    }

    async fn rollback(self) -> fhir_facade_core::Result<()> {
        let run = async {
            match self.open {
                #[cfg(feature = "postgres")]
                Open::Postgres(tx) => tx.rollback().await?,
                #[cfg(feature = "mysql")]
                Open::MySql(tx) => tx.rollback().await?,
                #[cfg(feature = "sqlite")]
                Open::Sqlite(tx) => tx.rollback().await?,
            }
            Ok(())
        };
        self.database
            .limited(run, "ROLLBACK", self.request_id.as_deref())
            .await
    }
}

/// Logs the failure with what only operators may see, and keeps it out of the client's error.
fn log(error: SqlxError, sql: &str, request_id: Option<&str>) -> fhir_facade_core::Error {
    tracing::error!(
        request_id = request_id.unwrap_or("-"),
        sql,
        error = %error,
        kind = ?error.kind(),
        "database statement failed"
    );
    error.into()
}

#[cfg(feature = "postgres")]
fn bind_pg<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    value: &BindValue,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match value {
        BindValue::Bool(b) => query.bind(*b),
        BindValue::Int(n) => query.bind(*n),
        BindValue::Decimal(d) => query.bind(*d),
        BindValue::Text(s) => query.bind(s.clone()),
        // `timestamptz`, which the dialect casts and converts to UTC wall-clock time.
        BindValue::Timestamp(t) => query.bind(*t),
        BindValue::Date(d) => query.bind(*d),
        _ => query.bind(None::<String>),
    }
}

#[cfg(feature = "mysql")]
fn bind_mysql<'q>(
    query: sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
    value: &BindValue,
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    match value {
        BindValue::Bool(b) => query.bind(*b),
        BindValue::Int(n) => query.bind(*n),
        BindValue::Decimal(d) => query.bind(*d),
        BindValue::Text(s) => query.bind(s.clone()),
        // A `DATETIME` holding UTC wall-clock time, as the dialect expects.
        BindValue::Timestamp(t) => query.bind(utc(t)),
        BindValue::Date(d) => query.bind(*d),
        _ => query.bind(None::<String>),
    }
}

#[cfg(feature = "sqlite")]
fn bind_sqlite<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    value: &BindValue,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    use rust_decimal::prelude::ToPrimitive;
    match value {
        BindValue::Bool(b) => query.bind(i64::from(*b)),
        BindValue::Int(n) => query.bind(*n),
        // SQLite has no decimal type: numeric columns hold REAL (or INTEGER), compared as f64.
        BindValue::Decimal(d) => query.bind(d.to_f64()),
        BindValue::Text(s) => query.bind(s.clone()),
        // Text that the dialect's `datetime(?)` normalises; SQLite stores dates as text.
        BindValue::Timestamp(t) => {
            let t = utc(t);
            query.bind(format!(
                "{} {:02}:{:02}:{:02}.{:09}",
                t.date(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond()
            ))
        }
        BindValue::Date(d) => query.bind(d.to_string()),
        _ => query.bind(None::<String>),
    }
}
