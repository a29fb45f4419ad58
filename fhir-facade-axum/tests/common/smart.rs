//! A SMART-protected router over Patient, Observation and Condition, and tokens for it.

use super::idp::{AUDIENCE, Idp, now, rsa_key, sign};
use super::{memory, memory_patients, send};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fhir_facade_axum::FhirRouter;
use fhir_facade_axum::auth::{AuditSink, AuthConfig, TokenValidator};
use fhir_facade_core::Facade;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::sync::Arc;

/// The facade: patients p1 and p2, one Observation of each, and one Condition of p1.
pub fn facade() -> Facade {
    let observation = |id: &str, patient: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
               "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}})
    };
    Facade::builder()
        .provider(memory_patients(&["p1", "p2"]))
        .provider(memory(
            "Observation",
            vec![observation("o1", "p1"), observation("o2", "p2")],
        ))
        .provider(memory(
            "Condition",
            vec![json!({"resourceType": "Condition", "id": "c1",
                        "subject": {"reference": "Patient/p1"}})],
        ))
        .build()
        .unwrap()
}

/// A validator trusting the IdP's `fhir` realm.
pub fn validator(idp: &Idp) -> TokenValidator {
    TokenValidator::new(AuthConfig::new([idp.issuer("fhir")], [AUDIENCE]).unwrap()).unwrap()
}

/// The protected router, auditing to `audit` when given.
pub fn router(idp: &Idp, audit: Option<Arc<dyn AuditSink>>) -> Router {
    let mut builder = FhirRouter::builder(facade()).auth(validator(idp));
    if let Some(sink) = audit {
        builder = builder.audit(sink);
    }
    builder.build()
}

/// Valid claims of the `fhir` realm with `scope` and, when given, a launch patient.
pub fn claims(idp: &Idp, scope: &str, patient: Option<&str>) -> Value {
    let mut claims = json!({
        "iss": idp.issuer("fhir"),
        "aud": AUDIENCE,
        "exp": now() + 300,
        "iat": now(),
        "sub": "user-1",
        "azp": "smart-app",
        "scope": scope,
    });
    if let Some(patient) = patient {
        claims["patient"] = json!(patient);
    }
    claims
}

/// `claims` signed with the IdP's RS256 key.
pub fn token(claims: &Value) -> String {
    sign(Algorithm::RS256, "rs", &rsa_key(), claims)
}

/// `GET uri` with `Authorization: Bearer token`.
pub async fn get_with(app: &Router, uri: &str, token: &str) -> super::Reply {
    let request = Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}
