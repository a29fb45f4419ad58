//! A FHIR server over two in-memory patients, nested under `/fhir`, with the probes routes,
//! configured from the environment like every facade binary ([`ServerSettings`]).
//!
//! ```sh
//! FHIR_FACADE_LOG_FORMAT=json cargo run -p fhir-facade-axum --example serve_memory
//! curl -s localhost:8080/fhir/Patient?_id=p1
//! curl -s localhost:8080/readyz
//! ```

use fhir_facade_axum::{Probes, ServerSettings, init_tracing};
use fhir_facade_core::{Facade, MemoryProvider, Resource, Result};
use serde_json::json;

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    init_tracing()?;
    let patients = ["p1", "p2"]
        .into_iter()
        .map(|id| Resource::new(json!({"resourceType": "Patient", "id": id})))
        .collect::<Result<Vec<_>>>()?;
    let facade = Facade::builder()
        .provider(MemoryProvider::new("Patient").with_resources(patients)?)
        .build()?;
    // FHIR_FACADE_LISTEN, FHIR_FACADE_BASE_URL, FHIR_FACADE_OIDC_* and CORS from the environment.
    ServerSettings::from_env()?
        .serve(facade, Probes::new())
        .await?;
    Ok(())
}
