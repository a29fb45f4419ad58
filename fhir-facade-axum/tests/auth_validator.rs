//! TokenValidator against a local discovery + JWKS server, with tokens signed in the test.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fhir_facade_axum::auth::{AuthConfig, AuthError, TokenValidator};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod common;

use common::idp::*;

fn claims(idp: &Idp) -> Value {
    json!({
        "iss": idp.issuer("fhir"),
        "aud": AUDIENCE,
        "exp": now() + 300,
        "iat": now(),
        "sub": "user-1",
        "azp": "smart-app",
        "scope": "openid launch/patient patient/Observation.rs patient/Patient.read",
        "patient": "p123",
        "fhirUser": "Patient/p123",
    })
}

fn validator(idp: &Idp) -> TokenValidator {
    TokenValidator::new(AuthConfig::new([idp.issuer("fhir")], [AUDIENCE]).unwrap()).unwrap()
}

/// Validates and checks the refusal, and that its message does not echo the token.
async fn rejected(validator: &TokenValidator, token: &str) -> AuthError {
    let err = validator.validate(token).await.unwrap_err();
    let message = fhir_facade_core::Error::from(err.clone()).to_string();
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!message.contains(part), "{message}");
    }
    err
}

#[tokio::test]
async fn accepts_rs256_and_builds_the_grant() {
    let idp = Idp::start().await;
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims(&idp));
    let valid = validator(&idp).validate(&token).await.unwrap();
    assert_eq!(valid.issuer, idp.issuer("fhir"));
    assert_eq!(valid.subject.as_deref(), Some("user-1"));
    assert_eq!(valid.client_id.as_deref(), Some("smart-app"));
    assert_eq!(valid.patient.as_deref(), Some("p123"));
    assert_eq!(valid.fhir_user.as_deref(), Some("Patient/p123"));
    let debug = format!("{valid:?}");
    assert!(
        !debug.contains("p123") && !debug.contains("user-1"),
        "{debug}"
    );
    let grant = valid.grant();
    assert_eq!(grant.patient(), Some("p123"));
    // openid and launch/patient are not resource scopes.
    assert_eq!(grant.scopes().len(), 2);
}

#[tokio::test]
async fn accepts_ps256() {
    let idp = Idp::start().await;
    let token = sign(Algorithm::PS256, "ps", &rsa_key(), &claims(&idp));
    assert!(validator(&idp).validate(&token).await.is_ok());
}

#[tokio::test]
async fn accepts_es256() {
    let idp = Idp::start().await;
    let token = sign(Algorithm::ES256, "ec", &ec_key(), &claims(&idp));
    assert!(validator(&idp).validate(&token).await.is_ok());
}

#[tokio::test]
async fn a_key_is_used_only_for_its_own_algorithm() {
    let idp = Idp::start().await;
    // The "rs" key is published for RS256 only.
    let token = sign(Algorithm::PS256, "rs", &rsa_key(), &claims(&idp));
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::KeyMismatch
    );
}

#[tokio::test]
async fn custom_claim_names_and_client_id_fallback() {
    let idp = Idp::start().await;
    let mut config = AuthConfig::new([idp.issuer("fhir")], [AUDIENCE]).unwrap();
    config.claims.scope = "smart_scope".to_owned();
    config.claims.patient = "pid".to_owned();
    config.claims.fhir_user = "fhir_user".to_owned();
    let validator = TokenValidator::new(config).unwrap();
    let token = sign(
        Algorithm::RS256,
        "rs",
        &rsa_key(),
        &json!({
            "iss": idp.issuer("fhir"),
            "aud": [AUDIENCE],
            "exp": now() + 60,
            "client_id": "backend-service",
            "scope": "ignored",
            "smart_scope": ["system/Observation.rs", "system/Patient.rs"],
            "pid": "p9",
            "fhir_user": "Practitioner/7",
        }),
    );
    let valid = validator.validate(&token).await.unwrap();
    assert_eq!(valid.client_id.as_deref(), Some("backend-service"));
    assert_eq!(valid.scope, "system/Observation.rs system/Patient.rs");
    assert_eq!(valid.fhir_user.as_deref(), Some("Practitioner/7"));
    assert_eq!(valid.grant().patient(), Some("p9"));
    assert_eq!(valid.grant().scopes().len(), 2);
}

#[tokio::test]
async fn rejects_a_bad_signature() {
    let idp = Idp::start().await;
    let other = EncodingKey::from_rsa_pem(RSA_OTHER_PEM).unwrap();
    let token = sign(Algorithm::RS256, "rs", &other, &claims(&idp));
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::InvalidSignature
    );
}

#[tokio::test]
async fn rejects_alg_none() {
    let idp = Idp::start().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"rs","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&idp).to_string());
    let validator = validator(&idp);
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.c2lnbmF0dXJl"),
    ] {
        assert_eq!(
            rejected(&validator, &token).await,
            AuthError::AlgorithmNotAllowed
        );
    }
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let secret = EncodingKey::from_secret(RSA_PUBLIC_PEM).unwrap();
        let token = sign(alg, "rs", &secret, &claims(&idp));
        assert_eq!(
            rejected(&validator, &token).await,
            AuthError::AlgorithmNotAllowed
        );
    }
}

#[tokio::test]
async fn rejects_algorithms_outside_the_allow_list() {
    let idp = Idp::start().await;
    let token = sign(Algorithm::RS512, "rs", &rsa_key(), &claims(&idp));
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn rejects_a_wrong_issuer_without_fetching_anything() {
    let idp = Idp::start().await;
    let mut claims = claims(&idp);
    claims["iss"] = json!(idp.issuer("other"));
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::UntrustedIssuer
    );
    assert_eq!(idp.discovery_fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rejects_a_missing_issuer() {
    let idp = Idp::start().await;
    let mut claims = claims(&idp);
    claims.as_object_mut().unwrap().remove("iss");
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::MissingClaim("iss")
    );
}

#[tokio::test]
async fn rejects_a_wrong_audience() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    for aud in [
        json!("https://other.example.org/fhir"),
        json!("account"),
        json!(["account"]),
    ] {
        let mut claims = claims(&idp);
        claims["aud"] = aud;
        let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
        assert_eq!(
            rejected(&validator, &token).await,
            AuthError::InvalidAudience
        );
    }
    let mut claims = claims(&idp);
    claims.as_object_mut().unwrap().remove("aud");
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(
        rejected(&validator, &token).await,
        AuthError::MissingClaim("aud")
    );
}

#[tokio::test]
async fn accepts_account_next_to_an_accepted_audience() {
    let idp = Idp::start().await;
    let mut claims = claims(&idp);
    claims["aud"] = json!(["account", AUDIENCE]);
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert!(validator(&idp).validate(&token).await.is_ok());
}

#[tokio::test]
async fn accepts_account_when_configured() {
    let idp = Idp::start().await;
    let config = AuthConfig::new([idp.issuer("fhir")], [AUDIENCE, "account"]).unwrap();
    let mut claims = claims(&idp);
    claims["aud"] = json!("account");
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    let validator = TokenValidator::new(config).unwrap();
    assert!(validator.validate(&token).await.is_ok());
}

#[tokio::test]
async fn rejects_an_expired_token_beyond_the_leeway() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    let mut claims = claims(&idp);
    claims["exp"] = json!(now() - 120);
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(rejected(&validator, &token).await, AuthError::Expired);

    claims["exp"] = json!(now() - 10);
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert!(validator.validate(&token).await.is_ok(), "within leeway");
}

#[tokio::test]
async fn rejects_a_token_not_yet_valid() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    let mut claims = claims(&idp);
    claims["nbf"] = json!(now() + 300);
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(rejected(&validator, &token).await, AuthError::NotYetValid);

    claims["nbf"] = json!(now() + 10);
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert!(validator.validate(&token).await.is_ok(), "within leeway");
}

#[tokio::test]
async fn rejects_a_token_without_exp() {
    let idp = Idp::start().await;
    let mut claims = claims(&idp);
    claims.as_object_mut().unwrap().remove("exp");
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::MissingClaim("exp")
    );
}

#[tokio::test]
async fn rejects_a_token_without_kid() {
    let idp = Idp::start().await;
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(&idp), &rsa_key()).unwrap();
    assert_eq!(
        rejected(&validator(&idp), &token).await,
        AuthError::MissingKeyId
    );
}

#[tokio::test]
async fn an_unknown_kid_refreshes_once_per_interval() {
    let idp = Idp::start().await;
    let mut config = AuthConfig::new([idp.issuer("fhir")], [AUDIENCE]).unwrap();
    config.min_refresh_interval = Duration::from_secs(2);
    let validator = TokenValidator::new(config).unwrap();
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims(&idp));
    validator.validate(&token).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let unknown = sign(Algorithm::RS256, "new-1", &rsa_key(), &claims(&idp));
    assert_eq!(rejected(&validator, &unknown).await, AuthError::UnknownKey);
    assert_eq!(idp.jwks_fetches(), 2, "one refresh for the unknown kid");

    let unknown = sign(Algorithm::RS256, "new-2", &rsa_key(), &claims(&idp));
    assert_eq!(rejected(&validator, &unknown).await, AuthError::UnknownKey);
    assert_eq!(idp.jwks_fetches(), 2, "no refetch within the interval");
    assert_eq!(idp.discovery_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_kids_at_startup_cost_one_fetch() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    for kid in ["new-1", "new-2", "new-3"] {
        let unknown = sign(Algorithm::RS256, kid, &rsa_key(), &claims(&idp));
        assert_eq!(rejected(&validator, &unknown).await, AuthError::UnknownKey);
    }
    assert_eq!(idp.jwks_fetches(), 1);
    // The keys that were fetched serve known kids without another fetch.
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims(&idp));
    assert!(validator.validate(&token).await.is_ok());
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_found_after_the_interval() {
    let idp = Idp::start().await;
    let mut config = AuthConfig::new([idp.issuer("fhir")], [AUDIENCE]).unwrap();
    config.min_refresh_interval = Duration::from_secs(2);
    let validator = TokenValidator::new(config).unwrap();
    validator.prefetch().await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);

    idp.keys
        .lock()
        .unwrap()
        .push(jwk(&ec_key(), Algorithm::ES256, "rotated"));
    let token = sign(Algorithm::ES256, "rotated", &ec_key(), &claims(&idp));
    assert_eq!(rejected(&validator, &token).await, AuthError::UnknownKey);
    assert_eq!(idp.jwks_fetches(), 1, "rate-limited right after prefetch");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(validator.validate(&token).await.is_ok());
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_fetch() {
    let idp = Idp::start().await;
    let validator = Arc::new(validator(&idp));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let validator = validator.clone();
        let kid = if i % 2 == 0 { "rs" } else { "unknown" };
        let token = sign(Algorithm::RS256, kid, &rsa_key(), &claims(&idp));
        tasks.push(tokio::spawn(async move {
            validator.validate(&token).await.is_ok()
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 4);
    assert_eq!(idp.jwks_fetches(), 1);
    assert_eq!(idp.discovery_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rejects_malformed_tokens() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    let good = sign(Algorithm::RS256, "rs", &rsa_key(), &claims(&idp));
    let (header, rest) = good.split_once('.').unwrap();
    for token in [
        String::new(),
        "abc".to_owned(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        format!("!!!.{rest}"),
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode("not json")),
        format!("{header}.%%%.{}", good.rsplit('.').next().unwrap()),
        "x".repeat(20_000),
    ] {
        assert_eq!(rejected(&validator, &token).await, AuthError::Malformed);
    }
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn several_realms_are_trusted_side_by_side() {
    let idp = Idp::start().await;
    let config = AuthConfig::new([idp.issuer("a"), idp.issuer("b")], [AUDIENCE]).unwrap();
    let validator = TokenValidator::new(config).unwrap();
    for realm in ["a", "b"] {
        let mut claims = claims(&idp);
        claims["iss"] = json!(idp.issuer(realm));
        let token = sign(Algorithm::ES256, "ec", &ec_key(), &claims);
        assert_eq!(
            validator.validate(&token).await.unwrap().issuer,
            idp.issuer(realm)
        );
    }
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_not_used() {
    let idp = Idp::start().await;
    let config = AuthConfig::new([idp.issuer("liar")], [AUDIENCE]).unwrap();
    let validator = TokenValidator::new(config).unwrap();
    let mut claims = claims(&idp);
    claims["iss"] = json!(idp.issuer("liar"));
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims);
    assert_eq!(
        rejected(&validator, &token).await,
        AuthError::KeysUnavailable
    );
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn an_unreachable_issuer_makes_keys_unavailable() {
    // Bind then drop a listener, so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{port}/realms/fhir");
    let mut config = AuthConfig::new([issuer.clone()], [AUDIENCE]).unwrap();
    config.fetch_timeout = Duration::from_secs(2);
    let validator = TokenValidator::new(config).unwrap();
    let token = sign(
        Algorithm::RS256,
        "rs",
        &rsa_key(),
        &json!({"iss": issuer, "aud": AUDIENCE, "exp": now() + 60}),
    );
    assert_eq!(
        rejected(&validator, &token).await,
        AuthError::KeysUnavailable
    );
    let err = fhir_facade_core::Error::from(AuthError::KeysUnavailable);
    assert_eq!(err.status(), 401);
}

#[tokio::test]
async fn smart_configuration_from_discovery() {
    let idp = Idp::start().await;
    let validator = validator(&idp);
    let issuer = idp.issuer("fhir");
    let smart = validator.smart_configuration(&issuer).await.unwrap();
    let json = smart.to_json();
    assert_eq!(json["issuer"], issuer.as_str());
    assert_eq!(json["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(
        json["authorization_endpoint"],
        format!("{issuer}/protocol/openid-connect/auth")
    );
    assert_eq!(json["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(json["response_types_supported"], json!(["code"]));
    assert_eq!(
        json["grant_types_supported"],
        json!(["authorization_code", "client_credentials"])
    );
    let capabilities = json["capabilities"].as_array().unwrap();
    assert!(capabilities.contains(&json!("launch-standalone")));
    assert!(!capabilities.contains(&json!("launch-ehr")));
    assert!(
        json["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("patient/*.rs"))
    );
    assert!(json.get("introspection_endpoint").is_none());

    let security = smart.smart_security();
    assert_eq!(
        security.token_url,
        format!("{issuer}/protocol/openid-connect/token")
    );
    assert_eq!(security.authorize_url, smart.authorization_endpoint);

    assert_eq!(
        validator
            .smart_configuration("https://idp.example.org/x")
            .await,
        Err(AuthError::UntrustedIssuer)
    );
    assert_eq!(idp.discovery_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn audit_records_carry_no_token() {
    use fhir_facade_axum::auth::{AccessEvent, AuditOutcome, AuditSink, JsonLinesAuditSink};
    use fhir_facade_core::Interaction;

    let idp = Idp::start().await;
    let token = sign(Algorithm::RS256, "rs", &rsa_key(), &claims(&idp));
    let valid = validator(&idp).validate(&token).await.unwrap();
    let sink = JsonLinesAuditSink::new(Vec::new());
    let event = AccessEvent::new("fhir-facade", Interaction::Read, AuditOutcome::Success)
        .with_token(&valid)
        .with_resource("Observation", Some("o1".to_owned()));
    sink.record(&event).unwrap();
    let text = String::from_utf8(sink.into_inner()).unwrap();
    for part in token.split('.') {
        assert!(!text.contains(part), "{text}");
    }
    let json: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(json["resourceType"], "AuditEvent");
    assert_eq!(json["entity"][0]["what"]["reference"], "Patient/p123");
}
