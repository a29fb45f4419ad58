//! [`FhirRouter`]: the FHIR REST routes over a [`Facade`], as an `axum::Router`.

use crate::auth::{AuditSink, AuthError, TokenValidator};
use crate::batch;
use crate::error::{FhirError, unavailable};
use crate::exchange::{Exchange, FormQuery, JsonResource, Return, Segments, X_REQUEST_ID};
use crate::guard::{Audit, Guard, guard};
use crate::observe::{observe, reject_operations};
use crate::ops::Ops;
use crate::response::{
    bundle_response, json_response, resource_response, version_headers, version_of_etag,
};
use crate::shape::Shape;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fhir_facade_core::bundle::EntryResponse;
use fhir_facade_core::capability::Implementation;
use fhir_facade_core::compartment::patient_compartment_params;
use fhir_facade_core::error::{Issue, IssueType, Severity, operation_outcome};
use fhir_facade_core::{CapabilityOptions, Error, Facade, SearchRequest, Updated};
use serde_json::Value;
use std::ops::Deref;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The default body limit: 4 MiB, enough for a large batch, small enough to bound memory.
const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) facade: Facade,
    pub(crate) base_url: Option<String>,
    pub(crate) capability: CapabilityOptions,
    pub(crate) ops: Ops,
    /// SMART on FHIR, when the routes are protected.
    pub(crate) guard: Option<Guard>,
    /// Where accesses are recorded, when they are.
    pub(crate) audit: Option<Audit>,
}

/// The environment variable [`FhirRouterBuilder::cors_origins_from_env`] reads.
pub const CORS_ORIGINS_ENV: &str = "FHIR_FACADE_CORS_ORIGINS";

/// The router's state.
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The FHIR REST API over a [`Facade`], as an `axum::Router` to serve or nest anywhere.
///
/// See the [crate documentation](crate) for the routes and an example.
#[derive(Debug)]
pub struct FhirRouter;

impl FhirRouter {
    /// Starts a builder over the facade.
    pub fn builder(facade: Facade) -> FhirRouterBuilder {
        FhirRouterBuilder {
            facade,
            base_url: None,
            body_limit: DEFAULT_BODY_LIMIT,
            capability: None,
            cors_origins: None,
            ops: Ops::new(),
            validator: None,
            audit: None,
        }
    }
}

/// Builds the FHIR router; see [`FhirRouter::builder`].
#[derive(Debug)]
pub struct FhirRouterBuilder {
    facade: Facade,
    base_url: Option<String>,
    body_limit: usize,
    capability: Option<CapabilityOptions>,
    cors_origins: Option<Vec<HeaderValue>>,
    ops: Ops,
    validator: Option<TokenValidator>,
    audit: Option<Audit>,
}

impl FhirRouterBuilder {
    /// The public base URL for links, `fullUrl` and `Location` (`https://fhir.example/r4`).
    ///
    /// When unset, each request's base is derived from `X-Forwarded-Proto`, `X-Forwarded-Host` or
    /// `Host`, and the path the router is nested under.
    #[must_use]
    pub fn base_url(mut self, base_url: Option<String>) -> Self {
        self.base_url = base_url;
        self
    }

    /// The largest request body accepted, in bytes (default 4 MiB); larger ones get a 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// What `/metadata` says beyond the providers' declarations. `batch` is always on and
    /// `transaction` always off, as served.
    #[must_use]
    pub fn capability(mut self, options: CapabilityOptions) -> Self {
        self.capability = Some(options);
        self
    }

    /// The origins allowed by CORS. By default any origin is, without credentials.
    #[must_use]
    pub fn cors_origins(mut self, origins: impl IntoIterator<Item = HeaderValue>) -> Self {
        self.cors_origins = Some(origins.into_iter().collect());
        self
    }

    /// The CORS origins from `FHIR_FACADE_CORS_ORIGINS` (comma-separated), when it is set; unset
    /// or empty, any origin stays allowed. An origin that is not a valid header value is a
    /// configuration error, reported rather than dropped, so a typo cannot open or close the
    /// server by surprise.
    pub fn cors_origins_from_env(self) -> Result<Self, Error> {
        self.cors_origins_from(std::env::var(CORS_ORIGINS_ENV).ok().as_deref())
    }

    fn cors_origins_from(self, value: Option<&str>) -> Result<Self, Error> {
        let origins: Vec<&str> = value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(self);
        }
        let parsed = origins
            .into_iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    Error::Internal(format!("{CORS_ORIGINS_ENV}: {o:?} is not a valid origin"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.cors_origins(parsed))
    }

    /// The operational state the requests are recorded in (metrics, draining); share it with
    /// [`ops_router`](crate::ops_router) and [`serve`](crate::serve).
    #[must_use]
    pub fn ops(mut self, ops: Ops) -> Self {
        self.ops = ops;
        self
    }

    /// Protects the routes with SMART on FHIR: every request but `GET /metadata`,
    /// `GET /.well-known/smart-configuration` and CORS preflights needs a valid
    /// `Authorization: Bearer` token (401 otherwise), and every interaction is limited to what
    /// the token's scopes grant (403 otherwise). `/.well-known/smart-configuration` and, unless
    /// [`capability`](Self::capability) sets `security`, the CapabilityStatement's
    /// `rest.security` describe the first trusted issuer. Without it the routes are open.
    #[must_use]
    pub fn auth(mut self, validator: TokenValidator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Records one [`AccessEvent`](crate::auth::AccessEvent) per request that reaches a
    /// resource (not `/metadata` or the SMART document), and one per entry of a batch, with its
    /// final outcome and the token's client, user and patient. A request whose event cannot be
    /// recorded is answered with a 500 instead.
    #[must_use]
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(Audit(sink));
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        let mut capability = self.capability.unwrap_or_else(|| {
            let today = time::OffsetDateTime::now_utc().date().to_string();
            CapabilityOptions::new(
                today,
                Implementation {
                    description: "FHIR facade".to_owned(),
                    url: self.base_url.clone(),
                },
            )
        });
        capability.batch = true;
        capability.transaction = false;
        let state = AppState(Arc::new(Shared {
            facade: self.facade,
            base_url: self.base_url,
            capability,
            ops: self.ops,
            guard: self.validator.map(Guard::new),
            audit: self.audit,
        }));
        let cors = cors(self.cors_origins);
        Router::new()
            .route("/", post(batch).fallback(method_not_allowed))
            .route("/metadata", get(metadata).fallback(method_not_allowed))
            .route(
                "/.well-known/smart-configuration",
                get(smart_configuration).fallback(method_not_allowed),
            )
            .route(
                "/{type}",
                get(search)
                    .post(create)
                    .put(conditional_update)
                    .delete(conditional_delete)
                    .fallback(method_not_allowed),
            )
            .route(
                "/{type}/_search",
                post(search_form).fallback(method_not_allowed),
            )
            .route(
                "/{type}/_history",
                get(history_type).fallback(method_not_allowed),
            )
            .route(
                "/{type}/{id}",
                get(read)
                    .put(update)
                    .delete(delete)
                    .fallback(method_not_allowed),
            )
            .route(
                "/{type}/{id}/_history",
                get(history_instance).fallback(method_not_allowed),
            )
            .route(
                "/{type}/{id}/_history/{vid}",
                get(vread).fallback(method_not_allowed),
            )
            .route(
                "/{compartment}/{id}/{type}",
                get(compartment_search).fallback(method_not_allowed),
            )
            .fallback(unknown_route)
            .layer(axum::middleware::from_fn(reject_operations))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(CatchPanicLayer::custom(|_| {
                FhirError(Error::Internal("a handler panicked".to_owned())).into_response()
            }))
            .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
            .layer(CompressionLayer::new())
            .layer(cors)
            .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
            .with_state(state)
    }
}

fn cors(origins: Option<Vec<HeaderValue>>) -> CorsLayer {
    let origin = match origins {
        None => AllowOrigin::any(),
        Some(list) => AllowOrigin::list(list),
    };
    let header = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header("prefer"),
            header::IF_MATCH,
            header("if-none-exist"),
            header::IF_NONE_MATCH,
            header(X_REQUEST_ID),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LAST_MODIFIED,
            header::CONTENT_LOCATION,
            header(X_REQUEST_ID),
        ])
}

async fn unknown_route(uri: Uri) -> FhirError {
    FhirError(Error::UnknownRoute(uri.path().to_owned()))
}

/// A method the path does not take: 404 when the type is not served at all, 405 otherwise.
async fn method_not_allowed(State(app): State<AppState>, method: Method, uri: Uri) -> FhirError {
    let path = uri.path();
    let Some(resource_type) = Shape::parse(path).resource_type() else {
        return FhirError(Error::not_supported(path, method.as_str()));
    };
    match app.facade.provider(resource_type) {
        Ok(_) => FhirError(Error::not_supported(resource_type, method.as_str())),
        Err(unknown) => FhirError(unknown),
    }
}

/// The CapabilityStatement; when auth is configured and no `security` was given, with the
/// SMART endpoints of the first issuer (503 while they cannot be fetched, rather than a
/// statement that wrongly omits them).
async fn metadata(State(app): State<AppState>, ex: Exchange) -> Response {
    match capability_statement(&app).await {
        Ok(statement) => json_response(StatusCode::OK, &statement, ex.pretty),
        Err(err) => unavailable(&err),
    }
}

/// The CapabilityStatement as served, at `/metadata` and in batches.
pub(crate) async fn capability_statement(app: &AppState) -> Result<Value, AuthError> {
    match &app.guard {
        Some(guard) if app.capability.security.is_none() => {
            let smart = guard.smart_configuration().await?;
            let mut capability = app.capability.clone();
            capability.security = Some(smart.smart_security());
            Ok(app.facade.capability_statement(&capability))
        }
        _ => Ok(app.facade.capability_statement(&app.capability)),
    }
}

/// `GET [base]/.well-known/smart-configuration` (SMART App Launch 2.x), as `application/json`
/// whatever the client accepts; 404 when the routes are open.
async fn smart_configuration(State(app): State<AppState>, uri: Uri) -> Response {
    let Some(guard) = &app.guard else {
        return FhirError(Error::UnknownRoute(uri.path().to_owned())).into_response();
    };
    match guard.smart_configuration().await {
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
    }
}

async fn search(
    State(app): State<AppState>,
    ex: Exchange,
    Segments(resource_type): Segments<String>,
) -> Result<Response, FhirError> {
    run_search(&app, &ex, &resource_type, &ex.query, None).await
}

/// `POST [base]/[type]/_search`: the form body and the URL query together.
async fn search_form(
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

async fn compartment_search(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((compartment, id, resource_type)): Segments<(String, String, String)>,
) -> Result<Response, FhirError> {
    if compartment == "Patient" && resource_type == "$everything" {
        let bundle = app
            .facade
            .everything(&id, &ex.query, &ex.base, &ex.ctx)
            .await?;
        return Ok(bundle_response(bundle, ex.pretty));
    }
    check_compartment(&compartment, &resource_type)?;
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
pub(crate) fn check_compartment(compartment: &str, resource_type: &str) -> Result<(), Error> {
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
    let request = SearchRequest {
        resource_type,
        query,
        handling: ex.handling,
        base_url: &ex.base,
        compartment,
    };
    let bundle = app.facade.search(&request, &ex.ctx).await?;
    Ok(bundle_response(bundle, ex.pretty))
}

async fn history_type(
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

async fn history_instance(
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

/// `GET [base]/[type]/[id]`; 304 when `If-None-Match` names the current version.
async fn read(
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

async fn vread(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id, vid)): Segments<(String, String, String)>,
) -> Result<Response, FhirError> {
    let resource = app.facade.vread(&resource_type, &id, &vid, &ex.ctx).await?;
    Ok(resource_response(StatusCode::OK, &resource, ex.pretty))
}

async fn create(
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

async fn update(
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

async fn conditional_update(
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

async fn delete(
    State(app): State<AppState>,
    ex: Exchange,
    Segments((resource_type, id)): Segments<(String, String)>,
) -> Result<StatusCode, FhirError> {
    app.facade.delete(&resource_type, &id, &ex.ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn conditional_delete(
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

async fn batch(
    State(app): State<AppState>,
    ex: Exchange,
    JsonResource(bundle): JsonResource,
) -> Result<Response, FhirError> {
    let response = batch::run(&app, &ex, &bundle).await?;
    Ok(bundle_response(response, ex.pretty))
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

#[cfg(test)]
mod cors_configuration {
    use super::*;

    fn builder() -> FhirRouterBuilder {
        FhirRouter::builder(Facade::builder().build().unwrap())
    }

    #[test]
    fn origins_come_from_a_comma_separated_list() {
        let configured = builder()
            .cors_origins_from(Some("https://a.example, https://b.example,"))
            .unwrap();
        assert_eq!(
            configured.cors_origins,
            Some(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("https://b.example"),
            ])
        );
        for open in [None, Some(""), Some(" , ")] {
            assert_eq!(
                builder().cors_origins_from(open).unwrap().cors_origins,
                None
            );
        }
        assert!(
            builder()
                .cors_origins_from(Some("https://a\nexample"))
                .is_err()
        );
    }
}
