//! # fhir-facade-core
//!
//! The model of a FHIR R4 facade over a legacy SQL schema, with no I/O.

#![warn(missing_docs)]

pub mod compartment;
pub mod elements;
pub mod error;
pub mod search;

pub use error::{Error, Result};
pub use search::SearchQuery;
