//! Test providers and a client for the router.

#![allow(dead_code, unreachable_pub)]

pub use fhir_facade_tests::idp;
pub mod smart;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use fhir_facade_axum::FhirRouter;
use fhir_facade_core::search::registry::{SearchParamDef, r4_param};
use fhir_facade_core::search::{Criterion, PageToken, SearchValue};
use fhir_facade_core::{
    Context, Error, Facade, Interaction, Interactions, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery, Updated,
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;
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

/// A versioned, writable, in-memory Patient store that understands `_id` and pages by offset.
#[derive(Default)]
pub struct Memory {
    versions: Mutex<BTreeMap<String, Vec<Resource>>>,
    deleted: Mutex<BTreeSet<String>>,
    delay: Option<Duration>,
}

impl Memory {
    /// Patients `ids`, each at version 1.
    pub fn with(ids: &[&str]) -> Self {
        let memory = Memory::default();
        for id in ids {
            let resource = stamp(json!({"resourceType": "Patient", "id": id}), 1);
            memory
                .versions
                .lock()
                .unwrap()
                .insert((*id).to_owned(), vec![resource]);
        }
        memory
    }

    /// Every read and search takes `delay`.
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    fn current(&self, id: &str) -> Result<Resource> {
        if self.deleted.lock().unwrap().contains(id) {
            return Err(Error::Gone {
                resource_type: "Patient".into(),
                id: id.into(),
            });
        }
        self.versions
            .lock()
            .unwrap()
            .get(id)
            .and_then(|v| v.last().cloned())
            .ok_or_else(|| not_found(id))
    }

    fn page(&self, all: Vec<Resource>, query: &SearchQuery) -> SearchPage {
        let count = query.result.count.unwrap_or(20) as usize;
        let offset = match query.result.page {
            Some(PageToken::Offset(n)) => n as usize,
            _ => 0,
        };
        SearchPage {
            total: Some(all.len() as u64),
            next: (offset + count < all.len()).then(|| PageToken::Offset((offset + count) as u64)),
            previous: None,
            resources: all.into_iter().skip(offset).take(count).collect(),
        }
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        resource_type: "Patient".into(),
        id: id.into(),
    }
}

fn stamp(mut json: Value, version: u32) -> Resource {
    json["meta"] = json!({"versionId": version.to_string(), "lastUpdated": LAST_UPDATED});
    Resource::new(json).unwrap()
}

#[async_trait]
impl ResourceProvider for Memory {
    fn resource_type(&self) -> &str {
        "Patient"
    }

    fn interactions(&self) -> Interactions {
        Interaction::ALL.into_iter().collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        vec![r4_param("Patient", "_id").unwrap()]
    }

    async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        self.current(id)
    }

    async fn vread(&self, id: &str, version_id: &str, _ctx: &Context) -> Result<Resource> {
        self.versions
            .lock()
            .unwrap()
            .get(id)
            .and_then(|v| {
                v.iter()
                    .find(|r| r.version_id() == Some(version_id))
                    .cloned()
            })
            .ok_or_else(|| not_found(id))
    }

    async fn search(&self, query: &SearchQuery, _ctx: &Context) -> Result<SearchPage> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let deleted = self.deleted.lock().unwrap().clone();
        let all: Vec<Resource> = self
            .versions
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| !deleted.contains(*id))
            .filter_map(|(_, v)| v.last().cloned())
            .filter(|r| {
                query.criteria.iter().all(|c| match c {
                    Criterion::Values { values, .. } => values
                        .iter()
                        .any(|v| matches!(v, SearchValue::Token(t) if t.code.as_deref() == r.id())),
                    _ => false,
                })
            })
            .collect();
        Ok(self.page(all, query))
    }

    async fn create(&self, resource: Resource, _ctx: &Context) -> Result<Resource> {
        let mut versions = self.versions.lock().unwrap();
        let id = format!("new{}", versions.len() + 1);
        let mut json = resource.into_json();
        json["id"] = json!(id);
        let stored = stamp(json, 1);
        versions.insert(id, vec![stored.clone()]);
        Ok(stored)
    }

    async fn update(
        &self,
        id: &str,
        resource: Resource,
        if_match: Option<String>,
        _ctx: &Context,
    ) -> Result<Updated> {
        let mut versions = self.versions.lock().unwrap();
        let history = versions.entry(id.to_owned()).or_default();
        let current = history.len().to_string();
        if let Some(expected) = if_match
            && expected != current
        {
            return Err(Error::PreconditionFailed(format!(
                "version {expected} is not the current version {current}"
            )));
        }
        let stored = stamp(resource.into_json(), history.len() as u32 + 1);
        history.push(stored.clone());
        self.deleted.lock().unwrap().remove(id);
        Ok(Updated {
            resource: stored,
            created: history.len() == 1,
        })
    }

    async fn delete(&self, id: &str, _ctx: &Context) -> Result<()> {
        self.current(id)?;
        self.deleted.lock().unwrap().insert(id.to_owned());
        Ok(())
    }

    async fn history_instance(
        &self,
        id: &str,
        query: &SearchQuery,
        _ctx: &Context,
    ) -> Result<SearchPage> {
        let all: Vec<Resource> = self
            .versions
            .lock()
            .unwrap()
            .get(id)
            .ok_or_else(|| not_found(id))?
            .iter()
            .rev()
            .cloned()
            .collect();
        Ok(self.page(all, query))
    }

    async fn history_type(&self, query: &SearchQuery, _ctx: &Context) -> Result<SearchPage> {
        let all: Vec<Resource> = self
            .versions
            .lock()
            .unwrap()
            .values()
            .flat_map(|v| v.iter().rev().cloned())
            .collect();
        Ok(self.page(all, query))
    }
}

pub fn facade(provider: impl ResourceProvider + 'static) -> Facade {
    Facade::builder().provider(provider).build().unwrap()
}

/// The router over patients `p1` and `p2`.
pub fn patients() -> Router {
    FhirRouter::builder(facade(Memory::with(&["p1", "p2"]))).build()
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

/// Read-only resources of one type, searched by nothing but returned whole.
pub struct Rows {
    resource_type: &'static str,
    rows: Vec<Resource>,
}

impl Rows {
    /// `rows`, resources of `resource_type` as JSON.
    pub fn new(resource_type: &'static str, rows: Vec<Value>) -> Self {
        let rows = rows
            .into_iter()
            .map(|json| Resource::new(json).unwrap())
            .collect();
        Rows {
            resource_type,
            rows,
        }
    }
}

#[async_trait]
impl ResourceProvider for Rows {
    fn resource_type(&self) -> &str {
        self.resource_type
    }

    fn interactions(&self) -> Interactions {
        [Interaction::Read, Interaction::SearchType]
            .into_iter()
            .collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        vec![r4_param(self.resource_type, "_id").unwrap()]
    }

    async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
        self.rows
            .iter()
            .find(|r| r.id() == Some(id))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                resource_type: self.resource_type.into(),
                id: id.into(),
            })
    }

    async fn search(&self, _query: &SearchQuery, _ctx: &Context) -> Result<SearchPage> {
        Ok(SearchPage {
            total: Some(self.rows.len() as u64),
            resources: self.rows.clone(),
            ..SearchPage::default()
        })
    }
}
