//! # kis-facade
//!
//! An example facade over the legacy database of a hospital information system (KIS): German
//! column names, dates as `CHAR(8)` with `00` for unknown parts, lab values as text with a
//! decimal comma and comparators (`<0,5`), local lab codes with a LOINC map, soft deletes and a
//! change counter instead of versions. It serves Patient, Encounter, Observation, Condition and
//! Practitioner as FHIR R4 from these tables unchanged, searches all in SQL, and writes Patients
//! and lab Observations back to the legacy tables, each write one transaction.
//!
//! - [`schema`]: the legacy tables' DDL for PostgreSQL, MariaDB, SQLite and SQL Server;
//! - [`generate`]: a seeded generator of realistic data for any of them;
//! - [`value`]: the legacy value formats (lab values, reference ranges, partial dates);
//! - [`mapping`]: the search mappings and row mappers (one mapper for every database);
//! - [`quantity`]: the custom search translations (`value-quantity` over the text values,
//!   tokens whose systems are stored in different places);
//! - [`provider`]: the providers, with the writes;
//! - [`server`]: the database connection and the [`Facade`](fhir_facade_core::Facade).
//!
//! SQL Server is the primary target; the same code runs on the other three.

#![warn(missing_docs)]

pub mod generate;
pub mod mapping;
pub mod provider;
pub mod quantity;
pub mod schema;
pub mod server;
pub mod value;

/// The database products this example runs on. The core's dialects render the search SQL; the
/// few differences the example's own SQL has (DDL types, key assignment, the numeric reading of
/// text values) are decided by this.
pub use fhir_facade_core::sql::DatabaseKind as Backend;

/// What can go wrong in this example outside a FHIR interaction (those fail with
/// [`fhir_facade_core::Error`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KisError {
    /// A configuration value or command-line argument is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Connecting to the database failed.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A FHIR facade operation failed.
    #[error(transparent)]
    Facade(#[from] fhir_facade_core::Error),
}
