//! Resources as JSON behind a small typed wrapper.

use crate::{Error, Result};
use elements::{choice_elements, mandatory_elements, summary_elements};
use serde_json::Value;

pub(crate) mod elements;
mod json;

/// `_summary` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// `true`: only the elements marked as summary.
    True,
    /// `text`: text, id, meta and top-level mandatory elements.
    Text,
    /// `data`: everything but the narrative.
    Data,
    /// `count`: only the total, no entries.
    Count,
    /// `false`: the full resources.
    False,
}

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

    /// A resource from the JSON of a request body: [`Error::BadRequest`] when the bytes are not
    /// JSON (nested deeper than 128, a number out of range, an object naming a key twice),
    /// otherwise as [`new`](Self::new).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let value = json::from_slice(bytes)
            .map_err(|e| Error::BadRequest(format!("the body is not JSON: {e}")))?;
        Resource::new(value)
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

    /// Removes the id (a create's body: the server assigns it).
    pub fn remove_id(&mut self) {
        if let Some(object) = self.0.as_object_mut() {
            object.remove("id");
        }
    }

    /// Unwraps the JSON.
    pub fn into_json(self) -> Value {
        self.0
    }
}

impl Resource {
    /// The resource as `_summary` and `_elements` ask for it.
    ///
    /// Subsetted resources carry the `SUBSETTED` tag in `meta.tag`, as FHIR requires, so that no
    /// client mistakes them for the whole resource. `_summary=count` has no entries, so it does
    /// not reach this function; it is treated like `false`.
    #[must_use]
    pub fn project(self, summary: Option<Summary>, elements: &[String]) -> Resource {
        if matches!(summary, None | Some(Summary::Count | Summary::False)) && elements.is_empty() {
            return self;
        }
        let resource_type = self.resource_type().to_owned();
        let keep: Box<dyn Fn(&str) -> bool> = match summary {
            Some(Summary::True) => {
                let summary = summary_elements(&resource_type);
                Box::new(move |name| element_listed(summary, name))
            }
            Some(Summary::Text) => {
                let mandatory = mandatory_elements(&resource_type);
                Box::new(move |name| name == "text" || element_listed(mandatory, name))
            }
            Some(Summary::Data) => Box::new(|name| name != "text"),
            Some(Summary::Count | Summary::False) | None => {
                let mandatory = mandatory_elements(&resource_type);
                let choices = choice_elements(&resource_type);
                Box::new(move |name| {
                    elements.iter().any(|e| {
                        e == name || (is_choice_of(name, e) && choices.contains(&e.as_str()))
                    }) || element_listed(mandatory, name)
                })
            }
        };
        let Value::Object(mut object) = self.0 else {
            return self;
        };
        let before = object.len();
        object.retain(|name, _| {
            matches!(name.as_str(), "resourceType" | "id" | "meta") || keep(name)
        });
        if object.len() < before {
            let meta = object
                .entry("meta")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(meta) = meta {
                let tags = meta
                    .entry("tag")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(tags) = tags {
                    tags.push(serde_json::json!({
                        "system": SUBSETTED_SYSTEM,
                        "code": "SUBSETTED",
                    }));
                }
            }
        }
        Resource(Value::Object(object))
    }
}

/// The code system of the `SUBSETTED` tag.
const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// Whether a JSON property is in a list of element definitions, where a choice element is listed
/// as `value[x]` and appears in JSON as `valueQuantity`, `valueString`, ...
fn element_listed(listed: &[&str], name: &str) -> bool {
    listed.iter().any(|e| match e.strip_suffix("[x]") {
        Some(stem) => is_choice_of(name, stem),
        None => *e == name,
    })
}

fn is_choice_of(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem)
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_uppercase())
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
pub(crate) fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Whether `name` has the shape of a FHIR resource type name (`Patient`, `MedicationRequest`).
pub(crate) fn is_resource_type(name: &str) -> bool {
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

    fn observation() -> Resource {
        Resource::new(json!({
            "resourceType": "Observation", "id": "o1",
            "meta": {"versionId": "1"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">K</div>"},
            "status": "final",
            "code": {"text": "Potassium"},
            "subject": {"reference": "Patient/p1"},
            "valueQuantity": {"value": 5.4},
            "note": [{"text": "haemolysed"}]
        }))
        .unwrap()
    }

    fn keys(r: &Resource) -> Vec<&str> {
        let mut keys: Vec<&str> = r
            .as_json()
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn subsetted(r: &Resource) -> bool {
        r.as_json()["meta"]["tag"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t["code"] == "SUBSETTED"))
    }

    #[test]
    fn summary_true_keeps_summary_elements_and_choices() {
        let r = observation().project(Some(Summary::True), &[]);
        assert_eq!(
            keys(&r),
            [
                "code",
                "id",
                "meta",
                "resourceType",
                "status",
                "subject",
                "valueQuantity"
            ]
        );
        assert!(subsetted(&r));
    }

    #[test]
    fn summary_text_and_data() {
        let r = observation().project(Some(Summary::Text), &[]);
        assert_eq!(
            keys(&r),
            ["code", "id", "meta", "resourceType", "status", "text"]
        );
        let r = observation().project(Some(Summary::Data), &[]);
        assert!(!keys(&r).contains(&"text") && keys(&r).contains(&"note"));
        assert!(subsetted(&r));
    }

    #[test]
    fn elements_keep_the_named_and_mandatory_elements() {
        let r = observation().project(None, &["value".to_owned(), "note".to_owned()]);
        assert_eq!(
            keys(&r),
            [
                "code",
                "id",
                "meta",
                "note",
                "resourceType",
                "status",
                "valueQuantity"
            ]
        );
        assert!(subsetted(&r));
    }

    #[test]
    fn no_projection_leaves_the_resource_alone() {
        assert_eq!(observation().project(None, &[]), observation());
        assert_eq!(
            observation().project(Some(Summary::False), &[]),
            observation()
        );
    }

    #[test]
    fn a_stem_is_not_a_choice_unless_defined_so() {
        let encounter = Resource::new(json!({
            "resourceType": "Encounter", "id": "e", "status": "finished",
            "class": {"code": "IMP"}, "classHistory": []
        }))
        .unwrap();
        let r = encounter.project(None, &["class".to_owned()]);
        assert!(!keys(&r).contains(&"classHistory"));
    }

    #[test]
    fn id_rule() {
        assert!(is_valid_id("meas-42.a"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("a/b"));
    }
}
