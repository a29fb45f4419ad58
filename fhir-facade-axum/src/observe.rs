//! The middleware every FHIR request passes: request id, span, `Allow` on 405, metrics and the
//! access log.

use crate::exchange::X_REQUEST_ID;
use crate::interaction::{Interaction, allowed_methods};
use crate::shape::Shape;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

/// Outermost layer of the FHIR router, so that CORS preflights, rejections and panics are
/// counted, logged and answered with the request id like any other response.
pub(crate) async fn observe(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(X_REQUEST_ID)
        .filter(|v| is_acceptable_id(v))
        .cloned()
        .unwrap_or_else(new_request_id);
    request
        .headers_mut()
        .insert(X_REQUEST_ID, request_id.clone());
    let path = request.uri().path().to_owned();
    let shape = Shape::parse(&path);
    let method = request.method().clone();
    let interaction = Interaction::name_of(&method, shape);
    // Only served types become label values: a client must not be able to mint new series.
    let resource_type = shape
        .resource_type()
        .filter(|t| app.facade.provider(t).is_ok())
        .unwrap_or("none");
    let span = tracing::info_span!(
        "fhir_request",
        request_id = request_id.to_str().unwrap_or_default(),
        method = %method,
        interaction,
        resource_type,
        status = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allowed: Vec<String> = allowed_methods(shape, &app.facade)
            .iter()
            .map(|m| m.to_string())
            .collect();
        if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    response.headers_mut().insert(X_REQUEST_ID, request_id);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.record("status", status);
    app.probes
        .metrics()
        .observe_request(interaction, resource_type, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    response
}

/// A client's id is echoed only when it is short visible ASCII, so it cannot forge log lines.
fn is_acceptable_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// 64 bits from the standard library's randomly keyed hasher over a counter: unique within the
/// process and unpredictable enough for correlating logs, without a random-number dependency.
fn new_request_id() -> HeaderValue {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    HeaderValue::from(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_differ_and_client_ids_are_checked() {
        assert_ne!(new_request_id(), new_request_id());
        assert!(is_acceptable_id(&HeaderValue::from_static("abc-123")));
        assert!(!is_acceptable_id(&HeaderValue::from_static("a b")));
        assert!(!is_acceptable_id(&HeaderValue::from_static("")));
    }
}
