//! The external checkers themselves: the second validator must reject what is not FHIR and accept
//! what the core produces, or the suite's "zero errors" would mean nothing.

use fhir_facade_core::Error;
use fhir_facade_tests::external::external_tools;
use serde_json::json;

#[test]
fn the_second_validator_rejects_invalid_resources_and_accepts_valid_ones() {
    let Some(tools) = external_tools() else {
        return;
    };
    let invalid = [
        json!({"resourceType": "Patient", "id": "bad-date", "birthDate": "15.06.1980"}),
        json!({"resourceType": "Patient", "id": "unknown-element", "bogus": 1}),
        json!({"resourceType": "Observation", "id": "no-status", "code": {"text": "x"}}),
    ];
    let errors = tools.validate(&invalid);
    assert_eq!(errors.len(), invalid.len(), "{errors:#?}");

    let outcome = Error::invalid_search("birthdate", "not a date").to_operation_outcome();
    let valid = [
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-06", "gender": "female"}),
        outcome,
    ];
    assert_eq!(tools.validate(&valid), Vec::<String>::new());
}
