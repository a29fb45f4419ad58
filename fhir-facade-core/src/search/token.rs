//! Token search values: `code`, `system|code`, `|code`, `system|`.

/// Which coding system a token value asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSystem {
    /// `code`: any system, or none.
    Any,
    /// `|code`: only values with no system.
    NoSystem,
    /// `system|code` or `system|`.
    System(String),
}

/// A token search value, unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenValue {
    /// The system constraint.
    pub system: TokenSystem,
    /// The code; `None` for `system|` (any code in the system).
    pub code: Option<String>,
}
