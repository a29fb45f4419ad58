//! SMART on FHIR on the FHIR routes: the bearer token of every request is validated here, once,
//! and every FHIR interaction is audited here with its final status.

use crate::auth::{AccessEvent, AuditOutcome, AuthError, ValidatedToken};
use crate::error::FhirError;
use crate::interaction::Interaction;
use crate::shape::Shape;
use crate::state::{AppState, Authenticated};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhir_facade_core::Error;
use std::sync::Arc;

/// Paths anyone may read: the CapabilityStatement and the SMART discovery document. CORS
/// preflights never get here, the CORS layer answers them.
fn is_public(shape: Shape<'_>, method: &Method) -> bool {
    matches!(shape, Shape::Metadata | Shape::SmartConfiguration)
        && matches!(*method, Method::GET | Method::HEAD)
}

/// Validates the bearer token when auth is configured (401 without a valid one, except on the
/// public paths), hands it on in the request's extensions, and audits the interaction.
pub(crate) async fn guard(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let shape = Shape::parse(&path);
    let mut token = None;
    let mut refusal = None;
    if let Some(guard) = &app.guard
        && !is_public(shape, &method)
    {
        match guard.authenticate(request.headers()).await {
            Ok(valid) => {
                let valid = Arc::new(valid);
                request
                    .extensions_mut()
                    .insert(Authenticated(valid.clone()));
                token = Some(valid);
            }
            Err(err) => refusal = Some(err),
        }
    }
    let response = match &refusal {
        Some(err) => FhirError(err.clone().into()).into_response(),
        None => next.run(request).await,
    };
    // AuthError messages are fixed reasons that never quote the token or a claim.
    let description = refusal.as_ref().map(AuthError::to_string);
    let status = response.status().as_u16();
    match record(&app, shape, &method, status, token.as_deref(), description) {
        Ok(()) => response,
        // An access that cannot be audited is not answered; the body is not sent yet.
        Err(err) => err.into_response(),
    }
}

/// Records the access to `shape` with `method`, answered with `status`, when an audit sink is
/// configured and the path reaches a resource. A sink that fails is an internal error.
pub(crate) fn record(
    app: &AppState,
    shape: Shape<'_>,
    method: &Method,
    status: u16,
    token: Option<&ValidatedToken>,
    description: Option<String>,
) -> Result<(), FhirError> {
    let interaction = Interaction::of_request(method, shape).and_then(Interaction::audited);
    let (Some(audit), Some(interaction)) = (&app.audit, interaction) else {
        return Ok(());
    };
    let observer = app.base_url.as_deref().unwrap_or("fhir-facade");
    let mut event = AccessEvent::new(observer, interaction, AuditOutcome::for_status(status));
    if let Some(token) = token {
        event = event.with_token(token);
    }
    if let Some(resource_type) = shape.resource_type() {
        event = event.with_resource(resource_type, shape.id().map(str::to_owned));
    }
    if let Some(description) = description {
        event = event.with_description(description);
    }
    audit.0.record(&event).map_err(|err| {
        tracing::error!(error = %err, "the access could not be audited");
        FhirError(Error::Internal("audit failed".to_owned()))
    })
}
