//! The FHIR REST path shapes (http.html), read from a path below the base, and the axum path
//! pattern of each.
//!
//! HTTP requests are matched by axum's router; the middleware, the guard and batch entries need
//! the same classification from a bare path, to find the interaction, the
//! resource type and id, and to stop `$operation` paths before they reach `/{type}/{id}`.

/// `[base]`
pub(crate) const ROOT: &str = "/";
/// `[base]/metadata`
pub(crate) const METADATA: &str = "/metadata";
/// `[base]/.well-known/smart-configuration`
pub(crate) const SMART_CONFIGURATION: &str = "/.well-known/smart-configuration";
/// `[base]/[type]`
pub(crate) const TYPE: &str = "/{type}";
/// `[base]/[type]/_search`
pub(crate) const SEARCH: &str = "/{type}/_search";
/// `[base]/[type]/_history`
pub(crate) const TYPE_HISTORY: &str = "/{type}/_history";
/// `[base]/[type]/[id]`
pub(crate) const INSTANCE: &str = "/{type}/{id}";
/// `[base]/[type]/[id]/_history`
pub(crate) const INSTANCE_HISTORY: &str = "/{type}/{id}/_history";
/// `[base]/[type]/[id]/_history/[vid]`
pub(crate) const VERSION: &str = "/{type}/{id}/_history/{vid}";
/// `[base]/[compartment type]/[id]/[type]`, also `Patient/[id]/$everything`.
pub(crate) const COMPARTMENT: &str = "/{compartment}/{id}/{type}";

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

    /// The id of the resource the request is about, when it names one (for the audit).
    #[cfg(feature = "smart")]
    pub(crate) fn id(self) -> Option<&'a str> {
        match self {
            Shape::Instance(_, id) | Shape::InstanceHistory(_, id) | Shape::Version(_, id, _) => {
                Some(id)
            }
            _ => None,
        }
    }

    /// The axum path pattern that matches this shape, for the interaction
    /// table; `None` for what no route matches.
    pub(crate) fn pattern(self) -> Option<&'static str> {
        Some(match self {
            Shape::Root => ROOT,
            Shape::Metadata => METADATA,
            Shape::SmartConfiguration => SMART_CONFIGURATION,
            Shape::Type(_) => TYPE,
            Shape::Search(_) => SEARCH,
            Shape::TypeHistory(_) => TYPE_HISTORY,
            Shape::Instance(..) => INSTANCE,
            Shape::InstanceHistory(..) => INSTANCE_HISTORY,
            Shape::Version(..) => VERSION,
            Shape::Compartment(..) => COMPARTMENT,
            Shape::Operation(_) | Shape::Unknown => return None,
        })
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
        #[cfg(feature = "smart")]
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
