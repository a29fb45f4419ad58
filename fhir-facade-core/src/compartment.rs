//! Compartments: which resources belong to a patient's record.
//!
//! The table in `r4` is generated from the official R4 `CompartmentDefinition/patient` by
//! `tools/gen-fhir-defs.py`; do not edit it by hand.

pub(crate) mod r4;

use crate::Resource;
use crate::search::references;
use crate::search::registry::r4_param;

/// The search parameter codes that put a resource of `resource_type` into a patient's compartment:
/// a resource is in the compartment of patient `P` when any of these parameters refers to `P`
/// (e.g. `Observation` → `subject`, `performer`). Empty for types outside the compartment.
///
/// `Patient` itself is listed with `link` (patients linked to `P`), but a patient is also in its own
/// compartment by id: the core adds `_id=<P>` when searching `Patient` within a compartment, so
/// callers need not handle that case here.
pub fn patient_compartment_params(resource_type: &str) -> &'static [&'static str] {
    r4::PATIENT_COMPARTMENT
        .binary_search_by(|(t, _)| (*t).cmp(resource_type))
        .map_or(&[], |i| r4::PATIENT_COMPARTMENT[i].1)
}

/// Whether `resource` is in the compartment of `compartment_type/id`, judged from its JSON.
///
/// Only the Patient compartment is known; any other compartment type contains nothing, so an
/// unknown constraint fails closed. References are read with the same FHIRPath subset as
/// `_include`; a resource whose compartment references cannot be read is outside.
pub fn contains(
    resource: &Resource,
    compartment_type: &str,
    id: &str,
    base_url: Option<&str>,
) -> bool {
    if compartment_type != "Patient" {
        return false;
    }
    let resource_type = resource.resource_type();
    if resource_type == "Patient" && resource.id() == Some(id) {
        return true;
    }
    patient_compartment_params(resource_type)
        .iter()
        .filter_map(|code| r4_param(resource_type, code))
        .any(|param| {
            references(resource, param, base_url)
                .iter()
                .any(|r| r.resource_type == "Patient" && r.id == id)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted() {
        assert!(r4::PATIENT_COMPARTMENT.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(r4::PATIENT_COMPARTMENT.iter().all(|(_, p)| !p.is_empty()));
    }

    #[test]
    fn known_types() {
        assert_eq!(
            patient_compartment_params("Observation"),
            ["subject", "performer"]
        );
        assert_eq!(patient_compartment_params("Patient"), ["link"]);
        assert!(patient_compartment_params("Encounter").contains(&"patient"));
    }

    #[test]
    fn membership_from_the_json() {
        let obs = |subject: &str| {
            Resource::new(serde_json::json!({
                "resourceType": "Observation", "id": "o",
                "subject": {"reference": subject}
            }))
            .unwrap()
        };
        assert!(contains(&obs("Patient/p1"), "Patient", "p1", None));
        assert!(!contains(&obs("Patient/p2"), "Patient", "p1", None));
        assert!(!contains(&obs("Group/p1"), "Patient", "p1", None));
        assert!(!contains(&obs("Patient/p1"), "Practitioner", "p1", None));
        let patient =
            Resource::new(serde_json::json!({"resourceType": "Patient", "id": "p1"})).unwrap();
        assert!(contains(&patient, "Patient", "p1", None));
        assert!(!contains(&patient, "Patient", "p2", None));
        let orphan =
            Resource::new(serde_json::json!({"resourceType": "Observation", "id": "x"})).unwrap();
        assert!(!contains(&orphan, "Patient", "p1", None));
    }

    #[test]
    fn types_outside_the_compartment() {
        assert!(patient_compartment_params("Organization").is_empty());
        assert!(patient_compartment_params("Medication").is_empty());
        assert!(patient_compartment_params("NoSuchType").is_empty());
    }

    #[test]
    fn params_of_covered_types_are_defined() {
        for &resource_type in crate::search::registry::R4_RESOURCE_TYPES {
            for code in patient_compartment_params(resource_type) {
                assert!(
                    crate::search::registry::r4_param(resource_type, code).is_some(),
                    "{resource_type}.{code}"
                );
            }
        }
    }
}
