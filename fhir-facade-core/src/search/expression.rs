//! The references a resource holds through a reference search parameter, for `_include`.
//!
//! R4 reference parameters are defined by FHIRPath expressions. This module evaluates the small
//! subset those definitions use, directly on the resource JSON:
//!
//! - dotted paths through objects and arrays: `Encounter.participant.individual`;
//! - type filters on the reference target: `Observation.subject.where(resolve() is Patient)`;
//! - choice types cast to `Reference`: `(MedicationRequest.medication as Reference)`,
//!   `MedicationRequest.medication.as(Reference)` and `.ofType(Reference)`, which read
//!   `medicationReference`;
//! - unions of the above: `A.b | C.d`. A branch rooted at another resource type (shared
//!   definitions list every type) yields nothing for this resource.
//!
//! Any other construct (other functions, indexers, `where` conditions that are not
//! `resolve() is Type`) makes its union branch yield no references: an include then misses
//! resources rather than the server failing or guessing.

use crate::Resource;
use crate::resource::{is_resource_type, is_valid_id};
use crate::search::{SearchParamDef, SearchParamType};
use serde_json::Value;

/// A reference to a resource on this server, borrowed from the resource it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalRef<'a> {
    /// The referenced resource type.
    pub resource_type: &'a str,
    /// The referenced logical id (without any `_history` version).
    pub id: &'a str,
}

/// The local references `resource` holds through the reference parameter `param`, in document
/// order, duplicates included.
///
/// Only `Type/id` references (optionally `Type/id/_history/v`, or `base_url` followed by either)
/// whose type is one of the parameter's targets are returned. Contained (`#x`), external,
/// `urn:` and identifier-only references are skipped, as are all references when `param` is not
/// a reference parameter or its expression uses FHIRPath outside the supported subset.
pub fn references<'a>(
    resource: &'a Resource,
    param: &SearchParamDef,
    base_url: Option<&str>,
) -> Vec<LocalRef<'a>> {
    if param.kind != SearchParamType::Reference {
        return Vec::new();
    }
    let base = base_url.map(|b| b.trim_end_matches('/'));
    let mut found = Vec::new();
    for branch in split_top_level(param.expression, '|') {
        let Some(nodes) = evaluate_branch(resource, branch.trim(), base) else {
            continue;
        };
        found.extend(
            nodes
                .into_iter()
                .filter_map(|node| node.get("reference")?.as_str())
                .filter_map(|reference| parse_local(reference, base))
                .filter(|r| param.targets.is_empty() || param.targets.contains(&r.resource_type)),
        );
    }
    found
}

/// One step after the root of a path.
#[derive(Debug, PartialEq)]
enum Step<'e> {
    Field(&'e str),
    /// `as(T)`, `ofType(T)` or `(... as T)`: choice element of type `T`.
    Cast(&'e str),
    /// `where(resolve() is T)`.
    ResolvesTo(&'e str),
}

/// The elements a union branch selects, or `None` when the branch is not understood.
fn evaluate_branch<'a>(
    resource: &'a Resource,
    branch: &str,
    base: Option<&str>,
) -> Option<Vec<&'a Value>> {
    let (root, steps) = parse_branch(branch)?;
    let root_matches =
        root == resource.resource_type() || root == "Resource" || root == "DomainResource";
    if !root_matches {
        return Some(Vec::new());
    }
    let mut nodes = vec![resource.as_json()];
    let mut steps = steps.iter().peekable();
    while let Some(step) = steps.next() {
        nodes = match *step {
            Step::Field(name) => {
                let cast = match steps.peek() {
                    Some(Step::Cast(ty)) => {
                        steps.next();
                        Some(*ty)
                    }
                    _ => None,
                };
                nodes
                    .into_iter()
                    .flat_map(|node| child(node, name, cast))
                    .collect()
            }
            // A cast not directly after a field has no choice element to pick.
            Step::Cast(_) => return None,
            Step::ResolvesTo(ty) => nodes
                .into_iter()
                .filter(|node| {
                    node.get("reference")
                        .and_then(Value::as_str)
                        .and_then(|r| parse_local(r, base))
                        .is_some_and(|r| r.resource_type == ty)
                })
                .collect(),
        };
    }
    Some(nodes)
}

/// The values of `name` on `node`, arrays flattened. With a cast to `T`, the choice element
/// `nameT` is read; an element that is not a choice is read as-is when it holds references.
fn child<'a>(node: &'a Value, name: &str, cast: Option<&str>) -> Vec<&'a Value> {
    let value = match cast {
        Some(ty) => node.get(format!("{name}{ty}")).or_else(|| {
            node.get(name)
                .filter(|_| ty == "Reference")
                .filter(|v| holds_reference(v))
        }),
        None => node.get(name),
    };
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

fn holds_reference(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(holds_reference),
        Value::Object(map) => map.contains_key("reference"),
        _ => false,
    }
}

/// Splits a branch into its root type and steps.
fn parse_branch(branch: &str) -> Option<(&str, Vec<Step<'_>>)> {
    let Some(rest) = branch.strip_prefix('(') else {
        return parse_path(branch);
    };
    let close = matching_paren(rest)?;
    let (inner, after) = (&rest[..close], &rest[close + 1..]);
    let (path, ty) = inner.rsplit_once(" as ")?;
    let (root, mut steps) = parse_path(path.trim())?;
    steps.push(Step::Cast(type_name(ty)?));
    if !after.is_empty() {
        steps.extend(parse_steps(after.strip_prefix('.')?)?);
    }
    Some((root, steps))
}

fn parse_path(path: &str) -> Option<(&str, Vec<Step<'_>>)> {
    let (root, rest) = match path.split_once('.') {
        Some((root, rest)) => (root, Some(rest)),
        None => (path, None),
    };
    if !is_resource_type(root) {
        return None;
    }
    let steps = match rest {
        Some(rest) => parse_steps(rest)?,
        None => Vec::new(),
    };
    Some((root, steps))
}

fn parse_steps(text: &str) -> Option<Vec<Step<'_>>> {
    split_top_level(text, '.')
        .into_iter()
        .map(|part| parse_step(part.trim()))
        .collect()
}

fn parse_step(part: &str) -> Option<Step<'_>> {
    if let Some(arg) = call_argument(part, "where") {
        let condition = arg.strip_prefix("resolve()")?.trim_start();
        let ty = condition.strip_prefix("is")?;
        // `is` must be a word of its own, not the start of a type name.
        if !ty.starts_with(char::is_whitespace) {
            return None;
        }
        return Some(Step::ResolvesTo(type_name(ty)?));
    }
    if let Some(arg) = call_argument(part, "as").or_else(|| call_argument(part, "ofType")) {
        return Some(Step::Cast(type_name(arg)?));
    }
    let is_identifier = part.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_identifier.then_some(Step::Field(part))
}

/// The argument of `function(argument)`, trimmed.
fn call_argument<'e>(part: &'e str, function: &str) -> Option<&'e str> {
    part.strip_prefix(function)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

/// A type name, with the optional `FHIR.` namespace dropped.
fn type_name(text: &str) -> Option<&str> {
    let text = text.trim();
    let name = text.strip_prefix("FHIR.").unwrap_or(text);
    is_resource_type(name).then_some(name)
}

/// The index of the `)` closing a `(` that precedes `text`.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits on `sep` outside parentheses and string literals.
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_string, mut start) = (0usize, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth = depth.saturating_sub(1),
            c if c == sep && !in_string && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `Type/id`, `Type/id/_history/v`, or either after `base/`; anything else is not local.
fn parse_local<'a>(reference: &'a str, base: Option<&str>) -> Option<LocalRef<'a>> {
    let relative = match base.and_then(|b| reference.strip_prefix(b)) {
        Some(rest) => rest.strip_prefix('/')?,
        None => reference,
    };
    let mut parts = relative.split('/');
    let (resource_type, id) = (parts.next()?, parts.next()?);
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => {}
        (Some("_history"), Some(version), None) if is_valid_id(version) => {}
        _ => return None,
    }
    (is_resource_type(resource_type) && is_valid_id(id)).then_some(LocalRef { resource_type, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const fn reference(
        code: &'static str,
        resource_type: &'static str,
        expression: &'static str,
        targets: &'static [&'static str],
    ) -> SearchParamDef {
        SearchParamDef {
            code,
            resource_type,
            kind: SearchParamType::Reference,
            expression,
            targets,
            components: &[],
            url: "",
        }
    }

    static OBS_PATIENT: SearchParamDef = reference(
        "patient",
        "Observation",
        "Observation.subject.where(resolve() is Patient)",
        &["Patient"],
    );
    static OBS_SUBJECT: SearchParamDef = reference(
        "subject",
        "Observation",
        "Observation.subject",
        &["Group", "Device", "Patient", "Location"],
    );
    static MEDREQ_MEDICATION: SearchParamDef = reference(
        "medication",
        "MedicationRequest",
        "(MedicationRequest.medication as Reference)",
        &["Medication"],
    );
    static ENC_PARTICIPANT: SearchParamDef = reference(
        "participant",
        "Encounter",
        "Encounter.participant.individual",
        &["Practitioner", "PractitionerRole", "RelatedPerson"],
    );
    static SHARED_PATIENT: SearchParamDef = reference(
        "patient",
        "Observation",
        "AllergyIntolerance.patient | Observation.subject.where(resolve() is Patient) | \
         Observation.focus.where(resolve() is Patient)",
        &["Patient"],
    );

    fn resource(value: Value) -> Resource {
        Resource::new(value).unwrap()
    }

    fn pairs(refs: Vec<LocalRef<'_>>) -> Vec<(&str, &str)> {
        refs.into_iter().map(|r| (r.resource_type, r.id)).collect()
    }

    #[test]
    fn where_resolve_is_filters_by_type() {
        let patient = resource(json!({
            "resourceType": "Observation", "id": "o1",
            "subject": {"reference": "Patient/p1"}
        }));
        assert_eq!(
            pairs(references(&patient, &OBS_PATIENT, None)),
            [("Patient", "p1")]
        );
        let group = resource(json!({
            "resourceType": "Observation", "id": "o2",
            "subject": {"reference": "Group/g1"}
        }));
        assert!(references(&group, &OBS_PATIENT, None).is_empty());
        assert_eq!(
            pairs(references(&group, &OBS_SUBJECT, None)),
            [("Group", "g1")]
        );
    }

    #[test]
    fn choice_type_cast_reads_the_reference_variant() {
        let by_reference = resource(json!({
            "resourceType": "MedicationRequest", "id": "m1",
            "medicationReference": {"reference": "Medication/med-7"}
        }));
        assert_eq!(
            pairs(references(&by_reference, &MEDREQ_MEDICATION, None)),
            [("Medication", "med-7")]
        );
        let by_code = resource(json!({
            "resourceType": "MedicationRequest", "id": "m2",
            "medicationCodeableConcept": {"text": "aspirin"}
        }));
        assert!(references(&by_code, &MEDREQ_MEDICATION, None).is_empty());

        let function_form = SearchParamDef {
            expression: "MedicationRequest.medication.as(Reference)",
            ..MEDREQ_MEDICATION
        };
        assert_eq!(
            pairs(references(&by_reference, &function_form, None)),
            [("Medication", "med-7")]
        );
    }

    #[test]
    fn paths_flatten_arrays() {
        let encounter = resource(json!({
            "resourceType": "Encounter", "id": "e1",
            "participant": [
                {"individual": {"reference": "Practitioner/dr-1"}},
                {"type": [{"text": "no individual"}]},
                {"individual": {"reference": "RelatedPerson/rp-2/_history/3"}}
            ]
        }));
        assert_eq!(
            pairs(references(&encounter, &ENC_PARTICIPANT, None)),
            [("Practitioner", "dr-1"), ("RelatedPerson", "rp-2")]
        );
    }

    #[test]
    fn unions_skip_branches_of_other_types() {
        let observation = resource(json!({
            "resourceType": "Observation", "id": "o1",
            "subject": {"reference": "Patient/p1"},
            "focus": [{"reference": "Patient/p2"}, {"reference": "Condition/c1"}],
            "patient": {"reference": "Patient/not-an-observation-element"}
        }));
        assert_eq!(
            pairs(references(&observation, &SHARED_PATIENT, None)),
            [("Patient", "p1"), ("Patient", "p2")]
        );
    }

    #[test]
    fn only_local_references_are_returned() {
        let observation = resource(json!({
            "resourceType": "Observation", "id": "o1",
            "subject": [
                {"reference": "#contained"},
                {"reference": "http://other.example/fhir/Patient/x"},
                {"reference": "https://fhir.example/r4/Patient/p9"},
                {"reference": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
                {"identifier": {"system": "urn:mrn", "value": "123"}},
                {"reference": "Patient"},
                {"reference": "Patient/p1/extra"},
                {"reference": "Unknown/id with space"},
                {"reference": "Medication/m1"}
            ]
        }));
        assert_eq!(
            pairs(references(
                &observation,
                &OBS_SUBJECT,
                Some("https://fhir.example/r4/")
            )),
            [("Patient", "p9")]
        );
        assert!(references(&observation, &OBS_SUBJECT, None).is_empty());
    }

    #[test]
    fn unsupported_expressions_yield_nothing() {
        let observation = resource(json!({
            "resourceType": "Observation", "id": "o1",
            "subject": {"reference": "Patient/p1"}
        }));
        for expression in [
            "Observation.subject.where(display = 'x')",
            "Observation.subject.resolve()",
            "Observation.subject[0]",
            "Observation.subject.first()",
            "(Observation.subject",
            "Observation.subject.where(resolve() isPatient)",
            "",
        ] {
            let def = SearchParamDef {
                expression,
                ..OBS_SUBJECT
            };
            assert!(
                references(&observation, &def, None).is_empty(),
                "{expression}"
            );
        }
        let mixed = SearchParamDef {
            expression: "Observation.subject.first() | Observation.subject",
            ..OBS_SUBJECT
        };
        assert_eq!(
            pairs(references(&observation, &mixed, None)),
            [("Patient", "p1")]
        );
        let token = SearchParamDef {
            kind: SearchParamType::Token,
            ..OBS_SUBJECT
        };
        assert!(references(&observation, &token, None).is_empty());
    }
}
