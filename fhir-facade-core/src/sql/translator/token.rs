//! Token parameters: `system|code` on a code column or through a lookup table, and the token
//! modifiers `:not`, `:in`/`:not-in` (value sets declared in the schema), `:text` and
//! `:of-type`. Subsumption (`:above`, `:below`) needs a terminology server and is refused.

use super::SqlTranslator;
use super::condition::{
    and, is_not_null, misfit, negate, never, or, storable, unsupported, unsupported_modifier,
};
use crate::Result;
use crate::search::{Modifier, SearchValue, TokenSystem, TokenValue};
use crate::sql::LikePattern;
use crate::sql::mapping::{TokenCode, TokenMapping, ValueSource};
use crate::sql::{BindValue, SqlFragment};

impl SqlTranslator {
    /// A token criterion, by its modifier.
    pub(super) fn token_values(
        &self,
        token: &TokenMapping,
        modifier: Option<&Modifier>,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        match modifier {
            None | Some(Modifier::Not) => self.token_codes(token, modifier.is_some(), values, name),
            Some(Modifier::In) => self.token_in(token, false, values, name),
            Some(Modifier::NotIn) => self.token_in(token, true, values, name),
            Some(Modifier::Above | Modifier::Below) => Err(unsupported(
                name,
                "subsumption needs a terminology server, which this facade does not have; \
                 :in with a value set declared in the mapping can list the codes instead",
            )),
            Some(Modifier::Text) => self.token_text(token, values, name),
            Some(Modifier::OfType) => self.token_of_type(token, values, name),
            Some(_) => Err(unsupported_modifier(name)),
        }
    }

    /// `code=a,b`, and with `not` (`:not`) the rows that have neither, rows without a code
    /// included.
    fn token_codes(
        &self,
        token: &TokenMapping,
        not: bool,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let code = code_expr(token);
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Token(value) = value else {
                return Err(misfit(name));
            };
            alternatives.push(self.token_match(token, code, value));
        }
        let matched = lookup(token, or(alternatives));
        Ok(if not { negate(matched) } else { matched })
    }

    /// `code:in=url` as the `system|code` tokens of the declared value sets, negated for
    /// `:not-in`.
    fn token_in(
        &self,
        token: &TokenMapping,
        not: bool,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let code = code_expr(token);
        let mut alternatives = Vec::new();
        // A repeated URL would repeat its whole expansion; only the schema's value sets
        // then bound the number of bound values, not the client.
        let mut expanded: Vec<&str> = Vec::new();
        for value in values {
            let SearchValue::String(url) = value else {
                return Err(misfit(name));
            };
            if expanded.contains(&url.as_str()) {
                continue;
            }
            expanded.push(url);
            let Some(codes) = self.schema.value_set_codes(url) else {
                return Err(unsupported(
                    name,
                    // Bounded: the URL comes from the client.
                    format!("the value set {url:.200} is not known to this server"),
                ));
            };
            for (system, c) in codes {
                let token_value = TokenValue {
                    system: TokenSystem::System(system.clone()),
                    code: Some(c.clone()),
                };
                alternatives.push(self.token_match(token, code, &token_value));
            }
        }
        let matched = lookup(token, or(alternatives));
        Ok(if not { negate(matched) } else { matched })
    }

    /// `code:text=…`: a folded starts-with on the mapped display text.
    fn token_text(
        &self,
        token: &TokenMapping,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let Some(text_expr) = &token.text else {
            return Err(unsupported(name, "no display text is mapped"));
        };
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::String(text) = value else {
                return Err(misfit(name));
            };
            alternatives.push(if text.contains('\0') {
                never()
            } else {
                self.dialect
                    .like(text_expr, LikePattern::StartsWith, text, true)
            });
        }
        Ok(lookup(token, or(alternatives)))
    }

    /// `identifier:of-type=system|code|value`: the identifier with the type the mapping stores,
    /// as constants or per row.
    fn token_of_type(
        &self,
        token: &TokenMapping,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let Some((type_system, type_code)) = &token.identifier_type else {
            return Err(unsupported(name, "no identifier type is mapped"));
        };
        let d = self.dialect;
        let code = code_expr(token);
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::OfType {
                system,
                code: of_type,
                value,
            } = value
            else {
                return Err(misfit(name));
            };
            let Some(value) = storable(value) else {
                alternatives.push(never());
                continue;
            };
            let mut parts = vec![d.exact_eq(code, value)];
            let mut possible = true;
            for (wanted, source) in [(system, type_system), (of_type, type_code)] {
                match source {
                    ValueSource::Constant(c) if c == wanted => {}
                    ValueSource::Column(col) if storable(wanted).is_some() => {
                        parts.push(d.exact_eq(col, BindValue::Text(wanted.clone())));
                    }
                    _ => possible = false,
                }
            }
            alternatives.push(if possible { and(parts) } else { never() });
        }
        Ok(lookup(token, or(alternatives)))
    }

    /// One `system|code` value on the code expression `code`.
    fn token_match(&self, token: &TokenMapping, code: &str, value: &TokenValue) -> SqlFragment {
        let d = self.dialect;
        let mut parts = Vec::new();
        match &value.code {
            Some(c) => match storable(c) {
                Some(c) => parts.push(d.exact_eq(code, c)),
                None => return never(),
            },
            None => parts.push(is_not_null(code)),
        }
        match (&value.system, &token.system) {
            (TokenSystem::Any, _) | (TokenSystem::NoSystem, ValueSource::None) => {}
            (TokenSystem::NoSystem, ValueSource::Column(col)) => {
                parts.push(SqlFragment::sql(format!("{col} IS NULL")));
            }
            (TokenSystem::System(s), ValueSource::Constant(c)) if s == c => {}
            (TokenSystem::System(s), ValueSource::Column(col)) => match storable(s) {
                Some(s) => parts.push(d.exact_eq(col, s)),
                None => return never(),
            },
            _ => return never(),
        }
        and(parts)
    }
}

/// The expression holding a token's code: a column of the searched table, or of the lookup
/// table inside [`lookup`]'s `EXISTS`.
fn code_expr(token: &TokenMapping) -> &str {
    match &token.code {
        TokenCode::Column(expr) | TokenCode::Lookup { code: expr, .. } => expr,
    }
}

/// Wraps a condition on a lookup table's columns in its `EXISTS`.
pub(super) fn lookup(token: &TokenMapping, condition: SqlFragment) -> SqlFragment {
    match &token.code {
        TokenCode::Column(_) => condition,
        TokenCode::Lookup { from, join, .. } => {
            let mut sql =
                SqlFragment::sql(format!("EXISTS (SELECT 1 FROM {from} WHERE {join} AND "));
            sql.append(condition);
            sql.push(")");
            sql
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::search::registry::r4_param;
    use crate::sql::mapping::{IdKind, ParamMapping, SqlSchema, TableMapping};
    use crate::sql::{Dialect, PgDialect};
    use crate::{SearchQuery, SearchTranslator};

    #[test]
    fn of_type_compares_identifier_types_from_constants_or_columns() {
        let identifier = |identifier_type| {
            let mut token = TokenMapping::new(
                TokenCode::Column("p.ident".into()),
                ValueSource::Column("p.ident_sys".into()),
            );
            token.identifier_type = Some(identifier_type);
            let table = TableMapping::new("Patient", "pat", "p", "p.id", IdKind::Text)
                .select(["p.id"])
                .param(
                    r4_param("Patient", "identifier").unwrap(),
                    ParamMapping::Token(token),
                );
            SqlTranslator::new(&PgDialect, Arc::new(SqlSchema::new([table]).unwrap()))
        };
        let render = |translator: &SqlTranslator, value: &str| {
            let schema = translator.schema().clone();
            let query = SearchQuery::parse(
                "Patient",
                &format!("identifier:of-type={value}"),
                &schema.supported_params(),
                &Default::default(),
            )
            .unwrap();
            let plan = translator.translate(&query, &[]).unwrap();
            let (sql, binds) = PgDialect.render(plan.select.as_ref().unwrap());
            let texts: Vec<BindValue> = binds
                .into_iter()
                .filter(|b| matches!(b, BindValue::Text(_)))
                .collect();
            (sql, texts)
        };
        let text = |s: &str| BindValue::Text(s.to_owned());
        let per_row = identifier((
            ValueSource::Column("p.type_sys".into()),
            ValueSource::Column("p.type_code".into()),
        ));
        let (sql, binds) = render(&per_row, "http://t|MR|123");
        assert!(
            sql.contains("WHERE ((p.ident = $1 AND p.type_sys = $2 AND p.type_code = $3))"),
            "{sql}"
        );
        assert_eq!(binds, vec![text("123"), text("http://t"), text("MR")]);
        let constant = identifier(("http://t".into(), "MR".into()));
        let (sql, binds) = render(&constant, "http://t|MR|123");
        assert!(sql.contains("WHERE (p.ident = $1)"), "{sql}");
        assert_eq!(binds, vec![text("123")]);
        let (sql, binds) = render(&constant, "http://t|DL|123");
        assert!(sql.contains("WHERE (1=0)"), "{sql}");
        assert_eq!(binds, vec![]);
    }
}
