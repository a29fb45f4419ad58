//! Search: `GET [base]/[type]`, `POST [base]/[type]/_search` and
//! `GET [base]/Patient/[id]/[type]`.

use crate::error::FhirError;
use crate::exchange::{Exchange, FormQuery, Segments};
use crate::operations;
use crate::response::bundle_response;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use fhir_facade_core::compartment::patient_compartment_params;
use fhir_facade_core::{Bundle, Error, SearchRequest};

pub(crate) async fn search(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
) -> Result<Response, FhirError> {
    run_search(&app, &ex, &resource_type, &ex.query, None).await
}

/// `POST [base]/[type]/_search`: the form body and the URL query together.
pub(crate) async fn search_form(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
    FormQuery(form): FormQuery,
) -> Result<Response, FhirError> {
    let query = [ex.query.as_str(), form.as_str()]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    run_search(&app, &ex, &resource_type, &query, None).await
}

/// A compartment search; `Patient/[id]/$everything` has the same path.
pub(crate) async fn compartment_search(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((compartment, id, resource_type)): Segments<(String, String, String)>,
) -> Result<Response, FhirError> {
    if compartment == "Patient" && resource_type == "$everything" {
        return operations::everything(&app, &ex, &id).await;
    }
    run_search(
        &app,
        &ex,
        &resource_type,
        &ex.query,
        Some((&compartment, &id)),
    )
    .await
}

/// Only the Patient compartment is served, and only for types that belong to it.
fn check_compartment(compartment: &str, resource_type: &str) -> Result<(), Error> {
    if compartment == "Patient" && !patient_compartment_params(resource_type).is_empty() {
        Ok(())
    } else {
        Err(Error::UnknownRoute(format!(
            "{compartment}/[id]/{resource_type}"
        )))
    }
}

async fn run_search(
    app: &AppState,
    ex: &Exchange,
    resource_type: &str,
    query: &str,
    compartment: Option<(&str, &str)>,
) -> Result<Response, FhirError> {
    let bundle = searched(app, ex, resource_type, query, compartment).await?;
    Ok(bundle_response(bundle, ex.pretty))
}

/// The search's page, for a request or a batch entry; in `compartment` when given.
pub(crate) async fn searched(
    app: &AppState,
    ex: &Exchange,
    resource_type: &str,
    query: &str,
    compartment: Option<(&str, &str)>,
) -> Result<Bundle, Error> {
    if let Some((compartment, _)) = compartment {
        check_compartment(compartment, resource_type)?;
    }
    let request = SearchRequest {
        resource_type,
        query,
        handling: ex.handling,
        base_url: &ex.base,
        compartment,
    };
    app.facade.search(&request, &ex.ctx).await
}
