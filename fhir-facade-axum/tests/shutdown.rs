//! Graceful shutdown over a real socket: readiness drops at once, requests in flight finish,
//! and the listener closes after the drain.

mod common;

use async_trait::async_trait;
use axum::Router;
use common::*;
use fhir_facade_axum::{FhirRouter, Probes, ServeConfig, serve_with_shutdown};
use fhir_facade_core::{Context, MemoryProvider, Resource, ResourceProvider, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Patients whose every read takes 300 ms, longer than the drain.
struct SlowPatients(MemoryProvider);

#[async_trait]
impl ResourceProvider for SlowPatients {
    fn resource_type(&self) -> &str {
        self.0.resource_type()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.0.read(id, ctx).await
    }
}

/// One HTTP/1.1 GET on its own connection; the status code.
async fn status_of(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let head = String::from_utf8_lossy(&response);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_and_the_listener_closes_after_the_drain() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let probes = Probes::new();
    let slow = SlowPatients(memory_patients(&["p1"]));
    let fhir = FhirRouter::builder(facade(slow))
        .probes(probes.clone())
        .build();
    let (trigger, signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_shutdown(
        listener,
        Router::new().nest("/fhir", fhir),
        probes,
        // Shorter than a request, so requests outlive the listener and must still finish.
        ServeConfig {
            drain: Duration::from_millis(200),
            ..ServeConfig::default()
        },
        async {
            let _ = signal.await;
        },
    ));
    assert_eq!(status_of(addr, "/readyz").await.unwrap(), 200);

    let in_flight: Vec<_> = (0..50)
        .map(|_| tokio::spawn(status_of(addr, "/fhir/Patient/p1")))
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    trigger.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Draining: still accepting connections, but no longer ready.
    assert_eq!(status_of(addr, "/readyz").await.unwrap(), 503);
    assert_eq!(status_of(addr, "/healthz").await.unwrap(), 200);

    for request in in_flight {
        assert_eq!(request.await.unwrap().unwrap(), 200);
    }
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once drained")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}
