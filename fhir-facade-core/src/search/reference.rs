//! Reference search values: `id`, `Type/id`, `Type/id/_history/vid`, absolute URLs.

/// A reference search value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReferenceValue {
    /// A resource on this server: `id`, `Type/id`, or this server's base URL followed by `Type/id`.
    Local {
        /// The type, when written (or given by a `:Type` modifier).
        resource_type: Option<String>,
        /// The id.
        id: String,
        /// The version, for `Type/id/_history/vid`.
        version: Option<String>,
    },
    /// An absolute URL that is not on this server; matched as written.
    Url(String),
}
