//! Writes: create (`If-None-Exist`), update (`If-Match`), conditional update, delete and
//! conditional delete.

use crate::error::FhirError;
use crate::exchange::{Exchange, JsonResource, Return, Segments};
use crate::response::{json_response, resource_response, version_headers};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhir_facade_core::bundle::EntryResponse;
use fhir_facade_core::error::{Issue, IssueType, Severity, operation_outcome};
use fhir_facade_core::{Error, Updated};

pub(crate) async fn create(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
    JsonResource(resource): JsonResource,
) -> Result<Response, FhirError> {
    let created = app
        .facade
        .create(
            &resource_type,
            resource,
            ex.if_none_exist.as_deref(),
            &ex.base,
            &ex.ctx,
        )
        .await?;
    Ok(written(&ex, created))
}

pub(crate) async fn update(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id)): Segments<(String, String)>,
    JsonResource(resource): JsonResource,
) -> Result<Response, FhirError> {
    let updated = app
        .facade
        .update(&resource_type, &id, resource, ex.if_match.clone(), &ex.ctx)
        .await?;
    Ok(written(&ex, updated))
}

pub(crate) async fn conditional_update(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
    JsonResource(resource): JsonResource,
) -> Result<Response, FhirError> {
    let updated = app
        .facade
        .conditional_update(
            &resource_type,
            criteria(&ex.query)?,
            resource,
            &ex.base,
            &ex.ctx,
        )
        .await?;
    Ok(written(&ex, updated))
}

pub(crate) async fn delete(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id)): Segments<(String, String)>,
) -> Result<StatusCode, FhirError> {
    app.facade.delete(&resource_type, &id, &ex.ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn conditional_delete(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
) -> Result<StatusCode, FhirError> {
    app.facade
        .conditional_delete(&resource_type, criteria(&ex.query)?, &ex.base, &ex.ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A conditional write without criteria would match every resource of the type.
pub(crate) fn criteria(query: &str) -> Result<&str, Error> {
    if query.is_empty() {
        Err(Error::BadRequest(
            "a conditional update or delete needs search criteria".to_owned(),
        ))
    } else {
        Ok(query)
    }
}

/// The answer to a create or update: 201 with `Location` when it created, 200 otherwise, and the
/// body `Prefer: return` asks for.
fn written(ex: &Exchange, updated: Updated) -> Response {
    let Updated { resource, created } = updated;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = match ex.prefer_return {
        Return::Minimal => status.into_response(),
        Return::Representation => resource_response(status, &resource, ex.pretty),
        Return::OperationOutcome => {
            let issue = Issue {
                severity: Severity::Information,
                code: IssueType::Informational,
                diagnostics: if created { "created" } else { "updated" }.to_owned(),
                expression: None,
            };
            json_response(status, &operation_outcome(&[issue]), ex.pretty)
        }
    };
    version_headers(response.headers_mut(), &resource);
    if created {
        let location = EntryResponse::for_resource(201, &ex.base, &resource).location;
        if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}
