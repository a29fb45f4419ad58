//! Binding and execution with a time limit.

use std::time::Duration;

use async_trait::async_trait;
use fhir_facade_core::sql::write::{Transact, Transaction as WriteTransaction};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::sql::{Dialect, Executor, MsSqlDialect};
use tiberius::Query;
use tokio::time::{Instant, timeout_at};

use crate::bind::column_data;
use crate::pool::{Connection, Manager};
use crate::{Pool, Row, TiberiusError};

/// A pool with a per-statement time limit: what a [`TiberiusProvider`](crate::TiberiusProvider) runs on.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
    timeout: Duration,
}

fn query<'a>(sql: &'a str, binds: &[BindValue]) -> Query<'a> {
    let mut query = Query::new(sql);
    for value in binds {
        query.bind(column_data(value));
    }
    query
}

/// Runs `statement` on `conn`, leaving the connection marked in flight unless it completed or
/// the server answered with an error (after which the stream is at a message boundary).
async fn on<T>(
    conn: &mut Connection,
    statement: impl AsyncFnOnce(&mut Connection) -> tiberius::Result<T>,
) -> Result<T, TiberiusError> {
    conn.in_flight = true;
    let result = statement(conn).await;
    conn.in_flight = matches!(
        result,
        Err(ref e) if !matches!(e, tiberius::error::Error::Server(_))
    );
    Ok(result?)
}

impl Database {
    /// Statements on `pool`, each allowed `timeout`, including waiting for a connection. Running
    /// out of time while waiting for a connection is
    /// [`Unavailable`](fhir_facade_core::error::DatabaseErrorKind) (503), while the statement runs
    /// [`Timeout`](fhir_facade_core::error::DatabaseErrorKind) (504).
    pub fn new(pool: Pool, timeout: Duration) -> Database {
        Database { pool, timeout }
    }

    /// Connects a pool for `url` ([`Pool::connect_with`]) whose statements are allowed
    /// `settings.statement_timeout`.
    pub async fn connect(
        url: &str,
        settings: &fhir_facade_core::sql::PoolSettings,
    ) -> Result<Database, TiberiusError> {
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

    /// Runs a `SELECT` and returns its rows (of the first result set).
    pub async fn fetch_all(
        &self,
        statement: &SqlFragment,
        request_id: Option<&str>,
    ) -> fhir_facade_core::Result<Vec<Row>> {
        let (sql, binds) = MsSqlDialect.render(statement);
        let rows = self
            .limited(&sql, request_id, async |c| {
                query(&sql, &binds)
                    .query(&mut c.client)
                    .await?
                    .into_first_result()
                    .await
            })
            .await?;
        Ok(rows.into_iter().map(Row::from).collect())
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
            None => Err(TiberiusError::Column {
                column: "0".into(),
                message: "the count returned no row".into(),
            }),
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
        let (sql, binds) = MsSqlDialect.render(statement);
        self.limited(&sql, request_id, async |c| {
            Ok(query(&sql, &binds).execute(&mut c.client).await?.total())
        })
        .await
    }

    /// Runs `statement` on a pooled connection within the time limit.
    async fn limited<T>(
        &self,
        sql: &str,
        request_id: Option<&str>,
        statement: impl AsyncFnOnce(&mut Connection) -> tiberius::Result<T>,
    ) -> fhir_facade_core::Result<T> {
        let deadline = Instant::now() + self.timeout;
        let result = match timeout_at(deadline, self.pool.inner.get()).await {
            Ok(Ok(mut conn)) => match timeout_at(deadline, on(&mut conn, statement)).await {
                Ok(result) => result,
                Err(_) => Err(TiberiusError::Timeout(self.timeout)),
            },
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(TiberiusError::Pool(bb8::RunError::TimedOut)),
        };
        result.map_err(|e| log(e, sql, request_id))
    }
}

#[async_trait]
impl Executor for Database {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        &MsSqlDialect
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

    /// Takes a connection of its own from the pool and starts a transaction on it with
    /// `SET XACT_ABORT ON`, so that any failing statement aborts the whole transaction.
    async fn begin(&self, request_id: Option<&str>) -> fhir_facade_core::Result<Transaction> {
        let deadline = Instant::now() + self.timeout;
        let conn = match timeout_at(deadline, self.pool.inner.get_owned()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(log(e.into(), BEGIN, request_id)),
            Err(_) => {
                return Err(log(
                    TiberiusError::Pool(bb8::RunError::TimedOut),
                    BEGIN,
                    request_id,
                ));
            }
        };
        let mut tx = Transaction {
            conn,
            timeout: self.timeout,
            request_id: request_id.map(str::to_owned),
            open: false,
        };
        tx.run(BEGIN, async |c| {
            c.client.simple_query(BEGIN).await?.into_results().await?;
            Ok(())
        })
        .await?;
        tx.open = true;
        Ok(tx)
    }
}

const BEGIN: &str = "SET XACT_ABORT ON; BEGIN TRANSACTION";

/// A transaction on one pooled connection, opened by [`Transact::begin`]. Statements run under
/// the [`Database`]'s time limit. Dropped without [`commit`](WriteTransaction::commit) or
/// [`rollback`](WriteTransaction::rollback), its connection is discarded instead of returned to
/// the pool, and SQL Server rolls the transaction back when the connection closes.
pub struct Transaction {
    conn: bb8::PooledConnection<'static, Manager>,
    timeout: Duration,
    request_id: Option<String>,
    /// Whether the transaction is still open (neither committed nor rolled back).
    open: bool,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("request_id", &self.request_id)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    async fn run<T>(
        &mut self,
        sql: &str,
        statement: impl AsyncFnOnce(&mut Connection) -> tiberius::Result<T>,
    ) -> fhir_facade_core::Result<T> {
        let result = match tokio::time::timeout(self.timeout, on(&mut self.conn, statement)).await {
            Ok(result) => result,
            Err(_) => Err(TiberiusError::Timeout(self.timeout)),
        };
        result.map_err(|e| log(e, sql, self.request_id.as_deref()))
    }

    async fn finish(mut self, sql: &'static str) -> fhir_facade_core::Result<()> {
        let result = self
            .run(sql, async |c| {
                c.client.simple_query(sql).await?.into_results().await?;
                Ok(())
            })
            .await;
        if result.is_ok() {
            self.open = false;
        }
        result
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            // Not finished: discard the connection; closing it rolls the transaction back.
            self.conn.in_flight = true;
        }
    }
}

#[async_trait]
impl WriteTransaction for Transaction {
    type Row = Row;

    fn dialect(&self) -> &'static dyn Dialect {
        &MsSqlDialect
    }

    async fn fetch_all(&mut self, statement: &SqlFragment) -> fhir_facade_core::Result<Vec<Row>> {
        let (sql, binds) = MsSqlDialect.render(statement);
        let rows = self
            .run(&sql, async |c| {
                query(&sql, &binds)
                    .query(&mut c.client)
                    .await?
                    .into_first_result()
                    .await
            })
            .await?;
        Ok(rows.into_iter().map(Row::from).collect())
    }

    async fn execute(&mut self, statement: &SqlFragment) -> fhir_facade_core::Result<u64> {
        let (sql, binds) = MsSqlDialect.render(statement);
        self.run(&sql, async |c| {
            Ok(query(&sql, &binds).execute(&mut c.client).await?.total())
        })
        .await
    }

    async fn commit(self) -> fhir_facade_core::Result<()> {
        self.finish("COMMIT TRANSACTION").await
    }

    async fn rollback(self) -> fhir_facade_core::Result<()> {
        self.finish("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION").await
    }
}

/// Logs the failure with what only operators may see, and keeps it out of the client's error.
fn log(error: TiberiusError, sql: &str, request_id: Option<&str>) -> fhir_facade_core::Error {
    tracing::error!(
        request_id = request_id.unwrap_or("-"),
        sql,
        error = %error,
        kind = ?error.kind(),
        "database statement failed"
    );
    error.into()
}
