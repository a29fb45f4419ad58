//! `_sort`: the `ORDER BY` of a search, always ending with the id (or the mapping's order key)
//! so that pages are stable.

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
        match &table.order_key {
            Some(key) => items.extend(key.columns.iter().map(|c| format!("{c} {direction}"))),
            None => items.push(format!("{} {direction}", table.id_expr)),
        }
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
    use crate::sql::{BindValue, Dialect, PgDialect};

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

    #[test]
    fn an_order_key_orders_and_pages_in_place_of_the_id() {
        let table = TableMapping::new(
            "Observation",
            "(SELECT 'a-1' AS id, 'a' AS src, 1 AS k)",
            "u",
            "u.id",
            IdKind::Text,
        )
        .select(["u.id"])
        .param(r4_param("Observation", "_id").unwrap(), ParamMapping::Id)
        .param(
            r4_param("Observation", "date").unwrap(),
            ParamMapping::Date(DateMapping::Point {
                expr: "u.d".into(),
                kind: crate::sql::mapping::TimeKind::Date,
            }),
        )
        .order_by_key(["u.src", "u.k"], |id| {
            let (src, k) = id.split_once('-')?;
            Some(vec![
                BindValue::Text(src.into()),
                BindValue::Int(k.parse().ok()?),
            ])
        });
        let schema = Arc::new(SqlSchema::new([table]).unwrap());
        let translator = SqlTranslator::new(&PgDialect, schema.clone());
        let sql = |query: &str| {
            let query = SearchQuery::parse(
                "Observation",
                query,
                &schema.supported_params(),
                &Default::default(),
            )
            .unwrap();
            translator.translate(&query, &[]).map(|plan| {
                let (sql, binds) = PgDialect.render(plan.select.as_ref().unwrap());
                (
                    sql.split_once(" u WHERE ")
                        .map_or(sql.clone(), |(_, w)| w.to_owned()),
                    binds,
                )
            })
        };
        let (after, binds) = sql("_count=5&_cursor=b-7").unwrap();
        assert_eq!(
            after,
            "((u.src > $1 OR (u.src = $2 AND u.k > $3))) ORDER BY u.src ASC, u.k ASC LIMIT $4 OFFSET $5"
        );
        assert_eq!(
            binds[..3],
            [
                BindValue::Text("b".into()),
                BindValue::Text("b".into()),
                BindValue::Int(7)
            ]
        );
        let (before, _) = sql("_count=5&_before=b-7").unwrap();
        assert!(
            before.starts_with(
                "((u.src < $1 OR (u.src = $2 AND u.k < $3))) ORDER BY u.src DESC, u.k DESC"
            ),
            "{before}"
        );
        // Sorted by another key first, the order key still breaks ties.
        let (sorted, _) = sql("_sort=-date").unwrap();
        assert!(
            sorted
                .ends_with("ORDER BY u.d DESC NULLS FIRST, u.src ASC, u.k ASC LIMIT $1 OFFSET $2"),
            "{sorted}"
        );
        // A cursor no row can have is the client's mistake, not the database's.
        assert_eq!(sql("_cursor=nokey").unwrap_err().status(), 400);
    }
}
