//! The parameters the generated searches combine, with values drawn from the data: patient
//! references, chains and reverse chains to patients, ids, includes and revincludes.

use fhir_facade_core::search::registry::r4_param;
use std::collections::BTreeSet;

use super::session::Session;

impl Session<'_> {
    /// The parameters a search of `resource_type` may combine, with values from the data.
    pub(super) fn candidates(&self, resource_type: &str) -> Vec<(String, String)> {
        let Some(capability) = self.types.get(resource_type) else {
            return Vec::new();
        };
        let ids = |t: &str| -> Vec<String> {
            self.universe
                .keys()
                .filter(|(u, _)| u == t)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let patients = {
            let mut p = ids("Patient");
            p.extend(self.check.patients.iter().map(|p| p.patient.clone()));
            p.sort();
            p.dedup();
            let absent = self.absent("Patient", &p[0]);
            p.push(absent);
            p
        };
        let families: BTreeSet<String> = self
            .universe
            .iter()
            .filter(|((t, _), _)| t == "Patient")
            .filter_map(|(_, p)| p["name"][0]["family"].as_str().map(str::to_owned))
            .collect();
        // Reference parameters of `t` that may point at `target`.
        let references_to = |t: &str, target: &str| -> Vec<String> {
            self.types
                .get(t)
                .into_iter()
                .flat_map(|c| c.params.iter())
                .filter(|(_, kind)| *kind == "reference")
                .filter(|(code, _)| {
                    r4_param(t, code).is_some_and(|def| def.targets.contains(&target))
                })
                .map(|(code, _)| code.clone())
                .collect()
        };
        let mut out = Vec::new();
        let own_refs = references_to(resource_type, "Patient");
        for param in &own_refs {
            for patient in &patients {
                out.push((param.clone(), format!("Patient/{patient}")));
                out.push((format!("{param}:Patient._id"), patient.clone()));
            }
            out.push((format!("{param}:missing"), "true".to_owned()));
            for family in &families {
                for string_param in ["family", "name"] {
                    if self.types["Patient"].params.contains_key(string_param) {
                        out.push((format!("{param}:Patient.{string_param}"), family.clone()));
                    }
                }
            }
        }
        // Chains through another type to a patient: encounter:Encounter.patient=Patient/x.
        for target in self.types.keys() {
            if target == "Patient" {
                continue;
            }
            for param in references_to(resource_type, target) {
                for inner in references_to(target, "Patient") {
                    for patient in &patients {
                        out.push((
                            format!("{param}:{target}.{inner}"),
                            format!("Patient/{patient}"),
                        ));
                    }
                }
                for id in ids(target).into_iter().take(6) {
                    out.push((param.clone(), format!("{target}/{id}")));
                }
            }
        }
        if capability.params.contains_key("_id") {
            let mut own = ids(resource_type);
            own.truncate(12);
            if let Some(first) = own.first().cloned() {
                own.push(self.absent(resource_type, &first));
            }
            for id in own {
                out.push(("_id".to_owned(), id));
            }
        }
        for include in &capability.includes {
            out.push(("_include".to_owned(), include.clone()));
            out.push(("_include:iterate".to_owned(), include.clone()));
        }
        for revinclude in &capability.revincludes {
            out.push(("_revinclude".to_owned(), revinclude.clone()));
            out.push(("_revinclude:iterate".to_owned(), revinclude.clone()));
            // _has through the same reference: Patient?_has:Observation:subject:_id=…
            if let Some((source, param)) = revinclude.split_once(':') {
                for id in ids(source).into_iter().take(6) {
                    out.push((format!("_has:{source}:{param}:_id"), id));
                }
                for inner in references_to(source, "Patient") {
                    for patient in &patients {
                        out.push((
                            format!("_has:{source}:{param}:{inner}"),
                            format!("Patient/{patient}"),
                        ));
                    }
                }
            }
        }
        out.push(("_total".to_owned(), "accurate".to_owned()));
        out
    }
}
