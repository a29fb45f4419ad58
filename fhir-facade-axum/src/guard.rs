//! SMART on FHIR on the FHIR routes: the bearer token of every request is validated here, once,
//! and every FHIR interaction is audited here with its final status.

use crate::auth::{
    AccessEvent, AuditOutcome, AuditSink, AuthError, SmartConfiguration, TokenValidator,
    ValidatedToken, bearer_token,
};
use crate::error::FhirError;
use crate::router::AppState;
use crate::shape::Shape;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhir_facade_core::{Error, Interaction};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The token validator and what is fetched once from the first issuer.
#[derive(Debug)]
pub(crate) struct Guard {
    validator: TokenValidator,
    smart: OnceCell<SmartConfiguration>,
}

impl Guard {
    pub(crate) fn new(validator: TokenValidator) -> Self {
        Guard {
            validator,
            smart: OnceCell::new(),
        }
    }

    /// The `/.well-known/smart-configuration` document of the first trusted issuer, fetched at
    /// the first call and kept; a failed fetch is retried at the next call.
    pub(crate) async fn smart_configuration(&self) -> Result<&SmartConfiguration, AuthError> {
        self.smart
            .get_or_try_init(|| async {
                let issuer = self
                    .validator
                    .config()
                    .issuers()
                    .first()
                    .ok_or_else(|| AuthError::Config("no trusted issuer".to_owned()))?;
                self.validator.smart_configuration(issuer).await
            })
            .await
    }

    /// The validated token of the request's `Authorization` header.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<ValidatedToken, AuthError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::MissingToken)?
            .to_str()
            .map_err(|_| AuthError::Malformed)?;
        self.validator.validate(bearer_token(authorization)?).await
    }
}

/// Where access events go.
pub(crate) struct Audit(pub(crate) Arc<dyn AuditSink>);

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audit")
    }
}

/// The validated token of the request, for [`context`](crate::exchange) to turn into the
/// request's access policy, and for auditing batch entries.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub(crate) Arc<ValidatedToken>);

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
    let (Some(audit), Some(interaction)) = (&app.audit, audited_interaction(shape, method)) else {
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

/// The interaction an access event records; `None` for paths that reach no resource
/// (`/metadata`, the SMART document, batch, unknown paths).
fn audited_interaction(shape: Shape<'_>, method: &Method) -> Option<Interaction> {
    Some(match shape.interaction(method) {
        "read" => Interaction::Read,
        "vread" => Interaction::Vread,
        "update" | "conditional-update" => Interaction::Update,
        "delete" | "conditional-delete" => Interaction::Delete,
        "create" => Interaction::Create,
        "search-type" | "search-compartment" => Interaction::SearchType,
        "history-instance" => Interaction::HistoryInstance,
        "history-type" => Interaction::HistoryType,
        _ => return None,
    })
}
