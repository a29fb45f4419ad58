//! A fake IdP (OIDC discovery and JWKS on a local port) and the test keys that sign tokens.
//!
//! Shared by the SMART tests of `fhir-facade-axum`, the contract suites here and in the
//! examples. The keys (`tests/keys/`, see its README) protect nothing: never use them elsewhere.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The audience the tests' tokens name and their validators expect.
pub const AUDIENCE: &str = "https://fhir.example.org/fhir";
/// The RSA private key the IdP publishes as `rs` (RS256) and `ps` (PS256).
pub const RSA_PEM: &[u8] = include_bytes!("../keys/rsa.pem");
/// An RSA private key the IdP does not publish.
pub const RSA_OTHER_PEM: &[u8] = include_bytes!("../keys/rsa-other.pem");
/// The public half of [`RSA_PEM`].
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../keys/rsa.pub.pem");
/// The P-256 private key the IdP publishes as `ec` (ES256).
pub const EC_PEM: &[u8] = include_bytes!("../keys/ec.pem");

/// A fake IdP: discovery documents and JWKS for `/realms/{realm}`, counting what is fetched.
pub struct Idp {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// The published keys; a test may rotate them.
    pub keys: Mutex<Vec<Jwk>>,
    /// Discovery documents served.
    pub discovery_fetches: AtomicUsize,
    /// Key sets served.
    pub jwks_fetches: AtomicUsize,
}

impl Idp {
    /// Serves the IdP on a free local port, on the current tokio runtime, until the runtime ends.
    pub async fn start() -> Arc<Idp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = Arc::new(Idp {
            base: format!("http://{}", listener.local_addr().unwrap()),
            keys: Mutex::new(vec![
                jwk(&rsa_key(), Algorithm::RS256, "rs"),
                jwk(&rsa_key(), Algorithm::PS256, "ps"),
                jwk(&ec_key(), Algorithm::ES256, "ec"),
            ]),
            discovery_fetches: AtomicUsize::new(0),
            jwks_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route(
                "/realms/{realm}/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/realms/{realm}/jwks", get(jwks))
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        idp
    }

    /// The issuer URL of `realm` (the realm `liar` claims the issuer of `fhir`).
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base)
    }

    /// How many times the key set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn discovery(State(idp): State<Arc<Idp>>, Path(realm): Path<String>) -> Json<Value> {
    idp.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    // The "liar" realm claims to be another issuer.
    let issuer = if realm == "liar" {
        idp.issuer("fhir")
    } else {
        idp.issuer(&realm)
    };
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", idp.issuer(&realm)),
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
    }))
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Json<Value> {
    idp.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let mut keys: Vec<Value> = idp
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(|k| serde_json::to_value(k).unwrap())
        .collect();
    // An encryption key of a type the validator does not read must not spoil the set.
    keys.push(json!({"kty": "OKP", "crv": "X448", "use": "enc", "kid": "odd", "x": "AA"}));
    Json(json!({ "keys": keys }))
}

/// The published RSA key ([`RSA_PEM`]) for signing.
pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PEM).unwrap()
}

/// An RSA key the IdP does not publish.
pub fn other_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_OTHER_PEM).unwrap()
}

/// The published EC key ([`EC_PEM`]) for signing.
pub fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PEM).unwrap()
}

/// The public JWK of `key` for `alg`, under the kid `kid`.
pub fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

/// Seconds since the Unix epoch, for `iat` and `exp`.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `claims` signed RS256 with the published key `rs`.
pub fn sign_rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, "rs", &rsa_key(), claims)
}

/// `claims` signed RS256 under the kid `rs` with a key the IdP does not publish.
pub fn sign_rs256_unknown_key(claims: &Value) -> String {
    sign(Algorithm::RS256, "rs", &other_rsa_key(), claims)
}

/// `claims` signed with `key` under `alg` and the kid `kid`.
pub fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}
