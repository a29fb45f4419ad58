//! RFC 7662 introspection of opaque tokens, against a local introspection endpoint.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use fhir_facade_axum::auth::{AuthConfig, AuthError, Introspection, TokenValidator};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const AUDIENCE: &str = "https://fhir.example.org/fhir";
const CLIENT_ID: &str = "fhir-facade";
const CLIENT_SECRET: &str = "s:cret";

struct Idp {
    issuer: String,
    calls: AtomicUsize,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn discovery(State(idp): State<Arc<Idp>>) -> Json<Value> {
    Json(json!({
        "issuer": idp.issuer,
        "jwks_uri": format!("{}/certs", idp.issuer),
        "introspection_endpoint": format!("{}/introspect", idp.issuer),
    }))
}

async fn introspect(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, StatusCode> {
    idp.calls.fetch_add(1, Ordering::SeqCst);
    // RFC 6749 2.3.1: the secret is form-encoded before base64, so ':' arrives as %3A.
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("fhir-facade:s%3Acret")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("token_type_hint"), "access_token");
    let mut active = json!({
        "active": true,
        "iss": idp.issuer,
        "aud": [AUDIENCE, "account"],
        "exp": now() + 60,
        "sub": "u1",
        "client_id": "smart-app",
        "scope": "user/*.rs openid",
        "fhirUser": "Practitioner/7",
    });
    let response = match field("token").as_str() {
        "opaque-good" => active,
        "opaque-wrong-aud" => {
            active["aud"] = json!("account");
            active
        }
        "opaque-expired" => {
            active["exp"] = json!(now() - 120);
            active
        }
        "opaque-no-exp" => {
            active.as_object_mut().unwrap().remove("exp");
            active
        }
        "opaque-future" => {
            active["nbf"] = json!(now() + 300);
            active
        }
        "opaque-other-iss" => {
            active["iss"] = json!("https://idp.example.org/realms/other");
            active
        }
        _ => json!({"active": false}),
    };
    Ok(Json(response))
}

async fn start() -> Arc<Idp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp = Arc::new(Idp {
        issuer: format!("http://{}/realms/fhir", listener.local_addr().unwrap()),
        calls: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route(
            "/realms/fhir/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/realms/fhir/introspect", post(introspect))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    idp
}

fn validator(idp: &Idp, secret: &str) -> TokenValidator {
    let mut config = AuthConfig::new([idp.issuer.clone()], [AUDIENCE]).unwrap();
    config.introspection = Some(Introspection::new(idp.issuer.clone(), CLIENT_ID, secret));
    TokenValidator::new(config).unwrap()
}

#[tokio::test]
async fn an_active_opaque_token_is_accepted() {
    let idp = start().await;
    let valid = validator(&idp, CLIENT_SECRET)
        .validate("opaque-good")
        .await
        .unwrap();
    assert_eq!(valid.issuer, idp.issuer);
    assert_eq!(valid.client_id.as_deref(), Some("smart-app"));
    assert_eq!(valid.subject.as_deref(), Some("u1"));
    assert_eq!(valid.fhir_user.as_deref(), Some("Practitioner/7"));
    assert_eq!(valid.grant().scopes().len(), 1);
    assert_eq!(idp.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refusals_follow_the_jwt_rules() {
    let idp = start().await;
    let validator = validator(&idp, CLIENT_SECRET);
    for (token, expected) in [
        ("opaque-revoked", AuthError::Inactive),
        ("opaque-wrong-aud", AuthError::InvalidAudience),
        ("opaque-expired", AuthError::Expired),
        ("opaque-no-exp", AuthError::MissingClaim("exp")),
        ("opaque-future", AuthError::NotYetValid),
        ("opaque-other-iss", AuthError::UntrustedIssuer),
    ] {
        let err = validator.validate(token).await.unwrap_err();
        assert_eq!(err, expected, "{token}");
        assert!(!err.to_string().contains(token));
    }
}

#[tokio::test]
async fn a_rejected_client_makes_introspection_unavailable() {
    let idp = start().await;
    let err = validator(&idp, "wrong")
        .validate("opaque-good")
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::KeysUnavailable);
}

#[tokio::test]
async fn the_introspection_issuer_must_be_trusted() {
    let mut config = AuthConfig::new(["https://idp.example.org/realms/a"], [AUDIENCE]).unwrap();
    config.introspection = Some(Introspection::new(
        "https://idp.example.org/realms/b",
        CLIENT_ID,
        CLIENT_SECRET,
    ));
    assert!(matches!(
        TokenValidator::new(config),
        Err(AuthError::Config(_))
    ));
}
