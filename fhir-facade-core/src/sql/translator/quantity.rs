//! Quantity parameters: a number comparison on the value, and the unit's system and code where
//! the search names them.

use super::SqlTranslator;
use super::condition::{and, misfit, never, or, storable};
use super::number::number_match;
use crate::Result;
use crate::search::{QuantityValue, SearchValue};
use crate::sql::SqlFragment;
use crate::sql::mapping::{QuantityMapping, ValueSource};

impl SqlTranslator {
    /// Any of the quantity values on the mapped value and unit.
    pub(super) fn quantity_values(
        &self,
        quantity: &QuantityMapping,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Quantity(value) = value else {
                return Err(misfit(name));
            };
            alternatives.push(self.quantity_match(quantity, value));
        }
        Ok(or(alternatives))
    }

    /// One quantity: the number, and each of system and code the search names.
    fn quantity_match(&self, q: &QuantityMapping, value: &QuantityValue) -> SqlFragment {
        let mut parts = vec![number_match(&q.value, &value.number)];
        for (wanted, source) in [(&value.system, &q.system), (&value.code, &q.code)] {
            let Some(wanted) = wanted else { continue };
            match source {
                ValueSource::Constant(c) if c == wanted => {}
                ValueSource::Column(col) => match storable(wanted) {
                    Some(w) => parts.push(self.dialect.exact_eq(col, w)),
                    None => return never(),
                },
                _ => return never(),
            }
        }
        and(parts)
    }
}
