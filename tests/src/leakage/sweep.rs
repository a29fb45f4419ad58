//! Part 1 of the check: every single-resource route, for every token and every known resource.

use fhir_facade_core::compartment::patient_compartment_params;
use std::collections::BTreeSet;

use super::session::Session;

/// A single-resource route: the path for an id.
type Route = Box<dyn Fn(&str) -> String>;

impl Session<'_> {
    /// One single-resource route for a resource outside the token's compartment: answered as
    /// the same route for an absent id, and never with data. `route` maps an id to the path.
    fn as_if_absent(
        &self,
        token: usize,
        resource_type: &str,
        id: &str,
        route: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let secret = self.check.patients[token].token.as_str();
        let path = route(id);
        let answer = self.get(&path, Some(secret))?;
        let absent = self.get(&route(&self.absent(resource_type, id)), Some(secret))?;
        if answer.status == 200 {
            self.check_body(&answer, token, &format!("GET {path}"))?;
        }
        if answer.status != absent.status {
            return Err(format!(
                "EXISTENCE LEAK: GET {path} with the token of Patient/{} answers {} where an \
                 absent id answers {}",
                self.patient(token),
                answer.status,
                absent.status
            ));
        }
        Ok(())
    }

    /// Part 1: every single-resource route, every token, every known resource.
    pub(super) fn sweep(&self) -> Result<(), String> {
        let patients: BTreeSet<String> = self
            .universe
            .keys()
            .filter(|(t, _)| t == "Patient")
            .map(|(_, id)| id.clone())
            .chain(self.check.patients.iter().map(|p| p.patient.clone()))
            .collect();
        for token in 0..self.check.patients.len() {
            let secret = self.check.patients[token].token.as_str();
            for ((resource_type, id), resource) in &self.universe {
                let Some(capability) = self.types.get(resource_type) else {
                    continue;
                };
                let inside = self.inside(resource, token)?;
                let mut routes: Vec<(&str, Route)> = Vec::new();
                let t = resource_type.clone();
                if capability.interactions.contains("read") {
                    routes.push(("read", Box::new(move |id| format!("{t}/{id}"))));
                }
                let t = resource_type.clone();
                if capability.interactions.contains("vread") {
                    routes.push(("vread", Box::new(move |id| format!("{t}/{id}/_history/1"))));
                }
                let t = resource_type.clone();
                if capability.interactions.contains("history-instance") {
                    routes.push(("history", Box::new(move |id| format!("{t}/{id}/_history"))));
                }
                for (name, route) in routes {
                    if inside {
                        let path = route(id);
                        let answer = self.get(&path, Some(secret))?;
                        if answer.status == 200 {
                            self.check_body(&answer, token, &format!("GET {path}"))?;
                        } else if name == "read" && answer.status == 404 {
                            return Err(format!(
                                "GET {path}: the token of Patient/{} does not find a resource \
                                 of its own compartment",
                                self.patient(token)
                            ));
                        }
                    } else {
                        self.as_if_absent(token, resource_type, id, &*route)?;
                    }
                }
            }
            for patient in &patients {
                if self.everything {
                    let route = |id: &str| format!("Patient/{id}/$everything?_count=3");
                    if patient == self.patient(token) {
                        let mut found = Vec::new();
                        self.walk(&route(patient), secret, Some(token), &mut found)?;
                    } else {
                        let inside = self
                            .universe
                            .get(&("Patient".to_owned(), patient.clone()))
                            .map(|p| self.inside(p, token))
                            .transpose()?
                            .unwrap_or(false);
                        if inside {
                            let mut found = Vec::new();
                            self.walk(&route(patient), secret, Some(token), &mut found)?;
                        } else {
                            self.as_if_absent(token, "Patient", patient, &route)?;
                        }
                    }
                }
                for resource_type in self.searchable() {
                    if patient_compartment_params(&resource_type).is_empty() {
                        continue;
                    }
                    let mut found = Vec::new();
                    self.walk(
                        &format!("Patient/{patient}/{resource_type}?_count=2"),
                        secret,
                        Some(token),
                        &mut found,
                    )?;
                }
            }
        }
        Ok(())
    }
}
