//! MySQL and MariaDB: `?` placeholders, binary `utf8mb4` comparisons over any column
//! character set, `NULL` ordered by `CASE`.

use time::OffsetDateTime;

use super::{
    Dialect, LikePattern, eq_then_binary, limit_offset, match_clause, null_greatest, plain_eq,
    quote_with, replace_chain, sealed, utc,
};
use crate::sql::text::{self, FOLD_MAP};
use crate::sql::{BindValue, SqlFragment};

/// MySQL and MariaDB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MySqlDialect;

const MYSQL_BIN: &str = "COLLATE utf8mb4_bin";

fn mysql_binary(expr: &str) -> String {
    format!("CONVERT({expr} USING utf8mb4) {MYSQL_BIN}")
}

impl sealed::Sealed for MySqlDialect {}

impl Dialect for MySqlDialect {
    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }

    fn quote_ident(&self, ident: &str) -> String {
        quote_with(ident, '`', '`')
    }

    fn paginate(&self, select: &mut SqlFragment, limit: u64, offset: u64) {
        limit_offset(select, limit, offset);
    }

    fn fold_expr(&self, expr: &str) -> String {
        replace_chain(&format!("({})", mysql_binary(expr)), FOLD_MAP.iter(), "")
    }

    fn like(&self, expr: &str, pattern: LikePattern, value: &str, fold: bool) -> SqlFragment {
        let (subject, value) = if fold {
            (self.fold_expr(expr), text::fold(value))
        } else {
            (mysql_binary(expr), value.to_owned())
        };
        let pattern = pattern.wrap(&self.escape_like_value(&value), '%');
        match_clause(&subject, "LIKE", pattern, " ESCAPE '\\\\'")
    }

    fn exact_eq(&self, expr: &str, value: BindValue) -> SqlFragment {
        match value {
            BindValue::Text(_) => eq_then_binary(expr, &mysql_binary(expr), value),
            other => plain_eq(expr, other),
        }
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    fn utc_timestamp_param(&self, value: OffsetDateTime) -> SqlFragment {
        let mut param = SqlFragment::new();
        param.push_bind(utc(value));
        param
    }

    fn now(&self) -> &'static str {
        "UTC_TIMESTAMP()"
    }

    fn concat(&self, parts: &[&str]) -> String {
        if parts.is_empty() {
            return "''".to_owned();
        }
        format!("CONCAT_WS('', {})", parts.join(", "))
    }

    fn order_by(&self, expr: &str, descending: bool) -> String {
        null_greatest(expr, descending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::tests::{statement, text};

    #[test]
    fn golden_mysql() {
        let folded = MySqlDialect.fold_expr("family");
        assert_eq!(
            statement(&MySqlDialect),
            (
                format!(
                    r"SELECT `id` FROM `dbo`.`patient` WHERE {folded} LIKE ? ESCAPE '\\' AND (given = ? AND CONVERT(given USING utf8mb4) COLLATE utf8mb4_bin = ?) ORDER BY CASE WHEN family IS NULL THEN 1 ELSE 0 END ASC, family ASC LIMIT ? OFFSET ?"
                ),
                vec![
                    text("mu%"),
                    text("Anna"),
                    text("Anna"),
                    BindValue::Int(10),
                    BindValue::Int(20)
                ]
            )
        );
    }
}
