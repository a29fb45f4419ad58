//! # fhir-facade-core
//!
//! The model of a FHIR R4 facade over a legacy SQL schema, with no I/O: search parameters and
//! their parsing, the provider traits a schema implements, Bundles and paging, `OperationOutcome`
//! errors and the CapabilityStatement.
//!
//! The two traits an integration implements:
//! - [`ResourceProvider`]: reads, searches and writes one resource type over the schema. Only
//!   `read` is required; every other interaction is a provided method answering 405.
//! - [`SearchTranslator`]: turns a parsed [`SearchQuery`] into a query plan for the schema
//!   (the SQL adapters ship a declarative one).
//!

#![warn(missing_docs)]

pub mod compartment;
pub mod elements;
pub mod error;
pub mod provider;
pub mod resource;
pub mod search;
pub mod sql;
pub mod translate;

pub use error::{Error, Result};
pub use provider::{
    Constraint, Context, Interaction, Interactions, ResourceProvider, SearchPage, Updated,
};
pub use resource::Resource;
pub use search::SearchQuery;
pub use translate::SearchTranslator;
