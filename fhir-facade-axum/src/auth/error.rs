//! [`AuthError`]: every way a bearer token or the auth configuration can fail.

/// Why a token was refused, or why the auth configuration is unusable.
///
/// The messages are short, fixed reasons meant for the client's `OperationOutcome`: they never
/// carry the token or any claim value, so they can be shown and logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The configuration cannot be used (startup only, never caused by a request).
    #[error("invalid auth configuration: {0}")]
    Config(String),
    /// No `Authorization: Bearer` credentials were sent.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is not a well-formed JWS compact serialization.
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm outside the allow-list (RS256, PS256, ES256).
    #[error("token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header carries critical extensions this server does not understand.
    #[error("token header has unsupported critical parameters")]
    UnsupportedCritical,
    /// The header has no `kid`, so no key of the issuer can be chosen.
    #[error("token header has no key id")]
    MissingKeyId,
    /// The `iss` claim is not one of the trusted issuers.
    #[error("token issuer is not trusted")]
    UntrustedIssuer,
    /// No key of the issuer has the token's `kid`, even after refreshing the keys.
    #[error("token signing key is unknown")]
    UnknownKey,
    /// The key with the token's `kid` cannot verify the token's algorithm.
    #[error("token signing key does not match the algorithm")]
    KeyMismatch,
    /// The issuer's discovery document or keys could not be fetched or read.
    #[error("the issuer's signing keys are unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("invalid token signature")]
    InvalidSignature,
    /// No accepted audience is in the `aud` claim.
    #[error("token audience is not accepted")]
    InvalidAudience,
    /// The token expired (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// The token's `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// The introspection endpoint says the token is not active (revoked, expired or unknown).
    #[error("token is not active")]
    Inactive,
    /// A required claim is absent.
    #[error("token has no {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type.
    #[error("token claim {0} is malformed")]
    InvalidClaim(&'static str),
}

impl From<AuthError> for fhir_facade_core::Error {
    /// Configuration errors are the server's fault ([`Config`](fhir_facade_core::Error::Config),
    /// 500); everything else is the client's (401).
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Config(message) => fhir_facade_core::Error::Config(message),
            other => fhir_facade_core::Error::Unauthorized(other.to_string()),
        }
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match err.into_kind() {
            ErrorKind::InvalidSignature => AuthError::InvalidSignature,
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::UntrustedIssuer,
            ErrorKind::InvalidAudience => AuthError::InvalidAudience,
            ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(spec_claim(&claim)),
            ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim(spec_claim(&claim)),
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                AuthError::AlgorithmNotAllowed
            }
            ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::UnsupportedAlgorithm => AuthError::KeyMismatch,
            _ => AuthError::Malformed,
        }
    }
}

/// Maps jsonwebtoken's claim names onto static strings, so the error stays `'static` and can
/// never echo anything taken from the token.
fn spec_claim(name: &str) -> &'static str {
    match name {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "registered",
    }
}
