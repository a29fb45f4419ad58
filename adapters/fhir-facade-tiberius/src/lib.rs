//! # fhir-facade-tiberius
//!
//! Runs the [`SqlPlan`](fhir_facade_core::sql::SqlPlan)s of the core's
//! [`SqlTranslator`](fhir_facade_core::sql::SqlTranslator) on Microsoft SQL Server through
//! [tiberius](https://docs.rs/tiberius), and serves a resource type from one table as a
//! [`TiberiusProvider`]: a [`TableMapping`](fhir_facade_core::sql::mapping::TableMapping) plus a
//! [`RowMapper<Row>`](RowMapper). The provider logic is the core's; [`Database`] is its
//! [`Executor`](fhir_facade_core::sql::Executor).
//!
//! Statements are rendered with [`MsSqlDialect`](fhir_facade_core::sql::MsSqlDialect)
//! (`@P1` placeholders, `OFFSET … FETCH NEXT`) and every value is bound with its TDS type:
//! text as `nvarchar`, integers as `bigint`, decimals as `decimal`, instants as `datetime2`
//! holding UTC, dates as `date`, booleans as `bit`, `NULL` as a typed `nvarchar` null.
//!
//! For writes, [`Database`] implements the core's
//! [`Transact`](fhir_facade_core::sql::write::Transact): a [`Transaction`] holds one pooled
//! connection between `SET XACT_ABORT ON; BEGIN TRANSACTION` and `COMMIT`/`ROLLBACK`; dropped
//! unfinished, its connection is discarded and SQL Server rolls back. Unique-key violations (2627,
//! 2601) and deadlocks (1205) are [`DatabaseErrorKind::Conflict`](fhir_facade_core::error::DatabaseErrorKind) (409).
//!
//! Connections come from a bounded [`Pool`] (bb8) and are not pinged before use: a dead
//! connection fails its statement (503). A connection whose statement did not finish (time
//! limit, dropped request, I/O error) is discarded rather than returned to the pool, since its
//! TDS stream may be mid-message.
//!
//! Statements run under a time limit ([`DatabaseErrorKind::Timeout`](fhir_facade_core::error::DatabaseErrorKind),
//! 504); connection failures are `Unavailable` (503), everything else `Other` (500). Failures are
//! logged with `tracing` at `error` level with the request id and the SQL text (never the bound
//! values); clients only see the status.
//!
//! ## The public API
//!
//! [`TiberiusProvider`], [`Database`] (built by [`Database::new`], fields private), [`Pool`],
//! [`config_from_url`], [`Transaction`], [`Row`] and its typed getters, [`TiberiusError`], and
//! the core's [`RowMapper`] and [`SqlRow`] re-exported: all stable. The modules behind them are
//! private.

#![warn(missing_docs)]

mod bind;
mod config;
mod database;
mod error;
mod pool;
mod row;

pub use config::config_from_url;
pub use database::{Database, Transaction};
pub use error::TiberiusError;
pub use fhir_facade_core::sql::{RowMapper, SqlRow};
pub use pool::Pool;
pub use row::Row;

/// A resource type served from one mapped table of a SQL Server [`Database`].
pub type TiberiusProvider<M> = fhir_facade_core::sql::SqlProvider<Database, M>;
