//! The FHIR routes protected by SMART on FHIR: 401 and 403 with their bearer challenges, the
//! public CapabilityStatement and SMART document, and scopes narrowing what a token sees.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::idp::{AUDIENCE, Idp, RSA_OTHER_PEM, now, sign};
use common::smart::{claims, get_with, router, token, validator};
use common::{get, patients, send};
use fhir_facade_axum::FhirRouter;
use fhir_facade_axum::auth::{AuthConfig, TokenValidator};
use fhir_facade_core::CapabilityOptions;
use fhir_facade_core::capability::{Implementation, SmartSecurity};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

#[tokio::test]
async fn no_token_is_a_401_with_a_bearer_challenge() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    for uri in ["/Patient/p1", "/Observation", "/Nothing/x/y/z/w"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="fhir""#)
        );
        assert_eq!(reply.issue_code(), "login");
    }
    // Another scheme is no bearer token either.
    let request = Request::get("/Patient/p1")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="fhir""#)
    );
}

#[tokio::test]
async fn refused_tokens_are_a_401_invalid_token() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let scope = "patient/Patient.rs";
    let mut expired = claims(&idp, scope, Some("p1"));
    expired["exp"] = json!(now() - 600);
    let mut wrong_audience = claims(&idp, scope, Some("p1"));
    wrong_audience["aud"] = json!("https://other.example.org/fhir");
    let other_key = EncodingKey::from_rsa_pem(RSA_OTHER_PEM).unwrap();
    let bad_signature = sign(
        Algorithm::RS256,
        "rs",
        &other_key,
        &claims(&idp, scope, Some("p1")),
    );
    for (case, token) in [
        ("expired", token(&expired)),
        ("wrong aud", token(&wrong_audience)),
        ("bad signature", bad_signature),
        ("malformed", "not-a-jwt".to_owned()),
    ] {
        let reply = get_with(&app, "/Patient/p1", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}");
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer "), "{case}: {challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{case}: {challenge}"
        );
        assert_eq!(reply.issue_code(), "login", "{case}");
        assert!(!String::from_utf8_lossy(&reply.body).contains(&token));
    }
}

#[tokio::test]
async fn a_valid_token_reads_what_its_scopes_grant() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let token = token(&claims(&idp, "patient/Patient.rs", Some("p1")));
    let reply = get_with(&app, "/Patient/p1", &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["id"], "p1");
}

#[tokio::test]
async fn metadata_is_public_and_names_the_smart_endpoints() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let reply = get(&app, "/metadata").await;
    assert_eq!(reply.status, StatusCode::OK);
    let json = reply.json();
    let security = &json["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let oauth = &security["extension"][0];
    assert_eq!(oauth["url"], OAUTH_URIS);
    let text = oauth.to_string();
    assert!(
        text.contains(&format!(
            "{}/protocol/openid-connect/token",
            idp.issuer("fhir")
        )),
        "{text}"
    );
    assert!(text.contains("/protocol/openid-connect/auth"), "{text}");
    // Fetched once and kept.
    assert_eq!(get(&app, "/metadata").await.status, StatusCode::OK);
    assert_eq!(
        idp.discovery_fetches
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn metadata_is_a_503_while_the_idp_is_unreachable() {
    let config = AuthConfig::new(["http://127.0.0.1:9/realms/fhir"], [AUDIENCE]).unwrap();
    let app = FhirRouter::builder(common::smart::facade())
        .auth(TokenValidator::new(config).unwrap())
        .build();
    let reply = get(&app, "/metadata").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.issue_code(), "transient");
}

#[tokio::test]
async fn the_smart_configuration_is_public_json_with_cors() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let request = Request::get("/.well-known/smart-configuration")
        .header("accept", "application/fhir+json")
        .header("origin", "https://app.example.org")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let json = reply.json();
    assert_eq!(json["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(json["issuer"], idp.issuer("fhir"));
    assert_eq!(
        json["token_endpoint"],
        format!("{}/protocol/openid-connect/token", idp.issuer("fhir"))
    );
}

#[tokio::test]
async fn without_auth_there_is_no_smart_configuration() {
    let reply = get(&patients(), "/.well-known/smart-configuration").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.issue_code(), "not-found");
    assert!(reply.header("www-authenticate").is_none());
}

#[tokio::test]
async fn cors_preflight_needs_no_token() {
    let idp = Idp::start().await;
    let request = Request::options("/Patient/p1")
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap();
    let reply = send(&router(&idp, None), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn a_type_outside_the_scopes_is_a_403_insufficient_scope() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let patient_token = token(&claims(&idp, "patient/Observation.rs", Some("p1")));
    let reply = get_with(&app, "/Condition?_id=c1", &patient_token).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="fhir", error="insufficient_scope""#)
    );
    assert_eq!(reply.issue_code(), "forbidden");

    let system_token = token(&claims(&idp, "system/Observation.rs", None));
    let reply = get_with(&app, "/Patient/p1", &system_token).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="insufficient_scope""#)
    );
    let reply = get_with(&app, "/Observation/o2", &system_token).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_patient_token_sees_only_its_patient() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let token = token(&claims(&idp, "patient/Observation.rs", Some("p1")));
    let reply = get_with(&app, "/Observation/o1", &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = get_with(&app, "/Observation/o2", &token).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.issue_code(), "not-found");
}

#[tokio::test]
async fn a_token_of_an_untrusted_realm_is_a_401() {
    let idp = Idp::start().await;
    let app = FhirRouter::builder(common::smart::facade())
        .auth(validator(&idp))
        .build();
    let mut other = claims(&idp, "patient/Patient.rs", Some("p1"));
    other["iss"] = json!(idp.issuer("other"));
    let reply = get_with(&app, "/Patient/p1", &token(&other)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
}

#[tokio::test]
async fn explicit_security_is_kept_and_nothing_is_fetched_for_it() {
    let config = AuthConfig::new(["http://127.0.0.1:9/realms/fhir"], [AUDIENCE]).unwrap();
    let mut options = CapabilityOptions::new(
        "2024-05-01",
        Implementation {
            description: "test".to_owned(),
            url: None,
        },
    );
    options.security = Some(SmartSecurity {
        authorize_url: "https://idp.example.org/auth".to_owned(),
        token_url: "https://idp.example.org/token".to_owned(),
        revoke_url: None,
        introspect_url: None,
        register_url: None,
        manage_url: None,
    });
    let app = FhirRouter::builder(common::smart::facade())
        .capability(options)
        .auth(TokenValidator::new(config).unwrap())
        .build();
    let reply = get(&app, "/metadata").await;
    assert_eq!(reply.status, StatusCode::OK);
    let security = reply.json()["rest"][0]["security"].to_string();
    assert!(
        security.contains("https://idp.example.org/token"),
        "{security}"
    );
}

#[tokio::test]
async fn metadata_in_a_batch_names_the_smart_endpoints_too() {
    let idp = Idp::start().await;
    let app = router(&idp, None);
    let token = token(&claims(&idp, "patient/Patient.rs", Some("p1")));
    let batch = json!({"resourceType": "Bundle", "type": "batch",
                       "entry": [{"request": {"method": "GET", "url": "metadata"}}]});
    let request = Request::post("/")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/fhir+json")
        .body(Body::from(batch.to_string()))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let statement = &reply.json()["entry"][0]["resource"];
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(
        statement["rest"][0]["security"]["extension"][0]["url"],
        OAUTH_URIS
    );
}
