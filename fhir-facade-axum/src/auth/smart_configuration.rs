//! The `/.well-known/smart-configuration` document, and the CapabilityStatement's
//! `rest.security` endpoints, from the IdP's discovery document.

use super::AuthError;
use super::config::AuthConfig;
use super::discovery::OidcDiscovery;
use fhir_facade_core::capability::SmartSecurity;
use serde::Serialize;
use serde_json::Value;

/// The SMART capabilities this facade supports together with a Keycloak realm set up as
/// `deploy/keycloak/fhir-facade-realm.json`. Nothing is listed that either side lacks: no EHR
/// launch (Keycloak has no launch context), no symmetric confidential clients (the backend
/// client authenticates with a signed JWT), no `authorize-post` (not verified).
pub const CAPABILITIES: &[&str] = &[
    // Apps start on their own and use the IdP's authorization-code flow (client `smart-app`).
    "launch-standalone",
    // `smart-app` is a public client; PKCE with S256 is required instead of a secret.
    "client-public",
    // `backend-service` authenticates with `private_key_jwt` (Keycloak's `client-jwt`).
    "client-confidential-asymmetric",
    // Requesting `launch/patient` adds the user's `patient` attribute to the access token and
    // to the token response. Keycloak has no patient picker: it is the patient recorded on the
    // user, which fits patient-facing apps.
    "context-standalone-patient",
    // `patient/` scopes, enforced by the core as a Patient compartment constraint.
    "permission-patient",
    // `user/` scopes, enforced by the core.
    "permission-user",
    // SMART v1 scope syntax (`patient/*.read`), parsed by the core.
    "permission-v1",
    // SMART v2 scope syntax (`patient/*.rs`, with `?` narrowing), parsed by the core.
    "permission-v2",
    // `offline_access` makes Keycloak issue an offline refresh token.
    "permission-offline",
    // `openid fhirUser` yields an id token whose `fhirUser` claim names the user's resource.
    "sso-openid-connect",
];

/// The scopes advertised when the IdP's discovery document does not list its own: those the
/// realm export defines.
pub const DEFAULT_SCOPES: &[&str] = &[
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
    "patient/*.read",
    "patient/*.rs",
    "patient/Observation.rs",
    "user/*.read",
    "user/*.rs",
    "system/*.read",
    "system/*.rs",
];

/// The `/.well-known/smart-configuration` document (SMART App Launch 2.x, section 2.0.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmartConfiguration {
    /// The IdP's issuer, which signs the access and id tokens.
    pub issuer: String,
    /// The IdP's signing keys.
    pub jwks_uri: String,
    /// Where apps send the user to authorize.
    pub authorization_endpoint: String,
    /// Where apps get tokens.
    pub token_endpoint: String,
    /// `authorization_code` for apps, `client_credentials` for backend services.
    pub grant_types_supported: Vec<String>,
    /// How confidential clients authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// The scopes apps may request.
    pub scopes_supported: Vec<String>,
    /// Only `code`.
    pub response_types_supported: Vec<String>,
    /// Only `S256`: `plain` PKCE protects nothing against an intercepted code.
    pub code_challenge_methods_supported: Vec<String>,
    /// [`CAPABILITIES`].
    pub capabilities: Vec<String>,
    /// The IdP's RFC 7662 introspection endpoint, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// The IdP's RFC 7009 revocation endpoint, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The IdP's dynamic client registration endpoint, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl SmartConfiguration {
    /// The document for `discovery`, the discovery document of one of `config`'s issuers.
    ///
    /// Fails when the issuer is not trusted or the IdP has no authorization or token endpoint.
    pub fn new(config: &AuthConfig, discovery: &OidcDiscovery) -> Result<Self, AuthError> {
        if !config.issuers().contains(&discovery.issuer) {
            return Err(AuthError::Config(format!(
                "{} is not a trusted issuer",
                discovery.issuer
            )));
        }
        let required = |endpoint: &Option<String>, name: &str| {
            endpoint.clone().ok_or_else(|| {
                AuthError::Config(format!("the IdP's discovery document has no {name}"))
            })
        };
        Ok(SmartConfiguration {
            issuer: discovery.issuer.clone(),
            jwks_uri: discovery.jwks_uri.clone(),
            authorization_endpoint: required(
                &discovery.authorization_endpoint,
                "authorization_endpoint",
            )?,
            token_endpoint: required(&discovery.token_endpoint, "token_endpoint")?,
            grant_types_supported: strings(&["authorization_code", "client_credentials"]),
            token_endpoint_auth_methods_supported: discovery
                .token_endpoint_auth_methods_supported
                .clone()
                .unwrap_or_else(|| strings(&["private_key_jwt"])),
            scopes_supported: discovery
                .scopes_supported
                .clone()
                .unwrap_or_else(|| strings(DEFAULT_SCOPES)),
            response_types_supported: strings(&["code"]),
            code_challenge_methods_supported: strings(&["S256"]),
            capabilities: strings(CAPABILITIES),
            introspection_endpoint: discovery.introspection_endpoint.clone(),
            revocation_endpoint: discovery.revocation_endpoint.clone(),
            registration_endpoint: discovery.registration_endpoint.clone(),
        })
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The endpoints for the CapabilityStatement's `rest.security`
    /// ([`CapabilityOptions::security`](fhir_facade_core::CapabilityOptions)).
    pub fn smart_security(&self) -> SmartSecurity {
        SmartSecurity {
            authorize_url: self.authorization_endpoint.clone(),
            token_url: self.token_endpoint.clone(),
            revoke_url: self.revocation_endpoint.clone(),
            introspect_url: self.introspection_endpoint.clone(),
            register_url: self.registration_endpoint.clone(),
            manage_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://idp.example.org/realms/fhir";

    fn discovery() -> OidcDiscovery {
        serde_json::from_value(serde_json::json!({
            "issuer": ISSUER,
            "jwks_uri": format!("{ISSUER}/certs"),
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": format!("{ISSUER}/token"),
            "introspection_endpoint": format!("{ISSUER}/introspect"),
            "revocation_endpoint": format!("{ISSUER}/revoke"),
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
            "code_challenge_methods_supported": ["plain", "S256"],
        }))
        .unwrap()
    }

    #[test]
    fn passes_the_idp_endpoints_through_and_never_plain() {
        let config = AuthConfig::new([ISSUER], ["https://fhir.example.org/fhir"]).unwrap();
        let smart = SmartConfiguration::new(&config, &discovery()).unwrap();
        assert_eq!(smart.code_challenge_methods_supported, ["S256"]);
        assert_eq!(
            smart.token_endpoint_auth_methods_supported,
            ["private_key_jwt", "client_secret_basic"]
        );
        assert_eq!(smart.scopes_supported.len(), DEFAULT_SCOPES.len());
        let security = smart.smart_security();
        assert_eq!(
            security.introspect_url.as_deref(),
            Some("https://idp.example.org/realms/fhir/introspect")
        );
        assert_eq!(
            security.revoke_url.as_deref(),
            Some("https://idp.example.org/realms/fhir/revoke")
        );
    }

    #[test]
    fn needs_a_trusted_issuer_and_both_endpoints() {
        let config = AuthConfig::new([ISSUER], ["https://fhir.example.org/fhir"]).unwrap();
        let mut doc = discovery();
        doc.token_endpoint = None;
        assert!(matches!(
            SmartConfiguration::new(&config, &doc),
            Err(AuthError::Config(_))
        ));
        let other = AuthConfig::new(["https://idp.example.org/realms/other"], ["a"]).unwrap();
        assert!(matches!(
            SmartConfiguration::new(&other, &discovery()),
            Err(AuthError::Config(_))
        ));
    }
}
