//! Everything the core builds itself — CapabilityStatement, Bundles, OperationOutcomes — is valid
//! FHIR R4 by the official JSON schema (FHIR R4 `json.html`, `bundle.html`, `capabilitystatement.html`).

use async_trait::async_trait;
use fhir_facade_core::bundle::EntryResponse;
use fhir_facade_core::capability::{Implementation, SmartSecurity, Software};
use fhir_facade_core::error::DatabaseErrorKind;
use fhir_facade_core::search::registry::{SearchParamDef, r4_param};
use fhir_facade_core::search::{Criterion, Handling, SearchValue};
use fhir_facade_core::{
    Bundle, CapabilityOptions, Context, Error, Facade, Resource, ResourceProvider, Result,
    SearchPage, SearchQuery, SearchRequest,
};
use fhir_facade_tests::{assert_valid, schema_errors};
use serde_json::{Value, json};

const BASE: &str = "https://fhir.example.org/fhir";

/// A fixed set of resources of one type; searches understand `_id` only.
struct Fixed {
    resource_type: &'static str,
    params: &'static [&'static str],
    rows: Vec<Resource>,
}

#[async_trait]
impl ResourceProvider for Fixed {
    fn resource_type(&self) -> &str {
        self.resource_type
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.params
            .iter()
            .filter_map(|code| r4_param(self.resource_type, code))
            .collect()
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

    async fn search(&self, query: &SearchQuery, _ctx: &Context) -> Result<SearchPage> {
        let rows: Vec<Resource> = self
            .rows
            .iter()
            .filter(|r| {
                query.criteria.iter().all(|c| match c {
                    Criterion::Values { param, values, .. } if param.code == "_id" => values
                        .iter()
                        .any(|v| matches!(v, SearchValue::Token(t) if t.code.as_deref() == r.id())),
                    _ => true,
                })
            })
            .cloned()
            .collect();
        Ok(SearchPage {
            total: Some(rows.len() as u64),
            resources: rows,
            ..SearchPage::default()
        })
    }
}

fn facade() -> Facade {
    let patient = json!({
        "resourceType": "Patient", "id": "p1",
        "meta": {"versionId": "2", "lastUpdated": "2024-01-02T03:04:05Z"},
        "name": [{"family": "Müller", "given": ["José", "Eve"]}],
        "gender": "female", "birthDate": "1980-06-15"
    });
    let observation = json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-03-01T10:00:00Z",
        "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}
    });
    Facade::builder()
        .provider(Fixed {
            resource_type: "Patient",
            params: &["_id", "family", "birthdate"],
            rows: vec![Resource::new(patient).unwrap()],
        })
        .provider(Fixed {
            resource_type: "Observation",
            params: &["_id", "patient", "subject", "code", "date"],
            rows: vec![Resource::new(observation).unwrap()],
        })
        .build()
        .unwrap()
}

fn search<'a>(resource_type: &'a str, query: &'a str) -> SearchRequest<'a> {
    SearchRequest {
        resource_type,
        query,
        handling: Handling::Lenient,
        base_url: BASE,
        compartment: None,
    }
}

#[test]
fn the_schema_rejects_invalid_resources() {
    // Without this the other tests could pass by validating nothing.
    if fhir_facade_tests::fhir_schema().is_none() {
        return;
    }
    let bad = json!({"resourceType": "Patient", "gender": 5, "birthDate": "15.06.1980"});
    assert!(!schema_errors(&bad).is_empty());
    assert!(!schema_errors(&json!({"resourceType": "Bundle", "type": "nonsense"})).is_empty());
    assert!(!schema_errors(&json!({"resourceType": "NoSuchThing"})).is_empty());
}

#[test]
fn capability_statement_is_valid() {
    let mut options = CapabilityOptions::new(
        "2026-11-29",
        Implementation {
            description: "test facade".into(),
            url: Some(BASE.into()),
        },
    );
    options.software = Some(Software {
        name: "fhir-facade".into(),
        version: Some("0.1.0".into()),
    });
    options.batch = true;
    options.security = Some(SmartSecurity {
        authorize_url: "https://idp.example.org/auth".into(),
        token_url: "https://idp.example.org/token".into(),
        revoke_url: None,
        introspect_url: None,
        register_url: None,
        manage_url: None,
    });
    let statement = facade().capability_statement(&options);
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_valid(&statement);
}

#[tokio::test]
async fn searchset_with_includes_and_warnings_is_valid() {
    let bundle = facade()
        .search(
            &search(
                "Observation",
                "_id=o1&_include=Observation:subject&_total=accurate&bonkers=1",
            ),
            &Context::new(),
        )
        .await
        .unwrap()
        .to_json();
    assert_eq!(bundle["entry"].as_array().unwrap().len(), 3, "{bundle}");
    assert_valid(&bundle);
    let summary = facade()
        .search(&search("Patient", "_summary=true"), &Context::new())
        .await
        .unwrap()
        .to_json();
    assert_valid(&summary);
    let count = facade()
        .search(&search("Patient", "_count=0"), &Context::new())
        .await
        .unwrap()
        .to_json();
    assert_valid(&count);
}

#[test]
fn every_operation_outcome_is_valid() {
    let errors = vec![
        Error::invalid_search("birthdate", "not a date"),
        Error::UnknownParameter {
            param: "bonkers".into(),
        },
        Error::Unauthorized("no token".into()),
        Error::Forbidden("insufficient_scope".into()),
        Error::NotFound {
            resource_type: "Patient".into(),
            id: "x".into(),
        },
        Error::not_supported("Patient", "delete"),
        Error::Gone {
            resource_type: "Patient".into(),
            id: "x".into(),
        },
        Error::PreconditionFailed("stale".into()),
        Error::PayloadTooLarge,
        Error::InvalidResource {
            message: "bad".into(),
            expression: Some("Patient.gender".into()),
        },
        Error::Database {
            kind: DatabaseErrorKind::Timeout,
            source: "statement timeout".into(),
        },
    ];
    for error in errors {
        assert_valid(&error.to_operation_outcome());
    }
}

#[test]
fn history_and_batch_response_bundles_are_valid() {
    let patient = Resource::new(json!({
        "resourceType": "Patient", "id": "p1",
        "meta": {"versionId": "1", "lastUpdated": "2024-01-02T03:04:05Z"}
    }))
    .unwrap();
    let mut history = Bundle::history(BASE);
    history.set_total(1);
    history.add_version(patient.clone(), true);
    assert_valid(&history.to_json());

    let mut batch = Bundle::batch_response(BASE);
    batch.add_response(
        EntryResponse::for_resource(201, BASE, &patient),
        Some(patient),
    );
    batch.add_response(
        EntryResponse::from_error(&Error::NotFound {
            resource_type: "Patient".into(),
            id: "nope".into(),
        }),
        None,
    );
    assert_valid(&batch.to_json());
}

#[test]
fn streamed_bundles_are_the_same_json() {
    let mut bundle = Bundle::searchset(BASE);
    bundle.add_match(Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap());
    let expected = bundle.to_json();
    let bytes: Vec<u8> = bundle.into_chunks().flatten().collect();
    let streamed: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(streamed, expected);
    assert_valid(&streamed);
}
