//! Number parameters: a prefix against the range of the value's significant digits, as
//! [`NumberValue::matches`] says.

use super::condition::{and, binary, is_not_null, misfit, negate, or};
use crate::Result;
use crate::search::{NumberValue, Prefix, SearchValue};
use crate::sql::{BindValue, SqlFragment};

/// Any of the number values on the numeric expression `expr`.
pub(super) fn values(expr: &str, values: &[SearchValue], name: &str) -> Result<SqlFragment> {
    let mut alternatives = Vec::new();
    for value in values {
        let SearchValue::Number(value) = value else {
            return Err(misfit(name));
        };
        alternatives.push(number_match(expr, value));
    }
    Ok(or(alternatives))
}

/// [`NumberValue::matches`] on a numeric expression.
pub(super) fn number_match(expr: &str, value: &NumberValue) -> SqlFragment {
    let dec = BindValue::Decimal;
    let eq = || {
        and(vec![
            binary(expr, ">=", dec(value.low)),
            binary(expr, "<", dec(value.high)),
        ])
    };
    match value.prefix {
        Prefix::Eq => eq(),
        Prefix::Ne => and(vec![is_not_null(expr), negate(eq())]),
        Prefix::Gt | Prefix::Sa => binary(expr, ">", dec(value.value)),
        Prefix::Lt | Prefix::Eb => binary(expr, "<", dec(value.value)),
        Prefix::Ge => binary(expr, ">=", dec(value.value)),
        Prefix::Le => binary(expr, "<=", dec(value.value)),
        Prefix::Ap => {
            let margin = value.value.abs() / rust_decimal::Decimal::TEN;
            match (
                value.value.checked_sub(margin),
                value.value.checked_add(margin),
            ) {
                (Some(low), Some(high)) => or(vec![
                    eq(),
                    and(vec![
                        binary(expr, ">=", dec(low)),
                        binary(expr, "<=", dec(high)),
                    ]),
                ]),
                _ => eq(),
            }
        }
    }
}
