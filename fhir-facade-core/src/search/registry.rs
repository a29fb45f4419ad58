//! Search parameter definitions: what a parameter is called, its type, what it may be combined with.
//!
//! The R4 standard definitions in `r4` are generated from the official `SearchParameter` resources by
//! `tools/gen-fhir-defs.py`; do not edit them by hand. Look them up with [`r4_param`] and [`r4_params`].

pub(crate) mod r4;

/// The type of a search parameter (FHIR `SearchParamType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchParamType {
    /// `number`
    Number,
    /// `date`
    Date,
    /// `string`
    String,
    /// `token`
    Token,
    /// `reference`
    Reference,
    /// `composite`
    Composite,
    /// `quantity`
    Quantity,
    /// `uri`
    Uri,
    /// `special`
    Special,
}

impl SearchParamType {
    /// The code as the CapabilityStatement writes it.
    pub fn code(self) -> &'static str {
        match self {
            SearchParamType::Number => "number",
            SearchParamType::Date => "date",
            SearchParamType::String => "string",
            SearchParamType::Token => "token",
            SearchParamType::Reference => "reference",
            SearchParamType::Composite => "composite",
            SearchParamType::Quantity => "quantity",
            SearchParamType::Uri => "uri",
            SearchParamType::Special => "special",
        }
    }

    /// Whether values of this type take a comparison prefix (`ge`, `lt`, ...).
    pub fn takes_prefix(self) -> bool {
        matches!(
            self,
            SearchParamType::Number | SearchParamType::Date | SearchParamType::Quantity
        )
    }
}

/// One component of a composite parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// The code of the parameter (on the same resource type) that this component is searched as.
    pub code: &'static str,
    /// The FHIRPath of the component, relative to the composite's expression.
    pub expression: &'static str,
}

/// The definition of one search parameter on one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParamDef {
    /// The name used in URLs (`birthdate`, `_id`).
    pub code: &'static str,
    /// The resource type this definition applies to (`Resource` for the common parameters).
    pub resource_type: &'static str,
    /// The parameter's type.
    pub kind: SearchParamType,
    /// The FHIRPath expression for this resource type.
    pub expression: &'static str,
    /// For references: the resource types it may point to.
    pub targets: &'static [&'static str],
    /// For composites: the components in order.
    pub components: &'static [Component],
    /// The canonical URL of the definition.
    pub url: &'static str,
}

impl SearchParamDef {
    /// Whether this is a token parameter on an `identifier` element (its expression ends in
    /// `.identifier`), the only kind of parameter that accepts the `:of-type` modifier.
    pub fn is_identifier(&self) -> bool {
        self.kind == SearchParamType::Token && self.expression.ends_with(".identifier")
    }

    /// Whether this is one of the parameters common to all resources (`_id`, `_lastUpdated`, ...).
    pub fn is_common(&self) -> bool {
        self.resource_type == COMMON
    }
}

/// The `resource_type` of the common parameters in the generated R4 table.
const COMMON: &str = "Resource";

/// The resource types that the generated R4 table has definitions for (besides the common `Resource` ones),
/// sorted; generated with the table.
pub use r4::RESOURCE_TYPES as R4_RESOURCE_TYPES;

/// The definitions in the generated R4 table whose `resource_type` is exactly `resource_type`, sorted by code.
fn r4_own(resource_type: &str) -> &'static [SearchParamDef] {
    let start = r4::PARAMS.partition_point(|p| p.resource_type < resource_type);
    let len = r4::PARAMS[start..].partition_point(|p| p.resource_type == resource_type);
    &r4::PARAMS[start..start + len]
}

/// The R4 definition of `code` on `resource_type`: the type's own parameter, else the common
/// (`Resource`) one of that code, else `None`.
pub fn r4_param(resource_type: &str, code: &str) -> Option<&'static SearchParamDef> {
    let find = |params: &'static [SearchParamDef]| {
        params
            .binary_search_by(|p| p.code.cmp(code))
            .ok()
            .map(|i| &params[i])
    };
    find(r4_own(resource_type)).or_else(|| find(r4_own(COMMON)))
}

/// All R4 parameters searchable on `resource_type`: its own, by code, then the common ones.
///
/// For a type not in [`R4_RESOURCE_TYPES`] (or `Resource` itself) only the common ones are yielded.
pub fn r4_params(resource_type: &str) -> impl Iterator<Item = &'static SearchParamDef> + use<> {
    let own = if resource_type == COMMON {
        &[]
    } else {
        r4_own(resource_type)
    };
    let common = r4_own(COMMON)
        .iter()
        .filter(move |c| own.binary_search_by(|p| p.code.cmp(c.code)).is_err());
    own.iter().chain(common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(resource_type: &str, code: &str) -> &'static SearchParamDef {
        r4_param(resource_type, code)
            .unwrap_or_else(|| panic!("{resource_type}.{code} is not defined"))
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(
            r4::PARAMS
                .windows(2)
                .all(|w| (w[0].resource_type, w[0].code) < (w[1].resource_type, w[1].code))
        );
    }

    #[test]
    fn table_covers_exactly_the_listed_types() {
        assert!(R4_RESOURCE_TYPES.windows(2).all(|w| w[0] < w[1]));
        let mut types: Vec<&str> = r4::PARAMS.iter().map(|p| p.resource_type).collect();
        types.dedup();
        let mut expected = R4_RESOURCE_TYPES.to_vec();
        expected.push(COMMON);
        expected.sort_unstable();
        assert_eq!(types, expected);
    }

    #[test]
    fn element_tables_cover_the_registry_types_in_order() {
        use crate::resource::elements::r4 as elements;
        for table in [
            elements::SUMMARY_ELEMENTS,
            elements::MANDATORY_ELEMENTS,
            elements::CHOICE_ELEMENTS,
        ] {
            let types: Vec<&str> = table.iter().map(|(t, _)| *t).collect();
            assert_eq!(types, R4_RESOURCE_TYPES);
        }
    }

    #[test]
    fn patient_birthdate() {
        let p = param("Patient", "birthdate");
        assert_eq!(p.kind, SearchParamType::Date);
        assert_eq!(p.expression, "Patient.birthDate");
        assert_eq!(p.resource_type, "Patient");
        assert_eq!(
            p.url,
            "http://hl7.org/fhir/SearchParameter/individual-birthdate"
        );
    }

    #[test]
    fn observation_patient_is_the_split_union_part() {
        let p = param("Observation", "patient");
        assert_eq!(p.kind, SearchParamType::Reference);
        assert_eq!(
            p.expression,
            "Observation.subject.where(resolve() is Patient)"
        );
        // The official multi-base definition (clinical-patient) lists Patient and Group.
        assert!(p.targets.contains(&"Patient"));
        assert_eq!(p.targets, ["Patient", "Group"]);
    }

    #[test]
    fn parenthesised_union_parts_are_kept_per_type() {
        assert_eq!(
            param("MedicationRequest", "code").expression,
            "(MedicationRequest.medication as CodeableConcept)"
        );
        assert_eq!(
            param("Practitioner", "email").expression,
            "Practitioner.telecom.where(system='email')"
        );
        assert_eq!(
            param("Observation", "value-quantity").expression,
            "(Observation.value as Quantity) | (Observation.value as SampledData)"
        );
    }

    #[test]
    fn observation_component_code_value_quantity() {
        let p = param("Observation", "component-code-value-quantity");
        assert_eq!(p.kind, SearchParamType::Composite);
        assert_eq!(p.expression, "Observation.component");
        let codes: Vec<&str> = p.components.iter().map(|c| c.code).collect();
        assert_eq!(codes, ["component-code", "component-value-quantity"]);
        assert_eq!(p.components[1].expression, "value.as(Quantity)");
    }

    #[test]
    fn composite_components_resolve_on_the_same_type() {
        for p in r4::PARAMS
            .iter()
            .filter(|p| p.kind == SearchParamType::Composite)
        {
            assert!(!p.components.is_empty(), "{}.{}", p.resource_type, p.code);
            for c in p.components {
                let target = r4_param(p.resource_type, c.code);
                assert!(
                    target.is_some_and(|t| t.kind != SearchParamType::Composite),
                    "{}.{} component {}",
                    p.resource_type,
                    p.code,
                    c.code
                );
            }
        }
    }

    #[test]
    fn common_parameters() {
        let id = param("Patient", "_id");
        assert_eq!(id.kind, SearchParamType::Token);
        assert_eq!(id.resource_type, "Resource");
        assert_eq!(id.expression, "Resource.id");
        assert!(id.is_common());
        assert_eq!(
            param("Observation", "_lastUpdated").kind,
            SearchParamType::Date
        );
        assert_eq!(param("Encounter", "_text").resource_type, "Resource");
        assert!(r4_param("Patient", "no-such-param").is_none());
        assert!(r4_param("NoSuchType", "_id").is_some());
        assert!(r4_param("NoSuchType", "name").is_none());
    }

    #[test]
    fn observation_value_quantity() {
        assert_eq!(
            param("Observation", "value-quantity").kind,
            SearchParamType::Quantity
        );
    }

    #[test]
    fn medication_request_medication_targets_medication() {
        let p = param("MedicationRequest", "medication");
        assert_eq!(p.kind, SearchParamType::Reference);
        assert!(p.targets.contains(&"Medication"));
        assert_eq!(p.expression, "(MedicationRequest.medication as Reference)");
    }

    #[test]
    fn only_references_have_targets() {
        for p in r4::PARAMS {
            assert_eq!(
                p.kind == SearchParamType::Reference,
                !p.targets.is_empty(),
                "{}.{}",
                p.resource_type,
                p.code
            );
        }
    }

    #[test]
    fn identifier_params() {
        assert!(param("Patient", "identifier").is_identifier());
        assert!(param("Observation", "identifier").is_identifier());
        assert!(!param("Patient", "name").is_identifier());
        assert!(!param("Patient", "_id").is_identifier());
    }

    #[test]
    fn r4_params_lists_own_then_common() {
        let patient: Vec<&str> = r4_params("Patient").map(|p| p.code).collect();
        assert!(patient.contains(&"birthdate"));
        assert!(patient.contains(&"_id"));
        assert!(!patient.contains(&"value-quantity"));
        let own = patient.iter().take_while(|c| !c.starts_with('_')).count();
        assert!(patient[..own].windows(2).all(|w| w[0] < w[1]));
        let common = r4_params("Resource").count();
        assert!(common > 0);
        assert_eq!(r4_params("NoSuchType").count(), common);
        let mut unique = patient.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), patient.len());
    }
}
