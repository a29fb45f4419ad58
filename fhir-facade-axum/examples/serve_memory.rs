//! A FHIR server over two in-memory patients, nested under `/fhir`, with the operations routes,
//! configured from the environment like every facade binary ([`ServerSettings`]).
//!
//! ```sh
//! FHIR_FACADE_LOG_FORMAT=json cargo run -p fhir-facade-axum --example serve_memory
//! curl -s localhost:8080/fhir/Patient?_id=p1
//! curl -s localhost:8080/readyz
//! ```

use async_trait::async_trait;
use fhir_facade_axum::{Ops, ServerSettings, init_tracing};
use fhir_facade_core::search::registry::{SearchParamDef, r4_param};
use fhir_facade_core::search::{Criterion, SearchValue};
use fhir_facade_core::{
    Context, Error, Facade, Resource, ResourceProvider, Result, SearchPage, SearchQuery,
};
use serde_json::json;

struct Patients(Vec<Resource>);

#[async_trait]
impl ResourceProvider for Patients {
    fn resource_type(&self) -> &str {
        "Patient"
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        r4_param("Patient", "_id").into_iter().collect()
    }

    async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
        self.0
            .iter()
            .find(|p| p.id() == Some(id))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                resource_type: "Patient".into(),
                id: id.into(),
            })
    }

    async fn search(&self, query: &SearchQuery, _ctx: &Context) -> Result<SearchPage> {
        let matches = |patient: &Resource| {
            query.criteria.iter().all(|criterion| match criterion {
                Criterion::Values { values, .. } => values.iter().any(
                    |v| matches!(v, SearchValue::Token(t) if t.code.as_deref() == patient.id()),
                ),
                _ => false,
            })
        };
        let resources: Vec<Resource> = self.0.iter().filter(|p| matches(p)).cloned().collect();
        Ok(SearchPage {
            total: Some(resources.len() as u64),
            resources,
            ..SearchPage::default()
        })
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    init_tracing()?;
    let patients = ["p1", "p2"]
        .into_iter()
        .map(|id| Resource::new(json!({"resourceType": "Patient", "id": id})))
        .collect::<Result<Vec<_>>>()?;
    let facade = Facade::builder().provider(Patients(patients)).build()?;
    // FHIR_FACADE_LISTEN, FHIR_FACADE_BASE_URL, FHIR_FACADE_OIDC_* and CORS from the environment.
    ServerSettings::from_env()?
        .serve(facade, Ops::new())
        .await?;
    Ok(())
}
