//! # fhir-facade-core
//!
//! The model of a FHIR R4 facade over a legacy SQL schema, with no I/O.

#![warn(missing_docs)]

pub mod bundle;
pub mod capability;
pub mod error;
pub mod paging;
pub mod search;

pub use bundle::{Bundle, BundleEntry, BundleType, EntryResponse, LinkRelation, SearchMode};
pub use capability::{CapabilityOptions, capability_statement};
pub use error::{Error, Result};
pub use search::SearchQuery;
pub mod provider;
pub mod resource;

pub use paging::{Cursor, PageSize};
pub use provider::{
    Constraint, Context, Interaction, Interactions, ResourceProvider, SearchPage, Updated,
};
pub use resource::Resource;
pub use search::references::LocalRef;
