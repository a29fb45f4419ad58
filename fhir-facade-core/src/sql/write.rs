//! Writes: statements that run together in one database transaction.
//!
//! The read path ([`Executor`]) runs single statements. A write to a legacy schema usually needs
//! several (assign a key, insert, read the stored row back), and all or none of them must take
//! effect. [`Transact`] opens a [`Transaction`] on one connection; [`in_transaction`] runs a unit
//! of work in one, commits when it succeeds and rolls back when it fails, so a failed write leaves
//! the tables as they were.
//!
//! Key assignment is left to the database: a unit of work that computes the next key inside the
//! transaction (`SELECT MAX(id) + 1 ... ` under the dialect's lock, or an `INSERT ... SELECT`) can
//! race with another replica doing the same; the loser fails with a unique-key violation or a
//! serialization failure, which the adapters report as [`DatabaseErrorKind::Conflict`], and
//! [`in_transaction`] runs the whole unit again on a fresh transaction.
//!
//! ```
//! use async_trait::async_trait;
//! use fhir_facade_core::sql::write::{Transact, Transaction, in_transaction};
//! use fhir_facade_core::sql::{Dialect, Executor, SqliteDialect};
//! use fhir_facade_core::sql::SqlFragment;
//! use fhir_facade_core::{Error, Result};
//! use std::sync::{Arc, Mutex};
//!
//! /// A "database" that keeps the statements of committed transactions.
//! #[derive(Default)]
//! struct Log(Arc<Mutex<Vec<String>>>);
//! struct Tx(Arc<Mutex<Vec<String>>>, Vec<String>);
//!
//! #[async_trait]
//! impl Transaction for Tx {
//!     type Row = ();
//!     fn dialect(&self) -> &'static dyn Dialect { &SqliteDialect }
//!     async fn fetch_all(&mut self, _: &SqlFragment) -> Result<Vec<()>> { Ok(vec![]) }
//!     async fn execute(&mut self, s: &SqlFragment) -> Result<u64> {
//!         self.1.push(self.dialect().render(s).0);
//!         Ok(1)
//!     }
//!     async fn commit(self) -> Result<()> {
//!         self.0.lock().unwrap().extend(self.1);
//!         Ok(())
//!     }
//!     async fn rollback(self) -> Result<()> { Ok(()) }
//! }
//!
//! #[async_trait]
//! impl Executor for Log {
//!     type Row = ();
//!     fn dialect(&self) -> &'static dyn Dialect { &SqliteDialect }
//!     async fn fetch_all(&self, _: &SqlFragment, _: Option<&str>) -> Result<Vec<()>> { Ok(vec![]) }
//!     async fn fetch_count(&self, _: &SqlFragment, _: Option<&str>) -> Result<u64> { Ok(0) }
//! }
//!
//! #[async_trait]
//! impl Transact for Log {
//!     type Transaction = Tx;
//!     async fn begin(&self, _: Option<&str>) -> Result<Tx> { Ok(Tx(self.0.clone(), vec![])) }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Log::default();
//! // Succeeds: both statements are committed.
//! in_transaction(&db, None, 1, |tx| Box::pin(async move {
//!     tx.execute(&SqlFragment::sql("INSERT INTO a VALUES (1)")).await?;
//!     tx.execute(&SqlFragment::sql("INSERT INTO b VALUES (1)")).await
//! })).await.unwrap();
//! // Fails half-way: nothing of it is committed.
//! let failed = in_transaction(&db, None, 1, |tx| Box::pin(async move {
//!     tx.execute(&SqlFragment::sql("INSERT INTO a VALUES (2)")).await?;
//!     Err::<u64, _>(Error::Conflict("b exists".into()))
//! })).await;
//! assert_eq!(failed.unwrap_err().status(), 409);
//! assert_eq!(*db.0.lock().unwrap(), ["INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (1)"]);
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::{Dialect, Executor};
use crate::error::DatabaseErrorKind;
use crate::sql::SqlFragment;
use crate::{Error, Result};

/// An open transaction on one connection. Implemented by the driver adapters.
///
/// Statements run under the executor's time limit and fail as [`Executor`]'s do (logged, with
/// no driver detail for the client). [`commit`](Self::commit) makes the work visible;
/// [`rollback`](Self::rollback), or dropping the transaction without committing, discards it.
#[async_trait]
pub trait Transaction: Send {
    /// One result row, the same type the executor's [`RowMapper`](super::RowMapper)s read.
    type Row: Send + Sync;

    /// The SQL dialect of the database.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a `SELECT` (or a statement returning rows) and returns its rows.
    async fn fetch_all(&mut self, statement: &SqlFragment) -> Result<Vec<Self::Row>>;

    /// Runs a statement that returns no rows; returns the rows affected.
    async fn execute(&mut self, statement: &SqlFragment) -> Result<u64>;

    /// Commits the transaction.
    async fn commit(self) -> Result<()>;

    /// Rolls the transaction back.
    async fn rollback(self) -> Result<()>;
}

/// An [`Executor`] that can also open transactions.
#[async_trait]
pub trait Transact: Executor {
    /// The transaction type; its rows are the executor's rows, so one row mapper serves both.
    type Transaction: Transaction<Row = Self::Row> + 'static;

    /// Opens a transaction on a connection of its own (`request_id` is for the logs).
    async fn begin(&self, request_id: Option<&str>) -> Result<Self::Transaction>;
}

/// The future a unit of work returns, borrowing the transaction it runs in.
pub type Work<'t, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 't>>;

/// Runs `work` in a transaction of `executor`: commits when it returns `Ok`, rolls back when it
/// returns an error (which is then returned unchanged).
///
/// When the unit of work or the commit fails with a [`DatabaseErrorKind::Conflict`] (a
/// concurrent writer won a race for a key, a serialization failure, a deadlock victim), the
/// whole unit runs again on a new transaction, up to `attempts` times in all (at least once);
/// after the last attempt the conflict is returned (409). Other errors are never retried.
pub async fn in_transaction<E, T, F>(
    executor: &E,
    request_id: Option<&str>,
    attempts: u32,
    mut work: F,
) -> Result<T>
where
    E: Transact + ?Sized,
    T: Send,
    F: for<'t> FnMut(&'t mut E::Transaction) -> Work<'t, T> + Send,
{
    let mut attempt = 1;
    loop {
        let mut tx = executor.begin(request_id).await?;
        let outcome = match work(&mut tx).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(unconfirmed),
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    // The work's error is the one the client needs; the rollback's is logged.
                    tracing::error!(
                        request_id = request_id.unwrap_or("-"),
                        error = %rollback,
                        "rolling back a failed write failed"
                    );
                }
                Err(error)
            }
        };
        match outcome {
            Err(error) if is_conflict(&error) && attempt < attempts => {
                tracing::info!(
                    request_id = request_id.unwrap_or("-"),
                    attempt,
                    "write conflicted with a concurrent one; retrying"
                );
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A commit that failed on its connection or ran out of time may have been applied: its error
/// says the outcome is unknown ([`DatabaseErrorKind::OutcomeUnknown`]), neither success nor a
/// failure the client could safely retry.
fn unconfirmed(error: Error) -> Error {
    match error {
        Error::Database {
            kind: DatabaseErrorKind::Unavailable | DatabaseErrorKind::Timeout,
            source,
        } => Error::Database {
            kind: DatabaseErrorKind::OutcomeUnknown,
            source,
        },
        other => other,
    }
}

/// Whether `error` is a database conflict that a retry of the whole transaction may resolve.
pub fn is_conflict(error: &Error) -> bool {
    matches!(
        error,
        Error::Database {
            kind: DatabaseErrorKind::Conflict,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::SqliteDialect;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct State {
        committed: Vec<String>,
        begun: u32,
        rolled_back: u32,
        /// What the next `execute` calls do, in order: `None` succeeds, `Some` fails.
        failures: VecDeque<Option<Error>>,
        /// How the next commit ends after applying the work: `None` confirms it.
        commit_failure: Option<Error>,
    }

    #[derive(Default, Clone)]
    struct Db(Arc<Mutex<State>>);

    struct Tx {
        db: Db,
        pending: Vec<String>,
    }

    fn conflict() -> Error {
        Error::Database {
            kind: DatabaseErrorKind::Conflict,
            source: "duplicate key".into(),
        }
    }

    #[async_trait]
    impl Transaction for Tx {
        type Row = String;
        fn dialect(&self) -> &'static dyn Dialect {
            &SqliteDialect
        }
        async fn fetch_all(&mut self, _: &SqlFragment) -> Result<Vec<String>> {
            Ok(self.pending.clone())
        }
        async fn execute(&mut self, s: &SqlFragment) -> Result<u64> {
            if let Some(Some(e)) = self.db.0.lock().unwrap().failures.pop_front() {
                return Err(e);
            }
            self.pending.push(SqliteDialect.render(s).0);
            Ok(1)
        }
        async fn commit(self) -> Result<()> {
            let mut state = self.db.0.lock().unwrap();
            state.committed.extend(self.pending);
            state.commit_failure.take().map_or(Ok(()), Err)
        }
        async fn rollback(self) -> Result<()> {
            self.db.0.lock().unwrap().rolled_back += 1;
            Ok(())
        }
    }

    #[async_trait]
    impl Executor for Db {
        type Row = String;
        fn dialect(&self) -> &'static dyn Dialect {
            &SqliteDialect
        }
        async fn fetch_all(&self, _: &SqlFragment, _: Option<&str>) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
        async fn fetch_count(&self, _: &SqlFragment, _: Option<&str>) -> Result<u64> {
            Ok(0)
        }
    }

    #[async_trait]
    impl Transact for Db {
        type Transaction = Tx;
        async fn begin(&self, _: Option<&str>) -> Result<Tx> {
            self.0.lock().unwrap().begun += 1;
            Ok(Tx {
                db: self.clone(),
                pending: Vec::new(),
            })
        }
    }

    async fn two_inserts(db: &Db, attempts: u32) -> Result<usize> {
        in_transaction(db, Some("r1"), attempts, |tx| {
            Box::pin(async move {
                tx.execute(&SqlFragment::sql("INSERT 1")).await?;
                tx.execute(&SqlFragment::sql("INSERT 2")).await?;
                Ok(tx.fetch_all(&SqlFragment::sql("SELECT")).await?.len())
            })
        })
        .await
    }

    #[tokio::test]
    async fn success_commits_everything() {
        let db = Db::default();
        assert_eq!(two_inserts(&db, 3).await.unwrap(), 2);
        let state = db.0.lock().unwrap();
        assert_eq!(state.committed, ["INSERT 1", "INSERT 2"]);
        assert_eq!((state.begun, state.rolled_back), (1, 0));
    }

    #[tokio::test]
    async fn failure_half_way_commits_nothing_and_is_not_retried() {
        let db = Db::default();
        // The second statement fails.
        db.0.lock()
            .unwrap()
            .failures
            .extend([None, Some(Error::Internal("boom".into()))]);
        let err = two_inserts(&db, 3).await.unwrap_err();
        assert_eq!(err.status(), 500);
        let state = db.0.lock().unwrap();
        assert!(state.committed.is_empty());
        assert_eq!((state.begun, state.rolled_back), (1, 1));
    }

    #[tokio::test]
    async fn an_unconfirmed_commit_is_an_unknown_outcome_and_not_retried() {
        for kind in [DatabaseErrorKind::Unavailable, DatabaseErrorKind::Timeout] {
            let db = Db::default();
            db.0.lock().unwrap().commit_failure = Some(Error::Database {
                kind,
                source: "connection reset".into(),
            });
            let err = two_inserts(&db, 3).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Database {
                        kind: DatabaseErrorKind::OutcomeUnknown,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(err.status(), 504);
            assert!(err.issue().diagnostics.contains("may or may not"));
            assert_eq!(db.0.lock().unwrap().begun, 1, "never retried");
        }
        // A commit the database refused is known not to have happened.
        let db = Db::default();
        db.0.lock().unwrap().commit_failure = Some(conflict());
        assert_eq!(two_inserts(&db, 1).await.unwrap_err().status(), 409);
    }

    #[tokio::test]
    async fn conflicts_rerun_the_whole_unit() {
        let db = Db::default();
        // The second statement of the first attempt loses a race.
        db.0.lock()
            .unwrap()
            .failures
            .extend([None, Some(conflict())]);
        assert_eq!(two_inserts(&db, 2).await.unwrap(), 2);
        let state = db.0.lock().unwrap();
        assert_eq!(state.committed, ["INSERT 1", "INSERT 2"]);
        assert_eq!((state.begun, state.rolled_back), (2, 1));
    }

    #[tokio::test]
    async fn conflicts_give_up_after_the_last_attempt() {
        let db = Db::default();
        db.0.lock().unwrap().failures.extend([
            Some(conflict()),
            Some(conflict()),
            Some(conflict()),
        ]);
        let err = two_inserts(&db, 2).await.unwrap_err();
        assert_eq!(err.status(), 409);
        let state = db.0.lock().unwrap();
        assert!(state.committed.is_empty());
        assert_eq!((state.begun, state.rolled_back), (2, 2));
        assert_eq!(state.failures.len(), 1, "exactly two attempts ran");
    }

    #[tokio::test]
    async fn zero_attempts_still_runs_once() {
        let db = Db::default();
        assert_eq!(two_inserts(&db, 0).await.unwrap(), 2);
        assert_eq!(db.0.lock().unwrap().begun, 1);
    }
}
