//! [`ResourceProvider`]: what a legacy schema can do for one resource type.

use crate::search::{Criterion, PageToken, SearchParamDef, SearchQuery};
use crate::{Error, Resource, Result};
use async_trait::async_trait;

/// One FHIR interaction, as the CapabilityStatement names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Interaction {
    /// `read`
    Read,
    /// `vread`
    Vread,
    /// `update`
    Update,
    /// `delete`
    Delete,
    /// `create`
    Create,
    /// `search-type`
    SearchType,
    /// `history-instance`
    HistoryInstance,
    /// `history-type`
    HistoryType,
}

impl Interaction {
    /// Every interaction, in the order the CapabilityStatement lists them.
    pub const ALL: [Interaction; 8] = [
        Interaction::Read,
        Interaction::Vread,
        Interaction::Update,
        Interaction::Delete,
        Interaction::Create,
        Interaction::SearchType,
        Interaction::HistoryInstance,
        Interaction::HistoryType,
    ];

    /// The code of the `TypeRestfulInteraction` value set.
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::Create => "create",
            Interaction::SearchType => "search-type",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Interaction`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interactions(u16);

impl Interactions {
    /// No interaction.
    pub const NONE: Interactions = Interactions(0);

    /// The set with one more interaction.
    #[must_use]
    pub fn with(self, interaction: Interaction) -> Self {
        Interactions(self.0 | interaction.bit())
    }

    /// Whether the set holds `interaction`.
    pub fn contains(self, interaction: Interaction) -> bool {
        self.0 & interaction.bit() != 0
    }

    /// The interactions in the set, in CapabilityStatement order.
    pub fn iter(self) -> impl Iterator<Item = Interaction> {
        Interaction::ALL
            .into_iter()
            .filter(move |i| self.contains(*i))
    }
}

impl FromIterator<Interaction> for Interactions {
    fn from_iter<T: IntoIterator<Item = Interaction>>(iter: T) -> Self {
        iter.into_iter()
            .fold(Interactions::NONE, Interactions::with)
    }
}

/// A condition the facade adds to a request from its authorization, never from the client's query.
///
/// Constraints are re-derived on every request (from the token), so they are never written into
/// paging links and a client cannot drop them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Constraint {
    /// Only resources in the compartment of this resource (for SMART `patient/` scopes: a Patient).
    Compartment {
        /// The compartment type (`Patient`).
        compartment_type: String,
        /// The id of the compartment's resource.
        id: String,
    },
    /// A criterion that must hold (for example from a query-narrowed SMART v2 scope).
    Criterion(Criterion),
}

/// Decides, per resource type and interaction, whether a request may run and under which
/// constraints. The [`Facade`](crate::Facade) asks it before every provider call, including the
/// calls that resolve `_include` and `_revinclude`.
///
/// # Example
///
/// ```
/// use fhir_facade_core::AccessPolicy;
/// use fhir_facade_core::search::ParamSource;
/// use fhir_facade_core::{Constraint, Error, Interaction, Result};
///
/// /// Read-only access to everything.
/// #[derive(Debug)]
/// struct ReadOnly;
///
/// impl AccessPolicy for ReadOnly {
///     fn constraints(&self, resource_type: &str, interaction: Interaction, _: &dyn ParamSource)
///         -> Result<Vec<Constraint>>
///     {
///         match interaction {
///             Interaction::Read | Interaction::Vread | Interaction::SearchType => Ok(vec![]),
///             _ => Err(Error::Forbidden(format!("{resource_type} is read-only"))),
///         }
///     }
/// }
///
/// let params = fhir_facade_core::search::SupportedParams::new();
/// assert!(ReadOnly.constraints("Patient", Interaction::Read, &params).is_ok());
/// assert_eq!(ReadOnly.constraints("Patient", Interaction::Delete, &params).unwrap_err().status(), 403);
/// ```
pub trait AccessPolicy: Send + Sync + std::fmt::Debug {
    /// The constraints under which `interaction` on `resource_type` may run, or
    /// [`Error::Forbidden`] (403). `params` parses query-shaped grants against what the server
    /// supports.
    fn constraints(
        &self,
        resource_type: &str,
        interaction: Interaction,
        params: &dyn crate::search::ParamSource,
    ) -> Result<Vec<Constraint>>;
}

/// What every provider call is told about the request besides its own arguments.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Context {
    /// Conditions that every resource read, searched, included or written must meet.
    pub constraints: Vec<Constraint>,
    /// The request id, for logs.
    pub request_id: Option<String>,
    /// Who may do what; `None` for an open server. The facade turns it into `constraints` per
    /// call, so providers only ever look at `constraints`.
    pub access: Option<std::sync::Arc<dyn AccessPolicy>>,
}

impl Context {
    /// A context with no constraints.
    pub fn new() -> Self {
        Context::default()
    }

    /// Adds a constraint.
    #[must_use]
    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraints.push(constraint);
        self
    }

    /// Sets the access policy (for example the `SmartGrant` of a validated SMART token).
    #[must_use]
    pub fn with_access(mut self, access: std::sync::Arc<dyn AccessPolicy>) -> Self {
        self.access = Some(access);
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// One page of search matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchPage {
    /// The matches on this page, in order.
    pub resources: Vec<Resource>,
    /// The number of matches across all pages, when asked for (`_total=accurate`) or known for free.
    pub total: Option<u64>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageToken>,
    /// Where the previous page starts; `None` on the first page or when the provider cannot go back.
    pub previous: Option<PageToken>,
}

/// The result of an update.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    /// The resource as stored, with its new `meta.versionId`.
    pub resource: Resource,
    /// `true` when the update created the resource (201), `false` when it replaced one (200).
    pub created: bool,
}

/// The data access for one resource type over a legacy schema.
///
/// Only [`read`](ResourceProvider::read) is required. Every other interaction has a provided
/// method that answers [`Error::NotSupported`] (405), so a provider implements exactly what its
/// schema can do and declares it in [`interactions`](ResourceProvider::interactions) and
/// [`search_params`](ResourceProvider::search_params); the router dispatches and the
/// CapabilityStatement is built from those declarations, so the two never disagree.
///
/// Every method receives the request's [`Context`]; its [`Constraint`]s must be applied in the
/// query itself (a resource outside them is "not found"), so that a patient-scoped caller can
/// never learn of another patient's data.
///
/// # Example
///
/// ```
/// use async_trait::async_trait;
/// use fhir_facade_core::{Context, Error, Resource, ResourceProvider, Result};
/// use serde_json::json;
///
/// struct Practitioners;
///
/// #[async_trait]
/// impl ResourceProvider for Practitioners {
///     fn resource_type(&self) -> &str {
///         "Practitioner"
///     }
///
///     async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
///         match id {
///             "dr-1" => Resource::new(json!({
///                 "resourceType": "Practitioner", "id": "dr-1",
///                 "name": [{"family": "Weber"}]
///             })),
///             _ => Err(Error::NotFound { resource_type: "Practitioner".into(), id: id.into() }),
///         }
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let p = Practitioners;
/// let ctx = Context::new();
/// assert_eq!(p.read("dr-1", &ctx).await.unwrap().id(), Some("dr-1"));
/// assert_eq!(p.read("nope", &ctx).await.unwrap_err().status(), 404);
/// // Not written, so not supported: 405.
/// assert_eq!(p.delete("dr-1", &ctx).await.unwrap_err().status(), 405);
/// # });
/// ```
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ResourceProvider: Send + Sync {
    /// The resource type served (`Patient`).
    fn resource_type(&self) -> &str;

    /// The interactions this provider implements besides `read`.
    ///
    /// The default is `read`, plus `search-type` when [`search_params`](Self::search_params) is
    /// not empty. Override it when you implement more.
    fn interactions(&self) -> Interactions {
        let base = Interactions::NONE.with(Interaction::Read);
        if self.search_params().is_empty() {
            base
        } else {
            base.with(Interaction::SearchType)
        }
    }

    /// The search parameters [`search`](Self::search) understands. Parameters not listed are
    /// rejected or ignored by the parser before the provider is called, so a provider never sees
    /// a criterion it did not declare.
    fn search_params(&self) -> Vec<&'static SearchParamDef> {
        Vec::new()
    }

    /// Reads the current version of a resource: [`Error::NotFound`] (404) when there is none or it
    /// lies outside the context's constraints, [`Error::Gone`] (410) when it was deleted.
    async fn read(&self, id: &str, ctx: &Context) -> Result<Resource>;

    /// Reads one version of a resource.
    async fn vread(&self, id: &str, version_id: &str, ctx: &Context) -> Result<Resource> {
        let _ = (id, version_id, ctx);
        Err(self.unsupported(Interaction::Vread))
    }

    /// Reads many resources at once, for `_include`: the ones that exist and meet the constraints,
    /// in any order; missing ids are left out, not an error.
    ///
    /// The default runs one [`search`](Self::search) with `_id=id1,id2,...` when the provider
    /// declares `_id`; otherwise including this type is not supported.
    async fn read_many(&self, ids: &[String], ctx: &Context) -> Result<Vec<Resource>> {
        let Some(id_param) = self.search_params().into_iter().find(|p| p.code == "_id") else {
            return Err(Error::UnsupportedSearch {
                param: "_include".to_owned(),
                message: format!("{} cannot be read in batches", self.resource_type()),
            });
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = SearchQuery::by_ids(self.resource_type(), id_param, ids);
        Ok(self.search(&query, ctx).await?.resources)
    }

    /// Runs a search and returns one page of matches.
    async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let _ = (query, ctx);
        Err(self.unsupported(Interaction::SearchType))
    }

    /// Creates a resource; the provider assigns the id. Returns the resource as stored.
    async fn create(&self, resource: Resource, ctx: &Context) -> Result<Resource> {
        let _ = (resource, ctx);
        Err(self.unsupported(Interaction::Create))
    }

    /// Replaces a resource. With `if_match`, fails with [`Error::PreconditionFailed`] (412) unless
    /// the current `meta.versionId` equals it.
    async fn update(
        &self,
        id: &str,
        resource: Resource,
        if_match: Option<String>,
        ctx: &Context,
    ) -> Result<Updated> {
        let _ = (id, resource, if_match, ctx);
        Err(self.unsupported(Interaction::Update))
    }

    /// Deletes a resource; afterwards a read answers 410.
    async fn delete(&self, id: &str, ctx: &Context) -> Result<()> {
        let _ = (id, ctx);
        Err(self.unsupported(Interaction::Delete))
    }

    /// The versions of one resource, newest first, one page.
    async fn history_instance(
        &self,
        id: &str,
        query: &SearchQuery,
        ctx: &Context,
    ) -> Result<SearchPage> {
        let _ = (id, query, ctx);
        Err(self.unsupported(Interaction::HistoryInstance))
    }

    /// The versions of all resources of the type, newest first, one page.
    async fn history_type(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
        let _ = (query, ctx);
        Err(self.unsupported(Interaction::HistoryType))
    }

    /// Creates `resource` unless a resource matching `query` (the `If-None-Exist` header) exists.
    ///
    /// Returns the stored or the existing resource and whether it was created. Two or more matches
    /// are a [`Error::PreconditionFailed`] (412). The default searches, then creates: override it
    /// where the schema can make the check and the insert atomic.
    async fn conditional_create(
        &self,
        query: &SearchQuery,
        resource: Resource,
        ctx: &Context,
    ) -> Result<Updated> {
        match self.matching_ids(query, ctx).await?.as_slice() {
            [] => Ok(Updated {
                resource: self.create(resource, ctx).await?,
                created: true,
            }),
            [id] => Ok(Updated {
                resource: self.read(id, ctx).await?,
                created: false,
            }),
            _ => Err(Error::PreconditionFailed(
                "the If-None-Exist criteria match more than one resource".to_owned(),
            )),
        }
    }

    /// Updates the one resource matching `query`, or creates `resource` when none matches.
    ///
    /// Two or more matches are a [`Error::PreconditionFailed`] (412); a body whose `id` differs from
    /// the match is a 400.
    async fn conditional_update(
        &self,
        query: &SearchQuery,
        mut resource: Resource,
        ctx: &Context,
    ) -> Result<Updated> {
        match self.matching_ids(query, ctx).await?.as_slice() {
            [] => match resource.id().map(str::to_owned) {
                Some(id) => self.update(&id, resource, None, ctx).await,
                None => Ok(Updated {
                    resource: self.create(resource, ctx).await?,
                    created: true,
                }),
            },
            [id] => {
                if resource.id().is_some_and(|body_id| body_id != id) {
                    return Err(Error::BadRequest(
                        "the resource id differs from the resource matching the criteria"
                            .to_owned(),
                    ));
                }
                resource.set_id(id);
                self.update(id, resource, None, ctx).await
            }
            _ => Err(Error::PreconditionFailed(
                "the criteria match more than one resource".to_owned(),
            )),
        }
    }

    /// Deletes the one resource matching `query`; no match is not an error.
    ///
    /// Two or more matches are a [`Error::PreconditionFailed`] (412).
    async fn conditional_delete(&self, query: &SearchQuery, ctx: &Context) -> Result<()> {
        match self.matching_ids(query, ctx).await?.as_slice() {
            [] => Ok(()),
            [id] => self.delete(id, ctx).await,
            _ => Err(Error::PreconditionFailed(
                "the criteria match more than one resource".to_owned(),
            )),
        }
    }

    /// The ids of up to two resources matching `query`: enough to tell none, one and many apart.
    async fn matching_ids(&self, query: &SearchQuery, ctx: &Context) -> Result<Vec<String>> {
        let mut probe = query.clone();
        probe.result.count = Some(2);
        probe.result.page = None;
        let page = self.search(&probe, ctx).await?;
        Ok(page
            .resources
            .iter()
            .filter_map(|r| r.id().map(str::to_owned))
            .collect())
    }

    /// The error the provided methods answer with.
    fn unsupported(&self, interaction: Interaction) -> Error {
        Error::not_supported(self.resource_type(), interaction.code())
    }
}
