//! The one table of what is served: which method on which path is which interaction.
//!
//! The router registers its routes from [`ROUTES`], batch entries are dispatched by
//! [`Interaction::of`], and the request middleware, `Allow` on a 405 and the audit name
//! interactions by it, so a route added here is served, logged, allowed and audited alike.

use crate::shape::{
    COMPARTMENT, INSTANCE, INSTANCE_HISTORY, METADATA, ROOT, SEARCH, SMART_CONFIGURATION, Shape,
    TYPE, TYPE_HISTORY, VERSION,
};
use axum::http::Method;
use fhir_facade_core::{Facade, Interaction as Declared};

/// A FHIR interaction as served over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interaction {
    Batch,
    Capabilities,
    SmartConfiguration,
    SearchType,
    /// `POST [type]/_search`, the form body merged with the URL query.
    SearchForm,
    Create,
    ConditionalUpdate,
    ConditionalDelete,
    HistoryType,
    Read,
    Update,
    Delete,
    HistoryInstance,
    Vread,
    /// Also `Patient/[id]/$everything`, which shares its path.
    SearchCompartment,
}

/// One route: the axum path pattern, the method and the interaction.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) path: &'static str,
    pub(crate) method: Method,
    pub(crate) interaction: Interaction,
}

const fn route(path: &'static str, method: Method, interaction: Interaction) -> Route {
    Route {
        path,
        method,
        interaction,
    }
}

/// Every route, the methods of one path in the order `Allow` lists them.
pub(crate) const ROUTES: &[Route] = &[
    route(ROOT, Method::POST, Interaction::Batch),
    route(METADATA, Method::GET, Interaction::Capabilities),
    route(
        SMART_CONFIGURATION,
        Method::GET,
        Interaction::SmartConfiguration,
    ),
    route(TYPE, Method::GET, Interaction::SearchType),
    route(TYPE, Method::POST, Interaction::Create),
    route(TYPE, Method::PUT, Interaction::ConditionalUpdate),
    route(TYPE, Method::DELETE, Interaction::ConditionalDelete),
    route(SEARCH, Method::POST, Interaction::SearchForm),
    route(TYPE_HISTORY, Method::GET, Interaction::HistoryType),
    route(INSTANCE, Method::GET, Interaction::Read),
    route(INSTANCE, Method::PUT, Interaction::Update),
    route(INSTANCE, Method::DELETE, Interaction::Delete),
    route(INSTANCE_HISTORY, Method::GET, Interaction::HistoryInstance),
    route(VERSION, Method::GET, Interaction::Vread),
    route(COMPARTMENT, Method::GET, Interaction::SearchCompartment),
];

impl Interaction {
    /// The interaction `method` on `shape` is, the method taken literally (as a batch entry's).
    pub(crate) fn of(method: &str, shape: Shape<'_>) -> Option<Self> {
        let path = shape.pattern()?;
        ROUTES
            .iter()
            .find(|route| route.path == path && route.method == method)
            .map(|route| route.interaction)
    }

    /// The interaction of an HTTP request, which answers `HEAD` as `GET`.
    pub(crate) fn of_request(method: &Method, shape: Shape<'_>) -> Option<Self> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        Self::of(method.as_str(), shape)
    }

    /// The request's interaction name for logs and metrics: the CapabilityStatement codes, and
    /// `conditional-update`, `search-compartment`, `batch`, `operation` and `unknown`.
    pub(crate) fn name_of(method: &Method, shape: Shape<'_>) -> &'static str {
        match (Self::of_request(method, shape), shape) {
            (Some(interaction), _) => interaction.name(),
            (None, Shape::Operation(_)) => "operation",
            (None, _) => "unknown",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Interaction::Batch => "batch",
            Interaction::Capabilities => "capabilities",
            Interaction::SmartConfiguration => "smart-configuration",
            Interaction::SearchType | Interaction::SearchForm => "search-type",
            Interaction::Create => "create",
            Interaction::ConditionalUpdate => "conditional-update",
            Interaction::ConditionalDelete => "conditional-delete",
            Interaction::HistoryType => "history-type",
            Interaction::Read => "read",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::HistoryInstance => "history-instance",
            Interaction::Vread => "vread",
            Interaction::SearchCompartment => "search-compartment",
        }
    }

    /// What the provider must declare for the interaction to be allowed.
    fn requires(self) -> &'static [Declared] {
        match self {
            Interaction::Batch | Interaction::Capabilities | Interaction::SmartConfiguration => &[],
            Interaction::SearchType | Interaction::SearchForm | Interaction::SearchCompartment => {
                &[Declared::SearchType]
            }
            Interaction::Create => &[Declared::Create],
            Interaction::ConditionalUpdate => &[Declared::Update, Declared::SearchType],
            Interaction::ConditionalDelete => &[Declared::Delete, Declared::SearchType],
            Interaction::HistoryType => &[Declared::HistoryType],
            Interaction::Read => &[Declared::Read],
            Interaction::Update => &[Declared::Update],
            Interaction::Delete => &[Declared::Delete],
            Interaction::HistoryInstance => &[Declared::HistoryInstance],
            Interaction::Vread => &[Declared::Vread],
        }
    }

    /// The interaction an access event records; `None` for those that reach no resource
    /// (`/metadata`, the SMART document, batch).
    #[cfg(feature = "smart")]
    pub(crate) fn audited(self) -> Option<Declared> {
        Some(match self {
            Interaction::Batch | Interaction::Capabilities | Interaction::SmartConfiguration => {
                return None;
            }
            Interaction::SearchType | Interaction::SearchForm | Interaction::SearchCompartment => {
                Declared::SearchType
            }
            Interaction::Create => Declared::Create,
            Interaction::Update | Interaction::ConditionalUpdate => Declared::Update,
            Interaction::Delete | Interaction::ConditionalDelete => Declared::Delete,
            Interaction::HistoryType => Declared::HistoryType,
            Interaction::Read => Declared::Read,
            Interaction::HistoryInstance => Declared::HistoryInstance,
            Interaction::Vread => Declared::Vread,
        })
    }
}

/// The methods `shape` answers for the provider behind it, for `Allow`.
pub(crate) fn allowed_methods(shape: Shape<'_>, facade: &Facade) -> Vec<Method> {
    let Some(path) = shape.pattern() else {
        return Vec::new();
    };
    let allowed = |route: &Route| match (shape, shape.resource_type()) {
        (Shape::Compartment(compartment, _, _), _) if compartment != "Patient" => false,
        (_, None) => true,
        (_, Some(resource_type)) => facade.provider(resource_type).is_ok_and(|provider| {
            let declared = provider.interactions();
            route
                .interaction
                .requires()
                .iter()
                .all(|i| declared.contains(*i))
        }),
    };
    ROUTES
        .iter()
        .filter(|route| route.path == path && allowed(route))
        .map(|route| route.method.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_their_interaction() {
        let name = |method: Method, path| Interaction::name_of(&method, Shape::parse(path));
        assert_eq!(name(Method::HEAD, "/Patient"), "search-type");
        assert_eq!(name(Method::POST, "/Patient/_search"), "search-type");
        assert_eq!(name(Method::PUT, "/Patient"), "conditional-update");
        assert_eq!(
            name(Method::GET, "/Patient/1/Observation"),
            "search-compartment"
        );
        assert_eq!(name(Method::GET, "/Patient/1/$everything"), "operation");
        assert_eq!(name(Method::GET, "/Patient/_search"), "unknown");
        // A batch entry's method is taken literally.
        assert_eq!(Interaction::of("HEAD", Shape::parse("/Patient/1")), None);
    }
}
