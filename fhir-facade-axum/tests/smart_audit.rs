//! One AuditEvent JSON line per FHIR interaction of the protected routes, never the token.

mod common;

use axum::http::StatusCode;
use common::get;
use common::idp::Idp;
use common::smart::{claims, get_with, router, token};
use fhir_facade_axum::auth::{AccessEvent, AuditSink, JsonLinesAuditSink};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer whose bytes the test can still read while the router holds the sink.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A sink that cannot write.
struct Broken;

impl AuditSink for Broken {
    fn record(&self, _event: &AccessEvent) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

#[tokio::test]
async fn one_line_per_request_without_the_token() {
    let idp = Idp::start().await;
    let out = Shared::default();
    let app = router(&idp, Some(Arc::new(JsonLinesAuditSink::new(out.clone()))));
    let patient_token = token(&claims(&idp, "patient/Observation.rs", Some("p1")));
    let mut expired = claims(&idp, "patient/Observation.rs", Some("p1"));
    expired["exp"] = serde_json::json!(0);
    let expired_token = token(&expired);

    let statuses = [
        get_with(&app, "/Observation/o1", &patient_token)
            .await
            .status,
        get_with(&app, "/Condition?_id=c1", &patient_token)
            .await
            .status,
        get_with(&app, "/Observation/o1", &expired_token)
            .await
            .status,
        get(&app, "/Patient").await.status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::FORBIDDEN,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        ]
    );
    // The public paths reach no resource and are not audited.
    get(&app, "/metadata").await;
    get(&app, "/.well-known/smart-configuration").await;

    let text = out.text();
    for secret in [&patient_token, &expired_token] {
        for part in secret.split('.') {
            assert!(!text.contains(part), "the audit carries the token: {text}");
        }
    }
    let events: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 4, "{text}");

    let read = &events[0];
    assert_eq!(read["resourceType"], "AuditEvent");
    assert_eq!(read["subtype"][0]["code"], "read");
    assert_eq!(read["outcome"], "0");
    assert_eq!(read["agent"][0]["who"]["identifier"]["value"], "smart-app");
    assert_eq!(read["agent"][1]["who"]["identifier"]["value"], "user-1");
    assert_eq!(read["entity"][0]["what"]["reference"], "Patient/p1");
    assert_eq!(read["entity"][1]["what"]["reference"], "Observation/o1");

    let refused = &events[1];
    assert_eq!(refused["subtype"][0]["code"], "search-type");
    assert_eq!(refused["outcome"], "4");
    assert_eq!(refused["entity"][1]["type"]["code"], "Condition");

    let expired = &events[2];
    assert_eq!(expired["outcome"], "4");
    assert_eq!(expired["outcomeDesc"], "token expired");
    assert_eq!(expired["agent"][0]["who"]["display"], "anonymous");

    assert_eq!(events[3]["outcomeDesc"], "missing bearer token");
}

#[tokio::test]
async fn an_access_that_cannot_be_audited_is_not_answered() {
    let idp = Idp::start().await;
    let app = router(&idp, Some(Arc::new(Broken)));
    let token = token(&claims(&idp, "patient/Observation.rs", Some("p1")));
    let reply = get_with(&app, "/Observation/o1", &token).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.issue_code(), "exception");
    assert!(!String::from_utf8_lossy(&reply.body).contains("\"o1\""));
    // The public paths are not audited, so they still answer.
    assert_eq!(get(&app, "/metadata").await.status, StatusCode::OK);
}

#[tokio::test]
async fn each_batch_entry_is_audited() {
    let idp = Idp::start().await;
    let out = Shared::default();
    let app = router(&idp, Some(Arc::new(JsonLinesAuditSink::new(out.clone()))));
    let token = token(&claims(&idp, "patient/Observation.rs", Some("p1")));
    let batch = serde_json::json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Observation/o1"}},
            {"request": {"method": "GET", "url": "Observation/o2"}},
            {"request": {"method": "GET", "url": "Condition/c1"}},
        ],
    });
    let request = axum::http::Request::post("/")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/fhir+json")
        .body(axum::body::Body::from(batch.to_string()))
        .unwrap();
    let reply = common::send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let events: Vec<Value> = out
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["0", "4", "4"]);
    assert_eq!(
        events[1]["entity"][1]["what"]["reference"],
        "Observation/o2"
    );
    assert_eq!(
        events[2]["agent"][0]["who"]["identifier"]["value"],
        "smart-app"
    );
}
