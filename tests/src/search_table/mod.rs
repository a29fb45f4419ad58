//! The search table both SQL adapters' tests run: a small legacy schema, its mapping and data
//! ([`fixture`]), and the runner of every case over any driver's executor ([`suite`]).
//!
//! Nothing here knows a driver, so each adapter's tests compile it against their own:
//! `fhir-facade-sqlx/tests/search.rs` runs the table on PostgreSQL, MariaDB and SQLite,
//! `fhir-facade-tiberius/tests/render.rs` renders it as T-SQL into a golden file, and
//! `fhir-facade-tiberius/tests/live.rs` runs it on SQL Server when one is configured.
//!
//! Everything public is there for those tests; it is test support, not an API to build on.

pub mod fixture;
pub mod suite;
