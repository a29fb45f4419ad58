//! Part 2 of the check: generated searches (a proptest strategy over the declared parameters),
//! each walked through all its pages and checked for leaks and for inferences.

use fhir_facade_core::Resource;
use fhir_facade_core::compartment::patient_compartment_params;
use fhir_facade_core::search::references;
use fhir_facade_core::search::registry::r4_param;
use proptest::sample::{select, subsequence};
use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use super::Leak;
use super::session::Session;

/// One generated search.
#[derive(Clone)]
struct Probe {
    token: usize,
    /// The token that follows the `next` links.
    next_token: usize,
    resource_type: String,
    /// `Patient/{id}/{type}` instead of `{type}`.
    compartment: Option<String>,
    params: Vec<(String, String)>,
    count: Option<u8>,
    /// `POST {type}/_search` with the query as a form (not for compartment searches).
    post: bool,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, form) = self.request();
        match form {
            Some(form) => write!(f, "POST {path} with {form}")?,
            None => write!(f, "GET {path}")?,
        }
        write!(
            f,
            " with the token of patient #{} (next links with #{})",
            self.token, self.next_token
        )
    }
}

impl Probe {
    /// The path, and the form body of a `POST`.
    fn request(&self) -> (String, Option<String>) {
        let path = self.path();
        if !self.post {
            return (path, None);
        }
        match path.split_once('?') {
            Some((path, query)) => (format!("{path}/_search"), Some(query.to_owned())),
            None => (format!("{path}/_search"), Some(String::new())),
        }
    }

    fn path(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            query.append_pair(name, value);
        }
        if let Some(count) = self.count {
            query.append_pair("_count", &count.to_string());
        }
        let query = query.finish();
        let path = match &self.compartment {
            Some(patient) => format!("Patient/{patient}/{}", self.resource_type),
            None => self.resource_type.clone(),
        };
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    }
}

impl Session<'_> {
    /// Part 2: generated searches.
    pub(super) fn properties(&self) -> Result<(u32, u32), Leak> {
        let types = self.searchable();
        let candidates: BTreeMap<String, Vec<(String, String)>> = types
            .iter()
            .map(|t| (t.clone(), self.candidates(t)))
            .collect();
        let mut patients: Vec<String> = self
            .universe
            .keys()
            .filter(|(t, _)| t == "Patient")
            .map(|(_, id)| id.clone())
            .collect();
        patients.extend(self.check.patients.iter().map(|p| p.patient.clone()));
        patients.sort();
        patients.dedup();
        let absent = self.absent("Patient", &patients[0]);
        patients.push(absent);
        let tokens = self.check.patients.len();
        let strategy = (0..tokens, 0..tokens, select(types))
            .prop_flat_map(move |(token, next_token, resource_type)| {
                let params = candidates[&resource_type].clone();
                let most = params.len().min(4);
                let compartment = if patient_compartment_params(&resource_type).is_empty() {
                    Just(None).boxed()
                } else {
                    proptest::option::weighted(0.25, select(patients.clone())).boxed()
                };
                (
                    Just(token),
                    Just(next_token),
                    Just(resource_type),
                    compartment,
                    subsequence(params, 0..=most),
                    proptest::option::of(1u8..=4),
                    proptest::bool::weighted(0.2),
                )
            })
            .prop_map(
                |(token, next_token, resource_type, compartment, params, count, post)| Probe {
                    token,
                    next_token,
                    post: post && compartment.is_none(),
                    resource_type,
                    compartment,
                    params,
                    count,
                },
            );
        let probes = Cell::new(0u32);
        let served = Cell::new(0u32);
        let mut runner = TestRunner::new(Config {
            cases: self.check.cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |probe| {
            probes.set(probes.get() + 1);
            let status = self.search(&probe).map_err(TestCaseError::fail)?;
            served.set(served.get() + u32::from(status == 200));
            Ok(())
        });
        match result {
            Ok(()) => Ok((probes.get(), served.get())),
            Err(TestError::Fail(reason, probe)) => {
                Err(Leak(format!("{reason}\nminimal failing search: {probe:?}")))
            }
            Err(TestError::Abort(reason)) => {
                Err(Leak(format!("the property test aborted: {reason}")))
            }
        }
    }

    /// Runs one search probe with all its pages and checks it; the first page's status.
    fn search(&self, probe: &Probe) -> Result<u16, String> {
        let patients = &self.check.patients;
        let mut found = Vec::new();
        let (path, form) = probe.request();
        let status = self.walk_with(
            &path,
            form.as_deref(),
            &patients[probe.token].token,
            Some(probe.token),
            &patients[probe.next_token].token,
            Some(probe.next_token),
            &mut found,
        )?;
        self.no_inference(probe, &found)?;
        Ok(status)
    }

    /// Every parameter the property test combines, alone, for every token and type.
    pub(super) fn sweep_parameters(&self) -> Result<(), String> {
        for resource_type in self.searchable() {
            for param in self.candidates(&resource_type) {
                for token in 0..self.check.patients.len() {
                    self.search(&Probe {
                        token,
                        next_token: token,
                        resource_type: resource_type.clone(),
                        compartment: None,
                        params: vec![param.clone()],
                        count: None,
                        post: false,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// A match of a chain (`subject:Patient.family=…`) or a reverse chain (`_has:…`) must owe its
    /// place to a resource the token may see: otherwise the search tells the caller something
    /// about data outside its compartment (another patient's name, another patient's
    /// Observation on this Encounter) without returning it. Chains on `_id` are exempt: the
    /// reference they test is in the returned resource itself.
    fn no_inference(&self, probe: &Probe, found: &[(Option<usize>, Value)]) -> Result<(), String> {
        let base = Some(self.check.public_base_url.as_str());
        let key = |r: &Value| -> Option<(String, String)> {
            Some((
                r["resourceType"].as_str()?.to_owned(),
                r["id"].as_str()?.to_owned(),
            ))
        };
        for (name, value) in &probe.params {
            let chain = name
                .split_once(':')
                .and_then(|(param, rest)| Some((param, rest.split_once('.')?)))
                .filter(|(param, (_, inner))| !param.starts_with('_') && *inner != "_id");
            let has = name
                .strip_prefix("_has:")
                .and_then(|rest| rest.split_once(':'))
                .and_then(|(source, rest)| Some((source, rest.split_once(':')?.0)));
            for (token, resource) in found {
                let Some(token) = *token else { continue };
                let Some(me) = key(resource) else { continue };
                let parsed = Resource::new(resource.clone()).map_err(|e| e.to_string())?;
                let witnesses: Vec<&Value> = if let Some((param, (target, _))) = chain {
                    let Some(def) = r4_param(&probe.resource_type, param) else {
                        continue;
                    };
                    references(&parsed, def, base)
                        .iter()
                        .filter(|r| r.resource_type == target)
                        .filter_map(|r| {
                            self.universe
                                .get(&(r.resource_type.to_owned(), r.id.to_owned()))
                        })
                        .collect()
                } else if let Some((source, param)) = has {
                    let Some(def) = r4_param(source, param) else {
                        continue;
                    };
                    self.universe
                        .iter()
                        .filter(|((t, _), _)| t == source)
                        .filter(|(_, s)| {
                            Resource::new((*s).clone()).is_ok_and(|s| {
                                references(&s, def, base)
                                    .iter()
                                    .any(|r| r.resource_type == me.0 && r.id == me.1)
                            })
                        })
                        .map(|(_, s)| s)
                        .collect()
                } else {
                    continue;
                };
                let mut visible = false;
                for witness in &witnesses {
                    visible |= self.inside(witness, token)?;
                }
                if !visible {
                    return Err(format!(
                        "INFERENCE LEAK: {name}={value} matched {}/{} for the token of \
                         Patient/{} only through {}, which that token may not see",
                        me.0,
                        me.1,
                        self.patient(token),
                        witnesses
                            .iter()
                            .filter_map(|w| key(w).map(|(t, id)| format!("{t}/{id}")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leakage::PatientToken;

    #[test]
    fn a_probe_prints_its_request_and_not_its_token() {
        let probe = Probe {
            token: 0,
            next_token: 1,
            resource_type: "Observation".to_owned(),
            compartment: Some("p2".to_owned()),
            params: vec![("subject:Patient._id".to_owned(), "p1".to_owned())],
            count: Some(2),
            post: false,
        };
        assert_eq!(
            format!("{probe:?}"),
            "GET Patient/p2/Observation?subject%3APatient._id=p1&_count=2 with the token of \
             patient #0 (next links with #1)"
        );
        let post = Probe {
            compartment: None,
            post: true,
            ..probe
        };
        assert_eq!(
            format!("{post:?}"),
            "POST Observation/_search with subject%3APatient._id=p1&_count=2 with the token \
             of patient #0 (next links with #1)"
        );
        let token = PatientToken {
            patient: "p1".to_owned(),
            token: "secret".to_owned(),
        };
        assert!(!format!("{token:?}").contains("secret"));
    }
}
