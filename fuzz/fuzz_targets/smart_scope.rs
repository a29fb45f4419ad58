//! A SMART scope string from a token's `scope` claim.
#![no_main]

use fhir_facade_core::Interaction;
use fhir_facade_core::smart::ResourceScope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for scope in text.split(' ') {
        if let Some(parsed) = ResourceScope::parse(scope) {
            // A scope that parses grants something coherent for any type it is asked about.
            let _ = parsed.allows("Patient", Interaction::Read);
            let _ = parsed.allows("Observation", Interaction::SearchType);
        }
    }
});
