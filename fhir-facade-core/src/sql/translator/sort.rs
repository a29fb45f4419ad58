//! `_sort`: the `ORDER BY` of a search, always ending with the id so that pages are stable.

use super::condition::unsupported;
use super::{SqlTranslator, param_mapping};
use crate::sql::mapping::{
    DateMapping, ParamMapping, QuantityMapping, ReferenceMapping, TableMapping, TokenCode,
    TokenMapping,
};
use crate::{Result, SearchQuery};

impl SqlTranslator {
    /// The `ORDER BY` list; `reverse` flips the id order, which is the whole order of a keyset
    /// search (only those read backwards).
    pub(super) fn order(
        &self,
        table: &TableMapping,
        query: &SearchQuery,
        reverse: bool,
    ) -> Result<String> {
        let mut items = Vec::new();
        let mut sorted: Vec<&str> = Vec::new();
        let mut by_id = None;
        for key in &query.result.sort {
            // `_id` sorts by the id expression whatever translates `_id` searches (a custom
            // mapping over a multi-table source, say): paging treats it as the key either way.
            if key.param.code == "_id" {
                by_id = Some(key.descending);
                break;
            }
            let mapping = param_mapping(table, key.param)?;
            let expr = match mapping {
                ParamMapping::Id => {
                    by_id = Some(key.descending);
                    break;
                }
                ParamMapping::String(columns) => &columns[0].expr,
                ParamMapping::Token(TokenMapping {
                    code: TokenCode::Column(expr),
                    ..
                })
                | ParamMapping::Date(
                    DateMapping::Point { expr, .. } | DateMapping::Period { start: expr, .. },
                )
                | ParamMapping::Number(expr)
                | ParamMapping::Quantity(QuantityMapping { value: expr, .. })
                | ParamMapping::Reference(ReferenceMapping { fk: expr, .. })
                | ParamMapping::Uri(expr) => expr,
                _ => {
                    return Err(unsupported(
                        format!("_sort={}", key.param.code),
                        "this parameter's mapping cannot be sorted on",
                    ));
                }
            };
            // A key already sorted on cannot change the order again, and SQL Server rejects an
            // expression listed twice (Msg 169); the id is always the last key.
            if expr == &table.id_expr {
                by_id = Some(key.descending);
                break;
            }
            if sorted.contains(&expr.as_str()) {
                continue;
            }
            sorted.push(expr);
            items.push(self.dialect.order_by(expr, key.descending));
        }
        let direction = if (by_id == Some(true)) != reverse {
            "DESC"
        } else {
            "ASC"
        };
        items.push(format!("{} {direction}", table.id_expr));
        Ok(items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::SearchTranslator;
    use crate::search::registry::r4_param;
    use crate::sql::SqlFragment;
    use crate::sql::mapping::{CustomFn, IdKind, SqlSchema};
    use crate::sql::{Dialect, PgDialect};

    #[test]
    fn sorting_by_id_uses_the_id_expression_whatever_maps_id() {
        let custom: Arc<CustomFn> = Arc::new(|_, _| Ok(SqlFragment::sql("u.k = 1")));
        let table = TableMapping::new(
            "Observation",
            "(SELECT 'a' AS id, 1 AS k)",
            "u",
            "u.id",
            IdKind::Text,
        )
        .select(["u.id"])
        .param(
            r4_param("Observation", "_id").unwrap(),
            ParamMapping::Custom(custom),
        );
        let schema = Arc::new(SqlSchema::new([table]).unwrap());
        let translator = SqlTranslator::new(&PgDialect, schema.clone());
        let query = SearchQuery::parse(
            "Observation",
            "_id=a&_sort=-_id&_count=5",
            &schema.supported_params(),
            &Default::default(),
        )
        .unwrap();
        let plan = translator.translate(&query, &[]).unwrap();
        assert!(plan.keyset);
        let (sql, _) = PgDialect.render(plan.select.as_ref().unwrap());
        assert_eq!(
            sql,
            "SELECT u.id FROM (SELECT 'a' AS id, 1 AS k) u WHERE (u.k = 1) \
             ORDER BY u.id DESC LIMIT $1 OFFSET $2"
        );
    }
}
