//! What the facade's tests run on: in-memory providers behind a spy.

use super::{Facade, SearchRequest};
use crate::search::{Criterion, Handling, SearchParamDef};
use crate::{
    Constraint, Context, MemoryProvider, Resource, ResourceProvider, Result, SearchPage,
    SearchQuery,
};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(super) const BASE: &str = "https://h.example/hospital-a/fhir";

/// A [`MemoryProvider`] that declares only read and search, counts how often the facade asks,
/// records the constraints it was given and, unless `honours_compartments`, forgets them, so
/// that the tests see the facade's own check at work. Chains and `_has`, which a store of one
/// type cannot follow, match nothing.
pub(super) struct Spy {
    memory: MemoryProvider,
    pub(super) searches: AtomicUsize,
    pub(super) batch_reads: AtomicUsize,
    pub(super) seen_constraints: Mutex<Vec<Constraint>>,
    honours_compartments: bool,
}

impl Spy {
    pub(super) fn new(
        resource_type: &str,
        reference: Option<&str>,
        rows: Vec<Value>,
        honours_compartments: bool,
    ) -> Self {
        let mut memory = MemoryProvider::new(resource_type);
        if let Some(reference) = reference {
            memory = memory.with_reference_param(reference).unwrap();
        }
        let rows = rows.into_iter().map(|v| Resource::new(v).unwrap());
        Spy {
            memory: memory.with_resources(rows).unwrap(),
            searches: AtomicUsize::new(0),
            batch_reads: AtomicUsize::new(0),
            seen_constraints: Mutex::default(),
            honours_compartments,
        }
    }

    fn passed_on(&self, ctx: &Context) -> Context {
        self.seen_constraints
            .lock()
            .unwrap()
            .extend(ctx.constraints.iter().cloned());
        if self.honours_compartments {
            ctx.clone()
        } else {
            Context::new()
        }
    }
}

#[async_trait]
impl ResourceProvider for Spy {
    fn resource_type(&self) -> &str {
        self.memory.resource_type()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.memory.search_params()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        let ctx = if self.honours_compartments {
            ctx.clone()
        } else {
            Context::new()
        };
        self.memory.read(id, &ctx).await
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        self.batch_reads.fetch_add(1, Ordering::SeqCst);
        let ctx = self.passed_on(ctx);
        self.memory.read_many(ids, &ctx).await
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        self.searches.fetch_add(1, Ordering::SeqCst);
        let ctx = self.passed_on(ctx);
        let joins = |c: &Criterion| matches!(c, Criterion::Chain { .. } | Criterion::Has { .. });
        if query.criteria.iter().any(joins) {
            return Ok(SearchPage::default());
        }
        self.memory.search(query, &ctx).await
    }
}

/// Patients p1 and p2; observations o1–o3 of p1 and o4, o5 of p2.
pub(super) fn fixture() -> (Facade, Arc<Spy>, Arc<Spy>) {
    fixture_honouring(false)
}

pub(super) fn fixture_honouring(honours_compartments: bool) -> (Facade, Arc<Spy>, Arc<Spy>) {
    let patients = Arc::new(Spy::new(
        "Patient",
        None,
        vec![
            json!({"resourceType": "Patient", "id": "p1"}),
            json!({"resourceType": "Patient", "id": "p2"}),
        ],
        honours_compartments,
    ));
    let observations = (1..=5)
        .map(|i| {
            let patient = if i <= 3 { "p1" } else { "p2" };
            json!({"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
                   "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}})
        })
        .collect();
    let observations = Arc::new(Spy::new(
        "Observation",
        Some("subject"),
        observations,
        honours_compartments,
    ));
    let facade = Facade::builder()
        .shared_provider(patients.clone())
        .shared_provider(observations.clone())
        .build()
        .unwrap();
    (facade, patients, observations)
}

pub(super) fn request<'a>(resource_type: &'a str, query: &'a str) -> SearchRequest<'a> {
    SearchRequest {
        resource_type,
        query,
        handling: Handling::Lenient,
        base_url: BASE,
        compartment: None,
    }
}

pub(super) fn ids(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == mode)
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

pub(super) fn token(scopes: &str, patient: Option<&str>) -> Context {
    Context::new().with_access(Arc::new(crate::smart::SmartGrant::new(
        scopes,
        patient.map(str::to_owned),
    )))
}
