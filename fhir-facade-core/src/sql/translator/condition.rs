//! The building blocks of every translated condition: boolean combinators that keep SQL's
//! three-valued logic in check, comparisons with bound values, and the errors of a search the
//! mapping cannot answer.

use crate::Error;
use crate::sql::{BindValue, SqlFragment};

pub(super) fn unsupported(param: impl Into<String>, message: impl Into<String>) -> Error {
    Error::UnsupportedSearch {
        param: param.into(),
        message: message.into(),
    }
}

pub(super) fn never() -> SqlFragment {
    SqlFragment::sql("1=0")
}

/// `(a OP b OP …)`; one part stands alone.
fn join(mut parts: Vec<SqlFragment>, op: &str) -> SqlFragment {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let mut out = SqlFragment::sql("(");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(format!(" {op} "));
        }
        out.append(part);
    }
    out.push(")");
    out
}

pub(super) fn or(parts: Vec<SqlFragment>) -> SqlFragment {
    if parts.is_empty() {
        return never();
    }
    join(parts, "OR")
}

pub(super) fn and(parts: Vec<SqlFragment>) -> SqlFragment {
    if parts.is_empty() {
        return SqlFragment::sql("1=1");
    }
    join(parts, "AND")
}

/// True when `condition` is false or unknown: SQL's `NOT` keeps `NULL` unknown, which would drop
/// the rows without a value that `:not` and `ne` must reason about explicitly.
pub(super) fn negate(condition: SqlFragment) -> SqlFragment {
    let mut out = SqlFragment::sql("(CASE WHEN ");
    out.append(condition);
    out.push(" THEN 1 ELSE 0 END) = 0");
    out
}

pub(super) fn binary(expr: &str, op: &str, value: BindValue) -> SqlFragment {
    let mut out = SqlFragment::sql(format!("{expr} {op} "));
    out.push_bind(value);
    out
}

pub(super) fn with_binary(expr: &str, op: &str, value: SqlFragment) -> SqlFragment {
    let mut out = SqlFragment::sql(format!("{expr} {op} "));
    out.append(value);
    out
}

pub(super) fn is_not_null(expr: &str) -> SqlFragment {
    SqlFragment::sql(format!("{expr} IS NOT NULL"))
}

/// Request text that can be stored: see the translator's documentation on NUL characters.
pub(super) fn storable(text: &str) -> Option<BindValue> {
    (!text.contains('\0')).then(|| BindValue::Text(text.to_owned()))
}

/// The error for a value whose type does not fit the parameter's mapping.
pub(super) fn misfit(name: &str) -> Error {
    unsupported(name, "the value does not fit the parameter's mapping")
}

/// The error for a modifier the parameter's mapping does not translate.
pub(super) fn unsupported_modifier(name: &str) -> Error {
    unsupported(name, "this modifier is not supported on this parameter")
}
