//! The declarative SQL path: a legacy schema described by [`mapping`]s, searched by the
//! [`SqlTranslator`] in one [`Dialect`] per database, and served by [`SqlProvider`] over any
//! driver adapter that implements [`Executor`] (and [`Transact`] for writes).
//!
//! - [`mapping`]: [`TableMapping`](mapping::TableMapping), [`ParamMapping`](mapping::ParamMapping)
//!   and the [`SqlSchema`](mapping::SqlSchema) that gathers them;
//! - [`SqlTranslator`] and its [`SqlPlan`]; [`SqlProvider`], [`Executor`], [`RowMapper`] and
//!   [`SqlRow`], what adapters and row mappers implement;
//! - [`DatabaseKind`]: which database a connection URL names, and its [`Dialect`];
//! - [`write`](mod@write): transactions ([`Transact`], [`Transaction`], [`in_transaction`]);
//! - [`fold`], [`FOLD_MAP`] and [`escape_like`]: the Rust side of folded and `LIKE` matching.
//!
//! ## SQL dialect differences, in one place
//!
//! A SQL translator writes its statements as [`SqlFragment`]s
//! through a [`Dialect`] and never spells dialect-specific SQL itself. One search then gives the
//! same rows, in the same order, on PostgreSQL, MySQL/MariaDB, SQLite and SQL Server:
//!
//! - values are always bound, and numbered only when [`Dialect::render`] picks the placeholders;
//! - identifiers from the mapping are quoted with [`Dialect::quote_ident`] / [`Dialect::quote_path`];
//! - case- and accent-insensitive matching folds the column in SQL ([`Dialect::fold_expr`]) and
//!   the value in Rust ([`fold`]) with one table, [`FOLD_MAP`], and needs nothing installed in
//!   the database;
//! - `:exact` and unfolded `LIKE` are case-sensitive even where the column's collation is not;
//! - `NULL` sorts as the greatest value ([`Dialect::order_by`]), so pages do not shift between
//!   databases;
//! - timestamps compare with legacy `timestamp without time zone` columns holding UTC
//!   ([`Dialect::utc_timestamp_param`]).
//!
//! ```
//! use fhir_facade_core::sql::{Dialect, LikePattern, MsSqlDialect};
//! use fhir_facade_core::sql::{BindValue, SqlFragment};
//!
//! let d = MsSqlDialect;
//! let mut q = SqlFragment::sql(format!("SELECT id FROM {} WHERE ", d.quote_path("dbo.pat")));
//! q.append(d.like("code", LikePattern::StartsWith, "A_1", false));
//! q.push(format!(" ORDER BY {}", d.order_by("id", false)));
//! d.paginate(&mut q, 10, 0);
//! let (sql, binds) = d.render(&q);
//! assert_eq!(
//!     sql,
//!     "SELECT id FROM [dbo].[pat] WHERE code COLLATE Latin1_General_BIN2 LIKE @P1 ESCAPE '\\' \
//!      ORDER BY CASE WHEN id IS NULL THEN 1 ELSE 0 END ASC, id ASC \
//!      OFFSET @P2 ROWS FETCH NEXT @P3 ROWS ONLY"
//! );
//! assert_eq!(binds, vec![BindValue::Text("A\\_1%".into()), BindValue::Int(0), BindValue::Int(10)]);
//! ```

mod dialect;
mod fragment;
mod kind;
pub mod mapping;
mod pool;
mod provider;
mod row;
mod text;
mod translator;
pub mod write;

pub use dialect::{Dialect, LikePattern, MsSqlDialect, MySqlDialect, PgDialect, SqliteDialect};
pub use fragment::{BindValue, SqlFragment};
pub use kind::DatabaseKind;
pub use pool::PoolSettings;
pub use provider::{Executor, RowMapper, SqlProvider};
pub use row::SqlRow;
pub use text::{FOLD_MAP, escape_like, fold};
pub use translator::{SearchTranslator, SqlPlan, SqlTranslator};
pub use write::{Transact, Transaction, in_transaction};
