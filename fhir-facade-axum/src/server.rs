//! A ready server for examples and simple deployments: logging, probes routes and graceful
//! shutdown.

use crate::probes::{Probes, probes_router};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// How the server stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownConfig {
    /// How long the server keeps accepting connections after the signal, answering `/readyz`
    /// with 503, so that load balancers take it out of rotation before it stops listening.
    pub drain: Duration,
}

impl Default for ShutdownConfig {
    /// Five seconds of draining.
    fn default() -> Self {
        ShutdownConfig {
            drain: Duration::from_secs(5),
        }
    }
}

/// Serves `router` and the [`probes_router`] on `listen_addr` until SIGTERM or Ctrl-C.
///
/// On the signal, readiness turns false at once; after `shutdown.drain` the listener closes and
/// the function returns once the requests in flight are answered.
///
/// ```no_run
/// use fhir_facade_axum::{FhirRouter, Probes, ShutdownConfig, init_tracing, serve};
/// use fhir_facade_core::Facade;
/// use std::time::Duration;
///
/// # async fn run(facade: Facade) -> std::io::Result<()> {
/// init_tracing().ok();
/// // A real check would ping the database.
/// let probes = Probes::new().readiness_check(|| async { true });
/// let fhir = FhirRouter::builder(facade).probes(probes.clone()).build();
/// let app = axum::Router::new().nest("/fhir", fhir);
/// let drain = Duration::from_secs(10);
/// serve(app, "0.0.0.0:8080".parse().unwrap(), probes, ShutdownConfig { drain }).await
/// # }
/// ```
pub async fn serve(
    router: Router,
    listen_addr: SocketAddr,
    probes: Probes,
    shutdown: ShutdownConfig,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen_addr).await?;
    tracing::info!(%listen_addr, "listening");
    serve_with_shutdown(listener, router, probes, shutdown, termination()).await
}

/// [`serve`] on a bound listener, stopping when `signal` completes instead of on a process signal.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    router: Router,
    probes: Probes,
    shutdown: ShutdownConfig,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.merge(probes_router(&probes));
    let drained = async move {
        signal.await;
        probes.start_draining();
        tracing::info!(
            drain_ms = shutdown.drain.as_millis() as u64,
            "shutting down: draining"
        );
        tokio::time::sleep(shutdown.drain).await;
        tracing::info!("drained: no longer accepting connections");
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(drained)
        .await
}

/// SIGTERM (on Unix) or Ctrl-C.
async fn termination() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a handler, only SIGTERM can stop the server.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Installs a `tracing` subscriber: filtered by `RUST_LOG` (default `info`), as JSON lines when
/// `FHIR_FACADE_LOG_FORMAT=json`, as text otherwise. Fails when a subscriber is already set.
pub fn init_tracing() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("FHIR_FACADE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    }
}
