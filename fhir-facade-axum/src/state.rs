//! [`AppState`]: what every handler and middleware of the FHIR router shares.

#[cfg(feature = "smart")]
use crate::auth::{AuditSink, AuthError, SmartConfiguration, TokenValidator, ValidatedToken};
use crate::probes::Probes;
#[cfg(feature = "smart")]
use axum::http::{HeaderMap, header};
use fhir_facade_core::{CapabilityOptions, Facade};
use std::ops::Deref;
use std::sync::Arc;
#[cfg(feature = "smart")]
use tokio::sync::OnceCell;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) facade: Facade,
    pub(crate) base_url: Option<String>,
    pub(crate) capability: CapabilityOptions,
    pub(crate) probes: Probes,
    /// SMART on FHIR, when the routes are protected.
    #[cfg(feature = "smart")]
    pub(crate) guard: Option<Guard>,
    /// Where accesses are recorded, when they are.
    #[cfg(feature = "smart")]
    pub(crate) audit: Option<Audit>,
}

/// The router's state.
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The token validator and what is fetched once from the first issuer.
#[cfg(feature = "smart")]
#[derive(Debug)]
pub(crate) struct Guard {
    validator: TokenValidator,
    smart: OnceCell<SmartConfiguration>,
}

#[cfg(feature = "smart")]
impl Guard {
    pub(crate) fn new(validator: TokenValidator) -> Self {
        Guard {
            validator,
            smart: OnceCell::new(),
        }
    }

    /// The `/.well-known/smart-configuration` document of the first trusted issuer, fetched at
    /// the first call and kept; a failed fetch is retried at the next call.
    pub(crate) async fn smart_configuration(&self) -> Result<&SmartConfiguration, AuthError> {
        self.smart
            .get_or_try_init(|| async {
                let issuer = self
                    .validator
                    .config()
                    .issuers()
                    .first()
                    .ok_or_else(|| AuthError::Config("no trusted issuer".to_owned()))?;
                self.validator.smart_configuration(issuer).await
            })
            .await
    }

    /// The validated token of the request's `Authorization` header.
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<ValidatedToken, AuthError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::MissingToken)?
            .to_str()
            .map_err(|_| AuthError::Malformed)?;
        self.validator
            .validate(crate::auth::bearer_token(authorization)?)
            .await
    }
}

/// Where access events go.
#[cfg(feature = "smart")]
pub(crate) struct Audit(pub(crate) Arc<dyn AuditSink>);

#[cfg(feature = "smart")]
impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audit")
    }
}

/// The validated token of the request, set by the guard for the request's `Exchange` to turn
/// into its access policy, and for auditing batch entries.
#[cfg(feature = "smart")]
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub(crate) Arc<ValidatedToken>);
