//! `GET [base]/metadata` and `GET [base]/.well-known/smart-configuration`.

use crate::error::{FhirError, unavailable};
use crate::exchange::Exchange;
use crate::response::json_response;
use crate::state::AppState;
use axum::extract::State;
#[cfg(feature = "smart")]
use axum::http::{HeaderValue, header};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fhir_facade_core::Error;
use serde_json::Value;

/// Why the CapabilityStatement cannot be given: the IdP's SMART configuration is unavailable.
#[cfg(feature = "smart")]
pub(crate) type Unavailable = crate::auth::AuthError;
/// Without SMART, the CapabilityStatement is always at hand.
#[cfg(not(feature = "smart"))]
pub(crate) type Unavailable = std::convert::Infallible;

/// The CapabilityStatement; when auth is configured and no `security` was given, with the
/// SMART endpoints of the first issuer (503 while they cannot be fetched, rather than a
/// statement that wrongly omits them).
pub(crate) async fn metadata(State(app): State<AppState>, ex: Exchange) -> Response {
    match capability_statement(&app).await {
        Ok(statement) => json_response(StatusCode::OK, &statement, ex.pretty),
        Err(err) => unavailable(&err),
    }
}

/// The CapabilityStatement as served, at `/metadata` and in batches.
pub(crate) async fn capability_statement(app: &AppState) -> Result<Value, Unavailable> {
    #[cfg(feature = "smart")]
    if let Some(guard) = &app.guard
        && app.capability.security.is_none()
    {
        let smart = guard.smart_configuration().await?;
        let mut capability = app.capability.clone();
        capability.security = Some(smart.smart_security());
        return Ok(app.facade.capability_statement(&capability));
    }
    Ok(app.facade.capability_statement(&app.capability))
}

/// `GET [base]/.well-known/smart-configuration` (SMART App Launch 2.x), as `application/json`
/// whatever the client accepts; 404 when the routes are open.
#[cfg_attr(
    not(feature = "smart"),
    expect(unused_variables, reason = "without SMART the routes are always open")
)]
pub(crate) async fn smart_configuration(State(app): State<AppState>, uri: Uri) -> Response {
    #[cfg(feature = "smart")]
    if let Some(guard) = &app.guard {
        return match guard.smart_configuration().await {
            Ok(smart) => {
                let body = serde_json::to_vec(&smart.to_json()).unwrap_or_default();
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body,
                )
                    .into_response()
            }
            Err(err) => unavailable(&err),
        };
    }
    FhirError(Error::UnknownRoute(uri.path().to_owned())).into_response()
}
