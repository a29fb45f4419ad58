//! # fhir-facade-axum
//!
//! The FHIR R4 REST API ([http.html](https://hl7.org/fhir/R4/http.html)) over a
//! [`Facade`](fhir_facade_core::Facade), as an [`axum::Router`] to serve on its own or nest under
//! any path.
//!
//! | route | interaction |
//! |---|---|
//! | `GET /metadata` | CapabilityStatement |
//! | `GET /.well-known/smart-configuration` | SMART discovery (with `FhirRouterBuilder::auth`) |
//! | `GET /{type}`, `POST /{type}/_search` | search (form body merged with the URL query) |
//! | `GET /Patient/{id}/{type}` | search in the Patient compartment |
//! | `GET /{type}/{id}`, `GET /{type}/{id}/_history/{vid}` | read (`If-None-Match` → 304), vread |
//! | `GET /{type}/_history`, `GET /{type}/{id}/_history` | history |
//! | `POST /{type}` | create (`If-None-Exist`) |
//! | `PUT /{type}/{id}`, `PUT /{type}?criteria` | update (`If-Match`), conditional update |
//! | `DELETE /{type}/{id}`, `DELETE /{type}?criteria` | delete, conditional delete (204) |
//! | `GET /Patient/{id}/$everything` | the patient and its compartment, paged |
//! | `POST /` | batch (a transaction is refused with a 400) |
//!
//! Responses are `application/fhir+json`; errors are `OperationOutcome`s, mapped in one place
//! ([`FhirError`]). A search or history page is fetched whole into memory, then written to the
//! body entry by entry, so the JSON of a large page is never one buffer. Of the `$operation`s
//! only `GET /Patient/{id}/$everything` is served (paged by `_count`/`_offset`); the others
//! answer 400. The probes `/healthz`, `/readyz` and `/metrics` live on the top-level router
//! ([`probes_router`], added by `serve`), outside the FHIR base. A binary reads where it
//! listens, its public base and its authorization from the environment with `ServerSettings`.
//!
//! With `FhirRouterBuilder::auth` every route but `/metadata`, the SMART document and CORS
//! preflights needs a SMART on FHIR bearer token, validated once per request; its scopes bound
//! every interaction (401 / 403 with RFC 6750 `WWW-Authenticate` challenges). With
//! `FhirRouterBuilder::audit` each interaction on resources is recorded as an `AuditEvent`.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `smart` | yes | the [`auth`] module (token validation, OIDC discovery, JWKS, introspection, the SMART configuration, `AuditEvent` records) and `FhirRouterBuilder::auth` / `audit` |
//! | `server` | yes | `ServerSettings` and [`settings`], `serve`, `serve_with_shutdown`, `ServeConfig`, `init_tracing`; needs `smart`, as the settings read the SMART configuration |
//!
//! With `default-features = false` the crate is the routes alone — [`FhirRouter`],
//! [`FhirError`], [`Probes`] — to nest in an application that serves and logs on its own,
//! without the TLS client, JWT and logging dependencies.
//!
//! # Stable API
//!
//! These items are the public API; everything else is private to the crate.
//!
//! - [`FhirRouter`], [`FhirRouterBuilder`], [`CORS_ORIGINS_ENV`]: the FHIR routes.
//! - [`FhirError`]: the error → `OperationOutcome` mapping.
//! - [`Probes`], [`Metrics`], [`probes_router`]: liveness, readiness, draining and metrics.
//! - `smart`: the [`auth`] module (`AuthConfig`, `TokenValidator`, `ValidatedToken`,
//!   `SmartConfiguration`, `AuditSink`, `JsonLinesAuditSink`, `AccessEvent`, `AuthError`, …).
//! - `server`: `ServerSettings` and the [`settings`] module's variable names, `serve`,
//!   `serve_with_shutdown`, `ServeConfig`, `init_tracing`.
//!
//! ```
//! use async_trait::async_trait;
//! use axum::Router;
//! use fhir_facade_axum::FhirRouter;
//! use fhir_facade_core::{Context, Error, Facade, Resource, ResourceProvider, Result};
//! use serde_json::json;
//!
//! struct Patients;
//!
//! #[async_trait]
//! impl ResourceProvider for Patients {
//!     fn resource_type(&self) -> &str {
//!         "Patient"
//!     }
//!
//!     async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
//!         match id {
//!             "p1" => Resource::new(json!({"resourceType": "Patient", "id": "p1"})),
//!             _ => Err(Error::NotFound { resource_type: "Patient".into(), id: id.into() }),
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tower::ServiceExt;
//!
//! let facade = Facade::builder().provider(Patients).build().unwrap();
//! let fhir = FhirRouter::builder(facade).body_limit(1024 * 1024).build();
//! let app: Router = Router::new().nest("/fhir", fhir);
//!
//! let request = axum::http::Request::get("/fhir/Patient/p1")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/fhir+json; charset=utf-8");
//! # });
//! ```

#![warn(missing_docs)]

#[cfg(feature = "smart")]
pub mod auth;
mod batch;
mod builder;
mod capabilities;
mod error;
mod exchange;
#[cfg(feature = "smart")]
mod guard;
mod history;
mod interaction;
mod limits;
mod observe;
mod operations;
mod probes;
mod read;
mod response;
mod router;
mod search;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub mod settings;
mod shape;
mod state;
mod write;

pub use builder::{CORS_ORIGINS_ENV, FhirRouter, FhirRouterBuilder};
pub use error::FhirError;
pub use limits::RequestLimits;
pub use probes::{Metrics, Probes, READINESS_CACHE, READINESS_TIMEOUT, probes_router};
#[cfg(feature = "server")]
pub use server::{ServeConfig, init_tracing, serve, serve_with_shutdown};
#[cfg(feature = "server")]
pub use settings::ServerSettings;
