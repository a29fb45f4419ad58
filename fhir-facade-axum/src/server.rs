//! A ready server for examples and simple deployments: logging, probes routes and graceful
//! shutdown.

use crate::RequestLimits;
use crate::probes::{Probes, probes_router};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// How the server treats its connections and how it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    /// How long the server keeps accepting connections after the signal, answering `/readyz`
    /// with 503, so that load balancers take it out of rotation before it stops listening.
    pub drain: Duration,
    /// The longest a client may take to send a request's headers; then the connection is
    /// closed, so that clients trickling bytes (slowloris) cannot hold connections open.
    pub header_read_timeout: Duration,
}

impl Default for ServeConfig {
    /// Five seconds of draining; the header-read time of [`RequestLimits::default`].
    fn default() -> Self {
        ServeConfig {
            drain: Duration::from_secs(5),
            header_read_timeout: RequestLimits::default().header_read_timeout,
        }
    }
}

/// Serves `router` and the [`probes_router`] on `listen_addr` until SIGTERM or Ctrl-C.
///
/// On the signal, readiness turns false at once; after `config.drain` the listener closes and
/// the function returns once the requests in flight are answered.
///
/// ```no_run
/// use fhir_facade_axum::{FhirRouter, Probes, ServeConfig, init_tracing, serve};
/// use fhir_facade_core::Facade;
/// use std::time::Duration;
///
/// # async fn run(facade: Facade) -> std::io::Result<()> {
/// init_tracing().ok();
/// // A real check would ping the database.
/// let probes = Probes::new().readiness_check(|| async { true });
/// let fhir = FhirRouter::builder(facade).probes(probes.clone()).build();
/// let app = axum::Router::new().nest("/fhir", fhir);
/// let config = ServeConfig {
///     drain: Duration::from_secs(10),
///     ..ServeConfig::default()
/// };
/// serve(app, "0.0.0.0:8080".parse().unwrap(), probes, config).await
/// # }
/// ```
pub async fn serve(
    router: Router,
    listen_addr: SocketAddr,
    probes: Probes,
    config: ServeConfig,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen_addr).await?;
    tracing::info!(%listen_addr, "listening");
    serve_with_shutdown(listener, router, probes, config, termination()).await
}

/// [`serve`] on a bound listener, stopping when `signal` completes instead of on a process signal.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    router: Router,
    probes: Probes,
    config: ServeConfig,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.merge(probes_router(&probes));
    let drained = async move {
        signal.await;
        probes.start_draining();
        tracing::info!(
            drain_ms = config.drain.as_millis() as u64,
            "shutting down: draining"
        );
        tokio::time::sleep(config.drain).await;
        tracing::info!("drained: no longer accepting connections");
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    // 64 KiB for a request's headers: past it hyper answers 431 (a URI over 64 KiB: 414) and
    // closes, instead of buffering up to its default of about 400 KiB per connection.
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_header_size(64 * 1024);
    let connections = GracefulShutdown::new();
    tokio::pin!(drained);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut drained => break,
        };
        // Small responses are sent at once rather than held for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that went away or sent garbage ends its own connection only.
            let _ = connection.await;
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
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
