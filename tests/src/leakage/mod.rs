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
//! Every resource in every 200 answer is checked against the data set's answer key ([`Owners`]:
//! the patients whose compartment holds each resource, written down apart from the facade, so that
//! a fault in the facade's own compartment rules is caught too); a searchset that carries a `total` must count
//! exactly the matches its pages deliver (a total computed before the confinement would leak how
//! much another patient has); links must stay on the server. A failing property is shrunk to a
//! minimal request. Any answer outside 200, 400, 403, 404, 405, 422 and 501 is a failure too,
//! because a path that breaks is a path the check cannot see into.
//!
//! Tokens are sent, never printed: requests are reported without their `Authorization`.

mod candidates;
mod http;
mod owners;
mod probe;
mod session;
mod sweep;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;

use http::http_request;
pub use owners::Owners;
use session::Session;

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
    owners: Owners,
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

impl LeakageCheck {
    /// A check of the server at `base_url` (`http://127.0.0.1:8080` or with a path prefix), with
    /// at least two patient tokens so that each patient's data is another's "other", and the
    /// answer key of the data the server serves: every resource it serves must be in it.
    pub fn new(base_url: impl Into<String>, patients: Vec<PatientToken>, owners: Owners) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        LeakageCheck {
            public_base_url: base_url.clone(),
            base_url,
            patients,
            owners,
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
