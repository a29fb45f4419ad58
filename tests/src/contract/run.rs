//! [`Run`]: requests against one server, each reply validated and what it exercised recorded,
//! and the search, order and error checks built on them.

use hyper::Method;

use super::harness::{Group, Http, Reply, Report, validate};

/// Runs requests against one server, validating every reply and recording what was exercised.
pub struct Run<'r> {
    /// The server.
    pub http: Http,
    /// Where checks, exercised declarations and received resources go.
    pub report: &'r mut Report,
    /// Sent as `Authorization: Bearer` when set.
    pub token: Option<String>,
}

/// Method, target, headers and body of a request.
pub type Request<'a> = (
    Method,
    &'a str,
    &'a [(&'a str, &'a str)],
    Option<(&'a str, String)>,
);

/// Whether `s` names a resource type (a capitalised path segment or chain modifier).
fn is_type(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// The declarations a discriminating filter `name` of a `resource_type` search exercises: its
/// parameter, and the target's parameter of a chain (`subject:Patient.name` → `Patient?name`).
fn credits(resource_type: &str, name: &str) -> Vec<String> {
    let (head, chained) = match name.split_once('.') {
        Some((head, chained)) => (head, Some(chained)),
        None => (name, None),
    };
    let (code, modifier) = head.split_once(':').unwrap_or((head, ""));
    let mut credits = vec![format!("{resource_type}?{code}")];
    if let Some(chained) = chained.filter(|_| is_type(modifier)) {
        let inner = chained.split([':', '.']).next().unwrap_or(chained);
        credits.push(format!("{modifier}?{inner}"));
    }
    credits
}

/// Parameters that shape the result rather than select the matches (search.html#return), and
/// the paging tokens of `next` links.
fn is_result_parameter(name: &str) -> bool {
    matches!(
        name,
        "_count"
            | "_offset"
            | "_cursor"
            | "_before"
            | "_sort"
            | "_summary"
            | "_total"
            | "_elements"
            | "_include"
            | "_revinclude"
            | "_contained"
            | "_containedType"
            | "_format"
            | "_pretty"
    ) || name.starts_with("_include:")
        || name.starts_with("_revinclude:")
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

impl Run<'_> {
    /// Sends a request (with the token, if any), validates the reply and, when the server carried
    /// it out, records the declarations it exercised.
    pub async fn send(
        &mut self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Reply {
        let sent = body.as_ref().map(|(_, b)| b.clone());
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(bearer) = &bearer {
            all.push(("authorization", bearer));
        }
        let reply = self.http.send(method.clone(), target, &all, body).await;
        validate(self.report, &format!("{method} {target}"), &reply);
        // Only a request the server carried out exercised a declaration: one answered with an
        // error (a check that expects a 400 for a bad date, say) does not cover the parameter.
        if (200..300).contains(&reply.status) || reply.status == 304 {
            if let Some((resource_type, search)) =
                self.record(&method, target, headers, sent.as_deref())
            {
                self.record_filters(&resource_type, &search).await;
            }
        }
        reply
    }

    /// Notes the filters of a search that was carried out, each only where it discriminates: the
    /// search counts differently with it than without it (a non-empty proper subset of the
    /// candidates, or none where there are some). A parameter the server ignores, or one every
    /// row of the fixture matches, has not been shown to work by a check that "passes" with it.
    async fn record_filters(&mut self, resource_type: &str, search: &str) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(search.as_bytes())
            .into_owned()
            .filter(|(name, _)| !is_result_parameter(name) && !name.starts_with("_has:"))
            .collect();
        // A filter already shown to discriminate needs no second proof: later pages and repeated
        // searches then cost no counts.
        let open: Vec<usize> = (0..pairs.len())
            .filter(|&i| {
                credits(resource_type, &pairs[i].0)
                    .iter()
                    .any(|c| !self.report.exercised.contains(c))
            })
            .collect();
        if open.is_empty() {
            return;
        }
        let Some(with) = self.count(resource_type, &pairs, None).await else {
            return;
        };
        for index in open {
            let Some(without) = self.count(resource_type, &pairs, Some(index)).await else {
                continue;
            };
            if with != without {
                self.report
                    .exercised
                    .extend(credits(resource_type, &pairs[index].0));
            }
        }
    }

    /// The number of `resource_type` resources the filters `pairs` (but the one at `skip`)
    /// match, by `_summary=count` with this run's token; `None` when the server does not say.
    async fn count(
        &self,
        resource_type: &str,
        pairs: &[(String, String)],
        skip: Option<usize>,
    ) -> Option<u64> {
        // The serializer is not Send: gone before the await.
        let target = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (index, (name, value)) in pairs.iter().enumerate() {
                if Some(index) != skip {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("_summary", "count");
            format!("{resource_type}?{}", query.finish())
        };
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        let reply = self.http.send(Method::GET, &target, &headers, None).await;
        if reply.status != 200 {
            return None;
        }
        reply.json.as_ref()?["total"].as_u64()
    }

    /// `GET target`.
    pub async fn get(&mut self, target: &str) -> Reply {
        self.send(Method::GET, target, &[], None).await
    }

    /// Records which declarations of a CapabilityStatement a request to the FHIR API exercises,
    /// in the form [`crate::contract::checks::declarations`] lists them.
    ///
    /// A search's filters are left to [`Run::record_filters`]: the type and the query of a search
    /// come back for it.
    fn record(
        &mut self,
        method: &Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Option<(String, String)> {
        let relative = target
            .strip_prefix(&self.http.base)
            .unwrap_or(target)
            .trim_start_matches('/');
        let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let exercised = &mut self.report.exercised;
        // Search parameters are noted as `Type?code`, everything else as `Type what`.
        let mut note = |t: &str, what: &str| {
            let entry = match what.strip_prefix('?') {
                Some(code) => format!("{t}?{code}"),
                None => format!("{t} {what}"),
            };
            exercised.insert(entry);
        };
        let (resource_type, search) = match (method.as_str(), segments.as_slice()) {
            ("GET", [t]) if is_type(t) => (*t, query),
            ("POST", [t, "_search"]) if is_type(t) => (*t, body.unwrap_or("")),
            ("GET", [t, op]) | ("POST", [t, op]) if is_type(t) && op.starts_with('$') => {
                note(t, op);
                return None;
            }
            ("GET", [t, _, op]) | ("POST", [t, _, op]) if is_type(t) && op.starts_with('$') => {
                note(t, op);
                return None;
            }
            ("GET", [t, _]) if is_type(t) => {
                note(t, "read");
                return None;
            }
            ("GET", [t, _, "_history", _]) if is_type(t) => {
                note(t, "vread");
                return None;
            }
            ("POST", [t]) if is_type(t) => {
                note(t, "create");
                if has("if-none-exist") {
                    note(t, "conditionalCreate");
                }
                return None;
            }
            ("PUT", [t, _]) if is_type(t) => {
                note(t, "update");
                return None;
            }
            ("PUT", [t]) if is_type(t) && !query.is_empty() => {
                note(t, "update");
                note(t, "conditionalUpdate");
                return None;
            }
            ("DELETE", [t, _]) if is_type(t) => {
                note(t, "delete");
                return None;
            }
            ("DELETE", [t]) if is_type(t) && !query.is_empty() => {
                note(t, "delete");
                note(t, "conditionalDelete");
                return None;
            }
            ("POST", []) => {
                let kind = body
                    .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                    .and_then(|b| b["type"].as_str().map(str::to_owned));
                if let Some(kind) = kind {
                    note("system", &kind);
                }
                return None;
            }
            _ => return None,
        };
        note(resource_type, "search-type");
        for (name, value) in form_urlencoded::parse(search.as_bytes()) {
            if name == "_include" || name == "_revinclude" {
                note(resource_type, &format!("{name}={value}"));
            }
        }
        Some((resource_type.to_owned(), search.to_owned()))
    }

    /// Searches and follows every `next` link: the first page and all match ids in order, or
    /// what went wrong.
    pub async fn search_all(&mut self, target: &str) -> (Reply, Result<Vec<String>, String>) {
        let first = self.get(target).await;
        if first.status != 200 {
            return (first.clone(), Err(first.brief()));
        }
        let mut ids = first.match_ids();
        let mut next = first.link("next");
        let mut pages = 1;
        while let Some(url) = next {
            pages += 1;
            if pages > 50 {
                return (first, Err("more than 50 pages".to_owned()));
            }
            let page = self.get(&url).await;
            if page.status != 200 {
                return (first, Err(format!("next page: {}", page.brief())));
            }
            ids.extend(page.match_ids());
            next = page.link("next");
        }
        (first, Ok(ids))
    }

    /// A search check: the matches, over all pages, are exactly `expected` (as a set).
    pub async fn expect(
        &mut self,
        id: &str,
        group: Group,
        spec: &'static str,
        target: &str,
        expected: &[&str],
    ) {
        let (_, result) = self.search_all(target).await;
        let failures = match result {
            Ok(mut ids) => {
                ids.sort();
                if ids == sorted(expected) {
                    vec![]
                } else {
                    vec![format!("got {ids:?}, expected {expected:?}")]
                }
            }
            Err(e) => vec![e],
        };
        self.report.check(
            id,
            group,
            spec,
            format!("{target} ⇒ {expected:?}"),
            failures,
        );
    }

    /// A search check on the order of the matches.
    pub async fn expect_ordered(
        &mut self,
        id: &str,
        spec: &'static str,
        target: &str,
        expected: &[&str],
    ) {
        let (_, result) = self.search_all(target).await;
        let failures = match result {
            Ok(ids) if ids == expected => vec![],
            Ok(ids) => vec![format!("got {ids:?} in this order, expected {expected:?}")],
            Err(e) => vec![e],
        };
        self.report.check(
            id,
            Group::Search,
            spec,
            format!("{target} ⇒ {expected:?} in order"),
            failures,
        );
    }

    /// An error check: `method target` answers one of `statuses`, with an OperationOutcome.
    pub async fn expect_error(
        &mut self,
        (id, spec): (&str, &'static str),
        (method, target, headers, body): Request<'_>,
        statuses: &[u16],
    ) -> Reply {
        let reply = self.send(method.clone(), target, headers, body).await;
        let mut failures = vec![];
        if !statuses.contains(&reply.status) {
            failures.push(format!("expected HTTP {statuses:?}, got {}", reply.brief()));
        } else if !reply.is_outcome() {
            failures.push(format!("no OperationOutcome: {}", reply.brief()));
        }
        self.report.check(
            id,
            Group::Errors,
            spec,
            format!("{method} {target} ⇒ {statuses:?} with an OperationOutcome"),
            failures,
        );
        reply
    }
}

/// The messages of the conditions that do not hold: a check's failures.
pub fn fails(conditions: &[(bool, String)]) -> Vec<String> {
    conditions
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, why)| why.clone())
        .collect()
}
