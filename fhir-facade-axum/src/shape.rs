//! The FHIR REST path shapes (http.html), read from a path below the base.
//!
//! The router dispatches with axum routes; this classification names the interaction for logs and
//! metrics, computes `Allow` for a 405 from what the provider declares, stops `$operation` paths
//! before they reach `/{type}/{id}`, and routes batch entries.

use axum::http::Method;
use fhir_facade_core::{Facade, Interaction};

/// Where a path points, relative to the FHIR base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// `[base]`: batch.
    Root,
    /// `[base]/metadata`
    Metadata,
    /// `[base]/.well-known/smart-configuration`
    SmartConfiguration,
    /// `[base]/[type]`
    Type(&'a str),
    /// `[base]/[type]/_search`
    Search(&'a str),
    /// `[base]/[type]/_history`
    TypeHistory(&'a str),
    /// `[base]/[type]/[id]`
    Instance(&'a str, &'a str),
    /// `[base]/[type]/[id]/_history`
    InstanceHistory(&'a str, &'a str),
    /// `[base]/[type]/[id]/_history/[vid]`
    Version(&'a str, &'a str, &'a str),
    /// `[base]/[compartment type]/[id]/[type]`
    Compartment(&'a str, &'a str, &'a str),
    /// A `$operation` anywhere in the path; none is served.
    Operation(&'a str),
    /// Anything else.
    Unknown,
}

impl<'a> Shape<'a> {
    /// Classifies a path below the base, such as `/Patient/1/_history`.
    pub(crate) fn parse(path: &'a str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if let Some(operation) = segments.iter().find(|s| s.starts_with('$')) {
            return Shape::Operation(operation);
        }
        match segments.as_slice() {
            [] => Shape::Root,
            ["metadata"] => Shape::Metadata,
            [".well-known", "smart-configuration"] => Shape::SmartConfiguration,
            [t] => Shape::Type(t),
            [t, "_search"] => Shape::Search(t),
            [t, "_history"] => Shape::TypeHistory(t),
            [t, id] => Shape::Instance(t, id),
            [t, id, "_history"] => Shape::InstanceHistory(t, id),
            [t, id, "_history", vid] => Shape::Version(t, id, vid),
            [c, id, t] => Shape::Compartment(c, id, t),
            _ => Shape::Unknown,
        }
    }

    /// The resource type the request is about.
    pub(crate) fn resource_type(self) -> Option<&'a str> {
        match self {
            Shape::Type(t)
            | Shape::Search(t)
            | Shape::TypeHistory(t)
            | Shape::Instance(t, _)
            | Shape::InstanceHistory(t, _)
            | Shape::Version(t, _, _)
            | Shape::Compartment(_, _, t) => Some(t),
            Shape::Root
            | Shape::Metadata
            | Shape::SmartConfiguration
            | Shape::Operation(_)
            | Shape::Unknown => None,
        }
    }

    /// The id of the resource the request is about, when it names one.
    pub(crate) fn id(self) -> Option<&'a str> {
        match self {
            Shape::Instance(_, id) | Shape::InstanceHistory(_, id) | Shape::Version(_, id, _) => {
                Some(id)
            }
            _ => None,
        }
    }

    /// The interaction's name for logs and metrics (`conditional-update`, `search-compartment`
    /// and `batch` besides the CapabilityStatement codes).
    pub(crate) fn interaction(self, method: &Method) -> &'static str {
        let m = method.as_str();
        match (self, m) {
            (Shape::Root, "POST") => "batch",
            (Shape::Metadata, "GET" | "HEAD") => "capabilities",
            (Shape::SmartConfiguration, "GET" | "HEAD") => "smart-configuration",
            (Shape::Type(_), "GET" | "HEAD") | (Shape::Search(_), "POST") => "search-type",
            (Shape::Type(_), "POST") => "create",
            (Shape::Type(_), "PUT") => "conditional-update",
            (Shape::Type(_), "DELETE") => "conditional-delete",
            (Shape::TypeHistory(_), "GET" | "HEAD") => "history-type",
            (Shape::Instance(..), "GET" | "HEAD") => "read",
            (Shape::Instance(..), "PUT") => "update",
            (Shape::Instance(..), "DELETE") => "delete",
            (Shape::InstanceHistory(..), "GET" | "HEAD") => "history-instance",
            (Shape::Version(..), "GET" | "HEAD") => "vread",
            (Shape::Compartment(..), "GET" | "HEAD") => "search-compartment",
            (Shape::Operation(_), _) => "operation",
            _ => "unknown",
        }
    }

    /// The methods this path answers for the provider behind it, for `Allow`.
    pub(crate) fn allowed_methods(self, facade: &Facade) -> Vec<Method> {
        let declares = |t: &str, wanted: &[Interaction]| {
            facade.provider(t).is_ok_and(|p| {
                let declared = p.interactions();
                wanted.iter().all(|i| declared.contains(*i))
            })
        };
        let candidates: Vec<(Method, bool)> = match self {
            Shape::Root => vec![(Method::POST, true)],
            Shape::Metadata | Shape::SmartConfiguration => vec![(Method::GET, true)],
            Shape::Type(t) => vec![
                (Method::GET, declares(t, &[Interaction::SearchType])),
                (Method::POST, declares(t, &[Interaction::Create])),
                (
                    Method::PUT,
                    declares(t, &[Interaction::Update, Interaction::SearchType]),
                ),
                (
                    Method::DELETE,
                    declares(t, &[Interaction::Delete, Interaction::SearchType]),
                ),
            ],
            Shape::Search(t) => vec![(Method::POST, declares(t, &[Interaction::SearchType]))],
            Shape::TypeHistory(t) => {
                vec![(Method::GET, declares(t, &[Interaction::HistoryType]))]
            }
            Shape::Instance(t, _) => vec![
                (Method::GET, declares(t, &[Interaction::Read])),
                (Method::PUT, declares(t, &[Interaction::Update])),
                (Method::DELETE, declares(t, &[Interaction::Delete])),
            ],
            Shape::InstanceHistory(t, _) => {
                vec![(Method::GET, declares(t, &[Interaction::HistoryInstance]))]
            }
            Shape::Version(t, _, _) => vec![(Method::GET, declares(t, &[Interaction::Vread]))],
            Shape::Compartment(c, _, t) => vec![(
                Method::GET,
                c == "Patient" && declares(t, &[Interaction::SearchType]),
            )],
            Shape::Operation(_) | Shape::Unknown => Vec::new(),
        };
        candidates
            .into_iter()
            .filter_map(|(method, allowed)| allowed.then_some(method))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_shape() {
        assert_eq!(Shape::parse("/"), Shape::Root);
        assert_eq!(Shape::parse("/metadata"), Shape::Metadata);
        assert_eq!(
            Shape::parse("/.well-known/smart-configuration"),
            Shape::SmartConfiguration
        );
        assert_eq!(Shape::parse("/Patient/1/_history").id(), Some("1"));
        assert_eq!(Shape::parse("/Patient"), Shape::Type("Patient"));
        assert_eq!(Shape::parse("/Patient/_search"), Shape::Search("Patient"));
        assert_eq!(
            Shape::parse("/Patient/_history"),
            Shape::TypeHistory("Patient")
        );
        assert_eq!(Shape::parse("/Patient/1"), Shape::Instance("Patient", "1"));
        assert_eq!(
            Shape::parse("/Patient/1/_history/2"),
            Shape::Version("Patient", "1", "2")
        );
        assert_eq!(
            Shape::parse("/Patient/1/Observation"),
            Shape::Compartment("Patient", "1", "Observation")
        );
        assert_eq!(
            Shape::parse("/Patient/1/$everything"),
            Shape::Operation("$everything")
        );
        assert_eq!(Shape::parse("/a/b/c/d/e"), Shape::Unknown);
    }
}
