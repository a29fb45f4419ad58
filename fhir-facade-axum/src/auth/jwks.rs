//! The in-memory cache of each trusted issuer's discovery document and signing keys.
//!
//! This is the only state the validator keeps. Every replica fetches its own copy, so replicas
//! share nothing. Keys are fetched lazily (or by `TokenValidator::prefetch`) and refetched when a
//! token names an unknown `kid`, at most once per `min_refresh_interval`: tokens with invented key
//! ids then cost one fetch per interval, not one per request.

use super::AuthError;
use super::discovery::{Fetcher, OidcDiscovery};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// One issuer's cached metadata.
#[derive(Debug)]
pub(crate) struct IssuerKeys {
    issuer: String,
    min_refresh_interval: Duration,
    discovery: RwLock<Option<Arc<OidcDiscovery>>>,
    keys: RwLock<Option<Arc<JwkSet>>>,
    /// Held while fetching, so that concurrent requests wait for one fetch instead of starting
    /// their own; it guards when each kind of fetch was last attempted.
    fetching: tokio::sync::Mutex<Attempts>,
}

#[derive(serde::Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, Default)]
struct Attempts {
    discovery: Option<Instant>,
    keys: Option<Instant>,
}

impl IssuerKeys {
    pub(crate) fn new(issuer: String, min_refresh_interval: Duration) -> Self {
        IssuerKeys {
            issuer,
            min_refresh_interval,
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(Attempts::default()),
        }
    }

    /// The issuer URL, as tokens name it.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    fn cached_discovery(&self) -> Option<Arc<OidcDiscovery>> {
        self.discovery
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn find(&self, kid: &str) -> Option<Jwk> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|set| set.find(kid).cloned())
    }

    fn rate_limited(&self, last: Option<Instant>) -> bool {
        last.is_some_and(|at| at.elapsed() < self.min_refresh_interval)
    }

    /// The discovery document, fetched once and then served from memory.
    pub(crate) async fn discovery(
        &self,
        fetcher: &Fetcher,
    ) -> Result<Arc<OidcDiscovery>, AuthError> {
        if let Some(doc) = self.cached_discovery() {
            return Ok(doc);
        }
        let mut attempts = self.fetching.lock().await;
        self.discovery_locked(fetcher, &mut attempts).await
    }

    async fn discovery_locked(
        &self,
        fetcher: &Fetcher,
        attempts: &mut Attempts,
    ) -> Result<Arc<OidcDiscovery>, AuthError> {
        if let Some(doc) = self.cached_discovery() {
            return Ok(doc);
        }
        if self.rate_limited(attempts.discovery) {
            return Err(AuthError::KeysUnavailable);
        }
        attempts.discovery = Some(Instant::now());
        let doc = Arc::new(fetcher.discover(&self.issuer).await?);
        *self
            .discovery
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(doc.clone());
        Ok(doc)
    }

    /// The key with id `kid`, refreshing the key set once if it is not known yet.
    pub(crate) async fn key(&self, fetcher: &Fetcher, kid: &str) -> Result<Jwk, AuthError> {
        if let Some(jwk) = self.find(kid) {
            return Ok(jwk);
        }
        let mut attempts = self.fetching.lock().await;
        // Whoever held the lock before may have fetched the key this request needs.
        if let Some(jwk) = self.find(kid) {
            return Ok(jwk);
        }
        if self.rate_limited(attempts.keys) {
            tracing::debug!(issuer = self.issuer, "unknown key id; refresh rate-limited");
            return Err(if self.has_keys() {
                AuthError::UnknownKey
            } else {
                AuthError::KeysUnavailable
            });
        }
        self.refresh_locked(fetcher, &mut attempts).await?;
        self.find(kid).ok_or(AuthError::UnknownKey)
    }

    /// Fetches the discovery document (when not cached) and the key set now, unless a key fetch
    /// happened within the refresh interval.
    pub(crate) async fn refresh(&self, fetcher: &Fetcher) -> Result<(), AuthError> {
        let mut attempts = self.fetching.lock().await;
        if self.rate_limited(attempts.keys) && self.has_keys() {
            return Ok(());
        }
        self.refresh_locked(fetcher, &mut attempts).await
    }

    fn has_keys(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    async fn refresh_locked(
        &self,
        fetcher: &Fetcher,
        attempts: &mut Attempts,
    ) -> Result<(), AuthError> {
        let doc = self.discovery_locked(fetcher, attempts).await?;
        attempts.keys = Some(Instant::now());
        let raw: RawJwkSet = fetcher.get_json(&doc.jwks_uri).await?;
        // One key this crate cannot read (an encryption key of an exotic type) must not hide
        // the signing keys next to it.
        let set = JwkSet {
            keys: raw
                .keys
                .into_iter()
                .filter_map(|key| serde_json::from_value(key).ok())
                .collect(),
        };
        tracing::info!(
            issuer = self.issuer,
            keys = set.keys.len(),
            "fetched the issuer's signing keys"
        );
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(set));
        Ok(())
    }
}
