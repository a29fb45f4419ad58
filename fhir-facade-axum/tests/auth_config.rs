//! AuthConfig from environment variables, and bearer header parsing.

use fhir_facade_axum::auth::{AuthConfig, AuthError, bearer_token};
use std::collections::HashMap;

const BASE: &str = "https://fhir.example.org/fhir";

fn from(vars: &[(&str, &str)]) -> Result<Option<AuthConfig>, AuthError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AuthConfig::from_lookup(BASE, |name| vars.get(name).cloned())
}

#[test]
fn no_issuer_means_an_open_server() {
    assert_eq!(from(&[]), Ok(None));
    assert_eq!(from(&[("FHIR_FACADE_OIDC_ISSUER", " , ")]), Ok(None));
}

#[test]
fn defaults() {
    let config = from(&[(
        "FHIR_FACADE_OIDC_ISSUER",
        "https://idp.example.org/realms/fhir",
    )])
    .unwrap()
    .unwrap();
    assert_eq!(config.issuers(), ["https://idp.example.org/realms/fhir"]);
    assert_eq!(config.audiences(), [BASE]);
    assert_eq!(config.claims.scope, "scope");
    assert_eq!(config.claims.patient, "patient");
    assert_eq!(config.claims.fhir_user, "fhirUser");
    assert_eq!(config.leeway.as_secs(), 30);
    assert_eq!(config.min_refresh_interval.as_secs(), 30);
}

#[test]
fn lists_and_claim_names() {
    let config = from(&[
        (
            "FHIR_FACADE_OIDC_ISSUER",
            "https://idp.example.org/realms/a, https://idp.example.org/realms/b",
        ),
        (
            "FHIR_FACADE_OIDC_AUDIENCE",
            "https://a.example.org/fhir,fhir-api",
        ),
        ("FHIR_FACADE_OIDC_SCOPE_CLAIM", "scp"),
        ("FHIR_FACADE_OIDC_PATIENT_CLAIM", "patient_id"),
        ("FHIR_FACADE_OIDC_FHIRUSER_CLAIM", "fhir_user"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        config.issuers(),
        [
            "https://idp.example.org/realms/a",
            "https://idp.example.org/realms/b"
        ]
    );
    assert_eq!(
        config.audiences(),
        ["https://a.example.org/fhir", "fhir-api"]
    );
    assert_eq!(config.claims.scope, "scp");
    assert_eq!(config.claims.patient, "patient_id");
    assert_eq!(config.claims.fhir_user, "fhir_user");
}

#[test]
fn http_issuer_off_loopback_is_a_config_error() {
    let err = from(&[(
        "FHIR_FACADE_OIDC_ISSUER",
        "https://idp.example.org/realms/a,http://idp.example.org/realms/b",
    )])
    .unwrap_err();
    assert!(matches!(err, AuthError::Config(_)), "{err}");
    assert_eq!(fhir_facade_core::Error::from(err).status(), 500);

    assert!(matches!(
        AuthConfig::new(["http://idp.example.org/realms/fhir"], [BASE]),
        Err(AuthError::Config(_))
    ));
    assert!(AuthConfig::new(["http://127.0.0.1:8080/realms/fhir"], [BASE]).is_ok());
    assert!(AuthConfig::new(["http://localhost:8080/realms/fhir"], [BASE]).is_ok());
    assert!(AuthConfig::new(["http://[::1]:8080/realms/fhir"], [BASE]).is_ok());
}

#[test]
fn an_audience_is_required() {
    assert!(matches!(
        AuthConfig::new(["https://idp.example.org/realms/fhir"], [""]),
        Err(AuthError::Config(_))
    ));
}

#[test]
fn bearer_headers() {
    assert_eq!(bearer_token("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
    assert_eq!(bearer_token("bearer  abc-_~+/="), Ok("abc-_~+/="));
    assert_eq!(
        bearer_token("Basic dXNlcjpwdw=="),
        Err(AuthError::MissingToken)
    );
    assert_eq!(bearer_token("Bearer"), Err(AuthError::MissingToken));
    assert_eq!(bearer_token("Bearer a b"), Err(AuthError::Malformed));
    assert_eq!(bearer_token("Bearer ==="), Err(AuthError::Malformed));
}

#[test]
fn refusals_are_401_with_a_login_issue() {
    let err = fhir_facade_core::Error::from(AuthError::Expired);
    assert_eq!(err.status(), 401);
    assert_eq!(err.to_operation_outcome()["issue"][0]["code"], "login");
}

#[test]
fn introspection_credentials_go_together() {
    let issuer = (
        "FHIR_FACADE_OIDC_ISSUER",
        "https://idp.example.org/realms/fhir",
    );
    let config = from(&[
        issuer,
        ("FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_ID", "fhir-facade"),
        ("FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_SECRET", "hunter2"),
    ])
    .unwrap()
    .unwrap();
    let introspection = config.introspection.unwrap();
    assert_eq!(introspection.issuer, "https://idp.example.org/realms/fhir");
    assert_eq!(introspection.client_id, "fhir-facade");
    assert!(!format!("{introspection:?}").contains("hunter2"));

    assert!(matches!(
        from(&[
            issuer,
            ("FHIR_FACADE_OIDC_INTROSPECTION_CLIENT_ID", "fhir-facade")
        ]),
        Err(AuthError::Config(_))
    ));
    assert_eq!(from(&[issuer]).unwrap().unwrap().introspection, None);
}
