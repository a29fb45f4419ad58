//! One run of the check: what the CapabilityStatement declares, the resources known, the
//! counters of the report, and the requests and searchset walks every part of the check makes.

use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use super::LeakageCheck;
use super::http::{Answer, http_request};

/// What the CapabilityStatement declares for one type.
#[derive(Debug, Clone, Default)]
pub(super) struct TypeCapability {
    pub(super) interactions: BTreeSet<String>,
    /// Search parameter name → type.
    pub(super) params: BTreeMap<String, String>,
    pub(super) includes: Vec<String>,
    pub(super) revincludes: Vec<String>,
}

/// Statuses that refuse without saying anything about a resource.
const REFUSALS: [u16; 6] = [400, 403, 404, 405, 422, 501];

/// The state of one [`LeakageCheck::run`].
pub(super) struct Session<'a> {
    pub(super) check: &'a LeakageCheck,
    pub(super) types: BTreeMap<String, TypeCapability>,
    pub(super) everything: bool,
    /// Every known resource by (type, id).
    pub(super) universe: BTreeMap<(String, String), Value>,
    pub(super) requests: Cell<usize>,
    pub(super) ok: Cell<usize>,
    pub(super) refused: Cell<usize>,
    pub(super) returned: Cell<usize>,
    pub(super) reasons: RefCell<BTreeMap<String, usize>>,
}

impl Session<'_> {
    pub(super) fn patient(&self, token: usize) -> &str {
        &self.check.patients[token].patient
    }

    /// `GET` a path under the base URL, or a link the server wrote.
    pub(super) fn get(&self, target: &str, token: Option<&str>) -> Result<Answer, String> {
        self.request(target, token, None)
    }

    /// `GET`, or `POST` of `form` (`application/x-www-form-urlencoded`) when given.
    fn request(
        &self,
        target: &str,
        token: Option<&str>,
        form: Option<&str>,
    ) -> Result<Answer, String> {
        let url = if target.starts_with("http://") || target.starts_with("https://") {
            match target.strip_prefix(&self.check.public_base_url) {
                Some(rest) if rest.starts_with('/') || rest.starts_with('?') => {
                    format!("{}{rest}", self.check.base_url)
                }
                _ => return Err(format!("a link leaves the server: {target}")),
            }
        } else {
            format!("{}/{target}", self.check.base_url)
        };
        self.requests.set(self.requests.get() + 1);
        let method = if form.is_some() { "POST" } else { "GET" };
        let answer = http_request(&url, token, form).map_err(|e| format!("{method} {url}: {e}"))?;
        if answer.status == 200 {
            self.ok.set(self.ok.get() + 1);
        } else if REFUSALS.contains(&answer.status) {
            self.refused.set(self.refused.get() + 1);
            let outcome: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap_or("");
            // A 404 names the id; one line for all of them.
            let reason = if answer.status == 404 {
                "404 not found".to_owned()
            } else {
                format!("{} {diagnostics}", answer.status)
            };
            *self.reasons.borrow_mut().entry(reason).or_default() += 1;
        } else {
            return Err(format!(
                "{method} {url}: unexpected status {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        Ok(answer)
    }

    pub(super) fn read_capabilities(&mut self) -> Result<(), String> {
        let answer = self.get("metadata", None)?;
        if answer.status != 200 {
            return Err(format!("GET metadata: {}", answer.status));
        }
        let statement = answer.json("GET metadata")?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        for resource in statement["rest"][0]["resource"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(resource_type) = resource["type"].as_str() else {
                continue;
            };
            let capability = TypeCapability {
                interactions: resource["interaction"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["code"].as_str().map(str::to_owned))
                    .collect(),
                params: resource["searchParam"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        Some((
                            p["name"].as_str()?.to_owned(),
                            p["type"].as_str()?.to_owned(),
                        ))
                    })
                    .collect(),
                includes: strings(&resource["searchInclude"]),
                revincludes: strings(&resource["searchRevInclude"]),
            };
            if resource_type == "Patient" {
                self.everything = resource["operation"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|o| o["name"] == "everything");
            }
            self.types.insert(resource_type.to_owned(), capability);
        }
        if self.types.is_empty() {
            return Err("the CapabilityStatement declares no resource types".to_owned());
        }
        Ok(())
    }

    pub(super) fn searchable(&self) -> Vec<String> {
        self.types
            .iter()
            .filter(|(_, c)| c.interactions.contains("search-type"))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Every resource each searchable type serves to the oracle, or to each patient.
    pub(super) fn enumerate(&mut self) -> Result<(), String> {
        let tokens: Vec<(Option<usize>, String)> = match &self.check.oracle {
            Some(oracle) => vec![(None, oracle.clone())],
            None => (0..self.check.patients.len())
                .map(|i| (Some(i), self.check.patients[i].token.clone()))
                .collect(),
        };
        for resource_type in self.searchable() {
            for (patient, token) in &tokens {
                let mut found = Vec::new();
                self.walk(
                    &format!("{resource_type}?_count=50"),
                    &token.clone(),
                    *patient,
                    &mut found,
                )?;
                for (_, resource) in found {
                    if let (Some(t), Some(id)) =
                        (resource["resourceType"].as_str(), resource["id"].as_str())
                    {
                        self.universe
                            .insert((t.to_owned(), id.to_owned()), resource.clone());
                    }
                }
            }
        }
        if self.universe.is_empty() {
            return Err("no resource could be enumerated".to_owned());
        }
        // A key that misses a served resource would call it nobody's and report a leak for
        // nothing, or, worse, be a key of another data set: it must cover what is served.
        if let Some((t, id)) = self
            .universe
            .keys()
            .find(|(t, id)| !self.check.owners.knows(t, id))
        {
            return Err(format!(
                "{t}/{id} is served but not in the answer key of the data set"
            ));
        }
        Ok(())
    }

    /// Whether `resource` is in the compartment of the patient of token `token`, by the answer key.
    pub(super) fn inside(&self, resource: &Value, token: usize) -> Result<bool, String> {
        let (Some(resource_type), Some(id)) =
            (resource["resourceType"].as_str(), resource["id"].as_str())
        else {
            return Err("a returned resource has no resourceType or id".to_owned());
        };
        Ok(self
            .check
            .owners
            .owns(self.patient(token), resource_type, id))
    }

    /// Fails unless `resource` lies in the compartment of `token`'s patient.
    fn confined(&self, resource: &Value, token: usize, request: &str) -> Result<(), String> {
        if self.inside(resource, token)? {
            self.returned.set(self.returned.get() + 1);
            Ok(())
        } else {
            Err(format!(
                "LEAK: {request} with the token of Patient/{} returned {}/{}, outside that \
                 patient's compartment",
                self.patient(token),
                resource["resourceType"].as_str().unwrap_or("?"),
                resource["id"].as_str().unwrap_or("?"),
            ))
        }
    }

    /// A searchset from `path` and all its `next` pages: every match into `found` with the patient
    /// token it was returned to; matches and includes
    /// each checked against `patient`'s compartment when it is a patient token's; the total checked
    /// against the matches. The first page's status.
    pub(super) fn walk(
        &self,
        path: &str,
        token: &str,
        patient: Option<usize>,
        found: &mut Vec<(Option<usize>, Value)>,
    ) -> Result<u16, String> {
        self.walk_with(path, None, token, patient, token, patient, found)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn walk_with(
        &self,
        path: &str,
        form: Option<&str>,
        token: &str,
        patient: Option<usize>,
        next_token: &str,
        next_patient: Option<usize>,
        found: &mut Vec<(Option<usize>, Value)>,
    ) -> Result<u16, String> {
        let mut target = path.to_owned();
        let switches = token != next_token || patient != next_patient;
        let (mut token, mut patient) = (token, patient);
        let mut matches = 0u64;
        let mut total = None;
        let mut first_status = None;
        for page in 0..self.check.max_pages {
            let form = if page == 0 { form } else { None };
            let request = match form {
                Some(form) => format!("POST {target} with {form}"),
                None => format!("GET {target}"),
            };
            let answer = self.request(&target, Some(token), form)?;
            first_status.get_or_insert(answer.status);
            if answer.status != 200 {
                if page == 0 {
                    return Ok(answer.status);
                }
                return Err(format!("{request}: a next link answered {}", answer.status));
            }
            let bundle = answer.json(&request)?;
            if bundle["resourceType"] != "Bundle" {
                return Err(format!("{request}: not a Bundle"));
            }
            if page == 0 {
                total = bundle["total"].as_u64();
            }
            for entry in bundle["entry"].as_array().into_iter().flatten() {
                let resource = &entry["resource"];
                if entry["search"]["mode"] == "outcome"
                    || resource["resourceType"] == "OperationOutcome"
                {
                    continue;
                }
                if let Some(patient) = patient {
                    self.confined(resource, patient, &request)?;
                }
                if entry["search"]["mode"] != "include" {
                    matches += 1;
                    found.push((patient, resource.clone()));
                }
            }
            let next = bundle["link"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str());
            match next {
                Some(next) => {
                    // The link itself must be one of this server's.
                    self.get_prefix_ok(next)?;
                    target = next.to_owned();
                    (token, patient) = (next_token, next_patient);
                }
                None => {
                    // Paging with another token changes what is counted; compare only a walk
                    // made with one token.
                    let one_token = !switches || page == 0;
                    if let (Some(total), true) = (total, one_token)
                        && total != matches
                    {
                        return Err(format!(
                            "GET {path}: total {total} but the pages hold {matches} matches \
                             (a total counted outside the compartment leaks how much there is)"
                        ));
                    }
                    return Ok(first_status.unwrap_or(200));
                }
            }
        }
        Err(format!(
            "GET {path}: more than {} pages",
            self.check.max_pages
        ))
    }

    fn get_prefix_ok(&self, link: &str) -> Result<(), String> {
        match link.strip_prefix(&self.check.public_base_url) {
            Some(rest) if rest.starts_with('/') => Ok(()),
            _ => Err(format!("a link leaves the server: {link}")),
        }
    }

    /// An id of the same shape as `id` that names no known resource of `resource_type`.
    pub(super) fn absent(&self, resource_type: &str, id: &str) -> String {
        let mut candidate = format!("{id}0000");
        while self
            .universe
            .contains_key(&(resource_type.to_owned(), candidate.clone()))
        {
            candidate.push('0');
        }
        candidate
    }

    /// The resources of a 200 body (a resource or a Bundle) are all in `token`'s compartment.
    pub(super) fn check_body(
        &self,
        answer: &Answer,
        token: usize,
        request: &str,
    ) -> Result<(), String> {
        let body = answer.json(request)?;
        if body["resourceType"] == "Bundle" {
            for entry in body["entry"].as_array().into_iter().flatten() {
                let resource = &entry["resource"];
                if entry["search"]["mode"] == "outcome" || resource.is_null() {
                    continue;
                }
                self.confined(resource, token, request)?;
            }
            Ok(())
        } else {
            self.confined(&body, token, request)
        }
    }
}
