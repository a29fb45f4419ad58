//! Top-level elements of the covered R4 resource types: those in the `_summary=true` view and the
//! mandatory ones (which `_elements` must keep).
//!
//! The tables in [`r4`] are generated from the official R4 `StructureDefinition`s by
//! `tools/gen-fhir-defs.py`; do not edit them by hand.
//!
//! Names are the JSON property names, except that a choice element is written as in its
//! definition, `value[x]`: in JSON it appears as `valueQuantity`, `valueString`, ... — the stem
//! followed by a type name. Keeping the `[x]` tells choices apart from elements that merely share a
//! prefix (`Encounter.class` and `Encounter.classHistory`).

pub(crate) mod r4;

/// Looks `resource_type` up in a table sorted by type.
fn lookup(
    table: &'static [(&'static str, &'static [&'static str])],
    resource_type: &str,
) -> &'static [&'static str] {
    table
        .binary_search_by(|(t, _)| (*t).cmp(resource_type))
        .map_or(&[], |i| table[i].1)
}

/// The top-level elements of `resource_type` marked `isSummary` (including `id` and `meta`), in
/// definition order, choice elements as `name[x]`. Empty for types not covered.
pub(crate) fn summary_elements(resource_type: &str) -> &'static [&'static str] {
    lookup(r4::SUMMARY_ELEMENTS, resource_type)
}

/// The top-level elements of `resource_type` with a minimum cardinality of at least 1, in
/// definition order, choice elements as `name[x]`. Empty for types not covered or without
/// mandatory elements.
pub(crate) fn mandatory_elements(resource_type: &str) -> &'static [&'static str] {
    lookup(r4::MANDATORY_ELEMENTS, resource_type)
}

/// The stems of the top-level choice elements of `resource_type` (`value` for `value[x]`).
pub(crate) fn choice_elements(resource_type: &str) -> &'static [&'static str] {
    lookup(r4::CHOICE_ELEMENTS, resource_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation() {
        let summary = summary_elements("Observation");
        for name in [
            "id",
            "meta",
            "status",
            "code",
            "subject",
            "value[x]",
            "effective[x]",
        ] {
            assert!(summary.contains(&name), "{name}");
        }
        assert!(!summary.contains(&"note"));
        assert_eq!(mandatory_elements("Observation"), ["status", "code"]);
        assert!(choice_elements("Observation").contains(&"value"));
        assert!(!choice_elements("Encounter").contains(&"class"));
    }

    #[test]
    fn patient_and_unknown_types() {
        assert!(summary_elements("Patient").contains(&"birthDate"));
        assert!(mandatory_elements("Patient").is_empty());
        assert!(summary_elements("NoSuchType").is_empty());
        assert!(mandatory_elements("NoSuchType").is_empty());
    }
}
