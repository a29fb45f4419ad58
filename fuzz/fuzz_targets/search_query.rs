//! A search query string, as a client writes it, parsed for the types of the OMOP mapping.
#![no_main]

use fhir_facade_core::SearchQuery;
use fhir_facade_core::search::{Handling, ParseOptions, SupportedParams};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static PARAMS: LazyLock<SupportedParams> = LazyLock::new(|| {
    let at = omop_facade::mapping::CdmLocation::default_schema();
    omop_facade::mapping::schema(&at, &fhir_facade_core::sql::PgDialect)
        .expect("the OMOP mapping builds")
        .supported_params()
});

const TYPES: [&str; 4] = ["Patient", "Observation", "Encounter", "Condition"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let query = String::from_utf8_lossy(rest);
    let options = ParseOptions {
        handling: if first & 0x80 == 0 {
            Handling::Lenient
        } else {
            Handling::Strict
        },
        base_url: Some("https://fhir.example/fhir"),
    };
    let resource_type = TYPES[usize::from(first) % TYPES.len()];
    // Either a query or an error with a 4xx: never a panic, never a 5xx.
    if let Err(error) = SearchQuery::parse(resource_type, &query, &*PARAMS, &options) {
        assert!((400..500).contains(&error.status()), "{error}");
    }
});
