//! SMART on FHIR bearer-token validation.
//!
//! - [`AuthConfig`]: trusted issuers (one per tenant realm), accepted audiences, claim names;
//!   [`AuthConfig::from_env`] reads the `FHIR_FACADE_OIDC_*` variables.
//! - [`TokenValidator`]: validates JWT access tokens (RS256, PS256, ES256 only) with the issuers'
//!   keys from OIDC discovery, and yields a [`ValidatedToken`] whose
//!   [`grant`](ValidatedToken::grant) is the core's `SmartGrant`; opaque tokens go to the
//!   issuer's RFC 7662 introspection endpoint when [`Introspection`] is configured.
//! - [`SmartConfiguration`]: the `/.well-known/smart-configuration` document and the
//!   CapabilityStatement's security endpoints.
//! - [`AuditSink`], [`JsonLinesAuditSink`]: access decisions as FHIR `AuditEvent` JSON lines.
//! - [`AuthError`]: every refusal, converting to `fhir_facade_core::Error` (401).
//!
//! ```no_run
//! use fhir_facade_axum::auth::{AuthConfig, TokenValidator, bearer_token};
//! use fhir_facade_core::Context;
//!
//! # async fn handle(authorization: &str) -> Result<(), fhir_facade_core::Error> {
//! let config = AuthConfig::from_env("https://fhir.example.org/fhir")?
//!     .expect("FHIR_FACADE_OIDC_ISSUER is set");
//! let validator = TokenValidator::new(config)?;
//! let token = validator.validate(bearer_token(authorization)?).await?;
//! let ctx = Context::new().with_access(token.access_policy());
//! # let _ = ctx;
//! # Ok(())
//! # }
//! ```

mod audit;
mod config;
mod discovery;
mod error;
mod jwks;
mod smart_configuration;
mod validator;

pub use audit::{AccessEvent, AuditOutcome, AuditSink, JsonLinesAuditSink};
pub use config::{
    AuthConfig, ClaimNames, ENV_AUDIENCE, ENV_FHIRUSER_CLAIM, ENV_INTROSPECTION_CLIENT_ID,
    ENV_INTROSPECTION_CLIENT_SECRET, ENV_ISSUER, ENV_PATIENT_CLAIM, ENV_SCOPE_CLAIM, Introspection,
};
pub use discovery::{OidcDiscovery, discovery_url};
pub use error::AuthError;
pub use smart_configuration::{CAPABILITIES, DEFAULT_SCOPES, SmartConfiguration};
pub use validator::{TokenValidator, ValidatedToken, bearer_token};
