//! The probes: `/healthz`, `/readyz` and `/metrics`.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::*;
use fhir_facade_axum::{FhirRouter, Probes, READINESS_CACHE, READINESS_TIMEOUT, probes_router};
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn app(probes: &Probes) -> Router {
    let fhir = FhirRouter::builder(facade(memory_patients(&["p1"])))
        .probes(probes.clone())
        .build();
    Router::new()
        .nest("/fhir", fhir)
        .merge(probes_router(probes))
}

fn counter(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_by_interaction_type_and_status() {
    let probes = Probes::new();
    let app = app(&probes);
    let series = r#"fhir_requests_total{interaction="read",resource_type="Patient",status="200"}"#;
    let before = counter(
        &String::from_utf8(get(&app, "/metrics").await.body).unwrap(),
        series,
    );
    assert_eq!(get(&app, "/fhir/Patient/p1").await.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/fhir/Nonsense/1").await.status,
        StatusCode::NOT_FOUND
    );
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(reply.body).unwrap();
    assert_eq!(counter(&text, series), before + 1.0, "{text}");
    assert!(text.contains(
        r#"fhir_request_duration_seconds_count{interaction="read",resource_type="Patient",status="200"} 1"#
    ));
    // Unserved types do not become label values.
    assert!(
        text.contains(r#"resource_type="none",status="404""#),
        "{text}"
    );
    assert!(!text.contains("Nonsense"));
}

#[tokio::test]
async fn adapters_can_register_their_own_metrics() {
    let probes = Probes::new();
    let pool = Gauge::<i64>::default();
    probes
        .metrics()
        .register("db_pool_connections", "Open connections", pool.clone());
    pool.set(7);
    let text = String::from_utf8(get(&app(&probes), "/metrics").await.body).unwrap();
    assert!(text.contains("db_pool_connections 7"), "{text}");
}

#[tokio::test]
async fn liveness_and_readiness() {
    let database_up = Arc::new(AtomicBool::new(true));
    let up = database_up.clone();
    let probes = Probes::new().readiness_check(move || {
        let up = up.clone();
        async move { up.load(Ordering::SeqCst) }
    });
    let app = app(&probes);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    database_up.store(false, Ordering::SeqCst);
    // The answer is reused for a while, then the check runs again.
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    tokio::time::sleep(READINESS_CACHE).await;
    assert_eq!(
        get(&app, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    database_up.store(true, Ordering::SeqCst);
    probes.start_draining();
    assert_eq!(
        get(&app, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // The probes stay outside the FHIR base.
    assert_eq!(
        get(&app, "/fhir/healthz").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_probes_merge_with_a_router_at_the_root() {
    let probes = Probes::new();
    let fhir = FhirRouter::builder(facade(memory_patients(&["p1"])))
        .probes(probes.clone())
        .build();
    let app = fhir.merge(probes_router(&probes));
    assert_eq!(get(&app, "/metrics").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/Patient/p1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn readiness_checks_the_database_once_a_second_and_not_for_long() {
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = checks.clone();
    let probes = Probes::new().readiness_check(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { true }
    });
    let router = app(&probes);
    let probes_at_once: Vec<_> = (0..20)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move { get(&router, "/readyz").await.status })
        })
        .collect();
    for probe in probes_at_once {
        assert_eq!(probe.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(checks.load(Ordering::SeqCst), 1);

    // A database that does not answer reads as not ready, within the probe's timeout.
    let hanging = Probes::new().readiness_check(std::future::pending::<bool>);
    let started = std::time::Instant::now();
    assert_eq!(
        get(&app(&hanging), "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(started.elapsed() < READINESS_TIMEOUT + std::time::Duration::from_millis(500));
}
