//! Back-pressure and time limits: past the concurrency limit a request is refused at once, a
//! request over its time is ended, and a client that trickles its headers is cut off.

mod common;

use async_trait::async_trait;
use axum::Router;
use common::*;
use fhir_facade_axum::{FhirRouter, Probes, RequestLimits, ServeConfig, serve_with_shutdown};
use fhir_facade_core::{Context, MemoryProvider, Resource, ResourceProvider, Result};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Patients whose every read takes `delay`.
struct SlowPatients {
    patients: MemoryProvider,
    delay: Duration,
}

#[async_trait]
impl ResourceProvider for SlowPatients {
    fn resource_type(&self) -> &str {
        self.patients.resource_type()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        tokio::time::sleep(self.delay).await;
        self.patients.read(id, ctx).await
    }
}

fn slow_router(delay: Duration, limits: RequestLimits) -> Router {
    let slow = SlowPatients {
        patients: memory_patients(&["p1"]),
        delay,
    };
    FhirRouter::builder(facade(slow)).limits(limits).build()
}

#[tokio::test]
async fn past_the_concurrency_limit_a_request_is_refused_at_once() {
    let app = slow_router(
        Duration::from_millis(500),
        RequestLimits {
            max_concurrent_requests: 2,
            ..RequestLimits::default()
        },
    );
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/Patient/p1").await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let refused = get(&app, "/Patient/p1").await;
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "refused, not queued"
    );
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["resourceType"], "OperationOutcome");
    assert_eq!(refused.issue_code(), "throttled");
    for request in busy {
        assert_eq!(request.await.unwrap(), 200);
    }
    // The permits came back.
    assert_eq!(get(&app, "/Patient/p1").await.status, 200);
}

#[tokio::test]
async fn a_request_over_its_time_is_ended_with_504() {
    let app = slow_router(
        Duration::from_secs(5),
        RequestLimits {
            request_timeout: Duration::from_millis(200),
            ..RequestLimits::default()
        },
    );
    let started = Instant::now();
    let reply = get(&app, "/Patient/p1").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(reply.status, 504);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.issue_code(), "timeout");
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().nest(
        "/fhir",
        slow_router(Duration::ZERO, RequestLimits::default()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_shutdown(
        listener,
        app,
        Probes::new(),
        ServeConfig {
            drain: Duration::ZERO,
            header_read_timeout: Duration::from_millis(300),
        },
        async {
            let _ = stopped.await;
        },
    ));
    // A whole request is answered.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /fhir/Patient/p1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");

    // One that sends a header line every 100 ms is closed once the headers take 300 ms.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /fhir/Patient/p1 HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for n in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if stream
            .write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut byte = [0u8; 1];
        if let Ok(Ok(read)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte)).await
        {
            // The server answered (a 408, or nothing at all: end of stream) and closed.
            let _ = read;
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickling client was kept for 3 s");
    assert!(started.elapsed() < Duration::from_secs(2));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
