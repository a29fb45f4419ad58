//! The request span and the access log: what they record, and that no query value or body does.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn one_span_per_request_with_id_interaction_type_and_status() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = patients();
    let request = Request::get("/Patient?_id=secret-id-value")
        .header("x-request-id", "req-42")
        .body(Body::empty())
        .unwrap();
    send(&app, request).await;
    let body = json!({"resourceType": "Patient", "name": [{"family": "Secretname"}]});
    send_json(&app, "POST", "/Patient", body).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let finished: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["fields"]["message"] == "request finished")
        .collect();
    assert_eq!(finished.len(), 2, "{text}");
    let span = &finished[0]["span"];
    assert_eq!(span["name"], "fhir_request");
    assert_eq!(span["request_id"], "req-42");
    assert_eq!(span["interaction"], "search-type");
    assert_eq!(span["resource_type"], "Patient");
    assert_eq!(span["status"], 200);
    assert_eq!(finished[0]["fields"]["status"], 200);
    assert_eq!(finished[1]["span"]["interaction"], "create");
    assert_eq!(finished[1]["span"]["status"], 201);
    assert!(!text.contains("secret-id-value"), "{text}");
    assert!(!text.contains("Secretname"), "{text}");
}
