//! SQLite: `?` placeholders, `GLOB` for case-sensitive patterns, text timestamps.

use time::OffsetDateTime;

use super::{
    Dialect, LikePattern, limit_offset, match_clause, nulls_clause, plain_eq, quote_with,
    replace_chain, sealed, utc,
};
use crate::sql::text::{self, FOLD_MAP};
use crate::sql::{BindValue, SqlFragment};

/// SQLite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteDialect;

/// Escapes `*`, `?` and `[` for a `GLOB` pattern by wrapping each in a one-character class.
fn escape_glob(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '[') {
            escaped.push('[');
            escaped.push(c);
            escaped.push(']');
        } else {
            escaped.push(c);
        }
    }
    escaped
}

impl sealed::Sealed for SqliteDialect {}

impl Dialect for SqliteDialect {
    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }

    fn max_bind_values(&self) -> usize {
        32_766
    }

    fn quote_ident(&self, ident: &str) -> String {
        quote_with(ident, '"', '"')
    }

    fn paginate(&self, select: &mut SqlFragment, limit: u64, offset: u64) {
        limit_offset(select, limit, offset);
    }

    fn fold_expr(&self, expr: &str) -> String {
        replace_chain(expr, FOLD_MAP.iter(), "")
    }

    fn like(&self, expr: &str, pattern: LikePattern, value: &str, fold: bool) -> SqlFragment {
        if fold {
            let escaped = self.escape_like_value(&text::fold(value));
            match_clause(
                &self.fold_expr(expr),
                "LIKE",
                pattern.wrap(&escaped, '%'),
                " ESCAPE '\\'",
            )
        } else {
            match_clause(expr, "GLOB", pattern.wrap(&escape_glob(value), '*'), "")
        }
    }

    fn exact_eq(&self, expr: &str, value: BindValue) -> SqlFragment {
        match value {
            BindValue::Text(_) => plain_eq(&format!("{expr} COLLATE BINARY"), value),
            other => plain_eq(expr, other),
        }
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "1" } else { "0" }
    }

    fn utc_timestamp_param(&self, value: OffsetDateTime) -> SqlFragment {
        let mut param = SqlFragment::sql("datetime(");
        param.push_bind(utc(value));
        param.push(")");
        param
    }

    fn now(&self) -> &'static str {
        "CURRENT_TIMESTAMP"
    }

    fn concat(&self, parts: &[&str]) -> String {
        if parts.is_empty() {
            return "''".to_owned();
        }
        parts
            .iter()
            .map(|part| format!("COALESCE({part}, '')"))
            .collect::<Vec<_>>()
            .join(" || ")
    }

    fn order_by(&self, expr: &str, descending: bool) -> String {
        nulls_clause(expr, descending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::tests::{statement, text};

    #[test]
    fn sqlite_unfolded_match_is_a_case_sensitive_glob() {
        let like = SqliteDialect.like("c", LikePattern::StartsWith, "A*b?[c]%_", false);
        let (sql, binds) = SqliteDialect.render(&like);
        assert_eq!(sql, "c GLOB ?");
        assert_eq!(binds, vec![text("A[*]b[?][[]c]%_*")]);
        let contains = SqliteDialect.like("c", LikePattern::Contains, "x", false);
        assert_eq!(contains.binds().collect::<Vec<_>>(), vec![&text("*x*")]);
    }

    #[test]
    fn golden_sqlite() {
        let folded = SqliteDialect.fold_expr("family");
        assert_eq!(
            statement(&SqliteDialect),
            (
                format!(
                    r#"SELECT "id" FROM "dbo"."patient" WHERE {folded} LIKE ? ESCAPE '\' AND given COLLATE BINARY = ? ORDER BY family ASC NULLS LAST LIMIT ? OFFSET ?"#
                ),
                vec![
                    text("mu%"),
                    text("Anna"),
                    BindValue::Int(10),
                    BindValue::Int(20)
                ]
            )
        );
    }
}
