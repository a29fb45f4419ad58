//! Back-pressure: how many requests a replica serves at once and how long one may take.
//!
//! Past the concurrency limit a request is refused at once with a 503 and `Retry-After`
//! (`throttled`) rather than queued: a queue in front of a slow database only grows, and the
//! client, or the load balancer in front of several replicas, is better placed to wait or go
//! elsewhere. The limit and the clock are per replica; nothing is shared between replicas.

use crate::error::FhirError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhir_facade_core::Error;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The request limits of one replica.
///
/// ```
/// use fhir_facade_axum::RequestLimits;
/// use std::time::Duration;
///
/// let limits = RequestLimits {
///     max_concurrent_requests: 64,
///     ..RequestLimits::default()
/// };
/// assert_eq!(limits.request_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// The most requests served at once; the next ones are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// The longest a request may take until its response headers; then it is answered 504 and
    /// its work (a statement in flight included) is dropped.
    pub request_timeout: Duration,
    /// The longest a client may take to send a request's headers before the connection is
    /// closed (slowloris); applied by [`serve`](crate::serve).
    pub header_read_timeout: Duration,
}

impl Default for RequestLimits {
    /// 256 requests at once, 60 s per request, 10 s for the headers.
    fn default() -> Self {
        RequestLimits {
            max_concurrent_requests: 256,
            request_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// The state of the limiting middleware: the permits of the concurrency limit and the clock.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Limiter {
    pub(crate) fn new(limits: &RequestLimits) -> Self {
        Limiter {
            permits: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
            timeout: limits.request_timeout,
        }
    }
}

/// Refuses a request over the concurrency limit (503) and ends one over the time limit (504).
pub(crate) async fn limit(
    State(limiter): State<Limiter>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = limiter.permits.try_acquire() else {
        return FhirError(Error::Overloaded).into_response();
    };
    match tokio::time::timeout(limiter.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => FhirError(Error::RequestTimeout(limiter.timeout)).into_response(),
    }
}
