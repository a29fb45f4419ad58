//! Search translations the declarative mappings cannot express, as
//! [`ParamMapping::Custom`] functions: `value-quantity` over the text column `wert`, and token
//! parameters whose codes live in different places per system (a patient's two identifiers, an
//! observation's LOINC and local codes).
//!
//! ## `value-quantity` against text
//!
//! The number is read in SQL from `wert` the way [`LabValue::parse`](crate::value::LabValue::parse)
//! reads it: a leading comparator is split off, the decimal comma becomes a point, and only text
//! that is a plain number is converted (a checked pattern first, so `positiv` never reaches a
//! cast that could fail). A value with a comparator stands for a range (`<0,5` is every value
//! below 0.5) and is matched as FHIR's search rules match ranges: `eq` needs the search range to
//! contain it (never, for an unbounded range), `gt`/`lt`/`ge`/`le`/`ap` need the ranges to
//! overlap, `sa`/`eb` need it entirely above/below, `ne` is the negation of `eq`. So
//! `value-quantity=lt1` finds `<0,5` and `value-quantity=gt100` finds `>200`, but
//! `value-quantity=lt0.3` finds `<0,5` too (it may be below 0.3) while `eb0.3` does not.
//!
//! Every value is bound; the SQL text comes from this module only.
//!
//! ```
//! use fhir_facade_core::search::registry::r4_param;
//! use fhir_facade_core::search::{Criterion, SearchValue, QuantityValue};
//! use fhir_facade_core::sql::mapping::ParamMapping;
//! use fhir_facade_core::sql::PgDialect;
//! use kis_facade::Backend;
//! use kis_facade::quantity::value_quantity;
//!
//! let ParamMapping::Custom(f) = value_quantity(Backend::Postgres, "l") else { unreachable!() };
//! let criterion = Criterion::Values {
//!     param: r4_param("Observation", "value-quantity").unwrap(),
//!     modifier: None,
//!     values: vec![SearchValue::Quantity(QuantityValue::parse("gt100").unwrap())],
//! };
//! let (sql, binds) = f(&criterion, &PgDialect).unwrap().render(|n| format!("${n}"));
//! assert!(sql.contains("~ '^[-+]?[0-9]+([.][0-9]+)?$'"));
//! assert_eq!(binds.len(), 3);
//! ```

use std::sync::Arc;

use fhir_facade_core::Error;
use fhir_facade_core::search::{
    Criterion, NumberValue, Prefix, QuantityValue, SearchValue, TokenSystem, TokenValue,
};
use fhir_facade_core::sql::Dialect;
use fhir_facade_core::sql::mapping::ParamMapping;
use fhir_facade_core::sql::{BindValue, SqlFragment};
use rust_decimal::Decimal;

use crate::Backend;
use crate::value::{Comparator, LabValue};

/// The UCUM system.
pub const UCUM: &str = "http://unitsofmeasure.org";

fn unsupported(param: &str, message: &str) -> Error {
    Error::UnsupportedSearch {
        param: param.to_owned(),
        message: message.to_owned(),
    }
}

fn never() -> SqlFragment {
    SqlFragment::sql("1=0")
}

fn always() -> SqlFragment {
    SqlFragment::sql("1=1")
}

fn join(parts: Vec<SqlFragment>, op: &str, empty: fn() -> SqlFragment) -> SqlFragment {
    if parts.is_empty() {
        return empty();
    }
    let mut out = SqlFragment::sql("(");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(format!(" {op} "));
        }
        out.push("(");
        out.append(part);
        out.push(")");
    }
    out.push(")");
    out
}

fn or(parts: Vec<SqlFragment>) -> SqlFragment {
    join(parts, "OR", never)
}

fn and(parts: Vec<SqlFragment>) -> SqlFragment {
    join(parts, "AND", always)
}

fn cmp(expr: &str, op: &str, value: Decimal) -> SqlFragment {
    let mut s = SqlFragment::sql(format!("{expr} {op} "));
    s.push_bind(BindValue::Decimal(value));
    s
}

/// The expressions that read a `wert` column: the kind of value and its number.
#[derive(Debug, Clone)]
pub struct ValueExprs {
    trimmed: String,
    /// The number (`NULL` for text), as the backend's numeric type.
    pub number: String,
}

impl ValueExprs {
    /// The expressions over the text column `column` (`l.wert`) on `backend`.
    pub fn new(backend: Backend, column: &str) -> ValueExprs {
        let t = format!("TRIM({column})");
        let substr = |from: u8| match backend {
            Backend::MsSql => format!("SUBSTRING({t}, {from}, 20)"),
            _ => format!("SUBSTR({t}, {from})"),
        };
        let rest = format!(
            "CASE WHEN {t} LIKE '<=%' OR {t} LIKE '>=%' THEN {} \
             WHEN {t} LIKE '<%' OR {t} LIKE '>%' THEN {} ELSE {t} END",
            substr(3),
            substr(2)
        );
        let n = format!("TRIM(REPLACE({rest}, ',', '.'))");
        let number = match backend {
            Backend::Postgres => {
                format!("CASE WHEN {n} ~ '^[-+]?[0-9]+([.][0-9]+)?$' THEN CAST({n} AS NUMERIC) END")
            }
            Backend::MySql => format!(
                "CASE WHEN {n} REGEXP '^[-+]?[0-9]+([.][0-9]+)?$' \
                 THEN CAST({n} AS DECIMAL(38,10)) END"
            ),
            Backend::Sqlite => {
                // No REGEXP without an extension: digits and at most one inner point, after an
                // optional sign.
                let digits = |s: &str| {
                    format!(
                        "{s} GLOB '[0-9]*' AND {s} NOT GLOB '*[^0-9.]*' \
                         AND {s} NOT GLOB '*.*.*' AND {s} NOT GLOB '*.'"
                    )
                };
                let unsigned = format!("SUBSTR({n}, 2)");
                format!(
                    "CASE WHEN ({}) OR ({n} GLOB '[-+]*' AND {}) THEN CAST({n} AS REAL) END",
                    digits(&n),
                    digits(&unsigned)
                )
            }
            Backend::MsSql => {
                let unsigned = format!("SUBSTRING({n}, 2, 20)");
                format!(
                    "CASE WHEN ({n} LIKE '[0-9]%' OR ({n} LIKE '[-+][0-9]%' \
                     AND {unsigned} NOT LIKE '%[^0-9.]%')) \
                     AND {n} NOT LIKE '[-+0-9]%[^0-9.]%' AND {n} NOT LIKE '%.' \
                     AND {n} NOT LIKE '%.%.%' THEN TRY_CAST({n} AS DECIMAL(38,10)) END"
                )
            }
        };
        ValueExprs { trimmed: t, number }
    }

    fn kind(&self, pattern: &str, negated: bool) -> SqlFragment {
        SqlFragment::sql(format!(
            "{} {}LIKE '{pattern}'",
            self.trimmed,
            if negated { "NOT " } else { "" }
        ))
    }

    /// The condition that the stored value, whatever its comparator, matches `value`'s number.
    pub fn number_match(&self, value: &NumberValue) -> SqlFragment {
        let x = self.number.as_str();
        let v = value.value;
        let margin = v.abs() / Decimal::TEN;
        let (ap_low, ap_high) = (
            v.checked_sub(margin).unwrap_or(value.low),
            v.checked_add(margin).unwrap_or(value.high),
        );
        let eq = || and(vec![cmp(x, ">=", value.low), cmp(x, "<", value.high)]);
        // A plain number: the point rules of the core's number parameters.
        let exact = match value.prefix {
            Prefix::Eq => eq(),
            Prefix::Ne => {
                let mut not_eq = SqlFragment::sql("NOT ");
                not_eq.append(eq());
                not_eq
            }
            Prefix::Gt | Prefix::Sa => cmp(x, ">", v),
            Prefix::Lt | Prefix::Eb => cmp(x, "<", v),
            Prefix::Ge => cmp(x, ">=", v),
            Prefix::Le => cmp(x, "<=", v),
            Prefix::Ap => or(vec![
                eq(),
                and(vec![cmp(x, ">=", ap_low), cmp(x, "<=", ap_high)]),
            ]),
        };
        // `<c` is (-inf, c), `<=c` (-inf, c], `>c` (c, inf), `>=c` [c, inf).
        let below_open = match value.prefix {
            Prefix::Eq | Prefix::Sa => never(),
            Prefix::Ne | Prefix::Lt | Prefix::Le => always(),
            Prefix::Gt | Prefix::Ge => cmp(x, ">", v),
            Prefix::Eb => cmp(x, "<=", v),
            Prefix::Ap => cmp(x, ">", ap_low),
        };
        let below_closed = match value.prefix {
            Prefix::Eq | Prefix::Sa => never(),
            Prefix::Ne | Prefix::Lt | Prefix::Le => always(),
            Prefix::Gt => cmp(x, ">", v),
            Prefix::Ge => cmp(x, ">=", v),
            Prefix::Eb => cmp(x, "<", v),
            Prefix::Ap => cmp(x, ">=", ap_low),
        };
        let above_open = match value.prefix {
            Prefix::Eq | Prefix::Eb => never(),
            Prefix::Ne | Prefix::Gt | Prefix::Ge => always(),
            Prefix::Lt | Prefix::Le => cmp(x, "<", v),
            Prefix::Sa => cmp(x, ">=", v),
            Prefix::Ap => cmp(x, "<", ap_high),
        };
        let above_closed = match value.prefix {
            Prefix::Eq | Prefix::Eb => never(),
            Prefix::Ne | Prefix::Gt | Prefix::Ge => always(),
            Prefix::Lt => cmp(x, "<", v),
            Prefix::Le => cmp(x, "<=", v),
            Prefix::Sa => cmp(x, ">", v),
            Prefix::Ap => cmp(x, "<=", ap_high),
        };
        and(vec![
            SqlFragment::sql(format!("{x} IS NOT NULL")),
            or(vec![
                and(vec![self.kind("<%", true), self.kind(">%", true), exact]),
                and(vec![
                    self.kind("<%", false),
                    self.kind("<=%", true),
                    below_open,
                ]),
                and(vec![self.kind("<=%", false), below_closed]),
                and(vec![
                    self.kind(">%", false),
                    self.kind(">=%", true),
                    above_open,
                ]),
                and(vec![self.kind(">=%", false), above_closed]),
            ]),
        ])
    }
}

/// The `value-quantity` mapping of `labor_befund` under the alias `alias`: the number from
/// `wert`, the unit as the UCUM code of the lab code's map entry or (without a system) the stored
/// unit `einheit`.
pub fn value_quantity(backend: Backend, alias: &str) -> ParamMapping {
    let exprs = ValueExprs::new(backend, &format!("{alias}.wert"));
    let alias = alias.to_owned();
    ParamMapping::Custom(Arc::new(move |criterion, dialect| {
        let (values, code) = match criterion {
            Criterion::Missing { missing, .. } => {
                return Ok(SqlFragment::sql(format!(
                    "{} IS {}NULL",
                    exprs.number,
                    if *missing { "" } else { "NOT " }
                )));
            }
            Criterion::Values {
                param,
                modifier: None,
                values,
            } => (values, param.code),
            Criterion::Values { param, .. } => {
                return Err(unsupported(param.code, "no modifier is supported here"));
            }
            _ => return Err(unsupported("value-quantity", "not supported")),
        };
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Quantity(q) = value else {
                return Err(unsupported(code, "the value does not fit the parameter"));
            };
            alternatives.push(quantity_match(&exprs, &alias, q, dialect));
        }
        Ok(or(alternatives))
    }))
}

fn quantity_match(
    exprs: &ValueExprs,
    alias: &str,
    q: &QuantityValue,
    dialect: &dyn Dialect,
) -> SqlFragment {
    let mut parts = vec![exprs.number_match(&q.number)];
    if q.system.as_deref().is_some_and(|s| s != UCUM) {
        return never();
    }
    if let Some(code) = &q.code {
        let text = || BindValue::Text(code.clone());
        let mut ucum = SqlFragment::sql(format!(
            "EXISTS (SELECT 1 FROM labcode_map qm WHERE qm.labcode = {alias}.labcode AND "
        ));
        ucum.append(dialect.exact_eq("qm.ucum", text()));
        ucum.push(")");
        parts.push(if q.system.is_some() {
            ucum
        } else {
            or(vec![
                ucum,
                dialect.exact_eq(&format!("{alias}.einheit"), text()),
            ])
        });
    }
    and(parts)
}

/// Where the codes of one system of a [`multi_system_token`] are stored.
#[derive(Debug, Clone)]
pub enum CodeAt {
    /// A column of the searched table.
    Column(String),
    /// A lookup: `EXISTS (SELECT 1 FROM {from} WHERE {join} AND {code} = ?)`.
    Lookup {
        /// The `FROM` item with its alias.
        from: String,
        /// The join condition to the searched table.
        join: String,
        /// The code column of the lookup table.
        code: String,
    },
}

/// A token parameter over several systems, each stored elsewhere: `system|code` searches the
/// system's place, a bare `code` all of them, `|code` none (every stored code has a system),
/// `system|` any row with a code there. `:missing` is supported; other modifiers are a 400.
pub fn multi_system_token(systems: Vec<(&'static str, CodeAt)>) -> ParamMapping {
    ParamMapping::Custom(Arc::new(move |criterion, dialect| {
        let present = |at: &CodeAt| match at {
            CodeAt::Column(c) => SqlFragment::sql(format!("{c} IS NOT NULL")),
            CodeAt::Lookup { from, join, .. } => {
                SqlFragment::sql(format!("EXISTS (SELECT 1 FROM {from} WHERE {join})"))
            }
        };
        let matches = |at: &CodeAt, code: &str| match at {
            CodeAt::Column(c) => dialect.exact_eq(c, BindValue::Text(code.to_owned())),
            CodeAt::Lookup {
                from,
                join,
                code: col,
            } => {
                let mut s =
                    SqlFragment::sql(format!("EXISTS (SELECT 1 FROM {from} WHERE {join} AND "));
                s.append(dialect.exact_eq(col, BindValue::Text(code.to_owned())));
                s.push(")");
                s
            }
        };
        match criterion {
            Criterion::Missing { missing, .. } => {
                let any = or(systems.iter().map(|(_, at)| present(at)).collect());
                Ok(if *missing {
                    let mut s = SqlFragment::sql("NOT ");
                    s.append(any);
                    s
                } else {
                    any
                })
            }
            Criterion::Values {
                modifier: None,
                values,
                param,
            } => {
                let mut alternatives = Vec::new();
                for value in values {
                    let SearchValue::Token(TokenValue { system, code }) = value else {
                        return Err(unsupported(param.code, "the value does not fit"));
                    };
                    let places: Vec<&CodeAt> = match system {
                        TokenSystem::Any => systems.iter().map(|(_, at)| at).collect(),
                        TokenSystem::NoSystem => Vec::new(),
                        TokenSystem::System(s) => systems
                            .iter()
                            .filter(|(sys, _)| sys == s)
                            .map(|(_, at)| at)
                            .collect(),
                    };
                    for at in places {
                        alternatives.push(match code {
                            Some(code) if code.contains('\0') => never(),
                            Some(code) => matches(at, code),
                            None => present(at),
                        });
                    }
                }
                Ok(or(alternatives))
            }
            Criterion::Values {
                param,
                modifier: Some(m),
                ..
            } => Err(unsupported(
                &format!("{}:{}", param.code, m.code()),
                "this modifier is not supported on this parameter",
            )),
            _ => Err(unsupported("token", "not supported")),
        }
    }))
}

/// The rule [`ValueExprs::number_match`] applies in SQL, in Rust: whether the stored `wert`
/// text matches the search number `q` (text values never match).
pub fn stored_value_matches(stored: &str, q: &NumberValue) -> bool {
    let LabValue::Quantity {
        comparator,
        value: c,
    } = LabValue::parse(stored)
    else {
        return false;
    };
    let v = q.value;
    let m = v.abs() / Decimal::TEN;
    let (al, ah) = (
        v.checked_sub(m).unwrap_or(q.low),
        v.checked_add(m).unwrap_or(q.high),
    );
    match comparator {
        None => q.matches(c),
        Some(Comparator::Lt) => match q.prefix {
            Prefix::Eq | Prefix::Sa => false,
            Prefix::Ne | Prefix::Lt | Prefix::Le => true,
            Prefix::Gt | Prefix::Ge => c > v,
            Prefix::Eb => c <= v,
            Prefix::Ap => c > al,
        },
        Some(Comparator::Le) => match q.prefix {
            Prefix::Eq | Prefix::Sa => false,
            Prefix::Ne | Prefix::Lt | Prefix::Le => true,
            Prefix::Gt => c > v,
            Prefix::Ge => c >= v,
            Prefix::Eb => c < v,
            Prefix::Ap => c >= al,
        },
        Some(Comparator::Gt) => match q.prefix {
            Prefix::Eq | Prefix::Eb => false,
            Prefix::Ne | Prefix::Gt | Prefix::Ge => true,
            Prefix::Lt | Prefix::Le => c < v,
            Prefix::Sa => c >= v,
            Prefix::Ap => c < ah,
        },
        Some(Comparator::Ge) => match q.prefix {
            Prefix::Eq | Prefix::Eb => false,
            Prefix::Ne | Prefix::Gt | Prefix::Ge => true,
            Prefix::Lt => c < v,
            Prefix::Le => c <= v,
            Prefix::Sa => c > v,
            Prefix::Ap => c <= ah,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(stored: &str, search: &str) -> bool {
        stored_value_matches(stored, &QuantityValue::parse(search).unwrap().number)
    }

    #[test]
    fn comparators_are_ranges() {
        assert!(matches("<0,5", "lt1"));
        assert!(matches("<0,5", "lt0.3"));
        assert!(!matches("<0,5", "eb0.3"));
        assert!(matches("<0,5", "eb0.5"));
        assert!(!matches("<0,5", "gt0.5"));
        assert!(matches("<0,5", "gt0.4"));
        assert!(!matches("<0,5", "0.5"));
        assert!(matches(">200", "gt100"));
        assert!(matches(">200", "sa200"));
        assert!(!matches(">200", "lt200"));
        assert!(matches("5,4", "5.4"));
        assert!(!matches("5,4", "5.45"));
        assert!(matches("5,4", "gt5"));
        assert!(!matches("positiv", "ne1"));
    }

    #[test]
    fn the_sql_binds_every_value_and_differs_per_backend() {
        let q = QuantityValue::parse("ap5.4|http://unitsofmeasure.org|mmol/L").unwrap();
        let mut seen = Vec::new();
        for (backend, dialect) in [
            (
                Backend::Postgres,
                &fhir_facade_core::sql::PgDialect as &dyn Dialect,
            ),
            (Backend::MySql, &fhir_facade_core::sql::MySqlDialect),
            (Backend::Sqlite, &fhir_facade_core::sql::SqliteDialect),
            (Backend::MsSql, &fhir_facade_core::sql::MsSqlDialect),
        ] {
            let exprs = ValueExprs::new(backend, "l.wert");
            let (sql, binds) = quantity_match(&exprs, "l", &q, dialect).render(|_| "?".into());
            assert!(!sql.contains("5.4") && !sql.contains("mmol"), "{sql}");
            assert!(binds.contains(&BindValue::Text("mmol/L".into())));
            seen.push(sql);
        }
        // Sorted first: dedup only drops adjacent copies.
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 4);
    }
}
