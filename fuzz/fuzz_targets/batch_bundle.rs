//! A body POSTed to the FHIR base (a batch Bundle) through the axum routes, over an in-memory
//! facade: every answer is a FHIR response below 500.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use fhir_facade_axum::FhirRouter;
use fhir_facade_core::{Facade, MemoryProvider};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use tower::ServiceExt;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

static ROUTER: LazyLock<axum::Router> = LazyLock::new(|| {
    let patients = MemoryProvider::new("Patient");
    let observations = MemoryProvider::new("Observation");
    let facade = Facade::builder()
        .provider(patients)
        .provider(observations)
        .build()
        .expect("a facade");
    FhirRouter::builder(facade).build()
});

fuzz_target!(|data: &[u8]| {
    let (path, body) = match data.first() {
        Some(b) if b % 2 == 0 => ("/", &data[1..]),
        Some(_) => ("/Patient", &data[1..]),
        None => return,
    };
    let request = Request::post(path)
        .header("content-type", "application/fhir+json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let response = RUNTIME
        .block_on(ROUTER.clone().oneshot(request))
        .expect("infallible");
    assert!(response.status().as_u16() < 500, "{}", response.status());
});
