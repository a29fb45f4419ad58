//! The facade's own compartment check on everything a provider returns or is asked to write.

use crate::{Constraint, Context, Error, Resource, Result};

/// Drops what lies outside the context's compartments.
///
/// Providers apply constraints in their queries; this second, independent check on the returned
/// JSON means a provider that forgets one cannot leak another patient's data. What it drops is
/// logged as the provider's bug.
pub(super) fn confine(resources: Vec<Resource>, ctx: &Context, base_url: &str) -> Vec<Resource> {
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
pub(super) fn visible(resource: Resource, ctx: &Context, id: &str) -> Result<Resource> {
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
pub(super) fn check_writable(
    resource: &Resource,
    ctx: &Context,
    base_url: Option<&str>,
) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::provider::{Interaction, Interactions};
    use crate::{
        Context, Error, Facade, Resource, ResourceProvider, Result, SearchPage, SearchQuery,
    };
    use async_trait::async_trait;
    use serde_json::json;

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

    /// Forgets constraints like the test `Spy`, and keeps two versions of each patient.
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
}
