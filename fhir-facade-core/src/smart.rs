//! SMART on FHIR authorization: scopes, and what a validated token allows.
//!
//! Token validation (signature, `iss`, `aud`, `exp`) happens in the HTTP binding; what a valid
//! token grants is decided here, before any SQL runs, as [`Constraint`](crate::Constraint)s that
//! every provider call carries.

mod grant;
mod scope;

pub use grant::SmartGrant;
pub use scope::{Permissions, ResourceScope, ScopeLevel};
