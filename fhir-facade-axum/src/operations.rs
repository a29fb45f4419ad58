//! FHIR `$operation`s: `Patient/[id]/$everything` is served, every other one is refused before
//! routing.

use crate::error::FhirError;
use crate::exchange::Exchange;
use crate::response::bundle_response;
use crate::shape::Shape;
use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhir_facade_core::Error;

/// `GET [base]/Patient/[id]/$everything`: the patient and its compartment, paged.
pub(crate) async fn everything(
    app: &AppState,
    ex: &Exchange,
    id: &str,
) -> Result<Response, FhirError> {
    let bundle = app
        .facade
        .everything(id, &ex.query, &ex.base, &ex.ctx)
        .await?;
    Ok(bundle_response(bundle, ex.pretty))
}

/// `$operation`s other than `Patient/[id]/$everything` are not served; without this guard
/// `Patient/$validate` would be read as the resource with id `$validate`.
pub(crate) async fn reject_operations(request: Request, next: Next) -> Response {
    match Shape::parse(request.uri().path()) {
        Shape::Operation(_) if is_everything(request.uri().path()) => next.run(request).await,
        Shape::Operation(operation) => FhirError(Error::BadRequest(format!(
            "the operation {operation} is not supported"
        )))
        .into_response(),
        _ => next.run(request).await,
    }
}

/// `…/Patient/[id]/$everything`, the one operation served (on the compartment search path).
fn is_everything(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(segments.as_slice(), [.., "Patient", id, "$everything"] if !id.starts_with('$'))
}
