//! [`TokenValidator`]: checks a bearer JWT against the trusted issuers' keys and returns its claims.

use super::AuthError;
use super::config::{AuthConfig, Introspection};
use super::discovery::{Fetcher, OidcDiscovery};
use super::jwks::IssuerKeys;
use super::smart_configuration::SmartConfiguration;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fhir_facade_core::AccessPolicy;
use fhir_facade_core::smart::SmartGrant;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Tokens larger than this are refused before any decoding; real access tokens are a few KiB.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims of a token that passed every check.
///
/// Its `Debug` output leaves out the user and the patient, so logging it leaks no patient data.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    /// `iss`: the trusted issuer that signed it.
    pub issuer: String,
    /// `sub`: the user, or the client for client-credentials tokens.
    pub subject: Option<String>,
    /// `azp`, or `client_id` when there is no `azp`: the client the token was issued to.
    pub client_id: Option<String>,
    /// The space-separated scopes (from the configured scope claim; empty when absent).
    pub scope: String,
    /// The launch-context patient id (from the configured patient claim).
    pub patient: Option<String>,
    /// The user's FHIR resource, such as `Practitioner/123` (from the configured fhirUser claim).
    pub fhir_user: Option<String>,
    /// `exp`, in seconds since the Unix epoch.
    pub expires_at: u64,
}

impl std::fmt::Debug for ValidatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("ValidatedToken")
            .field("issuer", &self.issuer)
            .field("subject", &redacted(&self.subject))
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("patient", &redacted(&self.patient))
            .field("fhir_user", &redacted(&self.fhir_user))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ValidatedToken {
    /// What the token allows, as the core decides it.
    pub fn grant(&self) -> SmartGrant {
        SmartGrant::new(&self.scope, self.patient.clone())
    }

    /// [`ValidatedToken::grant`] in the form `Context::with_access` takes.
    pub fn access_policy(&self) -> Arc<dyn AccessPolicy> {
        Arc::new(self.grant())
    }
}

/// The token of an `Authorization` header value: `Bearer <token>`, the scheme in any case.
pub fn bearer_token(authorization: &str) -> Result<&str, AuthError> {
    let (scheme, token) = authorization
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = token.trim_start();
    // RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

/// Validates SMART on FHIR access tokens: JWS signed RS256, PS256 or ES256 by a trusted
/// issuer's key (chosen by `kid` from the issuer's JWKS, found through OIDC discovery), with an
/// accepted `aud`, and `exp` / `nbf` checked with the configured leeway.
///
/// Cheap to share: keep one in an `Arc` for the whole server.
#[derive(Debug)]
pub struct TokenValidator {
    config: AuthConfig,
    fetcher: Fetcher,
    issuers: Vec<IssuerKeys>,
}

#[derive(serde::Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

impl TokenValidator {
    /// A validator for `config`. Nothing is fetched until the first token or
    /// [`TokenValidator::prefetch`].
    pub fn new(config: AuthConfig) -> Result<Self, AuthError> {
        if let Some(introspection) = &config.introspection
            && !config.issuers().contains(&introspection.issuer)
        {
            return Err(AuthError::Config(format!(
                "introspection issuer {} is not a trusted issuer",
                introspection.issuer
            )));
        }
        let fetcher = Fetcher::new(config.fetch_timeout)?;
        let issuers = config
            .issuers()
            .iter()
            .map(|issuer| IssuerKeys::new(issuer.clone(), config.min_refresh_interval))
            .collect();
        Ok(TokenValidator {
            config,
            fetcher,
            issuers,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Fetches every issuer's discovery document and keys now, so that the first requests do
    /// not wait for them and a misconfigured issuer shows at startup. Fails on the first issuer
    /// whose keys cannot be fetched; the others are still tried lazily later.
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        for issuer in &self.issuers {
            issuer.refresh(&self.fetcher).await?;
        }
        Ok(())
    }

    /// The discovery document of a trusted `issuer` (cached after the first fetch).
    pub async fn discovery(&self, issuer: &str) -> Result<Arc<OidcDiscovery>, AuthError> {
        self.issuer(issuer)?.discovery(&self.fetcher).await
    }

    /// The `/.well-known/smart-configuration` document for a trusted `issuer`, from its
    /// discovery document.
    pub async fn smart_configuration(&self, issuer: &str) -> Result<SmartConfiguration, AuthError> {
        SmartConfiguration::new(&self.config, &*self.discovery(issuer).await?)
    }

    fn issuer(&self, iss: &str) -> Result<&IssuerKeys, AuthError> {
        self.issuers
            .iter()
            .find(|i| i.issuer() == iss)
            .ok_or(AuthError::UntrustedIssuer)
    }

    /// Validates a compact JWS access token and returns its claims.
    pub async fn validate(&self, token: &str) -> Result<ValidatedToken, AuthError> {
        let result = self.validate_inner(token).await;
        match &result {
            Ok(valid) => tracing::debug!(
                issuer = valid.issuer,
                client_id = valid.client_id.as_deref().unwrap_or("-"),
                "token accepted"
            ),
            Err(err) => tracing::info!(reason = %err, "token rejected"),
        }
        result
    }

    async fn validate_inner(&self, token: &str) -> Result<ValidatedToken, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return match &self.config.introspection {
                Some(introspection) if !token.is_empty() => {
                    self.introspect(token, introspection).await
                }
                _ => Err(AuthError::Malformed),
            };
        };
        if signature.is_empty() {
            // An unsigned JWS (`alg: none`) ends with an empty signature.
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let header: RawHeader = decode_part(header)?;
        // The allow-list is checked before any key is looked at, so no algorithm the header
        // names can make a public key act as an HMAC secret.
        let alg = match header.alg.as_str() {
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            "ES256" => Algorithm::ES256,
            _ => return Err(AuthError::AlgorithmNotAllowed),
        };
        if header.crit.is_some() {
            return Err(AuthError::UnsupportedCritical);
        }
        let kid = header.kid.ok_or(AuthError::MissingKeyId)?;

        // The issuer is read before the signature is checked only to pick whose keys to use;
        // an untrusted issuer is refused before anything is fetched.
        let unverified: Map<String, Value> = decode_part(payload)?;
        let iss = match unverified.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => return Err(AuthError::InvalidClaim("iss")),
            None => return Err(AuthError::MissingClaim("iss")),
        };
        let issuer = self.issuer(iss)?;
        let jwk = issuer.key(&self.fetcher, &kid).await?;
        let key = decoding_key(&jwk, alg)?;

        let mut validation = Validation::new(alg);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_audience(self.config.audiences());
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)?;
        self.claims(issuer.issuer(), data.claims)
    }

    /// Validates an opaque token at the issuer's RFC 7662 introspection endpoint, applying the
    /// same `iss`, `aud`, `exp` and `nbf` rules as to a JWT.
    async fn introspect(
        &self,
        token: &str,
        introspection: &Introspection,
    ) -> Result<ValidatedToken, AuthError> {
        let issuer = self.issuer(&introspection.issuer)?;
        let discovery = issuer.discovery(&self.fetcher).await?;
        let Some(endpoint) = discovery.introspection_endpoint.as_deref() else {
            tracing::warn!(
                issuer = issuer.issuer(),
                "introspection is configured but the issuer has no introspection endpoint"
            );
            return Err(AuthError::KeysUnavailable);
        };
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response: Map<String, Value> = self
            .fetcher
            .post_form_json(endpoint, &introspection.basic_authorization(), form)
            .await?;
        if response.get("active") != Some(&Value::Bool(true)) {
            return Err(AuthError::Inactive);
        }
        match response.get("iss") {
            Some(Value::String(iss)) if iss == issuer.issuer() => {}
            Some(Value::String(_)) => return Err(AuthError::UntrustedIssuer),
            Some(_) => return Err(AuthError::InvalidClaim("iss")),
            None => return Err(AuthError::MissingClaim("iss")),
        }
        let accepted = |aud: &Value| {
            aud.as_str()
                .is_some_and(|a| self.config.audiences().iter().any(|ok| ok == a))
        };
        match response.get("aud") {
            Some(aud @ Value::String(_)) if accepted(aud) => {}
            Some(Value::Array(auds)) if auds.iter().any(accepted) => {}
            Some(Value::String(_) | Value::Array(_)) => return Err(AuthError::InvalidAudience),
            Some(_) => return Err(AuthError::InvalidClaim("aud")),
            None => return Err(AuthError::MissingClaim("aud")),
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let leeway = self.config.leeway.as_secs();
        let time = |name: &'static str| match response.get(name) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or(AuthError::InvalidClaim(name)),
        };
        match time("exp")? {
            None => return Err(AuthError::MissingClaim("exp")),
            Some(exp) if exp.saturating_add(leeway) < now => return Err(AuthError::Expired),
            Some(_) => {}
        }
        if time("nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthError::NotYetValid);
        }
        self.claims(issuer.issuer(), response)
    }

    fn claims(
        &self,
        issuer: &str,
        claims: Map<String, Value>,
    ) -> Result<ValidatedToken, AuthError> {
        let names = &self.config.claims;
        let scope = match claims.get(&names.scope) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            // Some IdPs emit scopes as an array of strings.
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or(AuthError::InvalidClaim("scope")))
                .collect::<Result<Vec<_>, _>>()?
                .join(" "),
            Some(_) => return Err(AuthError::InvalidClaim("scope")),
        };
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(AuthError::InvalidClaim("exp"))?;
        Ok(ValidatedToken {
            issuer: issuer.to_owned(),
            subject: string_claim(&claims, "sub", "sub")?,
            client_id: match string_claim(&claims, "azp", "azp")? {
                Some(azp) => Some(azp),
                None => string_claim(&claims, "client_id", "client_id")?,
            },
            scope,
            patient: string_claim(&claims, &names.patient, "patient")?,
            fhir_user: string_claim(&claims, &names.fhir_user, "fhirUser")?,
            expires_at,
        })
    }
}

/// A string claim, `None` when absent; `label` names it in errors, which stay `'static` so a
/// claim name or value from the token can never end up in a message.
fn string_claim(
    claims: &Map<String, Value>,
    name: &str,
    label: &'static str,
) -> Result<Option<String>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AuthError::InvalidClaim(label)),
    }
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

/// The verification key for `alg` from `jwk`, refusing keys of another type or curve, keys the
/// issuer marked for another algorithm, and encryption keys.
fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, AuthError> {
    let key_alg_matches = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::PS256) => alg == Algorithm::PS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    let usable = !matches!(
        jwk.common.public_key_use,
        Some(ref use_) if *use_ != PublicKeyUse::Signature
    );
    let type_matches = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    if !(key_alg_matches && usable && type_matches) {
        return Err(AuthError::KeyMismatch);
    }
    DecodingKey::from_jwk(jwk).map_err(|_| AuthError::KeyMismatch)
}
