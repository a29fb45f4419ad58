//! Probes: liveness, readiness and draining, and Prometheus metrics (not FHIR `$operation`s).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The labels of the request metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    interaction: &'static str,
    resource_type: String,
    status: String,
}

/// The Prometheus registry of the server: request counts and latencies, and whatever else the
/// adapters [`register`](Metrics::register) (connection pool gauges, for example).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with the request metrics `fhir_requests` (a counter) and
    /// `fhir_request_duration_seconds` (a histogram), labelled by interaction, resource type and
    /// status code.
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        // 5 ms to about 20 s: a read on an index up to a long search with includes.
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.005, 2.0, 13))) as fn() -> Histogram,
        );
        let mut registry = Registry::default();
        registry.register("fhir_requests", "FHIR requests answered", requests.clone());
        registry.register(
            "fhir_request_duration_seconds",
            "Time to answer a FHIR request, until the response headers",
            durations.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            requests,
            durations,
        }
    }

    /// Adds a metric to the registry, such as a database pool's gauges.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(name, help, metric);
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing to a `String` cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    pub(crate) fn observe_request(
        &self,
        interaction: &'static str,
        resource_type: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let labels = RequestLabels {
            interaction,
            resource_type: resource_type.to_owned(),
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// How long a readiness answer is reused: probes from the kubelet, a load balancer and
/// monitoring then cost the database one check a second, not one each.
pub const READINESS_CACHE: Duration = Duration::from_secs(1);
/// The longest a readiness check may take before it counts as failed: below the one-second
/// default `timeoutSeconds` of a Kubernetes probe, so a hanging database reads as not ready
/// rather than as a probe timeout.
pub const READINESS_TIMEOUT: Duration = Duration::from_millis(800);

/// The last readiness answer and when it was found.
type CachedReadiness = Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>;

/// The operational state shared by the FHIR router, [`probes_router`] and [`serve`](crate::serve):
/// metrics, the readiness check and whether the server is draining.
#[derive(Clone, Default)]
pub struct Probes {
    metrics: Metrics,
    readiness: Option<ReadinessCheck>,
    last_readiness: CachedReadiness,
    draining: Arc<AtomicBool>,
}

impl fmt::Debug for Probes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probes")
            .field("readiness_check", &self.readiness.is_some())
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl Probes {
    /// Fresh metrics, ready unless draining.
    pub fn new() -> Self {
        Probes::default()
    }

    /// The check `/readyz` runs, such as a database ping; the server is ready when it answers
    /// `true` and the server is not draining. Its answer is reused for [`READINESS_CACHE`], one
    /// check runs at a time, and one that takes longer than [`READINESS_TIMEOUT`] is `false`.
    #[must_use]
    pub fn readiness_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.readiness = Some(Arc::new(move || Box::pin(check())));
        self
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Marks the server as draining: `/readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Whether the server should get traffic: not draining, and the readiness check passes.
    pub async fn is_ready(&self) -> bool {
        if self.is_draining() {
            return false;
        }
        let Some(check) = &self.readiness else {
            return true;
        };
        // Held across the check, so that concurrent probes wait for one answer.
        let mut last = self.last_readiness.lock().await;
        if let Some((at, ready)) = *last
            && at.elapsed() < READINESS_CACHE
        {
            return ready;
        }
        let ready = tokio::time::timeout(READINESS_TIMEOUT, check())
            .await
            .unwrap_or(false);
        *last = Some((Instant::now(), ready));
        ready
    }
}

/// `/healthz` (liveness), `/readyz` (readiness) and `/metrics` (Prometheus), for the top-level
/// router rather than the FHIR base.
pub fn probes_router(probes: &Probes) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probes.clone())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(probes): State<Probes>) -> Response {
    if probes.is_ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(probes): State<Probes>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        probes.metrics.encode(),
    )
        .into_response()
}
