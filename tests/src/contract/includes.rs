//! The `_include` and `_revinclude` checks, judged by an answer key of SQL over the legacy tables
//! ([`IncludeKey`]), not by the facade's own reference extraction or by another search on the
//! same server: a fault in how the facade finds references would otherwise agree with itself.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use super::harness::Group;
use super::run::Run;

type Answer = Pin<Box<dyn Future<Output = Vec<String>> + Send>>;
type Query = Box<dyn Fn(String, String) -> Answer + Send + Sync>;

/// For every declared `_include` and `_revinclude`, the SQL that gives, for one resource id (its
/// `?`, bound as text), the id of every existing resource the include must
/// bring: written by the suite's author over the legacy tables.
pub struct IncludeKey {
    /// Declaration → (type of the resources it brings, SQL).
    statements: BTreeMap<String, (String, String)>,
    query: Query,
}

impl IncludeKey {
    /// A key whose statements run with `query(sql, id)`, returning the first column of each row.
    pub fn new<F, Fut>(query: F) -> Self
    where
        F: Fn(String, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        IncludeKey {
            statements: BTreeMap::new(),
            query: Box::new(move |sql, id| Box::pin(query(sql, id))),
        }
    }

    /// The `target` resources `_include={include}` brings for a match with the id bound to
    /// `sql`'s `?`: the ids `sql` selects.
    #[must_use]
    pub fn include(mut self, include: &str, target: &str, sql: &str) -> Self {
        self.statements.insert(
            format!("_include={include}"),
            (target.to_owned(), sql.to_owned()),
        );
        self
    }

    /// The resources `{resource_type}?_revinclude={revinclude}` brings for a match with the id
    /// bound to `sql`'s `?`: the ids `sql` selects, of the type that `revinclude` names first.
    #[must_use]
    pub fn revinclude(mut self, resource_type: &str, revinclude: &str, sql: &str) -> Self {
        let other = revinclude.split(':').next().unwrap_or(revinclude);
        self.statements.insert(
            format!("{resource_type}?_revinclude={revinclude}"),
            (other.to_owned(), sql.to_owned()),
        );
        self
    }

    /// What the key expects for the matches `ids`; an error when it has no statement for
    /// `declaration`.
    async fn expected(
        &self,
        declaration: &str,
        ids: &[String],
    ) -> Result<BTreeSet<String>, String> {
        let (target, sql) = self.statements.get(declaration).ok_or_else(|| {
            format!("the answer key has no statement for {declaration}: declared but not checked")
        })?;
        let mut expected = BTreeSet::new();
        for id in ids {
            let found = (self.query)(sql.clone(), id.clone()).await;
            expected.extend(found.into_iter().map(|found| format!("{target}/{found}")));
        }
        Ok(expected)
    }
}

/// The declared `_include`s and `_revinclude`s of every type, each on a small page whose
/// matches do hold such references, so that no check passes by having nothing to include.
///
/// An `_include` runs on `Type?param:missing=false&_count=5` and must bring exactly what the key
/// gives for its matches, and something. A `_revinclude` of `Other:param` runs on `Type`
/// resources that five `Other?param:missing=false` resources refer to, and must bring exactly
/// what the key gives for its matches, and something; when the server capped it, it says so
/// with a `too-costly` issue in its outcome entry, and then only a subset is required.
pub async fn includes(run: &mut Run<'_>, key: &IncludeKey) {
    let cs = run.get("metadata").await.json.unwrap_or(Value::Null);
    let base = run.http.base.clone();
    for resource in cs["rest"][0]["resource"].as_array().into_iter().flatten() {
        let t = resource["type"].as_str().unwrap_or("").to_owned();
        for include in strings(&resource["searchInclude"]) {
            let failures = one_include(run, key, &t, &include)
                .await
                .err()
                .unwrap_or_default();
            run.report.check(
                &format!("include {t} {include}"),
                Group::Include,
                "search.html#include",
                format!(
                    "{t}?_include={include} ⇒ exactly the referenced resources the tables hold"
                ),
                failures,
            );
        }
        for revinclude in strings(&resource["searchRevInclude"]) {
            let failures = one_revinclude(run, key, &t, &revinclude, &base)
                .await
                .err()
                .unwrap_or_default();
            run.report.check(
                &format!("revinclude {t} {revinclude}"),
                Group::Include,
                "search.html#revinclude",
                format!(
                    "{t}?_revinclude={revinclude} ⇒ exactly the referring resources the tables hold"
                ),
                failures,
            );
        }
    }
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Compares what was included with the key's answer; `capped` allows a subset.
fn compare(included: &BTreeSet<String>, expected: &BTreeSet<String>, capped: bool) -> Vec<String> {
    let mut failures = vec![];
    for extra in included.difference(expected) {
        failures.push(format!("{extra} is included, the tables do not give it"));
    }
    if !capped {
        for missing in expected.difference(included) {
            failures.push(format!("{missing} is not included, the tables give it"));
        }
    }
    if included.is_empty() {
        failures.push("nothing was included: the check would prove nothing".to_owned());
    }
    failures
}

async fn one_include(
    run: &mut Run<'_>,
    key: &IncludeKey,
    t: &str,
    include: &str,
) -> Result<(), Vec<String>> {
    let mut parts = include.split(':');
    let (source, code) = (parts.next(), parts.next());
    let Some(code) = code else {
        return Err(vec![format!("{include} is not Type:param")]);
    };
    if source != Some(t) {
        return Err(vec![format!("{include} is declared on {t}")]);
    }
    let reply = run
        .get(&format!(
            "{t}?{code}:missing=false&_count=5&_include={}",
            form_encode(include)
        ))
        .await;
    if reply.status != 200 {
        return Err(vec![reply.brief()]);
    }
    let expected = key
        .expected(&format!("_include={include}"), &reply.match_ids())
        .await
        .map_err(|e| vec![e])?;
    let included: BTreeSet<String> = reply.entry_refs(Some("include")).into_iter().collect();
    let failures = compare(&included, &expected, false);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

async fn one_revinclude(
    run: &mut Run<'_>,
    key: &IncludeKey,
    t: &str,
    revinclude: &str,
    base: &str,
) -> Result<(), Vec<String>> {
    let mut parts = revinclude.split(':');
    let (Some(other), Some(code)) = (parts.next(), parts.next()) else {
        return Err(vec![format!("{revinclude} is not Type:param")]);
    };
    let Some(def) = fhir_facade_core::search::registry::r4_param(other, code) else {
        return Err(vec![format!(
            "{revinclude} is not an R4 reference parameter"
        )]);
    };
    // Targets that something refers to, so that there is something to revinclude; which ones
    // does not decide the answer, the key does.
    let referring = run
        .get(&format!("{other}?{code}:missing=false&_count=5"))
        .await;
    let targets: BTreeSet<String> = referring
        .resources(Some("match"))
        .into_iter()
        .flat_map(|r| referenced_by(r, def, t, base))
        .collect();
    if targets.is_empty() {
        return Err(vec![format!(
            "no {other} refers to a {t} by {code}: the check would prove nothing ({})",
            referring.brief()
        )]);
    }
    let ids = targets.into_iter().collect::<Vec<_>>().join(",");
    let reply = run
        .get(&format!(
            "{t}?_id={ids}&_revinclude={}",
            form_encode(revinclude)
        ))
        .await;
    if reply.status != 200 {
        return Err(vec![reply.brief()]);
    }
    let capped = reply
        .resources(Some("outcome"))
        .iter()
        .flat_map(|o| o["issue"].as_array().into_iter().flatten())
        .any(|issue| issue["code"] == "too-costly");
    let expected = key
        .expected(&format!("{t}?_revinclude={revinclude}"), &reply.match_ids())
        .await
        .map_err(|e| vec![e])?;
    let included: BTreeSet<String> = reply.entry_refs(Some("include")).into_iter().collect();
    let failures = compare(&included, &expected, capped);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// The ids of the `target` resources `resource` refers to through the R4 parameter `def`.
fn referenced_by(
    resource: &Value,
    def: &fhir_facade_core::search::SearchParamDef,
    target: &str,
    base: &str,
) -> Vec<String> {
    let Ok(resource) = fhir_facade_core::Resource::new(resource.clone()) else {
        return Vec::new();
    };
    fhir_facade_core::search::references(&resource, def, Some(base))
        .into_iter()
        .filter(|r| r.resource_type == target)
        .map(|r| r.id.to_owned())
        .collect()
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
