//! [`SmartGrant`]: what a validated SMART access token allows, as an [`AccessPolicy`].

use super::scope::{ResourceScope, ScopeLevel};
use crate::compartment::patient_compartment_params;
use crate::provider::{AccessPolicy, Constraint, Interaction};
use crate::search::{Handling, ParamSource, ParseOptions};
use crate::{Error, Result, SearchQuery};

/// The scopes and launch context of a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartGrant {
    scopes: Vec<ResourceScope>,
    patient: Option<String>,
}

impl SmartGrant {
    /// A grant from the token's space-separated `scope` claim and its `patient` claim.
    ///
    /// Scopes that are not resource scopes, or are malformed, grant nothing.
    pub fn new(scope_claim: &str, patient: Option<String>) -> Self {
        SmartGrant {
            scopes: scope_claim
                .split_ascii_whitespace()
                .filter_map(ResourceScope::parse)
                .collect(),
            patient: patient.filter(|p| crate::resource::is_valid_id(p)),
        }
    }

    /// The resource scopes granted.
    pub fn scopes(&self) -> &[ResourceScope] {
        &self.scopes
    }

    /// The patient of the launch context.
    pub fn patient(&self) -> Option<&str> {
        self.patient.as_deref()
    }

    /// The constraints one scope puts on its access, or `None` when it cannot be honoured (a
    /// `patient/` scope without a patient or on a type outside the Patient compartment, such as
    /// Practitioner; a narrowing query that does not parse): such a scope grants nothing.
    fn constraints_of(
        &self,
        scope: &ResourceScope,
        resource_type: &str,
        params: &dyn ParamSource,
    ) -> Option<Vec<Constraint>> {
        let mut constraints = Vec::new();
        if scope.level == ScopeLevel::Patient {
            // No patient's record holds such a type, so `patient/*.rs` does not reach it (a 403,
            // or the type left out of `_include`), rather than a search no mapping can confine.
            if resource_type != "Patient" && patient_compartment_params(resource_type).is_empty() {
                return None;
            }
            constraints.push(Constraint::Compartment {
                compartment_type: "Patient".to_owned(),
                id: self.patient.clone()?,
            });
        }
        if let Some(query) = &scope.query {
            let parsed = SearchQuery::parse(
                resource_type,
                query,
                params,
                &ParseOptions {
                    handling: Handling::Strict,
                    base_url: None,
                },
            )
            .ok()?;
            if parsed.criteria.is_empty() {
                return None;
            }
            constraints.extend(parsed.criteria.into_iter().map(Constraint::Criterion));
        }
        Some(constraints)
    }
}

impl AccessPolicy for SmartGrant {
    /// The least restrictive of the granting scopes wins: any unconstrained `user/` or `system/`
    /// scope means no constraint; otherwise the scope whose constraints every other granting scope
    /// also has. When two scopes narrow differently (`?category=a` and `?category=b`) only the
    /// first is used — access is under-granted, never over-granted, because constraints are ANDed.
    fn constraints(
        &self,
        resource_type: &str,
        interaction: Interaction,
        params: &dyn ParamSource,
    ) -> Result<Vec<Constraint>> {
        let granting: Vec<Vec<Constraint>> = self
            .scopes
            .iter()
            .filter(|s| s.allows(resource_type, interaction))
            .filter_map(|s| self.constraints_of(s, resource_type, params))
            .collect();
        let least = granting.iter().min_by_key(|c| c.len()).cloned();
        match least {
            None => Err(Error::Forbidden(format!(
                "insufficient_scope: no scope grants {} on {resource_type}",
                interaction.code()
            ))),
            Some(least) => {
                let covers_all = granting
                    .iter()
                    .all(|other| least.iter().all(|c| other.contains(c)));
                Ok(if covers_all {
                    least
                } else {
                    granting.into_iter().next().unwrap_or(least)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::SupportedParams;
    use crate::search::registry::r4_params;

    fn params() -> SupportedParams {
        let mut params = SupportedParams::new();
        for t in ["Patient", "Observation", "Condition"] {
            params.insert(t, r4_params(t));
        }
        params
    }

    fn compartment(id: &str) -> Constraint {
        Constraint::Compartment {
            compartment_type: "Patient".into(),
            id: id.into(),
        }
    }

    fn check(
        grant: &SmartGrant,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Vec<Constraint>> {
        grant.constraints(resource_type, interaction, &params())
    }

    #[test]
    fn patient_scopes_confine_to_the_compartment() {
        let p1 = SmartGrant::new(
            "patient/Patient.rs patient/Observation.rs",
            Some("p1".into()),
        );
        assert_eq!(
            check(&p1, "Observation", Interaction::SearchType).unwrap(),
            [compartment("p1")]
        );
        assert_eq!(
            check(&p1, "Patient", Interaction::Read).unwrap(),
            [compartment("p1")]
        );
        let err = check(&p1, "Condition", Interaction::SearchType).unwrap_err();
        assert_eq!(err.status(), 403);
        let err = check(&p1, "Observation", Interaction::Create).unwrap_err();
        assert_eq!(err.status(), 403);
    }

    #[test]
    fn patient_scopes_do_not_reach_types_outside_the_compartment() {
        let p1 = SmartGrant::new("patient/*.rs", Some("p1".into()));
        for outside in ["Practitioner", "Organization", "Medication", "Location"] {
            let err = check(&p1, outside, Interaction::SearchType).unwrap_err();
            assert_eq!(err.status(), 403, "{outside}");
        }
        assert!(check(&p1, "Encounter", Interaction::SearchType).is_ok());
        let both = SmartGrant::new("patient/*.rs user/Practitioner.rs", Some("p1".into()));
        assert!(check(&both, "Practitioner", Interaction::SearchType).is_ok());
    }

    #[test]
    fn a_patient_scope_without_a_patient_grants_nothing() {
        let grant = SmartGrant::new("patient/*.rs", None);
        assert_eq!(
            check(&grant, "Observation", Interaction::Read)
                .unwrap_err()
                .status(),
            403
        );
        let grant = SmartGrant::new("patient/*.rs", Some("not a valid id!".into()));
        assert!(check(&grant, "Observation", Interaction::Read).is_err());
    }

    #[test]
    fn read_only_v2_scope_does_not_search() {
        let grant = SmartGrant::new("patient/Observation.r", Some("p1".into()));
        assert!(check(&grant, "Observation", Interaction::Read).is_ok());
        assert!(check(&grant, "Observation", Interaction::SearchType).is_err());
        let v1 = SmartGrant::new("patient/Observation.read", Some("p1".into()));
        assert!(check(&v1, "Observation", Interaction::SearchType).is_ok());
    }

    #[test]
    fn system_scopes_are_unconstrained_and_typed() {
        let grant = SmartGrant::new("system/Observation.rs", None);
        assert!(
            check(&grant, "Observation", Interaction::SearchType)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            check(&grant, "Patient", Interaction::Read)
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn narrowed_scopes_add_their_query() {
        let grant = SmartGrant::new(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            Some("p1".into()),
        );
        let constraints = check(&grant, "Observation", Interaction::SearchType).unwrap();
        assert_eq!(constraints.len(), 2);
        assert!(matches!(&constraints[1], Constraint::Criterion(_)));
        // A narrowing that does not parse grants nothing rather than everything.
        let broken = SmartGrant::new("patient/Observation.rs?bogus=1", Some("p1".into()));
        assert!(check(&broken, "Observation", Interaction::SearchType).is_err());
    }

    #[test]
    fn the_least_restrictive_scope_wins() {
        let grant = SmartGrant::new(
            "patient/Observation.rs?category=laboratory patient/Observation.rs",
            Some("p1".into()),
        );
        assert_eq!(
            check(&grant, "Observation", Interaction::SearchType).unwrap(),
            [compartment("p1")]
        );
        let grant = SmartGrant::new(
            "patient/Observation.rs user/Observation.rs",
            Some("p1".into()),
        );
        assert!(
            check(&grant, "Observation", Interaction::SearchType)
                .unwrap()
                .is_empty()
        );
    }
}
