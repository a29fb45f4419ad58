//! # fhir-facade-axum
//!
//! The HTTP binding of `fhir-facade` for axum. [`auth`] validates SMART on FHIR bearer tokens
//! and turns them into the core's [`SmartGrant`](fhir_facade_core::smart::SmartGrant).

#![warn(missing_docs)]

pub mod auth;
