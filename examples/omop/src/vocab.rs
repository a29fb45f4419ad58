//! OMOP vocabularies and FHIR code systems, in one table for the SQL and the row mappers.

use fhir_facade_core::Result;
use fhir_facade_core::sql::SqlRow;
use serde_json::{Value, json};

/// OMOP `vocabulary_id`s with a canonical FHIR code system URI. Codes of other vocabularies are
/// served as codings without a system (and match `code=|x` searches), never under a made-up URI.
pub const SYSTEMS: &[(&str, &str)] = &[
    ("LOINC", "http://loinc.org"),
    ("SNOMED", "http://snomed.info/sct"),
    ("RxNorm", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("CVX", "http://hl7.org/fhir/sid/cvx"),
    ("UCUM", "http://unitsofmeasure.org"),
    ("ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("ICD9CM", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("CPT4", "http://www.ama-assn.org/go/cpt"),
    ("NDC", "http://hl7.org/fhir/sid/ndc"),
];

/// The code system URI of an OMOP vocabulary.
pub fn system_uri(vocabulary_id: &str) -> Option<&'static str> {
    SYSTEMS
        .iter()
        .find(|(v, _)| *v == vocabulary_id)
        .map(|(_, uri)| *uri)
}

/// The SQL expression of the system URI for a `vocabulary_id` expression (`NULL` for others),
/// what token searches compare a `system|` with.
pub fn system_sql(vocabulary_expr: &str) -> String {
    let mut sql = format!("CASE {vocabulary_expr}");
    for (vocabulary, uri) in SYSTEMS {
        sql.push_str(&format!(" WHEN '{vocabulary}' THEN '{uri}'"));
    }
    sql.push_str(" END");
    sql
}

/// The LOINC codes of the FHIR R4 vital signs profiles: these measurements are `vital-signs`.
pub const VITAL_SIGNS_LOINC: &[&str] = &[
    "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4", "29463-7",
    "39156-5", "85354-9", "8480-6", "8462-4", "8478-0", "59576-9", "8289-1", "77606-2",
];

/// The observation-category code system.
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// A CodeableConcept from the concept columns `{prefix}_vocabulary`, `{prefix}_code` and
/// `{prefix}_display` of `row` (code `NULL` when the concept is 0 or unknown), with `text` from
/// the display or, failing that, the source value. `None` when there is neither.
pub fn codeable_concept<R: SqlRow>(
    row: &R,
    prefix: &str,
    source_value: Option<String>,
) -> Result<Option<Value>> {
    let code = row.get_opt_str(&format!("{prefix}_code"))?;
    let display = row.get_opt_str(&format!("{prefix}_display"))?;
    let vocabulary = row.get_opt_str(&format!("{prefix}_vocabulary"))?;
    let mut concept = serde_json::Map::new();
    if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
        let mut coding = serde_json::Map::new();
        if let Some(uri) = vocabulary.as_deref().and_then(system_uri) {
            coding.insert("system".into(), json!(uri));
        }
        coding.insert("code".into(), json!(code.trim()));
        if let Some(d) = display.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            coding.insert("display".into(), json!(d));
        }
        // Moved in, not through `json!`, which would serialize a copy.
        concept.insert("coding".into(), Value::Array(vec![Value::Object(coding)]));
    }
    let text = display
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .or_else(|| {
            source_value
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        });
    if let Some(text) = text {
        concept.insert("text".into(), json!(text));
    }
    Ok((!concept.is_empty()).then_some(Value::Object(concept)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_sql_lists_every_vocabulary() {
        let sql = system_sql("c.vocabulary_id");
        assert!(sql.starts_with("CASE c.vocabulary_id WHEN 'LOINC' THEN 'http://loinc.org'"));
        assert!(sql.ends_with(" END"));
        for (v, uri) in SYSTEMS {
            assert!(sql.contains(&format!("WHEN '{v}' THEN '{uri}'")));
            assert_eq!(system_uri(v), Some(*uri));
        }
        assert_eq!(system_uri("None"), None);
    }
}
