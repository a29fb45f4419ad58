//! `GET [base]/[type]/_history` and `GET [base]/[type]/[id]/_history`.

use crate::error::FhirError;
use crate::exchange::{Exchange, Segments};
use crate::response::bundle_response;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;

pub(crate) async fn history_type(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
) -> Result<Response, FhirError> {
    let bundle = app
        .facade
        .history(&resource_type, None, &ex.query, &ex.base, &ex.ctx)
        .await?;
    Ok(bundle_response(bundle, ex.pretty))
}

pub(crate) async fn history_instance(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id)): Segments<(String, String)>,
) -> Result<Response, FhirError> {
    let bundle = app
        .facade
        .history(&resource_type, Some(&id), &ex.query, &ex.base, &ex.ctx)
        .await?;
    Ok(bundle_response(bundle, ex.pretty))
}
