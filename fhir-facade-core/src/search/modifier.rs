//! Search modifiers (`:exact`, `:not`, `:Patient`, ...) and which parameter types allow them.

/// A modifier written after the parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `:missing`
    Missing,
    /// `:exact`
    Exact,
    /// `:contains`
    Contains,
    /// `:text`
    Text,
    /// `:not`
    Not,
    /// `:above`
    Above,
    /// `:below`
    Below,
    /// `:in`
    In,
    /// `:not-in`
    NotIn,
    /// `:of-type`
    OfType,
    /// `:identifier`
    Identifier,
    /// `:[type]` on a reference, e.g. `subject:Patient`.
    Type(String),
}
