//! `_include` and `_revinclude`: one provider call per path and round, never one per match.

use super::Facade;
use super::confine::confine;
use crate::provider::Interaction;
use crate::search::render::include_pair;
use crate::search::{Criterion, ReferenceValue, SearchValue, references};
use crate::{Context, Resource, Result, SearchQuery};
use std::collections::{BTreeMap, BTreeSet};

/// How many rounds `_include:iterate` follows before it stops, so a reference cycle cannot loop.
const MAX_INCLUDE_ROUNDS: usize = 4;

impl Facade {
    /// Resources added by `_include` and `_revinclude`: one provider call per path and round,
    /// never one per match. Also the paths that had more than `max_included` resources to add,
    /// of which only that many were added.
    pub(super) async fn included(
        &self,
        query: &SearchQuery,
        matches: &[Resource],
        base_url: &str,
        ctx: &Context,
    ) -> Result<(Vec<Resource>, BTreeSet<String>)> {
        let mut included = Vec::new();
        let mut capped = BTreeSet::new();
        if query.result.include.is_empty() && query.result.revinclude.is_empty() {
            return Ok((included, capped));
        }
        let mut seen: BTreeSet<(String, String)> = matches.iter().filter_map(key).collect();
        // Where the resources found in the last round start in `included`; the first round
        // looks at the matches. Borrowed, not copied: a page's resources are never cloned.
        let mut frontier_start = None;
        for round in 0..MAX_INCLUDE_ROUNDS {
            let frontier = match frontier_start {
                None => matches,
                Some(start) => &included[start..],
            };
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
            frontier_start = Some(included.len());
            included.extend(found);
        }
        Ok((included, capped))
    }
}

fn key(resource: &Resource) -> Option<(String, String)> {
    Some((
        resource.resource_type().to_owned(),
        resource.id()?.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::{Context, Facade};
    use std::sync::atomic::Ordering;

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
}
