//! # fhir-facade-sqlx
//!
//! Runs the [`SqlPlan`](fhir_facade_core::sql::SqlPlan)s of the core's
//! [`SqlTranslator`](fhir_facade_core::sql::SqlTranslator) on PostgreSQL, MySQL/MariaDB or
//! SQLite through sqlx, and serves a resource type from one table as a [`SqlxProvider`]: a
//! [`TableMapping`](fhir_facade_core::sql::mapping::TableMapping) plus a
//! [`RowMapper<Row>`](RowMapper). [`Database`] is the core's
//! [`Executor`](fhir_facade_core::sql::Executor); the provider logic is the core's.
//!
//! For writes, [`Database`] implements the core's
//! [`Transact`](fhir_facade_core::sql::write::Transact): [`Transaction`] runs statements on one
//! pooled connection (`pool.begin()`) and rolls back unless committed; unique-key violations,
//! serialization failures and deadlocks are [`DatabaseErrorKind::Conflict`](fhir_facade_core::error::DatabaseErrorKind)
//! (409), which [`in_transaction`](fhir_facade_core::sql::write::in_transaction) retries.
//!
//! Drivers are behind the features `postgres`, `mysql` and `sqlite` (enable at least one).
//! [`Pool`] is an enum over the concrete sqlx pools rather than `sqlx::AnyPool`: each driver
//! binds values with its own types (decimals, timestamps) and decodes columns exactly, which
//! `Any` cannot.
//!
//! Statements run under a time limit ([`DatabaseErrorKind::Timeout`](fhir_facade_core::error::DatabaseErrorKind),
//! 504). When the request future is dropped (the client went away), the sqlx future is dropped
//! with it: sqlx futures are safe to drop at any await point, the connection goes back to the
//! pool, and a half-read result is discarded, so nothing runs on after the request.
//!
//! A failed connection (a broken socket, a server that restarted or ended the session:
//! [`SqlxError::is_connection_failure`]) and a pool with no connection to give are
//! [`Unavailable`](fhir_facade_core::error::DatabaseErrorKind) (503); the server's own statement
//! or lock time limits are a `Timeout` (504). A read (`Executor::fetch_all`) whose connection
//! failed runs once more, on PostgreSQL and MySQL, on a connection opened for it (each dead
//! pooled connection is dropped after its one failure), so the connections a restart or a kill
//! left dead in the pool cost no failed request; a write is never re-sent.
//!
//! Driver errors are logged with `tracing` at `error` level with the request id and the SQL
//! text; clients only see the status (503, 504 or 500).
//!
//! ## The public API
//!
//! [`SqlxProvider`], [`Database`] (built by [`Database::new`], fields private), [`Pool`] (one
//! variant per enabled driver, [`Pool::connect`] picks it by the URL's
//! [`DatabaseKind`](fhir_facade_core::sql::DatabaseKind)), [`Transaction`], [`Row`] and its
//! typed getters, [`SqlxError`], and the core's [`RowMapper`] and [`SqlRow`] re-exported: all
//! stable. The modules behind them are private.

#![warn(missing_docs)]

#[cfg(not(any(feature = "postgres", feature = "mysql", feature = "sqlite")))]
compile_error!("enable at least one of the features postgres, mysql, sqlite");

mod database;
mod error;
mod row;

pub use database::{Database, Pool, Transaction};
pub use error::SqlxError;
pub use fhir_facade_core::sql::{RowMapper, SqlRow};
pub use row::Row;

/// A resource type served from one mapped table of a sqlx [`Database`].
pub type SqlxProvider<M> = fhir_facade_core::sql::SqlProvider<Database, M>;
