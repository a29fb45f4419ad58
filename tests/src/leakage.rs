//! The patient-compartment leakage check: over HTTP, against any running facade with SMART on,
//! a token confined to one patient never gets a resource outside that patient's compartment, and
//! never learns whether another patient's resource exists.
//!
//! [`LeakageCheck`] reads the server's CapabilityStatement (`/metadata`, public) for the types,
//! interactions, search parameters, `_include`s and `_revinclude`s it serves, enumerates the data
//! (with an unrestricted token when given, otherwise with the patients' own tokens), and then
//!
//! 1. sweeps every single-resource route for every token and every known resource: read, vread
//!    (`_history/1`), instance history, `Patient/{id}/$everything` (paged) and
//!    `Patient/{id}/{type}` for every patient. A resource outside the token's compartment must be
//!    answered exactly as a resource that does not exist (same status, never 200); then runs
//!    every search parameter of part 2 alone, for every token and type;
//! 2. runs a property test (proptest) of searches: random type, random combination of the
//!    patient-reference parameters (`patient`, `subject`, …) with own, other and absent patients,
//!    `_id`, chains (`subject:Patient._id=…`, `encounter:Encounter.patient=…`), `_has`,
//!    `_include` and `_revinclude` (with `:iterate`), `_total`, `_count`, optionally inside a
//!    `Patient/{id}/` compartment or as `POST {type}/_search`, following every `next` link — also
//!    with another patient's token.
//!
//! Every resource in every 200 answer is checked against the Patient CompartmentDefinition
//! ([`fhir_facade_core::compartment::contains`]); a searchset that carries a `total` must count
//! exactly the matches its pages deliver (a total computed before the confinement would leak how
//! much another patient has); links must stay on the server. A failing property is shrunk to a
//! minimal request. Any answer outside 200, 400, 403, 404, 405, 422 and 501 is a failure too,
//! because a path that breaks is a path the check cannot see into.
//!
//! Tokens are sent, never printed: requests are reported without their `Authorization`.

use fhir_facade_core::Resource;
use fhir_facade_core::compartment::{contains, patient_compartment_params};
use fhir_facade_core::search::references;
use fhir_facade_core::search::registry::r4_param;
use proptest::sample::{select, subsequence};
use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A patient of the data set and a bearer token confined to that patient (`patient/*.rs` or
/// narrower, with the `patient` claim).
#[derive(Clone)]
pub struct PatientToken {
    /// The patient's id.
    pub patient: String,
    /// The bearer token.
    pub token: String,
}

impl fmt::Debug for PatientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatientToken")
            .field("patient", &self.patient)
            .finish_non_exhaustive()
    }
}

/// The check against one server; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct LeakageCheck {
    base_url: String,
    public_base_url: String,
    patients: Vec<PatientToken>,
    oracle: Option<String>,
    cases: u32,
    sweep: bool,
    max_pages: usize,
}

/// What a run saw, so a caller can tell a thorough run from a vacuous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Resources known to the run (type and id), from the enumeration.
    pub universe: usize,
    /// HTTP requests made.
    pub requests: usize,
    /// Answers with status 200.
    pub ok: usize,
    /// Answers with a refusing status (400, 403, 404, 405, 422, 501).
    pub refused: usize,
    /// Resources returned to a patient token and found inside its compartment.
    pub returned: usize,
    /// Generated search probes run.
    pub probes: u32,
    /// Generated search probes whose first page was a 200.
    pub probes_served: u32,
    /// The refusals by status and the first diagnostics of their OperationOutcome, to see which
    /// paths the server did not serve (and so the check could not look into).
    pub refusal_reasons: BTreeMap<String, usize>,
}

/// A resource outside the token's compartment, an existence leak, or a broken answer: the
/// request (without its token) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak(pub String);

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Leak {}

/// What the CapabilityStatement declares for one type.
#[derive(Debug, Clone, Default)]
struct TypeCapability {
    interactions: BTreeSet<String>,
    /// Search parameter name → type.
    params: BTreeMap<String, String>,
    includes: Vec<String>,
    revincludes: Vec<String>,
}

/// A single-resource route: the path for an id.
type Route = Box<dyn Fn(&str) -> String>;

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

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self, request: &str) -> Result<Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("{request}: the {} answer is not JSON: {e}", self.status))
    }
}

/// Statuses that refuse without saying anything about a resource.
const REFUSALS: [u16; 6] = [400, 403, 404, 405, 422, 501];

impl LeakageCheck {
    /// A check of the server at `base_url` (`http://127.0.0.1:8080` or with a path prefix), with
    /// at least two patient tokens so that each patient's data is another's "other".
    pub fn new(base_url: impl Into<String>, patients: Vec<PatientToken>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        LeakageCheck {
            public_base_url: base_url.clone(),
            base_url,
            patients,
            oracle: None,
            cases: 256,
            sweep: true,
            max_pages: 200,
        }
    }

    /// The base URL the server writes into links and `fullUrl`s when it differs from the address
    /// the check connects to (`FHIR_FACADE_BASE_URL`); links are followed at the address.
    #[must_use]
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// An unrestricted token (`system/*.rs` or `user/*.rs`) to enumerate every resource, so that
    /// resources in nobody's compartment are probed too. Without it, the patients' tokens
    /// enumerate their own compartments.
    #[must_use]
    pub fn oracle(mut self, token: impl Into<String>) -> Self {
        self.oracle = Some(token.into());
        self
    }

    /// How many searches the property test generates (default 256).
    #[must_use]
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Whether to sweep the single-resource routes before the property test (default on); off,
    /// only generated searches run.
    #[must_use]
    pub fn sweep(mut self, sweep: bool) -> Self {
        self.sweep = sweep;
        self
    }

    /// Runs the sweep and the property test. Blocking: call it from a plain thread or
    /// `tokio::task::spawn_blocking`, not from an async task of the runtime serving the facade.
    pub fn run(&self) -> Result<Report, Leak> {
        if self.patients.len() < 2 {
            return Err(Leak(
                "the check needs at least two patient tokens".to_owned(),
            ));
        }
        let mut session = Session {
            check: self,
            types: BTreeMap::new(),
            everything: false,
            universe: BTreeMap::new(),
            requests: Cell::new(0),
            ok: Cell::new(0),
            refused: Cell::new(0),
            returned: Cell::new(0),
            reasons: RefCell::new(BTreeMap::new()),
        };
        session.read_capabilities().map_err(Leak)?;
        session.enumerate().map_err(Leak)?;
        if self.sweep {
            session.sweep().map_err(Leak)?;
            session.sweep_parameters().map_err(Leak)?;
        }
        let (probes, probes_served) = session.properties()?;
        Ok(Report {
            universe: session.universe.len(),
            requests: session.requests.get(),
            ok: session.ok.get(),
            refused: session.refused.get(),
            returned: session.returned.get(),
            probes,
            probes_served,
            refusal_reasons: session.reasons.take(),
        })
    }
}

struct Session<'a> {
    check: &'a LeakageCheck,
    types: BTreeMap<String, TypeCapability>,
    everything: bool,
    /// Every known resource by (type, id).
    universe: BTreeMap<(String, String), Value>,
    requests: Cell<usize>,
    ok: Cell<usize>,
    refused: Cell<usize>,
    returned: Cell<usize>,
    reasons: RefCell<BTreeMap<String, usize>>,
}

impl Session<'_> {
    fn patient(&self, token: usize) -> &str {
        &self.check.patients[token].patient
    }

    /// `GET` a path under the base URL, or a link the server wrote.
    fn get(&self, target: &str, token: Option<&str>) -> Result<Answer, String> {
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

    fn read_capabilities(&mut self) -> Result<(), String> {
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

    fn searchable(&self) -> Vec<String> {
        self.types
            .iter()
            .filter(|(_, c)| c.interactions.contains("search-type"))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Every resource each searchable type serves to the oracle, or to each patient.
    fn enumerate(&mut self) -> Result<(), String> {
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
        Ok(())
    }

    /// Whether `resource` is in the compartment of the patient of token `token`.
    fn inside(&self, resource: &Value, token: usize) -> Result<bool, String> {
        let parsed = Resource::new(resource.clone())
            .map_err(|e| format!("a returned resource is not a resource: {e}"))?;
        Ok(contains(
            &parsed,
            "Patient",
            self.patient(token),
            Some(&self.check.public_base_url),
        ))
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
    fn walk(
        &self,
        path: &str,
        token: &str,
        patient: Option<usize>,
        found: &mut Vec<(Option<usize>, Value)>,
    ) -> Result<u16, String> {
        self.walk_with(path, None, token, patient, token, patient, found)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_with(
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
    fn absent(&self, resource_type: &str, id: &str) -> String {
        let mut candidate = format!("{id}0000");
        while self
            .universe
            .contains_key(&(resource_type.to_owned(), candidate.clone()))
        {
            candidate.push('0');
        }
        candidate
    }

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

    /// The resources of a 200 body (a resource or a Bundle) are all in `token`'s compartment.
    fn check_body(&self, answer: &Answer, token: usize, request: &str) -> Result<(), String> {
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

    /// Part 1: every single-resource route, every token, every known resource.
    fn sweep(&self) -> Result<(), String> {
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

    /// Part 2: generated searches.
    fn properties(&self) -> Result<(u32, u32), Leak> {
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
    fn sweep_parameters(&self) -> Result<(), String> {
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

    /// The parameters a search of `resource_type` may combine, with values from the data.
    fn candidates(&self, resource_type: &str) -> Vec<(String, String)> {
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

/// The ids of up to `n` patients the server lists to `token` (an unrestricted one), in its order:
/// for a runner that has to pick the patients whose tokens it mints.
pub fn list_patients(base_url: &str, token: &str, n: usize) -> Result<Vec<String>, Leak> {
    let url = format!("{}/Patient?_count={n}", base_url.trim_end_matches('/'));
    let answer =
        http_request(&url, Some(token), None).map_err(|e| Leak(format!("GET {url}: {e}")))?;
    if answer.status != 200 {
        return Err(Leak(format!("GET {url}: {}", answer.status)));
    }
    let bundle = answer.json(&format!("GET {url}")).map_err(Leak)?;
    Ok(bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .take(n)
        .collect())
}

/// A blocking HTTP/1.1 `GET`, or `POST` of a form (no TLS; the check runs against local
/// servers).
fn http_request(url: &str, token: Option<&str>, form: Option<&str>) -> Result<Answer, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// URLs are supported".to_owned())?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let method = if form.is_some() { "POST" } else { "GET" };
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/fhir+json\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n"
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(form) = form {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(form.unwrap_or(""));
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "no end of the response head".to_owned())?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no status".to_owned())?;
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Answer { status, body })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| "a chunk without its size line".to_owned())?;
        let size_line = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("a bad chunk size {size_line:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("a truncated chunk".to_owned());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_joined() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert!(dechunk(b"5\r\nab").is_err());
    }

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
