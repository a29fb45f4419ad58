//! `GET [base]/[type]/[id]` (read) and `GET [base]/[type]/[id]/_history/[vid]` (vread).

use crate::error::FhirError;
use crate::exchange::{Exchange, Segments};
use crate::response::{resource_response, version_headers, version_of_etag};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `GET [base]/[type]/[id]`; 304 when `If-None-Match` names the current version.
pub(crate) async fn read(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id)): Segments<(String, String)>,
) -> Result<Response, FhirError> {
    let resource = app.facade.read(&resource_type, &id, &ex.ctx).await?;
    let unchanged = ex.if_none_match.as_deref().is_some_and(|tags| {
        tags.split(',')
            .any(|tag| Some(version_of_etag(tag)) == resource.version_id())
    });
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        version_headers(response.headers_mut(), &resource);
        return Ok(response);
    }
    Ok(resource_response(StatusCode::OK, &resource, ex.pretty))
}

pub(crate) async fn vread(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id, vid)): Segments<(String, String, String)>,
) -> Result<Response, FhirError> {
    let resource = app.facade.vread(&resource_type, &id, &vid, &ex.ctx).await?;
    Ok(resource_response(StatusCode::OK, &resource, ex.pretty))
}
