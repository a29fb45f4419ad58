//! Number search values with the implicit precision range of how they are written.

use super::Prefix;
use rust_decimal::Decimal;

/// A number search value: `100` stands for `[99.5, 100.5)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberValue {
    /// The comparison prefix.
    pub prefix: Prefix,
    /// The value as a decimal.
    pub value: Decimal,
    /// The lower bound of the implicit range (inclusive).
    pub low: Decimal,
    /// The upper bound of the implicit range (exclusive).
    pub high: Decimal,
    /// The value as written, without its prefix (for links).
    pub text: String,
}
