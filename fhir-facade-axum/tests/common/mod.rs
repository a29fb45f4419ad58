//! Test providers and a client for the router.

#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "smart")]
pub use fhir_facade_tests::idp;
#[cfg(feature = "smart")]
pub mod smart;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use fhir_facade_axum::FhirRouter;
use fhir_facade_core::search::registry::{SearchParamDef, r4_param};
use fhir_facade_core::{
    Context, Facade, Interaction, Interactions, MemoryProvider, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery,
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::macros::datetime;
use tower::ServiceExt;

mockall::mock! {
    pub Provider {}

    #[async_trait]
    impl ResourceProvider for Provider {
        fn resource_type(&self) -> &str;
        fn interactions(&self) -> Interactions;
        fn search_params(&self) -> Vec<&'static SearchParamDef>;
        async fn read(&self, id: &str, ctx: &Context) -> Result<Resource>;
        async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage>;
    }
}

/// A mock for `resource_type` that declares read and search on `_id`.
pub fn mock(resource_type: &'static str) -> MockProvider {
    let mut mock = MockProvider::new();
    mock.expect_resource_type()
        .return_const(resource_type.to_owned());
    mock.expect_interactions().returning(|| {
        [Interaction::Read, Interaction::SearchType]
            .into_iter()
            .collect()
    });
    mock.expect_search_params()
        .returning(move || vec![r4_param(resource_type, "_id").unwrap()]);
    mock
}

pub const LAST_UPDATED: &str = "2024-05-01T10:20:30Z";
pub const LAST_MODIFIED: &str = "Wed, 01 May 2024 10:20:30 GMT";

/// A versioned, writable Patient store holding `ids` at version 1, every version (also those
/// written later) last updated at [`LAST_UPDATED`].
pub fn memory_patients(ids: &[&str]) -> MemoryProvider {
    memory(
        "Patient",
        ids.iter()
            .map(|id| json!({"resourceType": "Patient", "id": id}))
            .collect(),
    )
}

/// A store of `resources` (JSON of `resource_type`), each last updated at [`LAST_UPDATED`].
pub fn memory(resource_type: &str, resources: Vec<Value>) -> MemoryProvider {
    let resources = resources.into_iter().map(|mut json| {
        json["meta"] = json!({"lastUpdated": LAST_UPDATED});
        Resource::new(json).unwrap()
    });
    MemoryProvider::new(resource_type)
        .with_resources(resources)
        .unwrap()
        .with_clock(|| datetime!(2024-05-01 10:20:30 UTC))
}

pub fn facade(provider: impl ResourceProvider + 'static) -> Facade {
    Facade::builder().provider(provider).build().unwrap()
}

/// The router over patients `p1` and `p2`.
pub fn patients() -> Router {
    FhirRouter::builder(facade(memory_patients(&["p1", "p2"]))).build()
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// `issue[0].code` of an OperationOutcome body, checking the content type on the way.
    pub fn issue_code(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/fhir+json; charset=utf-8")
        );
        let json = self.json();
        assert_eq!(json["resourceType"], "OperationOutcome", "{json}");
        json["issue"][0]["code"].as_str().unwrap().to_owned()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn send_json(app: &Router, method: &str, uri: &str, body: Value) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/fhir+json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}
