//! The FHIR routes of the [interaction table](crate::interaction), each to its handler, and the
//! layers every request passes.

use crate::error::FhirError;
use crate::exchange::X_REQUEST_ID;
use crate::interaction::{Interaction, ROUTES};
use crate::limits::{Limiter, RequestLimits, limit};
use crate::observe::observe;
use crate::operations::reject_operations;
use crate::shape::Shape;
use crate::state::AppState;
use crate::{batch, capabilities, history, read, search, write};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter};
use fhir_facade_core::Error;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The FHIR router over `state`: every route of [`ROUTES`], the others 404 and the wrong methods
/// 405, behind the request middleware.
pub(crate) fn routes(
    state: AppState,
    body_limit: usize,
    limits: &RequestLimits,
    cors_origins: Option<Vec<HeaderValue>>,
) -> Router {
    let mut router = Router::new();
    let mut paths: Vec<&str> = ROUTES.iter().map(|route| route.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let methods = ROUTES.iter().filter(|route| route.path == path).fold(
            MethodRouter::new(),
            |methods, route| {
                let filter = MethodFilter::try_from(route.method.clone())
                    .expect("the interaction table holds standard methods only");
                with_handler(methods, filter, route.interaction)
            },
        );
        router = router.route(path, methods.fallback(method_not_allowed));
    }
    let router = router
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn(reject_operations))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            FhirError(Error::Internal("a handler panicked".to_owned())).into_response()
        }));
    #[cfg(feature = "smart")]
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::guard::guard,
    ));
    router
        .layer(axum::middleware::from_fn_with_state(
            Limiter::new(limits),
            limit,
        ))
        .layer(CompressionLayer::new())
        .layer(cors(cors_origins))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// `methods` with the handler of `interaction` on `filter`.
fn with_handler(
    methods: MethodRouter<AppState>,
    filter: MethodFilter,
    interaction: Interaction,
) -> MethodRouter<AppState> {
    match interaction {
        Interaction::Batch => methods.on(filter, batch::batch),
        Interaction::Capabilities => methods.on(filter, capabilities::metadata),
        Interaction::SmartConfiguration => methods.on(filter, capabilities::smart_configuration),
        Interaction::SearchType => methods.on(filter, search::search),
        Interaction::SearchForm => methods.on(filter, search::search_form),
        Interaction::SearchCompartment => methods.on(filter, search::compartment_search),
        Interaction::Create => methods.on(filter, write::create),
        Interaction::ConditionalUpdate => methods.on(filter, write::conditional_update),
        Interaction::ConditionalDelete => methods.on(filter, write::conditional_delete),
        Interaction::Update => methods.on(filter, write::update),
        Interaction::Delete => methods.on(filter, write::delete),
        Interaction::HistoryType => methods.on(filter, history::history_type),
        Interaction::HistoryInstance => methods.on(filter, history::history_instance),
        Interaction::Read => methods.on(filter, read::read),
        Interaction::Vread => methods.on(filter, read::vread),
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
