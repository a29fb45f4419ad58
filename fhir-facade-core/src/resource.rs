//! Resources as JSON behind a small typed wrapper.

use crate::{Error, Result};
use serde_json::Value;

/// A FHIR resource: its JSON, with typed access to the parts the facade needs.
///
/// The JSON is kept as it is (`serde_json::Value`), so a provider can build any resource type and
/// the facade passes it through; a typed model would force every legacy mapping through one crate's
/// idea of FHIR.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Resource(Value);

impl Resource {
    /// Wraps JSON that has a string `resourceType` and, when present, a valid `id`.
    pub fn new(value: Value) -> Result<Self> {
        let Some(resource_type) = value.get("resourceType").and_then(Value::as_str) else {
            return Err(invalid(
                "resourceType is missing or not a string",
                "resourceType",
            ));
        };
        if !is_resource_type(resource_type) {
            return Err(invalid(
                "resourceType is not a resource type name",
                "resourceType",
            ));
        }
        match value.get("id") {
            None => {}
            Some(Value::String(id)) if is_valid_id(id) => {}
            Some(_) => return Err(invalid("id must match [A-Za-z0-9-.]{1,64}", "id")),
        }
        Ok(Resource(value))
    }

    /// The resource type (`Patient`).
    pub fn resource_type(&self) -> &str {
        self.0["resourceType"].as_str().unwrap_or_default()
    }

    /// The logical id, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.0.get("id").and_then(Value::as_str)
    }

    /// `meta.versionId`, if present.
    pub fn version_id(&self) -> Option<&str> {
        self.0.get("meta")?.get("versionId")?.as_str()
    }

    /// `meta.lastUpdated`, if present, as written.
    pub fn last_updated(&self) -> Option<&str> {
        self.0.get("meta")?.get("lastUpdated")?.as_str()
    }

    /// Sets the logical id (used when the server assigns it).
    pub fn set_id(&mut self, id: &str) {
        self.0["id"] = Value::String(id.to_owned());
    }

    /// The JSON.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// The JSON, mutably. Keep `resourceType` as it is.
    pub fn as_json_mut(&mut self) -> &mut Value {
        &mut self.0
    }

    /// Unwraps the JSON.
    pub fn into_json(self) -> Value {
        self.0
    }
}

impl TryFrom<Value> for Resource {
    type Error = Error;

    fn try_from(value: Value) -> Result<Self> {
        Resource::new(value)
    }
}

fn invalid(message: &str, expression: &str) -> Error {
    Error::InvalidResource {
        message: message.to_owned(),
        expression: Some(expression.to_owned()),
    }
}

/// Whether `id` is a valid FHIR logical id (`[A-Za-z0-9\-\.]{1,64}`).
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Whether `name` has the shape of a FHIR resource type name (`Patient`, `MedicationRequest`).
pub fn is_resource_type(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_alphanumeric())
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exposes_type_id_and_meta() {
        let r = Resource::new(json!({
            "resourceType": "Patient", "id": "p1",
            "meta": {"versionId": "3", "lastUpdated": "2020-01-01T00:00:00Z"}
        }))
        .unwrap();
        assert_eq!(r.resource_type(), "Patient");
        assert_eq!(r.id(), Some("p1"));
        assert_eq!(r.version_id(), Some("3"));
        assert_eq!(r.last_updated(), Some("2020-01-01T00:00:00Z"));
    }

    #[test]
    fn rejects_json_that_is_not_a_resource() {
        for bad in [
            json!({"id": "x"}),
            json!({"resourceType": 3}),
            json!({"resourceType": "patient"}),
            json!({"resourceType": "Patient", "id": "has space"}),
            json!({"resourceType": "Patient", "id": 7}),
        ] {
            let err = Resource::new(bad).unwrap_err();
            assert_eq!(err.status(), 422);
        }
    }

    #[test]
    fn id_rule() {
        assert!(is_valid_id("meas-42.a"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("a/b"));
    }
}
