//! Quantity search values: `[prefix]number|system|code`.

use super::NumberValue;

/// A quantity search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityValue {
    /// The number, its prefix and its implicit range.
    pub number: NumberValue,
    /// The unit system (`http://unitsofmeasure.org`); `None` for any.
    pub system: Option<String>,
    /// The unit code or unit text (`mg`); `None` for any.
    pub code: Option<String>,
}
