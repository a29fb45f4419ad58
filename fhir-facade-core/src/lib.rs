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
//! ## A facade over the in-memory provider
//!
//! [`MemoryProvider`] is the complete reference provider (every interaction, versions,
//! constraints) that the tests and examples run on; [`ResourceProvider`]'s own documentation
//! shows how to write one over a schema.
//!
//! ```
//! use fhir_facade_core::search::Handling;
//! use fhir_facade_core::{Context, Facade, MemoryProvider, Resource, SearchRequest};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let patients = ["a", "b"]
//!     .map(|id| Resource::new(json!({"resourceType": "Patient", "id": id})).unwrap());
//! let facade = Facade::builder()
//!     .provider(MemoryProvider::new("Patient").with_resources(patients).unwrap())
//!     .build()
//!     .unwrap();
//! let ctx = Context::new();
//! assert_eq!(facade.read("Patient", "a", &ctx).await.unwrap().id(), Some("a"));
//! let request = SearchRequest {
//!     resource_type: "Patient",
//!     query: "_id=b",
//!     handling: Handling::Lenient,
//!     base_url: "https://fhir.example.org/fhir",
//!     compartment: None,
//! };
//! let bundle = facade.search(&request, &ctx).await.unwrap().to_json();
//! assert_eq!(bundle["total"], 1);
//! assert_eq!(bundle["entry"][0]["resource"]["id"], "b");
//! # });
//! ```
//!
//! ## The public API
//!
//! What an integration names is listed here; everything else is private to the crate and may
//! change in any release.
//!
//! | where | what | stability |
//! |---|---|---|
//! | crate root | [`ResourceProvider`], [`SearchTranslator`], [`AccessPolicy`], [`Facade`] and its builder, [`Context`], [`Constraint`], [`Interaction`]s, [`SearchPage`], [`Updated`], [`Resource`], [`Error`] and [`Result`], [`Bundle`] and its entries, [`PageSize`], [`Cursor`], [`MemoryProvider`] | stable: the traits only gain provided methods; the enums are `#[non_exhaustive]` |
//! | [`search`] | the parsed [`SearchQuery`] and its [`search::Criterion`]s and [`search::SearchValue`]s, one value type per parameter type, [`search::registry`] (the R4 definitions), [`search::references`] | stable; the criterion, value and modifier enums are `#[non_exhaustive]` |
//! | [`sql`] | the declarative SQL path, all at `sql::`: the dialects and [`sql::DatabaseKind`], [`sql::SqlFragment`] and [`sql::BindValue`] (SQL apart from its bound values), [`sql::SqlTranslator`] (the [`SearchTranslator`] over mappings) and [`sql::SqlPlan`], [`sql::SqlProvider`], the [`sql::Executor`]/[`sql::RowMapper`]/[`sql::SqlRow`] traits the adapters and row mappers implement; [`sql::mapping`] (the table and parameter mappings) and [`sql::write`](mod@sql::write) (transactions) as modules | stable for users of the mappings: the mapping enums and `LikePattern` are `#[non_exhaustive]`, mappings and translators are built by constructors with private fields; the [`sql::Dialect`] trait is sealed, so only this crate adds databases and new methods break no one |
//! | [`smart`] | SMART scopes and the grant a validated token gives | stable |
//! | [`error`], [`bundle`], [`capability`], [`compartment`] | `OperationOutcome` issues, Bundle building blocks, CapabilityStatement options, the Patient compartment | stable |
//!
//! The generated R4 tables, the FHIRPath subset, the escaping rules and the facade's internals
//! are not part of it.

#![warn(missing_docs)]

pub mod bundle;
pub mod capability;
pub mod compartment;
pub mod error;
mod facade;
mod memory;
mod paging;
mod provider;
mod resource;
pub mod search;
pub mod smart;
pub mod sql;

pub use bundle::{Bundle, BundleEntry, BundleType, EntryResponse, LinkRelation, SearchMode};
pub use capability::{CapabilityOptions, capability_statement};
pub use error::{Error, Result};
pub use facade::{Facade, FacadeBuilder, SearchRequest};
pub use memory::MemoryProvider;
pub use paging::{Cursor, PageSize};
pub use provider::{
    AccessPolicy, Constraint, Context, Interaction, Interactions, ResourceProvider, SearchPage,
    Updated,
};
pub use resource::Resource;
pub use search::LocalRef;
pub use search::SearchQuery;
pub use sql::SearchTranslator;
