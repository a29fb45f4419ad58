//! PostgreSQL: `$n` placeholders, `TRANSLATE` for the one-letter folds, `NULLS LAST`.

use time::OffsetDateTime;

use super::{
    Dialect, LikePattern, limit_offset, match_clause, nulls_clause, plain_eq, quote_with,
    replace_chain, sealed, utc,
};
use crate::sql::text::{self, FOLD_MAP};
use crate::sql::{BindValue, SqlFragment};

/// PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PgDialect;

impl sealed::Sealed for PgDialect {}

impl Dialect for PgDialect {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn quote_ident(&self, ident: &str) -> String {
        quote_with(ident, '"', '"')
    }

    fn paginate(&self, select: &mut SqlFragment, limit: u64, offset: u64) {
        limit_offset(select, limit, offset);
    }

    fn fold_expr(&self, expr: &str) -> String {
        let single = |(_, to): &&(char, &str)| to.chars().count() == 1;
        let from: String = FOLD_MAP.iter().filter(single).map(|(c, _)| c).collect();
        let to: String = FOLD_MAP.iter().filter(single).map(|(_, s)| *s).collect();
        let translated = format!("TRANSLATE({expr}, '{from}', '{to}')");
        replace_chain(
            &translated,
            FOLD_MAP.iter().filter(|pair| !single(pair)),
            "",
        )
    }

    fn like(&self, expr: &str, pattern: LikePattern, value: &str, fold: bool) -> SqlFragment {
        let (subject, value) = if fold {
            (self.fold_expr(expr), text::fold(value))
        } else {
            (expr.to_owned(), value.to_owned())
        };
        let pattern = pattern.wrap(&self.escape_like_value(&value), '%');
        match_clause(&subject, "LIKE", pattern, " ESCAPE '\\'")
    }

    fn exact_eq(&self, expr: &str, value: BindValue) -> SqlFragment {
        plain_eq(expr, value)
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    fn utc_timestamp_param(&self, value: OffsetDateTime) -> SqlFragment {
        let mut param = SqlFragment::sql("(CAST(");
        param.push_bind(utc(value));
        param.push(" AS TIMESTAMPTZ) AT TIME ZONE 'UTC')");
        param
    }

    fn now(&self) -> &'static str {
        "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"
    }

    fn concat(&self, parts: &[&str]) -> String {
        if parts.is_empty() {
            return "''".to_owned();
        }
        format!("concat({})", parts.join(", "))
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
    fn golden_postgres() {
        let folded = PgDialect.fold_expr("family");
        assert_eq!(
            statement(&PgDialect),
            (
                format!(
                    r#"SELECT "id" FROM "dbo"."patient" WHERE {folded} LIKE $1 ESCAPE '\' AND given = $2 ORDER BY family ASC NULLS LAST LIMIT $3 OFFSET $4"#
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
