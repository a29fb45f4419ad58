//! A request body read as a resource.
#![no_main]

use fhir_facade_core::Resource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Resource::from_json_bytes(data) {
        Ok(resource) => {
            assert!(!resource.resource_type().is_empty());
        }
        Err(error) => assert!((400..500).contains(&error.status()), "{error}"),
    }
});
