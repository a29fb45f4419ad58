//! [`Facade`]: the FHIR interactions over the registered providers, independent of HTTP.
//!
//! The HTTP binding maps routes to these methods; everything FHIR decides — which interactions
//! exist, how a search is parsed, paged and completed with includes — happens here once.

use crate::bundle::{Bundle, LinkRelation};
use crate::capability::{CapabilityOptions, capability_statement};
use crate::error::{Issue, IssueType, Severity};
use crate::paging::PageSize;
use crate::provider::{Interaction, Updated};
use crate::search::references;
use crate::search::render::include_pair;
use crate::search::{
    Criterion, Handling, PageToken, ParseOptions, ReferenceValue, SearchValue, Summary,
    SupportedParams,
};
use crate::{Constraint, Context, Error, Resource, ResourceProvider, Result, SearchQuery};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How many rounds `_include:iterate` follows before it stops, so a reference cycle cannot loop.
const MAX_INCLUDE_ROUNDS: usize = 4;

/// The registered providers and the rules that apply to all of them.
#[derive(Clone)]
pub struct Facade {
    providers: BTreeMap<String, Arc<dyn ResourceProvider>>,
    params: SupportedParams,
    page_size: PageSize,
    max_included: u32,
}

impl std::fmt::Debug for Facade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facade")
            .field("resource_types", &self.providers.keys().collect::<Vec<_>>())
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Facade`].
#[derive(Default)]
pub struct FacadeBuilder {
    providers: Vec<Arc<dyn ResourceProvider>>,
    page_size: Option<PageSize>,
    max_included: Option<u32>,
}

impl FacadeBuilder {
    /// Registers a provider.
    #[must_use]
    pub fn provider(self, provider: impl ResourceProvider + 'static) -> Self {
        self.shared_provider(Arc::new(provider))
    }

    /// Registers a provider that is shared with other code.
    #[must_use]
    pub fn shared_provider(mut self, provider: Arc<dyn ResourceProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// The default and maximum page size (default 20 and 100).
    #[must_use]
    pub fn page_size(mut self, page_size: PageSize) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The most resources one `_include` or `_revinclude` path adds to a page (default 1000).
    #[must_use]
    pub fn max_included(mut self, max: u32) -> Self {
        self.max_included = Some(max);
        self
    }

    /// The facade; two providers for one resource type are a configuration error.
    pub fn build(self) -> Result<Facade> {
        let mut providers = BTreeMap::new();
        let mut params = SupportedParams::new();
        for provider in self.providers {
            let resource_type = provider.resource_type().to_owned();
            params.insert(resource_type.clone(), provider.search_params());
            if providers.insert(resource_type.clone(), provider).is_some() {
                return Err(Error::Config(format!(
                    "two providers registered for {resource_type}"
                )));
            }
        }
        Ok(Facade {
            providers,
            params,
            page_size: self.page_size.unwrap_or_default(),
            max_included: self.max_included.unwrap_or(1000),
        })
    }
}

/// A search as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    /// The resource type searched.
    pub resource_type: &'a str,
    /// The query string or form body, URL-encoded.
    pub query: &'a str,
    /// `Prefer: handling=strict|lenient`.
    pub handling: Handling,
    /// The base URL of this server as the client sees it, for links and `fullUrl`s.
    pub base_url: &'a str,
    /// For a compartment search (`Patient/{id}/Observation`): the compartment's type and id.
    pub compartment: Option<(&'a str, &'a str)>,
}

impl Facade {
    /// Starts a builder.
    pub fn builder() -> FacadeBuilder {
        FacadeBuilder::default()
    }

    /// The registered providers, by resource type.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn ResourceProvider>> {
        self.providers.values()
    }

    /// The search parameters each type supports.
    pub fn supported_params(&self) -> &SupportedParams {
        &self.params
    }

    /// The provider for a type: 404 when the type is not served.
    pub fn provider(&self, resource_type: &str) -> Result<&Arc<dyn ResourceProvider>> {
        self.providers
            .get(resource_type)
            .ok_or_else(|| Error::UnknownResourceType(resource_type.to_owned()))
    }

    /// The provider for a type when it declares `interaction`: 404 for an unknown type, 405 for an
    /// interaction it does not declare.
    pub fn provider_for(
        &self,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<&Arc<dyn ResourceProvider>> {
        let provider = self.provider(resource_type)?;
        if provider.interactions().contains(interaction) {
            Ok(provider)
        } else {
            Err(Error::not_supported(resource_type, interaction.code()))
        }
    }

    /// Parses a search against the parameters the type supports.
    pub fn parse_search(
        &self,
        resource_type: &str,
        query: &str,
        handling: Handling,
        base_url: &str,
    ) -> Result<SearchQuery> {
        let options = ParseOptions {
            handling,
            base_url: Some(base_url),
        };
        SearchQuery::parse(resource_type, query, &self.params, &options)
    }

    /// The criteria of a conditional interaction: parsed strictly, because an ignored parameter
    /// would widen the match, and never empty, because no criteria would match everything.
    fn parse_conditional(
        &self,
        resource_type: &str,
        criteria: &str,
        base_url: &str,
    ) -> Result<SearchQuery> {
        let query = self.parse_search(resource_type, criteria, Handling::Strict, base_url)?;
        if query.criteria.is_empty() {
            return Err(Error::BadRequest(
                "a conditional interaction needs search criteria".to_owned(),
            ));
        }
        Ok(query)
    }

    /// `GET [base]/[type]{?query}`, `POST [base]/[type]/_search` and compartment searches.
    pub async fn search(&self, request: &SearchRequest<'_>, ctx: &Context) -> Result<Bundle> {
        let provider = self.provider_for(request.resource_type, Interaction::SearchType)?;
        let mut query = self.parse_search(
            request.resource_type,
            request.query,
            request.handling,
            request.base_url,
        )?;
        let count = self.page_size.effective(query.result.count);
        query.result.count = Some(count);
        if count == 0 {
            query.result.summary = Some(Summary::Count);
        }
        let mut search_ctx = self.scoped(ctx, request.resource_type, Interaction::SearchType)?;
        // A chain or `_has` searches its types as well: the caller must be allowed to.
        let mut joined = BTreeSet::new();
        joined_types(&query.criteria, &mut joined);
        for resource_type in &joined {
            let joined_ctx = self.scoped(ctx, resource_type, Interaction::SearchType)?;
            // A query-narrowed scope on a joined type would have to hold inside the chain's
            // subquery, where nothing applies it: refuse rather than let the chain look past it.
            let narrowed = joined_ctx.constraints[ctx.constraints.len()..]
                .iter()
                .any(|c| matches!(c, Constraint::Criterion(_)));
            if narrowed {
                return Err(Error::Forbidden(format!(
                    "the scope for {resource_type} is narrowed by a query, which a chain or _has \
                     cannot apply"
                )));
            }
        }
        if let Some((compartment_type, id)) = request.compartment {
            search_ctx.constraints.push(Constraint::Compartment {
                compartment_type: compartment_type.to_owned(),
                id: id.to_owned(),
            });
        }
        let mut page = provider.search(&query, &search_ctx).await?;
        let returned = page.resources.len();
        page.resources = confine(page.resources, &search_ctx, request.base_url);
        if page.resources.len() < returned {
            // The provider ignored a constraint, so its total counted what the caller may not
            // see: how much another patient has is not for this caller either.
            page.total = None;
        }
        // A first page with no next page holds every match, so the total is known for free
        // (search.html#total) — unless the provider ignored a constraint, whose paging is not
        // to be trusted either.
        if page.total.is_none()
            && page.resources.len() == returned
            && page.next.is_none()
            && query.result.page.is_none()
            && query.result.summary != Some(Summary::Count)
        {
            page.total = Some(page.resources.len() as u64);
        }
        let (included, capped) = if query.result.summary == Some(Summary::Count) {
            Default::default()
        } else {
            self.included(&query, &page.resources, request.base_url, ctx)
                .await?
        };
        let path = match request.compartment {
            Some((compartment_type, id)) => {
                format!("{compartment_type}/{id}/{}", request.resource_type)
            }
            None => request.resource_type.to_owned(),
        };
        // A client must not take a capped include for all there is.
        let warnings = (!capped.is_empty()).then(|| Issue {
            severity: Severity::Warning,
            code: IssueType::TooCostly,
            diagnostics: format!(
                "only the first {} resources of each of these were included: {}",
                self.max_included,
                capped.into_iter().collect::<Vec<_>>().join(", ")
            ),
            expression: None,
        });
        Ok(searchset(
            request.base_url,
            &path,
            &query,
            page,
            included,
            warnings.into_iter().collect(),
        ))
    }

    /// The context for one provider call: the request's constraints plus what its access policy
    /// demands for this type and interaction (403 when it allows nothing).
    fn scoped(
        &self,
        ctx: &Context,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Context> {
        let mut scoped = ctx.clone();
        if let Some(access) = &ctx.access {
            scoped.constraints.extend(access.constraints(
                resource_type,
                interaction,
                &self.params,
            )?);
        }
        Ok(scoped)
    }

    /// Like [`scoped`](Self::scoped) for the calls that complete a page: a type the caller may not
    /// see is left out of the page (`Ok(None)`), not an error for the whole search.
    fn scoped_include(
        &self,
        ctx: &Context,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Option<Context>> {
        match self.scoped(ctx, resource_type, interaction) {
            Ok(scoped) => Ok(Some(scoped)),
            Err(Error::Forbidden(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Resources added by `_include` and `_revinclude`: one provider call per path and round,
    /// never one per match. Also the paths that had more than `max_included` resources to add,
    /// of which only that many were added.
    async fn included(
        &self,
        query: &SearchQuery,
        matches: &[Resource],
        base_url: &str,
        ctx: &Context,
    ) -> Result<(Vec<Resource>, BTreeSet<String>)> {
        let mut seen: BTreeSet<(String, String)> = matches.iter().filter_map(key).collect();
        let mut included = Vec::new();
        let mut capped = BTreeSet::new();
        let mut frontier: Vec<Resource> = matches.to_vec();
        for round in 0..MAX_INCLUDE_ROUNDS {
            let mut found = Vec::new();
            for include in query
                .result
                .include
                .iter()
                .filter(|i| round == 0 || i.iterate)
            {
                let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                for resource in frontier
                    .iter()
                    .filter(|r| r.resource_type() == include.source_type)
                {
                    for found in references(resource, include.param, Some(base_url)) {
                        let key = (found.resource_type.to_owned(), found.id.to_owned());
                        if include
                            .target_type
                            .as_ref()
                            .is_none_or(|t| t == found.resource_type)
                            && !seen.contains(&key)
                        {
                            wanted.entry(key.0).or_default().insert(key.1);
                        }
                    }
                }
                for (target_type, ids) in wanted {
                    // A reference to a type this server does not serve cannot be included.
                    let Ok(provider) = self.provider(&target_type) else {
                        continue;
                    };
                    let Some(scoped) = self.scoped_include(ctx, &target_type, Interaction::Read)?
                    else {
                        continue;
                    };
                    if ids.len() > self.max_included as usize {
                        let (name, value) = include_pair("_include", include);
                        capped.insert(format!("{name}={value}"));
                    }
                    let ids: Vec<String> =
                        ids.into_iter().take(self.max_included as usize).collect();
                    let read = provider.read_many(&ids, &scoped).await?;
                    found.extend(confine(read, &scoped, base_url));
                }
            }
            for revinclude in query
                .result
                .revinclude
                .iter()
                .filter(|i| round == 0 || i.iterate)
            {
                let targets: Vec<SearchValue> = frontier
                    .iter()
                    .filter(|r| {
                        revinclude.param.targets.contains(&r.resource_type())
                            && revinclude
                                .target_type
                                .as_ref()
                                .is_none_or(|t| t == r.resource_type())
                    })
                    .filter_map(|r| {
                        Some(SearchValue::Reference(ReferenceValue::Local {
                            resource_type: Some(r.resource_type().to_owned()),
                            id: r.id()?.to_owned(),
                            version: None,
                        }))
                    })
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                let Ok(provider) = self.provider(&revinclude.source_type) else {
                    continue;
                };
                let Some(scoped) =
                    self.scoped_include(ctx, &revinclude.source_type, Interaction::SearchType)?
                else {
                    continue;
                };
                let mut reverse = SearchQuery::new(revinclude.source_type.clone());
                reverse.criteria.push(Criterion::Values {
                    param: revinclude.param,
                    modifier: None,
                    values: targets,
                });
                reverse.result.count = Some(self.max_included);
                let referring = provider.search(&reverse, &scoped).await?;
                if referring.next.is_some() {
                    let (name, value) = include_pair("_revinclude", revinclude);
                    capped.insert(format!("{name}={value}"));
                }
                found.extend(confine(referring.resources, &scoped, base_url));
            }
            found.retain(|r| key(r).is_some_and(|k| seen.insert(k)));
            if found.is_empty() {
                break;
            }
            included.extend(found.iter().cloned());
            frontier = found;
        }
        Ok((included, capped))
    }

    /// The CapabilityStatement of exactly what the registered providers declare, with
    /// `Patient/$everything` when [`everything`](Self::everything) can serve it.
    pub fn capability_statement(&self, options: &CapabilityOptions) -> serde_json::Value {
        let providers: Vec<Arc<dyn ResourceProvider>> = self.providers.values().cloned().collect();
        let mut statement = capability_statement(&providers, options);
        if self.serves_everything() {
            let resources = statement["rest"][0]["resource"].as_array_mut();
            if let Some(patient) = resources
                .into_iter()
                .flatten()
                .find(|r| r["type"] == "Patient")
            {
                patient["operation"] = serde_json::json!([{
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }]);
            }
        }
        statement
    }

    /// Whether `Patient/$everything` can be served: Patient is readable.
    pub fn serves_everything(&self) -> bool {
        self.providers
            .get("Patient")
            .is_some_and(|p| p.interactions().contains(Interaction::Read))
    }

    /// `GET [base]/Patient/[id]/$everything`: the patient and every resource of a served type in
    /// its compartment, as one searchset paged by `_count` and `_offset`.
    ///
    /// The page is cut from the concatenation patient, then each type in name order, each by id:
    /// one count per type, then one search per type the page touches. Types the caller may not
    /// search are left out, as for `_include`.
    pub async fn everything(
        &self,
        patient_id: &str,
        query: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Bundle> {
        if !self.serves_everything() {
            return Err(Error::not_supported("Patient", "$everything"));
        }
        let mut parsed = SearchQuery::parse(
            "Patient",
            query,
            &SupportedParams::new(),
            &ParseOptions {
                handling: Handling::Strict,
                base_url: Some(base_url),
            },
        )?;
        if matches!(
            parsed.result.page,
            Some(PageToken::Cursor(_) | PageToken::Before(_))
        ) {
            return Err(Error::invalid_search(
                "_cursor",
                "$everything pages by _offset",
            ));
        }
        let count = u64::from(self.page_size.effective(parsed.result.count).max(1));
        parsed.result.count = Some(count as u32);
        let offset = match parsed.result.page {
            Some(PageToken::Offset(offset)) => offset,
            _ => 0,
        };
        let patient = self.read("Patient", patient_id, ctx).await?;
        let mut compartment_ctx = ctx.clone();
        compartment_ctx.constraints.push(Constraint::Compartment {
            compartment_type: "Patient".to_owned(),
            id: patient_id.to_owned(),
        });
        // How many resources each type holds in the compartment.
        let mut sources = Vec::new();
        for (resource_type, provider) in &self.providers {
            if resource_type == "Patient"
                || crate::compartment::patient_compartment_params(resource_type).is_empty()
                || !provider.interactions().contains(Interaction::SearchType)
            {
                continue;
            }
            let Some(scoped) =
                self.scoped_include(&compartment_ctx, resource_type, Interaction::SearchType)?
            else {
                continue;
            };
            let mut probe = SearchQuery::new(resource_type.clone());
            probe.result.count = Some(0);
            probe.result.summary = Some(Summary::Count);
            probe.result.total = Some(crate::search::TotalMode::Accurate);
            let total = provider
                .search(&probe, &scoped)
                .await?
                .total
                .ok_or_else(|| {
                    Error::Internal(format!("{resource_type} gave no total for $everything"))
                })?;
            sources.push((provider, scoped, total));
        }
        let grand_total = 1 + sources.iter().map(|(_, _, total)| total).sum::<u64>();
        let end = offset.saturating_add(count).min(grand_total);
        let mut resources = Vec::new();
        if offset == 0 {
            resources.push(patient);
        }
        let mut start = 1u64;
        for (provider, scoped, total) in sources {
            let (from, to) = (start.max(offset), (start + total).min(end));
            if from < to {
                let mut slice = SearchQuery::new(provider.resource_type());
                slice.result.count = Some((to - from) as u32);
                slice.result.page = Some(PageToken::Offset(from - start));
                let page = provider.search(&slice, &scoped).await?;
                resources.extend(confine(page.resources, &scoped, base_url));
            }
            start += total;
        }
        let page = crate::SearchPage {
            resources,
            total: Some(grand_total),
            next: (end < grand_total).then_some(PageToken::Offset(end)),
            previous: (offset > 0).then(|| PageToken::Offset(offset.saturating_sub(count))),
        };
        let path = format!("Patient/{patient_id}/$everything");
        Ok(searchset(
            base_url,
            &path,
            &parsed,
            page,
            Vec::new(),
            Vec::new(),
        ))
    }

    /// `GET [base]/[type]/[id]/_history` (`id` given) or `GET [base]/[type]/_history`.
    ///
    /// The query may carry `_count` and the paging parameters of a previous page's links.
    pub async fn history(
        &self,
        resource_type: &str,
        id: Option<&str>,
        query: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Bundle> {
        let interaction = if id.is_some() {
            Interaction::HistoryInstance
        } else {
            Interaction::HistoryType
        };
        let provider = self.provider_for(resource_type, interaction)?;
        // History takes only result parameters; the type's search parameters do not apply.
        let mut parsed = SearchQuery::parse(
            resource_type,
            query,
            &SupportedParams::new(),
            &ParseOptions {
                handling: Handling::Strict,
                base_url: Some(base_url),
            },
        )?;
        parsed.result.count = Some(self.page_size.effective(parsed.result.count).max(1));
        let ctx = self.scoped(ctx, resource_type, interaction)?;
        let mut page = match id {
            Some(id) => provider.history_instance(id, &parsed, &ctx).await?,
            None => provider.history_type(&parsed, &ctx).await?,
        };
        let returned = page.resources.len();
        let resources = confine(page.resources, &ctx, base_url);
        if resources.len() < returned {
            // As for a search: a total counted past the constraints is not shown.
            page.total = None;
            // Versions that all lie outside the caller's compartment are a resource it may not
            // see: "not found", like a read, instead of an empty history that tells it exists.
            if let Some(id) = id
                && resources.is_empty()
            {
                return Err(Error::NotFound {
                    resource_type: resource_type.to_owned(),
                    id: id.to_owned(),
                });
            }
        }
        let base = base_url.trim_end_matches('/');
        let path = match id {
            Some(id) => format!("{resource_type}/{id}/_history"),
            None => format!("{resource_type}/_history"),
        };
        let link = |token: Option<PageToken>| {
            let mut linked = parsed.clone();
            linked.result.page = token;
            format!("{base}/{path}?{}", linked.to_query_string())
        };
        let mut bundle = Bundle::history(base);
        bundle.add_link(LinkRelation::SelfLink, link(parsed.result.page.clone()));
        if let Some(next) = page.next {
            bundle.add_link(LinkRelation::Next, link(Some(next)));
        }
        if let Some(total) = page.total {
            bundle.set_total(total);
        }
        for resource in resources {
            let created = resource.version_id() == Some("1");
            bundle.add_version(resource, created);
        }
        Ok(bundle)
    }

    /// `GET [base]/[type]/[id]`.
    pub async fn read(&self, resource_type: &str, id: &str, ctx: &Context) -> Result<Resource> {
        let provider = self.provider_for(resource_type, Interaction::Read)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Read)?;
        let resource = provider.read(id, &ctx).await?;
        visible(resource, &ctx, id)
    }

    /// `GET [base]/[type]/[id]/_history/[vid]`.
    pub async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version_id: &str,
        ctx: &Context,
    ) -> Result<Resource> {
        let provider = self.provider_for(resource_type, Interaction::Vread)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Vread)?;
        let resource = provider.vread(id, version_id, &ctx).await?;
        visible(resource, &ctx, id)
    }

    /// `POST [base]/[type]`, with `If-None-Exist` when `if_none_exist` is given.
    pub async fn create(
        &self,
        resource_type: &str,
        mut resource: Resource,
        if_none_exist: Option<&str>,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Create)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Create)?;
        check_writable(&resource, ctx, Some(base_url))?;
        // The server assigns ids on create; a client id in the body is ignored (FHIR http.html).
        resource.remove_id();
        match if_none_exist {
            None => Ok(Updated {
                resource: provider.create(resource, ctx).await?,
                created: true,
            }),
            Some(criteria) => {
                self.provider_for(resource_type, Interaction::SearchType)?;
                let query = self.parse_conditional(resource_type, criteria, base_url)?;
                provider.conditional_create(&query, resource, ctx).await
            }
        }
    }

    /// `PUT [base]/[type]/[id]`, with `If-Match` when `if_match` is given.
    pub async fn update(
        &self,
        resource_type: &str,
        id: &str,
        resource: Resource,
        if_match: Option<String>,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Update)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Update)?;
        check_writable(&resource, ctx, None)?;
        if resource.id() != Some(id) {
            return Err(Error::BadRequest(format!(
                "the resource's id must be {id}, the id in the URL"
            )));
        }
        provider.update(id, resource, if_match, ctx).await
    }

    /// `PUT [base]/[type]?criteria`.
    pub async fn conditional_update(
        &self,
        resource_type: &str,
        criteria: &str,
        resource: Resource,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Update)?;
        self.provider_for(resource_type, Interaction::SearchType)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Update)?;
        check_writable(&resource, ctx, Some(base_url))?;
        let query = self.parse_conditional(resource_type, criteria, base_url)?;
        provider.conditional_update(&query, resource, ctx).await
    }

    /// `DELETE [base]/[type]/[id]`.
    pub async fn delete(&self, resource_type: &str, id: &str, ctx: &Context) -> Result<()> {
        let provider = self.provider_for(resource_type, Interaction::Delete)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Delete)?;
        provider.delete(id, &ctx).await
    }

    /// `DELETE [base]/[type]?criteria`.
    pub async fn conditional_delete(
        &self,
        resource_type: &str,
        criteria: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<()> {
        let provider = self.provider_for(resource_type, Interaction::Delete)?;
        self.provider_for(resource_type, Interaction::SearchType)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Delete)?;
        let query = self.parse_conditional(resource_type, criteria, base_url)?;
        provider.conditional_delete(&query, ctx).await
    }
}

/// The searchset for one page: links rebuilt from the parsed query (never from the raw URL, so
/// ignored parameters stay out), matches, includes, and an outcome entry with `warnings` and a
/// warning about what was ignored.
fn searchset(
    base_url: &str,
    path: &str,
    query: &SearchQuery,
    page: crate::SearchPage,
    included: Vec<Resource>,
    mut warnings: Vec<Issue>,
) -> Bundle {
    let base = base_url.trim_end_matches('/');
    let link = |token: Option<PageToken>| {
        let mut linked = query.clone();
        linked.result.page = token;
        format!("{base}/{path}?{}", linked.to_query_string())
    };
    let mut bundle = Bundle::searchset(base);
    bundle.add_link(LinkRelation::SelfLink, link(query.result.page.clone()));
    if query.result.page.is_some() {
        bundle.add_link(LinkRelation::First, link(None));
    }
    let summary = query.result.summary;
    if let Some(total) = page.total {
        bundle.set_total(total);
    }
    // A count-only search has no entries, so it has no pages to walk either.
    if summary != Some(Summary::Count) {
        if let Some(previous) = page.previous {
            bundle.add_link(LinkRelation::Previous, link(Some(previous)));
        }
        if let Some(next) = page.next {
            bundle.add_link(LinkRelation::Next, link(Some(next)));
        }
        for resource in page.resources {
            bundle.add_match(resource.project(summary, &query.result.elements));
        }
        for resource in included {
            bundle.add_include(resource.project(summary, &query.result.elements));
        }
    }
    if !query.ignored.is_empty() {
        warnings.push(Issue {
            severity: Severity::Warning,
            code: IssueType::NotSupported,
            diagnostics: format!(
                "ignored unknown or unsupported parameters: {}",
                query.ignored.join(", ")
            ),
            expression: None,
        });
    }
    if !warnings.is_empty() {
        bundle.set_outcome(&warnings);
    }
    bundle
}

/// Drops what lies outside the context's compartments.
///
/// Providers apply constraints in their queries; this second, independent check on the returned
/// JSON means a provider that forgets one cannot leak another patient's data. What it drops is
/// logged as the provider's bug.
fn confine(resources: Vec<Resource>, ctx: &Context, base_url: &str) -> Vec<Resource> {
    let base_url = Some(base_url);
    let before = resources.len();
    let kept: Vec<Resource> = resources
        .into_iter()
        .filter(|r| in_compartments(r, ctx, base_url))
        .collect();
    if kept.len() < before {
        tracing::warn!(
            request_id = ctx.request_id.as_deref().unwrap_or(""),
            dropped = before - kept.len(),
            "a provider returned resources outside the request's compartment; dropped them"
        );
    }
    kept
}

/// A read result outside the caller's compartment is "not found", so its existence does not leak.
fn visible(resource: Resource, ctx: &Context, id: &str) -> Result<Resource> {
    if in_compartments(&resource, ctx, None) {
        Ok(resource)
    } else {
        Err(Error::NotFound {
            resource_type: resource.resource_type().to_owned(),
            id: id.to_owned(),
        })
    }
}

/// A write must stay inside the caller's compartment too: a patient-scoped token cannot create
/// data for another patient.
fn check_writable(resource: &Resource, ctx: &Context, base_url: Option<&str>) -> Result<()> {
    if in_compartments(resource, ctx, base_url) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "the resource lies outside the compartment the request is confined to".to_owned(),
        ))
    }
}

fn in_compartments(resource: &Resource, ctx: &Context, base_url: Option<&str>) -> bool {
    ctx.constraints.iter().all(|constraint| match constraint {
        Constraint::Compartment {
            compartment_type,
            id,
        } => crate::compartment::contains(resource, compartment_type, id, base_url),
        Constraint::Criterion(_) => true,
    })
}

/// The types that chains and `_has` criteria search, at any depth.
fn joined_types(criteria: &[Criterion], out: &mut BTreeSet<String>) {
    for criterion in criteria {
        match criterion {
            Criterion::Chain {
                target_type: joined,
                inner,
                ..
            }
            | Criterion::Has {
                source_type: joined,
                inner,
                ..
            } => {
                out.insert(joined.clone());
                joined_types(std::slice::from_ref(&**inner), out);
            }
            Criterion::Values { .. } | Criterion::Missing { .. } => {}
        }
    }
}

fn key(resource: &Resource) -> Option<(String, String)> {
    Some((
        resource.resource_type().to_owned(),
        resource.id()?.to_owned(),
    ))
}

fn check_type(resource_type: &str, resource: &Resource) -> Result<()> {
    if resource.resource_type() == resource_type {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "a {} was sent to the {resource_type} endpoint",
            resource.resource_type()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Interactions;
    use crate::search::registry::{SearchParamDef, r4_param};
    use crate::search::{ReferenceValue, TokenValue};
    use crate::{SearchPage, Updated};
    use async_trait::async_trait;
    use serde_json::{Value, json};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const BASE: &str = "https://h.example/hospital-a/fhir";

    /// An in-memory provider that understands `_id` and one reference parameter, pages by offset
    /// and counts its calls, so tests can see how often the facade asks.
    struct Memory {
        resource_type: &'static str,
        reference: Option<&'static str>,
        rows: Vec<Resource>,
        searches: AtomicUsize,
        batch_reads: AtomicUsize,
        seen_constraints: std::sync::Mutex<Vec<Constraint>>,
        /// Whether searches apply compartment constraints, as a SQL provider does; off, the
        /// tests see the facade's own check at work.
        honours_compartments: bool,
    }

    impl Memory {
        fn new(
            resource_type: &'static str,
            reference: Option<&'static str>,
            rows: Vec<Value>,
        ) -> Self {
            Memory {
                resource_type,
                reference,
                rows: rows
                    .into_iter()
                    .map(|v| Resource::new(v).unwrap())
                    .collect(),
                searches: AtomicUsize::new(0),
                batch_reads: AtomicUsize::new(0),
                seen_constraints: Default::default(),
                honours_compartments: false,
            }
        }

        fn matches(&self, resource: &Resource, criterion: &Criterion) -> bool {
            let Criterion::Values { param, values, .. } = criterion else {
                return false;
            };
            values.iter().any(|value| match value {
                SearchValue::Token(TokenValue {
                    code: Some(code), ..
                }) if param.code == "_id" => resource.id() == Some(code.as_str()),
                SearchValue::Reference(ReferenceValue::Local { id, .. }) => {
                    let field = self.reference.unwrap();
                    resource.as_json()[field]["reference"]
                        .as_str()
                        .is_some_and(|r| r.ends_with(&format!("/{id}")))
                }
                _ => false,
            })
        }
    }

    #[async_trait]
    impl ResourceProvider for Memory {
        fn resource_type(&self) -> &str {
            self.resource_type
        }

        fn search_params(&self) -> Vec<&'static SearchParamDef> {
            let mut params = vec![r4_param(self.resource_type, "_id").unwrap()];
            if let Some(reference) = self.reference {
                params.push(r4_param(self.resource_type, reference).unwrap());
            }
            params
        }

        async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
            self.rows
                .iter()
                .find(|r| r.id() == Some(id))
                .cloned()
                .ok_or_else(|| Error::NotFound {
                    resource_type: self.resource_type.into(),
                    id: id.into(),
                })
        }

        async fn read_many(&self, ids: &[String], _ctx: &Context) -> Result<Vec<Resource>> {
            self.batch_reads.fetch_add(1, Ordering::SeqCst);
            Ok(self
                .rows
                .iter()
                .filter(|r| ids.iter().any(|id| r.id() == Some(id.as_str())))
                .cloned()
                .collect())
        }

        async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
            self.searches.fetch_add(1, Ordering::SeqCst);
            self.seen_constraints
                .lock()
                .unwrap()
                .extend(ctx.constraints.iter().cloned());
            let all: Vec<Resource> = self
                .rows
                .iter()
                .filter(|r| query.criteria.iter().all(|c| self.matches(r, c)))
                .filter(|r| {
                    !self.honours_compartments
                        || ctx.constraints.iter().all(|c| match c {
                            Constraint::Compartment { id, .. } => {
                                crate::compartment::contains(r, "Patient", id, None)
                            }
                            Constraint::Criterion(_) => true,
                        })
                })
                .cloned()
                .collect();
            let count = query.result.count.unwrap_or(20) as usize;
            let offset = match query.result.page {
                Some(PageToken::Offset(n)) => n as usize,
                _ => 0,
            };
            let next =
                (offset + count < all.len()).then(|| PageToken::Offset((offset + count) as u64));
            Ok(SearchPage {
                total: Some(all.len() as u64),
                resources: all.into_iter().skip(offset).take(count).collect(),
                next,
                previous: None,
            })
        }
    }

    fn fixture() -> (Facade, Arc<Memory>, Arc<Memory>) {
        fixture_honouring(false)
    }

    fn fixture_honouring(honours_compartments: bool) -> (Facade, Arc<Memory>, Arc<Memory>) {
        let patients = Arc::new(Memory::new(
            "Patient",
            None,
            vec![
                json!({"resourceType": "Patient", "id": "p1"}),
                json!({"resourceType": "Patient", "id": "p2"}),
            ],
        ));
        let observations = Arc::new(Memory {
            honours_compartments,
            ..Memory::new(
            "Observation",
            Some("subject"),
            (1..=5)
                .map(|i| {
                    let patient = if i <= 3 { "p1" } else { "p2" };
                    json!({"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
                           "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}})
                })
                .collect(),
        )
        });
        let facade = Facade::builder()
            .shared_provider(patients.clone())
            .shared_provider(observations.clone())
            .build()
            .unwrap();
        (facade, patients, observations)
    }

    fn request<'a>(resource_type: &'a str, query: &'a str) -> SearchRequest<'a> {
        SearchRequest {
            resource_type,
            query,
            handling: Handling::Lenient,
            base_url: BASE,
            compartment: None,
        }
    }

    fn ids(bundle: &Value, mode: &str) -> Vec<String> {
        bundle["entry"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["search"]["mode"] == mode)
                    .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn link(bundle: &Value, relation: &str) -> Option<String> {
        bundle["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)
            .map(|l| l["url"].as_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn paging_links_walk_every_match_once_under_the_base_url() {
        let (facade, ..) = fixture();
        let mut query = "_count=2".to_owned();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let bundle = facade
                .search(&request("Observation", &query), &Context::new())
                .await
                .unwrap()
                .to_json();
            assert!(
                link(&bundle, "self")
                    .unwrap()
                    .starts_with(&format!("{BASE}/Observation?"))
            );
            for entry in bundle["entry"].as_array().unwrap() {
                assert_eq!(
                    entry["fullUrl"],
                    format!(
                        "{BASE}/Observation/{}",
                        entry["resource"]["id"].as_str().unwrap()
                    )
                );
            }
            seen.extend(ids(&bundle, "match"));
            match link(&bundle, "next") {
                Some(next) => query = next.split_once('?').unwrap().1.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, ["o1", "o2", "o3", "o4", "o5"]);
    }

    /// [`Memory`] without totals, as a provider that only counts when asked.
    struct Untotalled(Arc<Memory>);

    #[async_trait]
    impl ResourceProvider for Untotalled {
        fn resource_type(&self) -> &str {
            self.0.resource_type()
        }

        fn search_params(&self) -> Vec<&'static SearchParamDef> {
            self.0.search_params()
        }

        async fn read(&self, id: &str, ctx: &Context) -> Result<Resource> {
            self.0.read(id, ctx).await
        }

        async fn search(&self, query: &SearchQuery, ctx: &Context) -> Result<SearchPage> {
            let page = self.0.search(query, ctx).await?;
            Ok(SearchPage {
                total: None,
                ..page
            })
        }
    }

    #[tokio::test]
    async fn a_complete_first_page_gets_its_total_for_free() {
        let (_, _, observations) = fixture();
        let facade = Facade::builder()
            .provider(Untotalled(observations))
            .build()
            .unwrap();
        let total = |query: &'static str| {
            let facade = &facade;
            async move {
                facade
                    .search(&request("Observation", query), &Context::new())
                    .await
                    .unwrap()
                    .to_json()["total"]
                    .clone()
            }
        };
        // One page holds them all.
        assert_eq!(total("_count=10").await, json!(5));
        assert_eq!(total("_id=o2,o3").await, json!(2));
        // More pages follow, or this is not the first page: unknown, so absent.
        assert_eq!(total("_count=2").await, Value::Null);
        assert_eq!(total("_count=2&_offset=4").await, Value::Null);
    }

    #[tokio::test]
    async fn ignored_parameters_stay_out_of_links_and_are_reported() {
        let (facade, ..) = fixture();
        let bundle = facade
            .search(&request("Patient", "bonkers=1&_id=p1"), &Context::new())
            .await
            .unwrap()
            .to_json();
        let self_link = link(&bundle, "self").unwrap();
        assert!(!self_link.contains("bonkers"), "{self_link}");
        assert!(self_link.contains("_id=p1"));
        assert_eq!(ids(&bundle, "match"), ["p1"]);
        let outcome = bundle["entry"].as_array().unwrap().last().unwrap();
        assert_eq!(outcome["search"]["mode"], "outcome");
        assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
        assert!(
            outcome["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("bonkers")
        );

        let mut strict = request("Patient", "bonkers=1");
        strict.handling = Handling::Strict;
        let err = facade.search(&strict, &Context::new()).await.unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn includes_cost_one_call_per_path_not_per_match() {
        let (facade, patients, observations) = fixture();
        let bundle = facade
            .search(
                &request("Observation", "_include=Observation:subject"),
                &Context::new(),
            )
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match").len(), 5);
        let mut included = ids(&bundle, "include");
        included.sort();
        assert_eq!(included, ["p1", "p2"]);
        assert_eq!(patients.batch_reads.load(Ordering::SeqCst), 1);
        assert_eq!(observations.searches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn revincludes_cost_one_search_per_path() {
        let (facade, _, observations) = fixture();
        let bundle = facade
            .search(
                &request("Patient", "_revinclude=Observation:subject"),
                &Context::new(),
            )
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["p1", "p2"]);
        assert_eq!(ids(&bundle, "include").len(), 5);
        assert_eq!(observations.searches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn capped_includes_are_announced_in_an_outcome_entry() {
        let (_, patients, observations) = fixture();
        let facade = Facade::builder()
            .shared_provider(patients)
            .shared_provider(observations)
            .max_included(1)
            .build()
            .unwrap();
        for (resource_type, query, capped) in [
            (
                "Observation",
                "_include=Observation:subject",
                "_include=Observation:subject",
            ),
            (
                "Patient",
                "_revinclude=Observation:subject",
                "_revinclude=Observation:subject",
            ),
        ] {
            let bundle = facade
                .search(&request(resource_type, query), &Context::new())
                .await
                .unwrap()
                .to_json();
            assert_eq!(ids(&bundle, "include").len(), 1, "{query}");
            let outcome = bundle["entry"].as_array().unwrap().last().unwrap();
            assert_eq!(outcome["search"]["mode"], "outcome", "{query}");
            let issue = &outcome["resource"]["issue"][0];
            assert_eq!(issue["code"], "too-costly");
            assert!(
                issue["diagnostics"].as_str().unwrap().ends_with(capped),
                "{issue}"
            );
        }
        // Under the cap, no warning.
        let (facade, ..) = fixture();
        let bundle = facade
            .search(
                &request("Patient", "_revinclude=Observation:subject"),
                &Context::new(),
            )
            .await
            .unwrap()
            .to_json();
        assert!(
            bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["search"]["mode"] != "outcome")
        );
    }

    #[tokio::test]
    async fn count_zero_returns_only_the_total() {
        let (facade, ..) = fixture();
        let bundle = facade
            .search(&request("Observation", "_count=0"), &Context::new())
            .await
            .unwrap()
            .to_json();
        assert_eq!(bundle["total"], 5);
        assert!(bundle.get("entry").is_none());
        assert!(link(&bundle, "next").is_none());
    }

    #[tokio::test]
    async fn compartment_searches_pass_the_compartment_and_link_to_it() {
        let (facade, _, observations) = fixture();
        let mut req = request("Observation", "");
        req.compartment = Some(("Patient", "p1"));
        let bundle = facade
            .search(&req, &Context::new())
            .await
            .unwrap()
            .to_json();
        assert!(
            link(&bundle, "self")
                .unwrap()
                .starts_with(&format!("{BASE}/Patient/p1/Observation?"))
        );
        assert_eq!(
            observations.seen_constraints.lock().unwrap().as_slice(),
            [Constraint::Compartment {
                compartment_type: "Patient".into(),
                id: "p1".into()
            }]
        );
    }

    #[tokio::test]
    async fn undeclared_interactions_and_unknown_types() {
        let (facade, ..) = fixture();
        let ctx = Context::new();
        let patient = Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap();
        let err = facade.delete("Patient", "p1", &ctx).await.unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade
            .update("Patient", "p1", patient.clone(), None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade
            .create("Patient", patient, None, BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
        let err = facade.read("Nonsense", "1", &ctx).await.unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(
            facade
                .read("Patient", "nope", &ctx)
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            facade.read("Patient", "p1", &ctx).await.unwrap().id(),
            Some("p1")
        );
    }

    fn token(scopes: &str, patient: Option<&str>) -> Context {
        Context::new().with_access(Arc::new(crate::smart::SmartGrant::new(
            scopes,
            patient.map(str::to_owned),
        )))
    }

    #[tokio::test]
    async fn a_patient_token_sees_only_its_patient_even_if_the_provider_forgets() {
        let (facade, ..) = fixture();
        let p1 = token("patient/Patient.rs patient/Observation.rs", Some("p1"));
        // The in-memory provider ignores constraints; the facade's own check still confines.
        let bundle = facade
            .search(&request("Observation", "_include=Observation:subject"), &p1)
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["o1", "o2", "o3"]);
        assert_eq!(ids(&bundle, "include"), ["p1"]);
        let bundle = facade
            .search(&request("Patient", ""), &p1)
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["p1"]);
        assert_eq!(
            facade
                .read("Observation", "o4", &p1)
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            facade
                .read("Patient", "p2", &p1)
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            facade.read("Observation", "o1", &p1).await.unwrap().id(),
            Some("o1")
        );
    }

    /// Forgets constraints like the test `Memory`, and keeps two versions of each patient.
    struct ForgetfulHistory;

    #[async_trait]
    impl ResourceProvider for ForgetfulHistory {
        fn resource_type(&self) -> &str {
            "Patient"
        }

        fn interactions(&self) -> Interactions {
            [Interaction::Read, Interaction::HistoryInstance]
                .into_iter()
                .collect()
        }

        async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
            Resource::new(json!({"resourceType": "Patient", "id": id}))
        }

        async fn history_instance(
            &self,
            id: &str,
            _query: &SearchQuery,
            _ctx: &Context,
        ) -> Result<SearchPage> {
            if !["p1", "p2"].contains(&id) {
                return Err(Error::NotFound {
                    resource_type: "Patient".into(),
                    id: id.into(),
                });
            }
            let version = |v: &str| {
                Resource::new(json!({"resourceType": "Patient", "id": id,
                                     "meta": {"versionId": v}}))
                .unwrap()
            };
            Ok(SearchPage {
                total: Some(2),
                resources: vec![version("2"), version("1")],
                ..SearchPage::default()
            })
        }
    }

    #[tokio::test]
    async fn a_forgetful_provider_leaks_neither_counts_nor_existence() {
        let (facade, ..) = fixture();
        let p1 = token("patient/Patient.rs patient/Observation.rs", Some("p1"));
        // The provider counted all five observations; three are p1's.
        let bundle = facade
            .search(&request("Observation", "_total=accurate"), &p1)
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["o1", "o2", "o3"]);
        assert!(bundle.get("total").is_none(), "{bundle}");
        // A provider that honours the compartment keeps its total.
        let (honest, ..) = fixture_honouring(true);
        let bundle = honest
            .search(&request("Observation", "_total=accurate"), &p1)
            .await
            .unwrap()
            .to_json();
        assert_eq!(bundle["total"], 3);

        let facade = Facade::builder()
            .provider(ForgetfulHistory)
            .build()
            .unwrap();
        let history = |id: &'static str| facade.history("Patient", Some(id), "", BASE, &p1);
        let own = history("p1").await.unwrap().to_json();
        assert_eq!(own["entry"].as_array().unwrap().len(), 2);
        assert_eq!(own["total"], 2);
        // Another patient's history is answered like one that does not exist.
        assert_eq!(history("p2").await.unwrap_err().status(), 404);
        assert_eq!(history("p9").await.unwrap_err().status(), 404);
    }

    #[tokio::test]
    async fn chains_and_has_need_a_scope_for_the_types_they_search() {
        let (facade, ..) = fixture();
        let search = |resource_type: &'static str, query: &'static str, scopes: &'static str| {
            let facade = facade.clone();
            async move {
                facade
                    .search(&request(resource_type, query), &token(scopes, Some("p1")))
                    .await
                    .map(|b| b.to_json())
            }
        };
        let chain = "subject:Patient._id=p1";
        let has = "_has:Observation:subject:_id=o1";
        let err = search("Observation", chain, "patient/Observation.rs")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let err = search("Patient", has, "patient/Patient.rs")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let both = "patient/Patient.rs patient/Observation.rs";
        assert!(search("Observation", chain, both).await.is_ok());
        assert!(search("Patient", has, both).await.is_ok());
        // A narrowed scope on the joined type cannot be applied inside the subquery.
        let narrowed = "patient/Patient.rs patient/Observation.rs?_id=o1";
        let err = search("Patient", has, narrowed).await.unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(search("Observation", chain, narrowed).await.is_ok());
    }

    #[tokio::test]
    async fn scopes_decide_interactions_and_includes() {
        let (facade, _, observations) = fixture();
        let patients_only = token("patient/Patient.rs", Some("p1"));
        let err = facade
            .search(&request("Observation", ""), &patients_only)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        // A revinclude of a type the token cannot see is left out, not an error.
        let bundle = facade
            .search(
                &request("Patient", "_id=p1&_revinclude=Observation:subject"),
                &patients_only,
            )
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match"), ["p1"]);
        assert!(ids(&bundle, "include").is_empty());
        assert_eq!(observations.searches.load(Ordering::SeqCst), 0);

        let read_only = token("patient/Observation.r", Some("p1"));
        assert!(facade.read("Observation", "o1", &read_only).await.is_ok());
        let err = facade
            .search(&request("Observation", ""), &read_only)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);

        let backend = token("system/Observation.rs", None);
        let bundle = facade
            .search(&request("Observation", ""), &backend)
            .await
            .unwrap()
            .to_json();
        assert_eq!(ids(&bundle, "match").len(), 5);
        assert_eq!(
            facade
                .read("Patient", "p1", &backend)
                .await
                .unwrap_err()
                .status(),
            403
        );
    }

    #[tokio::test]
    async fn everything_pages_over_the_patient_and_its_compartment() {
        let (facade, ..) = fixture_honouring(true);
        let mut query = "_count=2".to_owned();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let bundle = facade
                .everything("p1", &query, BASE, &Context::new())
                .await
                .unwrap()
                .to_json();
            assert_eq!(bundle["total"], 4);
            seen.extend(ids(&bundle, "match"));
            match link(&bundle, "next") {
                Some(next) => {
                    assert!(next.starts_with(&format!("{BASE}/Patient/p1/$everything?")));
                    query = next.split_once('?').unwrap().1.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(seen, ["p1", "o1", "o2", "o3"]);
        let err = facade
            .everything("nope", "", BASE, &Context::new())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
        let statement = facade.capability_statement(&CapabilityOptions::new(
            "2026-01-01",
            crate::capability::Implementation {
                description: "t".into(),
                url: None,
            },
        ));
        let patient = statement["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Patient")
            .unwrap();
        assert_eq!(patient["operation"][0]["name"], "everything");
    }

    #[test]
    fn conditional_criteria_are_strict_and_never_empty() {
        let (facade, ..) = fixture();
        for criteria in ["", "_count=1", "bonkers=1"] {
            let err = facade
                .parse_conditional("Patient", criteria, BASE)
                .unwrap_err();
            assert_eq!(err.status(), 400, "{criteria:?}");
        }
        assert!(facade.parse_conditional("Patient", "_id=p1", BASE).is_ok());
    }

    #[tokio::test]
    async fn two_providers_for_one_type_is_a_configuration_error() {
        let result = Facade::builder()
            .provider(Memory::new("Patient", None, vec![]))
            .provider(Memory::new("Patient", None, vec![]))
            .build();
        assert!(result.is_err());
    }

    /// A provider that declares writes, for the write paths' checks.
    struct Writable;

    #[async_trait]
    impl ResourceProvider for Writable {
        fn resource_type(&self) -> &str {
            "Patient"
        }

        fn interactions(&self) -> Interactions {
            [Interaction::Read, Interaction::Create, Interaction::Update]
                .into_iter()
                .collect()
        }

        async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
            Err(Error::NotFound {
                resource_type: "Patient".into(),
                id: id.into(),
            })
        }

        async fn create(&self, mut resource: Resource, _ctx: &Context) -> Result<Resource> {
            assert!(
                resource.id().is_none(),
                "the client's id reaches the provider"
            );
            resource.set_id("new");
            Ok(resource)
        }

        async fn update(
            &self,
            _id: &str,
            resource: Resource,
            _if_match: Option<String>,
            _ctx: &Context,
        ) -> Result<Updated> {
            Ok(Updated {
                resource,
                created: false,
            })
        }
    }

    #[tokio::test]
    async fn writes_check_type_and_id() {
        let facade = Facade::builder().provider(Writable).build().unwrap();
        let ctx = Context::new();
        let with_id = Resource::new(json!({"resourceType": "Patient", "id": "client"})).unwrap();
        let created = facade
            .create("Patient", with_id.clone(), None, BASE, &ctx)
            .await
            .unwrap();
        assert_eq!(created.resource.id(), Some("new"));
        let wrong_type = Resource::new(json!({"resourceType": "Observation"})).unwrap();
        let err = facade
            .create("Patient", wrong_type, None, BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        let err = facade
            .update("Patient", "other", with_id, None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        // A patient-scoped token cannot write outside its compartment.
        let p1 = token("patient/Patient.cruds", Some("p1"));
        let other = Resource::new(json!({"resourceType": "Patient", "id": "p2"})).unwrap();
        let err = facade
            .update("Patient", "p2", other, None, &p1)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let own = Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap();
        assert!(facade.update("Patient", "p1", own, None, &p1).await.is_ok());
        // Conditional writes need search, which this provider does not declare.
        let patient = Resource::new(json!({"resourceType": "Patient"})).unwrap();
        let err = facade
            .create("Patient", patient, Some("identifier=1"), BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
    }
}
