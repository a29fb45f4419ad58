//! Assembly of R4 `Bundle` resources: `searchset`, `history`, `batch-response` and
//! `transaction-response`.
//!
//! A [`Bundle`] is built in memory from the resources a provider produced, then serialized
//! straight from them (it implements [`serde::Serialize`]; no intermediate JSON tree is built):
//! as one JSON value ([`Bundle::to_json`]), or as byte chunks of about [`CHUNK_BYTES`]
//! ([`Bundle::into_chunks`]) so an HTTP body is streamed and a large page is never held twice,
//! once as resources and once as text.
//!
//! Nothing random or clock-dependent is added: the facade is stateless, so the same input gives
//! the same bundle. An `id`, `meta.lastUpdated` or `timestamp` appears only when set.

use crate::error::{Issue, operation_outcome};
use crate::{Error, Resource};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use std::collections::HashSet;

/// The size a streamed chunk grows to before it is handed on (see [`Bundle::into_chunks`]).
///
/// Large enough that a page of small resources goes out in a few writes rather than one per
/// entry, small enough that the text of a large page is never held at once.
pub const CHUNK_BYTES: usize = 32 * 1024;

/// `Bundle.type` values produced by the facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleType {
    /// `searchset`
    Searchset,
    /// `history`
    History,
    /// `batch-response`
    BatchResponse,
    /// `transaction-response`
    TransactionResponse,
}

impl BundleType {
    /// The code as `Bundle.type` writes it.
    pub fn code(self) -> &'static str {
        match self {
            BundleType::Searchset => "searchset",
            BundleType::History => "history",
            BundleType::BatchResponse => "batch-response",
            BundleType::TransactionResponse => "transaction-response",
        }
    }
}

/// `Bundle.link.relation` values for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRelation {
    /// `self`: the request that produced this page.
    SelfLink,
    /// `first`
    First,
    /// `previous`
    Previous,
    /// `next`
    Next,
    /// `last`
    Last,
}

impl LinkRelation {
    /// The relation name.
    pub fn code(self) -> &'static str {
        match self {
            LinkRelation::SelfLink => "self",
            LinkRelation::First => "first",
            LinkRelation::Previous => "previous",
            LinkRelation::Next => "next",
            LinkRelation::Last => "last",
        }
    }
}

/// `Bundle.entry.search.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// `match`: the resource matched the search.
    Match,
    /// `include`: the resource was added by `_include` or `_revinclude`.
    Include,
    /// `outcome`: an `OperationOutcome` about the search itself.
    Outcome,
}

impl SearchMode {
    /// The code as `search.mode` writes it.
    pub fn code(self) -> &'static str {
        match self {
            SearchMode::Match => "match",
            SearchMode::Include => "include",
            SearchMode::Outcome => "outcome",
        }
    }
}

/// `Bundle.entry.request.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVerb {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
}

impl HttpVerb {
    /// The method name.
    pub fn code(self) -> &'static str {
        match self {
            HttpVerb::Get => "GET",
            HttpVerb::Head => "HEAD",
            HttpVerb::Post => "POST",
            HttpVerb::Put => "PUT",
            HttpVerb::Delete => "DELETE",
            HttpVerb::Patch => "PATCH",
        }
    }
}

/// `Bundle.entry.request`: the interaction an entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRequest {
    /// The HTTP method.
    pub method: HttpVerb,
    /// The URL relative to the base (`Patient/p1`).
    pub url: String,
}

/// `Bundle.entry.response`: the outcome of one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryResponse {
    /// The status code with its reason phrase (`201 Created`).
    pub status: String,
    /// Where the resource lives (`{base}/Patient/p1/_history/2`).
    pub location: Option<String>,
    /// The version as an ETag (`W/"2"`).
    pub etag: Option<String>,
    /// When the resource was last changed (an instant).
    pub last_modified: Option<String>,
    /// An `OperationOutcome` with details, typically for failures.
    pub outcome: Option<Value>,
}

impl EntryResponse {
    /// A response with only a status; the reason phrase is added for the usual FHIR statuses.
    pub fn new(status: u16) -> Self {
        EntryResponse {
            status: status_line(status),
            location: None,
            etag: None,
            last_modified: None,
            outcome: None,
        }
    }

    /// A success response about `resource`: `location` is its versioned URL under `base_url`, and
    /// `etag` / `lastModified` come from its `meta`.
    pub fn for_resource(status: u16, base_url: &str, resource: &Resource) -> Self {
        let mut response = EntryResponse::new(status);
        if let Some(url) = full_url(base_url, resource) {
            response.location = Some(match resource.version_id() {
                Some(version) => format!("{url}/_history/{version}"),
                None => url,
            });
        }
        response.etag = resource.version_id().map(|v| format!("W/\"{v}\""));
        response.last_modified = resource.last_updated().map(str::to_owned);
        response
    }

    /// The failure of one batch or transaction entry: its status and its `OperationOutcome`.
    pub fn from_error(error: &Error) -> Self {
        let mut response = EntryResponse::new(error.status());
        response.outcome = Some(error.to_operation_outcome());
        response
    }
}

impl Serialize for EntryResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status)?;
        let optional = [
            ("location", &self.location),
            ("etag", &self.etag),
            ("lastModified", &self.last_modified),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(outcome) = &self.outcome {
            map.serialize_entry("outcome", outcome)?;
        }
        map.end()
    }
}

/// One `Bundle.entry`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BundleEntry {
    /// The absolute URL of the resource (`{base}/Patient/p1`).
    pub full_url: Option<String>,
    /// The resource.
    pub resource: Option<Resource>,
    /// Why the entry is in a searchset.
    pub search_mode: Option<SearchMode>,
    /// The recorded interaction (history).
    pub request: Option<EntryRequest>,
    /// The interaction's outcome (history, batch and transaction responses).
    pub response: Option<EntryResponse>,
}

impl BundleEntry {
    /// An entry holding `resource`, with its `fullUrl` under `base_url` when it has an id.
    pub fn for_resource(base_url: &str, resource: Resource) -> Self {
        BundleEntry {
            full_url: full_url(base_url, &resource),
            resource: Some(resource),
            ..BundleEntry::default()
        }
    }

    /// The entry as FHIR JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an entry's map keys are strings")
    }
}

#[derive(Serialize)]
struct SearchJson {
    mode: &'static str,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    method: &'static str,
    url: &'a str,
}

impl Serialize for BundleEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(url) = &self.full_url {
            map.serialize_entry("fullUrl", url)?;
        }
        if let Some(resource) = &self.resource {
            map.serialize_entry("resource", resource)?;
        }
        if let Some(mode) = self.search_mode {
            map.serialize_entry("search", &SearchJson { mode: mode.code() })?;
        }
        if let Some(request) = &self.request {
            let request = RequestJson {
                method: request.method.code(),
                url: &request.url,
            };
            map.serialize_entry("request", &request)?;
        }
        if let Some(response) = &self.response {
            map.serialize_entry("response", response)?;
        }
        map.end()
    }
}

/// A Bundle under construction.
///
/// ```
/// use fhir_facade_core::bundle::{Bundle, LinkRelation};
/// use fhir_facade_core::Resource;
/// use serde_json::json;
///
/// let mut bundle = Bundle::searchset("https://fhir.example/r4/");
/// bundle.set_total(1);
/// bundle.add_link(LinkRelation::SelfLink, "https://fhir.example/r4/Observation?patient=p1");
/// bundle.add_match(Resource::new(json!({
///     "resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}
/// })).unwrap());
/// bundle.add_include(Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap());
///
/// let json = bundle.to_json();
/// assert_eq!(json["entry"][1]["fullUrl"], "https://fhir.example/r4/Patient/p1");
/// assert_eq!(json["entry"][1]["search"]["mode"], "include");
///
/// // The same bundle, streamed.
/// let body: Vec<u8> = bundle.into_chunks().flatten().collect();
/// assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    bundle_type: BundleType,
    base_url: String,
    id: Option<String>,
    last_updated: Option<String>,
    timestamp: Option<String>,
    total: Option<u64>,
    links: Vec<(LinkRelation, String)>,
    entries: Vec<BundleEntry>,
    outcome: Option<BundleEntry>,
    /// The `fullUrl` (one per type and id) of every resource entered with a search mode, for
    /// dropping duplicate includes.
    seen: HashSet<String>,
}

impl Bundle {
    fn new(bundle_type: BundleType, base_url: &str) -> Self {
        Bundle {
            bundle_type,
            base_url: base_url.trim_end_matches('/').to_owned(),
            id: None,
            last_updated: None,
            timestamp: None,
            total: None,
            links: Vec::new(),
            entries: Vec::new(),
            outcome: None,
            seen: HashSet::new(),
        }
    }

    /// A `searchset` bundle for a server whose base URL is `base_url` (with or without a trailing
    /// slash).
    pub fn searchset(base_url: &str) -> Self {
        Bundle::new(BundleType::Searchset, base_url)
    }

    /// A `history` bundle.
    pub fn history(base_url: &str) -> Self {
        Bundle::new(BundleType::History, base_url)
    }

    /// A `batch-response` bundle.
    pub fn batch_response(base_url: &str) -> Self {
        Bundle::new(BundleType::BatchResponse, base_url)
    }

    /// A `transaction-response` bundle.
    pub fn transaction_response(base_url: &str) -> Self {
        Bundle::new(BundleType::TransactionResponse, base_url)
    }

    /// The bundle's type.
    pub fn bundle_type(&self) -> BundleType {
        self.bundle_type
    }

    /// The entries so far, in output order (an outcome entry comes last).
    pub fn entries(&self) -> impl Iterator<Item = &BundleEntry> {
        self.entries.iter().chain(&self.outcome)
    }

    /// Sets `Bundle.id`.
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.id = Some(id.into());
    }

    /// Sets `Bundle.meta.lastUpdated` (an instant, as written).
    pub fn set_last_updated(&mut self, instant: impl Into<String>) {
        self.last_updated = Some(instant.into());
    }

    /// Sets `Bundle.timestamp` (an instant, as written).
    pub fn set_timestamp(&mut self, instant: impl Into<String>) {
        self.timestamp = Some(instant.into());
    }

    /// Sets `Bundle.total`. Only `searchset` and `history` bundles carry a total (invariant
    /// bdl-1); on other types it is not written.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
    }

    /// Adds a link, in the order given.
    pub fn add_link(&mut self, relation: LinkRelation, url: impl Into<String>) {
        self.links.push((relation, url.into()));
    }

    /// Adds a search match. An include entry added earlier for the same resource is removed, so
    /// the resource appears once, as a match.
    pub fn add_match(&mut self, resource: Resource) {
        let entry = self.searched(resource, SearchMode::Match);
        if let Some(url) = &entry.full_url {
            if self.seen.contains(url) {
                self.entries.retain(|e| {
                    e.search_mode != Some(SearchMode::Include) || e.full_url.as_ref() != Some(url)
                });
            } else {
                self.seen.insert(url.clone());
            }
        }
        self.entries.push(entry);
    }

    /// Adds a resource found by `_include` or `_revinclude`, unless the bundle already holds that
    /// resource (same type and id) as a match or an include. Returns whether it was added.
    pub fn add_include(&mut self, resource: Resource) -> bool {
        let entry = self.searched(resource, SearchMode::Include);
        if let Some(url) = &entry.full_url {
            if !self.seen.insert(url.clone()) {
                return false;
            }
        }
        self.entries.push(entry);
        true
    }

    /// Sets the `OperationOutcome` entry (search mode `outcome`) with warnings about the search,
    /// such as ignored parameters. It is written after the other entries; setting it again
    /// replaces it.
    pub fn set_outcome(&mut self, issues: &[Issue]) {
        self.outcome = Some(BundleEntry {
            resource: Some(
                Resource::new(operation_outcome(issues))
                    .expect("an OperationOutcome without an id is a valid resource"),
            ),
            search_mode: Some(SearchMode::Outcome),
            ..BundleEntry::default()
        });
    }

    /// Adds a version to a `history` bundle: `request` is `POST Type` for a creation and
    /// `PUT Type/id` otherwise; the response status is `201 Created` or `200 OK`.
    pub fn add_version(&mut self, resource: Resource, created: bool) {
        let (method, url, status) = if created {
            (HttpVerb::Post, resource.resource_type().to_owned(), 201)
        } else {
            (HttpVerb::Put, relative_url(&resource), 200)
        };
        let response = EntryResponse {
            location: None,
            ..EntryResponse::for_resource(status, &self.base_url, &resource)
        };
        let mut entry = BundleEntry::for_resource(&self.base_url, resource);
        entry.request = Some(EntryRequest { method, url });
        entry.response = Some(response);
        self.entries.push(entry);
    }

    /// Adds a deletion to a `history` bundle: no resource, `request` `DELETE Type/id`, response
    /// `204 No Content` with the deletion's version and time when known.
    pub fn add_deletion(
        &mut self,
        resource_type: &str,
        id: &str,
        version_id: Option<&str>,
        deleted_at: Option<&str>,
    ) {
        let mut response = EntryResponse::new(204);
        response.etag = version_id.map(|v| format!("W/\"{v}\""));
        response.last_modified = deleted_at.map(str::to_owned);
        self.entries.push(BundleEntry {
            full_url: Some(format!("{}/{resource_type}/{id}", self.base_url)),
            request: Some(EntryRequest {
                method: HttpVerb::Delete,
                url: format!("{resource_type}/{id}"),
            }),
            response: Some(response),
            ..BundleEntry::default()
        });
    }

    /// Adds the response to one entry of a batch or transaction, in request order, with the
    /// resource when the client asked for it (`Prefer: return=representation`).
    pub fn add_response(&mut self, response: EntryResponse, resource: Option<Resource>) {
        let mut entry = match resource {
            Some(resource) => BundleEntry::for_resource(&self.base_url, resource),
            None => BundleEntry::default(),
        };
        entry.response = Some(response);
        self.entries.push(entry);
    }

    /// Adds an entry as it is.
    pub fn add_entry(&mut self, entry: BundleEntry) {
        self.entries.push(entry);
    }

    /// The absolute URL of a resource on this server: `{base}/{type}/{id}`, or `None` when it has
    /// no id.
    pub fn full_url(&self, resource: &Resource) -> Option<String> {
        full_url(&self.base_url, resource)
    }

    fn searched(&self, resource: Resource, mode: SearchMode) -> BundleEntry {
        let mut entry = BundleEntry::for_resource(&self.base_url, resource);
        entry.search_mode = Some(mode);
        entry
    }

    /// Writes every element but `entry`, in the order FHIR lists them.
    fn serialize_head<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("resourceType", "Bundle")?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        if let Some(instant) = &self.last_updated {
            map.serialize_entry(
                "meta",
                &MetaJson {
                    last_updated: instant,
                },
            )?;
        }
        map.serialize_entry("type", self.bundle_type.code())?;
        if let Some(instant) = &self.timestamp {
            map.serialize_entry("timestamp", instant)?;
        }
        let carries_total = matches!(
            self.bundle_type,
            BundleType::Searchset | BundleType::History
        );
        if let Some(total) = self.total.filter(|_| carries_total) {
            map.serialize_entry("total", &total)?;
        }
        if !self.links.is_empty() {
            let links: Vec<LinkJson<'_>> = self
                .links
                .iter()
                .map(|(relation, url)| LinkJson {
                    relation: relation.code(),
                    url,
                })
                .collect();
            map.serialize_entry("link", &links)?;
        }
        Ok(())
    }

    /// The bundle as one JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a bundle's map keys are strings")
    }

    /// The bundle as chunks of JSON text: the head (every element but the entries), then the
    /// entries gathered into chunks of about [`CHUNK_BYTES`], then the tail. Concatenated, they
    /// are the JSON of [`to_json`](Self::to_json).
    ///
    /// Each entry is serialized when the chunk holding it is asked for and dropped once written,
    /// so a page never exists as resources and as text at once beyond one chunk.
    pub fn into_chunks(mut self) -> BundleChunks {
        let mut head = serde_json::to_vec(&Head(&self)).expect("a bundle's map keys are strings");
        // The head serializes as an object; reopen it to append the entries.
        head.pop();
        let has_entries = !self.entries.is_empty() || self.outcome.is_some();
        let tail = if has_entries {
            head.extend_from_slice(br#","entry":["#);
            "]}"
        } else {
            "}"
        };
        self.entries.extend(self.outcome.take());
        BundleChunks {
            head: Some(head),
            entries: self.entries.into_iter(),
            first_entry: true,
            tail: Some(tail),
        }
    }
}

impl Serialize for Bundle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.serialize_head(&mut map)?;
        // FHIR JSON has no empty arrays.
        if !self.entries.is_empty() || self.outcome.is_some() {
            map.serialize_entry("entry", &EntriesJson(self))?;
        }
        map.end()
    }
}

/// A bundle without its entries.
struct Head<'a>(&'a Bundle);

impl Serialize for Head<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize_head(&mut map)?;
        map.end()
    }
}

/// A bundle's entries, the outcome last, as a JSON array.
struct EntriesJson<'a>(&'a Bundle);

impl Serialize for EntriesJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.entries())
    }
}

#[derive(Serialize)]
struct MetaJson<'a> {
    #[serde(rename = "lastUpdated")]
    last_updated: &'a str,
}

#[derive(Serialize)]
struct LinkJson<'a> {
    relation: &'static str,
    url: &'a str,
}

/// The chunks of a streamed bundle; see [`Bundle::into_chunks`].
#[derive(Debug)]
pub struct BundleChunks {
    head: Option<Vec<u8>>,
    entries: std::vec::IntoIter<BundleEntry>,
    first_entry: bool,
    tail: Option<&'static str>,
}

impl Iterator for BundleChunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if let Some(head) = self.head.take() {
            return Some(head);
        }
        let mut chunk = Vec::new();
        while chunk.len() < CHUNK_BYTES {
            let Some(entry) = self.entries.next() else {
                break;
            };
            if !self.first_entry {
                chunk.push(b',');
            }
            self.first_entry = false;
            serde_json::to_writer(&mut chunk, &entry).expect("an entry's map keys are strings");
        }
        if !chunk.is_empty() {
            return Some(chunk);
        }
        self.tail.take().map(|tail| tail.as_bytes().to_vec())
    }
}

fn relative_url(resource: &Resource) -> String {
    match resource.id() {
        Some(id) => format!("{}/{id}", resource.resource_type()),
        None => resource.resource_type().to_owned(),
    }
}

fn full_url(base_url: &str, resource: &Resource) -> Option<String> {
    let id = resource.id()?;
    Some(format!(
        "{}/{}/{id}",
        base_url.trim_end_matches('/'),
        resource.resource_type()
    ))
}

/// `201 Created` for 201; the bare number for statuses without a well-known phrase.
fn status_line(status: u16) -> String {
    let phrase = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return status.to_string(),
    };
    format!("{status} {phrase}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{IssueType, Severity};
    use serde_json::json;

    fn resource(value: Value) -> Resource {
        Resource::new(value).unwrap()
    }

    fn patient(id: &str) -> Resource {
        resource(json!({"resourceType": "Patient", "id": id}))
    }

    fn assert_chunks_match(bundle: Bundle) {
        let expected = bundle.to_json();
        let chunks: Vec<Vec<u8>> = bundle.into_chunks().collect();
        let body = chunks.concat();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, expected, "{}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn searchset_with_links_total_matches_includes_and_outcome() {
        let mut bundle = Bundle::searchset("https://fhir.example/r4");
        bundle.set_total(2);
        bundle.add_link(
            LinkRelation::SelfLink,
            "https://fhir.example/r4/Observation?a=1",
        );
        bundle.add_link(
            LinkRelation::Next,
            "https://fhir.example/r4/Observation?a=1&_offset=1",
        );
        bundle.add_match(resource(json!({"resourceType": "Observation", "id": "o1"})));
        assert!(bundle.add_include(patient("p1")));
        bundle.set_outcome(&[Issue {
            severity: Severity::Warning,
            code: IssueType::NotSupported,
            diagnostics: "parameter bogus was ignored".to_owned(),
            expression: Some("bogus".to_owned()),
        }]);

        let json = bundle.to_json();
        assert_eq!(json["resourceType"], "Bundle");
        assert_eq!(json["type"], "searchset");
        assert_eq!(json["total"], 2);
        assert!(json.get("id").is_none() && json.get("meta").is_none());
        assert!(json.get("timestamp").is_none());
        assert_eq!(
            json["link"][0],
            json!({"relation": "self", "url": "https://fhir.example/r4/Observation?a=1"})
        );
        assert_eq!(json["link"][1]["relation"], "next");
        let entries = json["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0]["fullUrl"],
            "https://fhir.example/r4/Observation/o1"
        );
        assert_eq!(entries[0]["search"]["mode"], "match");
        assert_eq!(entries[1]["resource"]["id"], "p1");
        assert_eq!(entries[1]["search"]["mode"], "include");
        assert_eq!(entries[2]["search"]["mode"], "outcome");
        assert_eq!(entries[2]["resource"]["resourceType"], "OperationOutcome");
        assert_eq!(entries[2]["resource"]["issue"][0]["severity"], "warning");
        assert!(entries[2].get("fullUrl").is_none());
        assert_chunks_match(bundle);
    }

    #[test]
    fn trailing_slash_in_base_gives_the_same_full_url() {
        let with = Bundle::searchset("https://fhir.example/r4/");
        let without = Bundle::searchset("https://fhir.example/r4");
        let p = patient("p1");
        assert_eq!(with.full_url(&p), without.full_url(&p));
        assert_eq!(
            with.full_url(&p).unwrap(),
            "https://fhir.example/r4/Patient/p1"
        );
    }

    #[test]
    fn a_resource_appears_once() {
        let mut bundle = Bundle::searchset("http://x");
        bundle.add_match(patient("p1"));
        assert!(!bundle.add_include(patient("p1")));
        assert!(bundle.add_include(patient("p2")));
        assert!(!bundle.add_include(patient("p2")));
        // Same id, other type: a different resource.
        assert!(bundle.add_include(resource(json!({"resourceType": "Group", "id": "p2"}))));
        // A match arriving after its include replaces the include.
        bundle.add_match(patient("p2"));
        let modes: Vec<_> = bundle
            .entries()
            .map(|e| (e.full_url.clone().unwrap(), e.search_mode.unwrap()))
            .collect();
        assert_eq!(
            modes,
            [
                ("http://x/Patient/p1".to_owned(), SearchMode::Match),
                ("http://x/Group/p2".to_owned(), SearchMode::Include),
                ("http://x/Patient/p2".to_owned(), SearchMode::Match),
            ]
        );
    }

    #[test]
    fn empty_bundle_has_no_entry_array_and_streams_the_same() {
        let mut bundle = Bundle::searchset("http://x/");
        bundle.set_total(0);
        bundle.set_id("fixed");
        bundle.set_timestamp("2024-05-01T10:00:00Z");
        bundle.set_last_updated("2024-05-01T10:00:00Z");
        let json = bundle.to_json();
        assert!(json.get("entry").is_none());
        assert_eq!(json["id"], "fixed");
        assert_eq!(json["meta"]["lastUpdated"], "2024-05-01T10:00:00Z");
        assert_eq!(json["timestamp"], "2024-05-01T10:00:00Z");
        assert_eq!(bundle.clone().into_chunks().count(), 2);
        assert_chunks_match(bundle);
    }

    #[test]
    fn chunks_are_head_entries_and_tail() {
        let mut bundle = Bundle::searchset("http://x");
        for id in ["a", "b", "c"] {
            bundle.add_match(patient(id));
        }
        let chunks: Vec<String> = bundle
            .clone()
            .into_chunks()
            .map(|c| String::from_utf8(c).unwrap())
            .collect();
        // Three small entries fit one chunk.
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        assert!(chunks[0].ends_with(r#""entry":["#), "{}", chunks[0]);
        assert!(chunks[1].starts_with('{') && chunks[1].matches(",{").count() == 2);
        assert_eq!(chunks[2], "]}");
        assert_chunks_match(bundle);
    }

    #[test]
    fn a_large_page_streams_in_bounded_chunks() {
        let mut bundle = Bundle::searchset("http://x");
        let text = "x".repeat(300);
        for id in 0..1000 {
            bundle.add_match(resource(json!({
                "resourceType": "Observation", "id": id.to_string(), "note": [{"text": text}]
            })));
        }
        let largest_entry = serde_json::to_vec(bundle.entries().next().unwrap())
            .unwrap()
            .len()
            + 1;
        let chunks: Vec<Vec<u8>> = bundle.clone().into_chunks().collect();
        let total: usize = chunks.iter().map(Vec::len).sum();
        assert!(total > 10 * CHUNK_BYTES, "{total}");
        for chunk in &chunks {
            assert!(chunk.len() < CHUNK_BYTES + largest_entry, "{}", chunk.len());
        }
        // Few writes, not one per entry.
        assert!(chunks.len() < total / CHUNK_BYTES + 4, "{}", chunks.len());
        assert_chunks_match(bundle);
    }

    #[test]
    fn history_entries() {
        let mut bundle = Bundle::history("http://x/fhir/");
        bundle.set_total(3);
        let v2 = resource(json!({
            "resourceType": "Patient", "id": "p1",
            "meta": {"versionId": "2", "lastUpdated": "2024-01-02T00:00:00Z"}
        }));
        let v1 = resource(json!({
            "resourceType": "Patient", "id": "p1",
            "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"}
        }));
        bundle.add_deletion("Patient", "p1", Some("3"), Some("2024-01-03T00:00:00Z"));
        bundle.add_version(v2, false);
        bundle.add_version(v1, true);
        let json = bundle.to_json();
        assert_eq!(json["type"], "history");
        assert_eq!(json["total"], 3);
        let deleted = &json["entry"][0];
        assert_eq!(deleted["fullUrl"], "http://x/fhir/Patient/p1");
        assert!(deleted.get("resource").is_none());
        assert_eq!(
            deleted["request"],
            json!({"method": "DELETE", "url": "Patient/p1"})
        );
        assert_eq!(deleted["response"]["status"], "204 No Content");
        assert_eq!(deleted["response"]["etag"], "W/\"3\"");
        let updated = &json["entry"][1];
        assert_eq!(
            updated["request"],
            json!({"method": "PUT", "url": "Patient/p1"})
        );
        assert_eq!(updated["response"]["status"], "200 OK");
        assert_eq!(updated["response"]["etag"], "W/\"2\"");
        assert_eq!(updated["response"]["lastModified"], "2024-01-02T00:00:00Z");
        assert!(updated.get("search").is_none());
        let created = &json["entry"][2];
        assert_eq!(created["fullUrl"], "http://x/fhir/Patient/p1");
        assert_eq!(
            created["request"],
            json!({"method": "POST", "url": "Patient"})
        );
        assert_eq!(created["response"]["status"], "201 Created");
        assert_chunks_match(bundle);
    }

    #[test]
    fn batch_and_transaction_responses() {
        let mut bundle = Bundle::batch_response("http://x/");
        bundle.set_total(9);
        let created = resource(json!({
            "resourceType": "Patient", "id": "p7",
            "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"}
        }));
        bundle.add_response(
            EntryResponse::for_resource(201, "http://x/", &created),
            None,
        );
        bundle.add_response(
            EntryResponse::for_resource(200, "http://x", &created),
            Some(created.clone()),
        );
        bundle.add_response(
            EntryResponse::from_error(&Error::NotFound {
                resource_type: "Patient".into(),
                id: "nope".into(),
            }),
            None,
        );
        let json = bundle.to_json();
        assert_eq!(json["type"], "batch-response");
        assert!(
            json.get("total").is_none(),
            "bdl-1: only searchset and history"
        );
        assert_eq!(
            json["entry"][0],
            json!({"response": {
                "status": "201 Created",
                "location": "http://x/Patient/p7/_history/1",
                "etag": "W/\"1\"",
                "lastModified": "2024-01-01T00:00:00Z"
            }})
        );
        assert_eq!(json["entry"][1]["fullUrl"], "http://x/Patient/p7");
        assert_eq!(json["entry"][1]["resource"]["id"], "p7");
        assert_eq!(json["entry"][2]["response"]["status"], "404 Not Found");
        assert_eq!(
            json["entry"][2]["response"]["outcome"]["issue"][0]["code"],
            "not-found"
        );
        assert_chunks_match(bundle);

        let tx = Bundle::transaction_response("http://x");
        assert_eq!(tx.to_json()["type"], "transaction-response");
        assert_eq!(EntryResponse::new(299).status, "299");
    }
}
