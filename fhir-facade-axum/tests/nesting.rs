//! Links carry the base the router is nested under, or the configured one.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use fhir_facade_axum::FhirRouter;
use serde_json::{Value, json};

const BASE: &str = "https://h.example/hospital-a/fhir";

fn nested() -> Router {
    Router::new().nest("/hospital-a/fhir", patients())
}

fn proxied(method: &str, uri: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "internal:8080")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "h.example")
        .header("content-type", "application/fhir+json")
        .body(body)
        .unwrap()
}

fn links(bundle: &Value) -> Vec<String> {
    bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_link_carries_the_nested_base() {
    let app = nested();
    let reply = send(
        &app,
        proxied("GET", "/hospital-a/fhir/Patient?_count=1", Body::empty()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    let paging = links(&bundle);
    assert_eq!(paging.len(), 2, "self and next: {paging:?}");
    for link in &paging {
        assert!(link.starts_with(&format!("{BASE}/Patient?")), "{link}");
    }
    assert_eq!(bundle["entry"][0]["fullUrl"], format!("{BASE}/Patient/p1"));

    // The next link works through the same nesting.
    let next = paging[1].strip_prefix("https://h.example").unwrap();
    let reply = send(&app, proxied("GET", next, Body::empty())).await;
    assert_eq!(
        reply.json()["entry"][0]["fullUrl"],
        format!("{BASE}/Patient/p2")
    );

    let body = Body::from(json!({"resourceType": "Patient"}).to_string());
    let reply = send(&app, proxied("POST", "/hospital-a/fhir/Patient", body)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("location"),
        Some(format!("{BASE}/Patient/3/_history/1").as_str())
    );

    let reply = send(
        &app,
        proxied("GET", "/hospital-a/fhir/Patient/p1/_history", Body::empty()),
    )
    .await;
    let history = reply.json();
    for link in links(&history) {
        assert!(
            link.starts_with(&format!("{BASE}/Patient/p1/_history?")),
            "{link}"
        );
    }
    assert_eq!(history["entry"][0]["fullUrl"], format!("{BASE}/Patient/p1"));
}

#[tokio::test]
async fn batch_at_the_nested_base_answers_with_it() {
    let batch = json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": format!("{BASE}/Patient/p1")}}
        ]
    });
    let request = proxied("POST", "/hospital-a/fhir", Body::from(batch.to_string()));
    let reply = send(&nested(), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    assert_eq!(
        bundle["entry"][0]["response"]["location"],
        format!("{BASE}/Patient/3/_history/1")
    );
    assert_eq!(bundle["entry"][0]["fullUrl"], format!("{BASE}/Patient/3"));
    assert_eq!(bundle["entry"][1]["fullUrl"], format!("{BASE}/Patient/p1"));
}

#[tokio::test]
async fn unknown_routes_under_the_nest_are_operation_outcomes() {
    let reply = send(
        &nested(),
        proxied("GET", "/hospital-a/fhir/a/b/c/d/e", Body::empty()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.issue_code(), "not-found");
}

#[tokio::test]
async fn a_configured_base_wins() {
    let fhir = FhirRouter::builder(facade(memory_patients(&["p1"])))
        .base_url(Some("https://public.example/r4/".to_owned()))
        .build();
    let app = Router::new().nest("/internal", fhir);
    let reply = send(&app, proxied("GET", "/internal/Patient", Body::empty())).await;
    let bundle = reply.json();
    assert!(links(&bundle)[0].starts_with("https://public.example/r4/Patient?"));
    assert_eq!(
        bundle["entry"][0]["fullUrl"],
        "https://public.example/r4/Patient/p1"
    );
}

#[tokio::test]
async fn a_host_header_cannot_inject_into_links() {
    let request = Request::get("/hospital-a/fhir/Patient")
        .header("host", "evil.example/x?")
        .header("x-forwarded-proto", "javascript")
        .body(Body::empty())
        .unwrap();
    let bundle = send(&nested(), request).await.json();
    assert!(links(&bundle)[0].starts_with("http://localhost/hospital-a/fhir/Patient?"));
}
