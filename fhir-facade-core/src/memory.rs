//! [`MemoryProvider`]: a complete, versioned provider over resources held in memory, the
//! reference implementation of [`ResourceProvider`] (as tower-sessions' `MemoryStore` is of its
//! `SessionStore`).
//!
//! It is what the crate's own tests, the HTTP binding's tests and the smallest example server run
//! on, and a model for a real provider: it applies every [`Constraint`] itself, answers 404 for
//! what lies outside them, 410 for what was deleted, and 412 for a stale `If-Match`.

use crate::compartment;
use crate::provider::{Constraint, Context, Interaction, Interactions, SearchPage, Updated};
use crate::search::{
    Criterion, PageToken, ReferenceValue, SearchParamDef, SearchParamType, SearchValue,
    TokenSystem, TokenValue, references, registry::r4_param,
};
use crate::{Error, Resource, ResourceProvider, Result, SearchQuery};
use async_trait::async_trait;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where `meta.lastUpdated` of a write comes from.
type Clock = Box<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Every version of every resource of one type, in memory.
///
/// Searches understand `_id` and the reference parameters added with
/// [`with_reference_param`](MemoryProvider::with_reference_param), page by offset in id order and
/// always report their total. All interactions are declared: read, vread, create (ids `1`, `2`,
/// ... skipping taken ones), update (also creating), delete, search and both histories.
///
/// ```
/// use fhir_facade_core::{Context, Facade, MemoryProvider, Resource, SearchRequest};
/// use fhir_facade_core::search::Handling;
/// use serde_json::json;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let observations = MemoryProvider::new("Observation")
///     .with_reference_param("subject")
///     .unwrap()
///     .with_resources([Resource::new(json!({
///         "resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "pulse"},
///         "subject": {"reference": "Patient/p1"}
///     })).unwrap()])
///     .unwrap();
/// let facade = Facade::builder().provider(observations).build().unwrap();
/// let request = SearchRequest {
///     resource_type: "Observation",
///     query: "subject=Patient/p1",
///     handling: Handling::Strict,
///     base_url: "https://fhir.example/fhir",
///     compartment: None,
/// };
/// let bundle = facade.search(&request, &Context::new()).await.unwrap().to_json();
/// assert_eq!(bundle["total"], 1);
/// # });
/// ```
pub struct MemoryProvider {
    resource_type: String,
    params: Vec<&'static SearchParamDef>,
    store: Mutex<Store>,
    clock: Clock,
}

#[derive(Default)]
struct Store {
    /// Versions by id, oldest first.
    versions: BTreeMap<String, Vec<Resource>>,
    deleted: BTreeSet<String>,
}

impl std::fmt::Debug for MemoryProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryProvider")
            .field("resource_type", &self.resource_type)
            .field(
                "params",
                &self.params.iter().map(|p| p.code).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl MemoryProvider {
    /// An empty store for `resource_type`, searchable by `_id`.
    pub fn new(resource_type: impl Into<String>) -> Self {
        let resource_type = resource_type.into();
        MemoryProvider {
            params: r4_param(&resource_type, "_id").into_iter().collect(),
            resource_type,
            store: Mutex::default(),
            clock: Box::new(OffsetDateTime::now_utc),
        }
    }

    /// Also searchable by the R4 reference parameter `code` of the type; anything else is an
    /// [`Error::Config`].
    pub fn with_reference_param(mut self, code: &str) -> Result<Self> {
        match r4_param(&self.resource_type, code) {
            Some(param) if param.kind == SearchParamType::Reference => {
                self.params.push(param);
                Ok(self)
            }
            _ => Err(Error::Config(format!(
                "{} has no reference search parameter {code}",
                self.resource_type
            ))),
        }
    }

    /// Stores `resources` as they are, each as version 1 unless it carries a `meta.versionId`.
    /// A resource of another type or without an id is an [`Error::Config`].
    pub fn with_resources(self, resources: impl IntoIterator<Item = Resource>) -> Result<Self> {
        {
            let mut store = self.lock();
            for resource in resources {
                let id = match resource.id() {
                    Some(id) if resource.resource_type() == self.resource_type => id.to_owned(),
                    _ => {
                        return Err(Error::Config(format!(
                            "a {} resource with an id was expected, not {}",
                            self.resource_type,
                            resource.resource_type()
                        )));
                    }
                };
                let resource = match resource.version_id() {
                    Some(_) => resource,
                    None => {
                        let updated = resource.last_updated().map(str::to_owned);
                        stamp(resource, 1, updated)?
                    }
                };
                store.versions.insert(id, vec![resource]);
            }
        }
        Ok(self)
    }

    /// Writes take `meta.lastUpdated` from `clock` instead of the system time (for tests that
    /// compare it).
    #[must_use]
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Box::new(clock);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic in another request cannot leave the maps half-changed: every write is one
        // insertion, so the data behind a poisoned lock is still consistent.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Option<String> {
        (self.clock)().format(&Rfc3339).ok()
    }

    fn not_found(&self, id: &str) -> Error {
        Error::NotFound {
            resource_type: self.resource_type.clone(),
            id: id.to_owned(),
        }
    }

    /// The current version of `id` when it meets `ctx`'s constraints.
    fn current(&self, store: &Store, id: &str, ctx: &Context) -> Result<Resource> {
        let resource = store
            .versions
            .get(id)
            .and_then(|v| v.last())
            .filter(|r| self.admits(r, ctx).unwrap_or(false))
            .ok_or_else(|| self.not_found(id))?;
        if store.deleted.contains(id) {
            return Err(Error::Gone {
                resource_type: self.resource_type.clone(),
                id: id.to_owned(),
            });
        }
        Ok(resource.clone())
    }

    /// Whether `resource` meets every constraint of `ctx`.
    fn admits(&self, resource: &Resource, ctx: &Context) -> Result<bool> {
        for constraint in &ctx.constraints {
            let holds = match constraint {
                Constraint::Compartment {
                    compartment_type,
                    id,
                } => compartment::contains(resource, compartment_type, id, None),
                Constraint::Criterion(criterion) => self.matches(resource, criterion)?,
            };
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn matches(&self, resource: &Resource, criterion: &Criterion) -> Result<bool> {
        let unsupported = |param: &str| Error::UnsupportedSearch {
            param: param.to_owned(),
            message: "the in-memory provider matches _id and references without modifiers".into(),
        };
        let Criterion::Values {
            param,
            modifier: None,
            values,
        } = criterion
        else {
            return Err(unsupported("a chain, _has or :missing"));
        };
        values.iter().try_fold(false, |any, value| {
            Ok(any
                || match value {
                    SearchValue::Token(TokenValue {
                        system: TokenSystem::Any,
                        code: Some(code),
                    }) if param.code == "_id" => resource.id() == Some(code.as_str()),
                    SearchValue::Reference(ReferenceValue::Local {
                        resource_type,
                        id,
                        version: None,
                    }) => references(resource, param, None).iter().any(|r| {
                        r.id == id
                            && resource_type
                                .as_deref()
                                .is_none_or(|t| t == r.resource_type)
                    }),
                    _ => return Err(unsupported(param.code)),
                })
        })
    }

    /// One page of `all`, by the query's `_count` and offset.
    fn page(all: Vec<Resource>, query: &SearchQuery) -> SearchPage {
        let count = query.result.count.unwrap_or(20) as usize;
        let offset = match query.result.page {
            Some(PageToken::Offset(n)) => usize::try_from(n).unwrap_or(usize::MAX),
            _ => 0,
        };
        SearchPage {
            total: Some(all.len() as u64),
            next: (offset.saturating_add(count) < all.len())
                .then(|| PageToken::Offset((offset + count) as u64)),
            previous: (offset > 0).then(|| PageToken::Offset(offset.saturating_sub(count) as u64)),
            resources: all.into_iter().skip(offset).take(count).collect(),
        }
    }

    fn check_if_match(history: &[Resource], if_match: Option<&str>) -> Result<()> {
        let current = history.last().and_then(Resource::version_id);
        match if_match {
            Some(expected) if current != Some(expected) => Err(Error::PreconditionFailed(format!(
                "version {expected} is not the current version {}",
                current.unwrap_or("(none)")
            ))),
            _ => Ok(()),
        }
    }
}

/// `resource` with `meta.versionId` = `version` and `meta.lastUpdated` = `last_updated`.
fn stamp(resource: Resource, version: usize, last_updated: Option<String>) -> Result<Resource> {
    let mut json = resource.into_json();
    let mut meta = json!({"versionId": version.to_string()});
    if let Some(last_updated) = last_updated {
        meta["lastUpdated"] = json!(last_updated);
    }
    json["meta"] = meta;
    Resource::new(json)
}

#[async_trait]
impl ResourceProvider for MemoryProvider {
    fn resource_type(&self) -> &str {
        &self.resource_type
    }

    fn interactions(&self) -> Interactions {
        Interaction::ALL.into_iter().collect()
    }

    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.params.clone()
    }

    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
        self.current(&self.lock(), id, ctx)
    }

    async fn vread(&self, id: &str, version_id: &str, ctx: &Context) -> Result<Resource> {
        let store = self.lock();
        store
            .versions
            .get(id)
            .and_then(|v| v.iter().find(|r| r.version_id() == Some(version_id)))
            .filter(|r| self.admits(r, ctx).unwrap_or(false))
            .cloned()
            .ok_or_else(|| self.not_found(id))
    }

    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        let store = self.lock();
        Ok(ids
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(|id| self.current(&store, id, ctx).ok())
            .collect())
    }

    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let store = self.lock();
        let mut all = Vec::new();
        for (id, versions) in &store.versions {
            let Some(resource) = versions.last().filter(|_| !store.deleted.contains(id)) else {
                continue;
            };
            let mut keep = self.admits(resource, ctx)?;
            for criterion in &query.criteria {
                keep = keep && self.matches(resource, criterion)?;
            }
            if keep {
                all.push(resource.clone());
            }
        }
        Ok(Self::page(all, query))
    }

    async fn create(&self, mut resource: Resource, ctx: &Context) -> Result<Resource> {
        let mut store = self.lock();
        let id = (store.versions.len() + 1..)
            .map(|n| n.to_string())
            .find(|id| !store.versions.contains_key(id))
            .unwrap_or_default();
        resource.set_id(&id);
        let stored = stamp(resource, 1, self.now())?;
        if !self.admits(&stored, ctx)? {
            return Err(Error::Forbidden(
                "the resource lies outside what this request may write".to_owned(),
            ));
        }
        store.versions.insert(id, vec![stored.clone()]);
        Ok(stored)
    }

    async fn update(
        &self,
        id: &str,
        mut resource: Resource,
        if_match: Option<String>,
        ctx: &Context,
    ) -> Result<Updated> {
        let mut store = self.lock();
        let history = store
            .versions
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if history
            .last()
            .is_some_and(|r| !self.admits(r, ctx).unwrap_or(false))
        {
            return Err(self.not_found(id));
        }
        Self::check_if_match(history, if_match.as_deref())?;
        resource.set_id(id);
        let stored = stamp(resource, history.len() + 1, self.now())?;
        if !self.admits(&stored, ctx)? {
            return Err(Error::Forbidden(
                "the resource lies outside what this request may write".to_owned(),
            ));
        }
        let created = history.is_empty();
        store
            .versions
            .entry(id.to_owned())
            .or_default()
            .push(stored.clone());
        store.deleted.remove(id);
        Ok(Updated {
            resource: stored,
            created,
        })
    }

    async fn delete(&self, id: &str, ctx: &Context) -> Result<()> {
        let mut store = self.lock();
        self.current(&store, id, ctx)?;
        store.deleted.insert(id.to_owned());
        Ok(())
    }

    async fn history_instance(
        &self,
        id: &str,
        query: &SearchQuery,
        ctx: &Context,
    ) -> Result<SearchPage> {
        let store = self.lock();
        let versions = store
            .versions
            .get(id)
            .filter(|v| {
                v.last()
                    .is_some_and(|r| self.admits(r, ctx).unwrap_or(false))
            })
            .ok_or_else(|| self.not_found(id))?;
        Ok(Self::page(versions.iter().rev().cloned().collect(), query))
    }

    async fn history_type(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let store = self.lock();
        let mut all = Vec::new();
        for versions in store.versions.values() {
            for resource in versions.iter().rev() {
                if self.admits(resource, ctx)? {
                    all.push(resource.clone());
                }
            }
        }
        Ok(Self::page(all, query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn observations() -> MemoryProvider {
        let rows = (1..=3).map(|i| {
            let patient = if i < 3 { "p1" } else { "p2" };
            Resource::new(json!({"resourceType": "Observation", "id": format!("o{i}"),
                "subject": {"reference": format!("Patient/{patient}")}}))
            .unwrap()
        });
        MemoryProvider::new("Observation")
            .with_reference_param("subject")
            .unwrap()
            .with_resources(rows)
            .unwrap()
            .with_clock(|| datetime!(2024-05-01 10:20:30 UTC))
    }

    fn in_compartment(patient: &str) -> Context {
        Context::new().with_constraint(Constraint::Compartment {
            compartment_type: "Patient".into(),
            id: patient.into(),
        })
    }

    fn by_subject(reference: &str) -> SearchQuery {
        let mut query = SearchQuery::new("Observation");
        let (resource_type, id) = reference.split_once('/').unwrap();
        query.criteria.push(Criterion::Values {
            param: r4_param("Observation", "subject").unwrap(),
            modifier: None,
            values: vec![SearchValue::Reference(ReferenceValue::Local {
                resource_type: Some(resource_type.into()),
                id: id.into(),
                version: None,
            })],
        });
        query
    }

    fn ids(page: &SearchPage) -> Vec<&str> {
        page.resources.iter().filter_map(Resource::id).collect()
    }

    #[tokio::test]
    async fn searches_match_references_and_constraints() {
        let store = observations();
        let ctx = Context::new();
        let page = store.search(&by_subject("Patient/p1"), &ctx).await.unwrap();
        assert_eq!(ids(&page), ["o1", "o2"]);
        assert_eq!(page.total, Some(2));
        let confined = store
            .search(&SearchQuery::new("Observation"), &in_compartment("p2"))
            .await
            .unwrap();
        assert_eq!(ids(&confined), ["o3"]);
        assert_eq!(
            store
                .read("o1", &in_compartment("p2"))
                .await
                .unwrap_err()
                .status(),
            404
        );
        let many = store
            .read_many(
                &["o3".into(), "o1".into(), "nope".into()],
                &in_compartment("p1"),
            )
            .await
            .unwrap();
        assert_eq!(
            many.iter().filter_map(Resource::id).collect::<Vec<_>>(),
            ["o1"]
        );
    }

    #[tokio::test]
    async fn pages_by_offset() {
        let store = observations();
        let mut query = SearchQuery::new("Observation");
        query.result.count = Some(2);
        let first = store.search(&query, &Context::new()).await.unwrap();
        assert_eq!(
            (ids(&first), first.next.clone()),
            (vec!["o1", "o2"], Some(PageToken::Offset(2)))
        );
        query.result.page = first.next;
        let last = store.search(&query, &Context::new()).await.unwrap();
        assert_eq!(
            (ids(&last), last.next.clone(), last.previous.clone()),
            (vec!["o3"], None, Some(PageToken::Offset(0)))
        );
    }

    #[tokio::test]
    async fn writes_are_versioned_checked_and_deletes_are_gone() {
        let store = observations();
        let ctx = Context::new();
        let body = |patient: &str| {
            Resource::new(json!({"resourceType": "Observation",
                "subject": {"reference": format!("Patient/{patient}")}}))
            .unwrap()
        };
        let created = store.create(body("p1"), &ctx).await.unwrap();
        assert_eq!((created.id(), created.version_id()), (Some("4"), Some("1")));
        assert_eq!(created.last_updated(), Some("2024-05-01T10:20:30Z"));
        let stale = store.update("o1", body("p1"), Some("7".into()), &ctx).await;
        assert_eq!(stale.unwrap_err().status(), 412);
        let updated = store
            .update("o1", body("p1"), Some("1".into()), &ctx)
            .await
            .unwrap();
        assert_eq!(
            (updated.created, updated.resource.version_id()),
            (false, Some("2"))
        );
        assert_eq!(
            store.vread("o1", "1", &ctx).await.unwrap().version_id(),
            Some("1")
        );
        let history = store
            .history_instance("o1", &SearchQuery::new("Observation"), &ctx)
            .await
            .unwrap();
        assert_eq!(history.resources[0].version_id(), Some("2"));
        // A patient-scoped writer can neither move a resource out of its compartment nor touch
        // another patient's.
        let p1 = in_compartment("p1");
        assert_eq!(
            store.create(body("p2"), &p1).await.unwrap_err().status(),
            403
        );
        assert_eq!(
            store
                .update("o3", body("p1"), None, &p1)
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(store.delete("o3", &p1).await.unwrap_err().status(), 404);
        store.delete("o3", &ctx).await.unwrap();
        assert_eq!(store.read("o3", &ctx).await.unwrap_err().status(), 410);
        assert_eq!(
            ids(&store.search(&by_subject("Patient/p2"), &ctx).await.unwrap()),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn configuration_mistakes_are_config_errors() {
        let not_a_reference = MemoryProvider::new("Observation").with_reference_param("code");
        assert!(matches!(not_a_reference, Err(Error::Config(_))));
        let wrong_type = MemoryProvider::new("Observation")
            .with_resources(
                [Resource::new(json!({"resourceType": "Patient", "id": "p"})).unwrap()],
            );
        assert!(matches!(wrong_type, Err(Error::Config(_))));
    }
}
