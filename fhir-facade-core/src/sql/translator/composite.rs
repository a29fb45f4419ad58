//! Composite parameters: every component's mapping on the same row, of the searched table or
//! of a child table.

use time::OffsetDateTime;

use super::SqlTranslator;
use super::condition::{and, misfit, or, unsupported};
use crate::Result;
use crate::search::{SearchParamDef, SearchValue};
use crate::sql::SqlFragment;
use crate::sql::mapping::{CompositeMapping, TableMapping};

impl SqlTranslator {
    /// Any composite value, each matching all its components on one row.
    pub(super) fn composite_values(
        &self,
        table: &TableMapping,
        param: &SearchParamDef,
        composite: &CompositeMapping,
        values: &[SearchValue],
        now: OffsetDateTime,
        name: &str,
    ) -> Result<SqlFragment> {
        if composite.components.len() != param.components.len() {
            return Err(unsupported(
                name,
                "the mapping does not map each component of the composite",
            ));
        }
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Composite(parts) = value else {
                return Err(misfit(name));
            };
            let mut matched = Vec::new();
            for ((component, mapping), part) in param
                .components
                .iter()
                .zip(&composite.components)
                .zip(parts)
            {
                let def = crate::search::registry::r4_param(&table.resource_type, component.code)
                    .ok_or_else(|| misfit(name))?;
                matched.push(self.values(
                    table,
                    def,
                    mapping,
                    None,
                    std::slice::from_ref(part),
                    now,
                )?);
            }
            alternatives.push(exists_in(composite, and(matched)));
        }
        Ok(or(alternatives))
    }
}

/// Wraps a condition on a composite's child table in its `EXISTS`.
pub(super) fn exists_in(composite: &CompositeMapping, condition: SqlFragment) -> SqlFragment {
    match &composite.from {
        None => condition,
        Some((from, join)) => {
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
    use crate::sql::BindValue;
    use crate::sql::mapping::{
        IdKind, ParamMapping, QuantityMapping, SqlSchema, TokenCode, TokenMapping, ValueSource,
    };
    use crate::sql::{Dialect, PgDialect};
    use crate::{SearchQuery, SearchTranslator};

    #[test]
    fn composites_match_all_components_on_one_child_row() {
        let composite = CompositeMapping {
            from: Some(("comp c".into(), "c.obs_id = o.id".into())),
            components: vec![
                ParamMapping::Token(TokenMapping::new(
                    TokenCode::Column("c.code".into()),
                    "http://loinc.org".into(),
                )),
                ParamMapping::Quantity(QuantityMapping {
                    value: "c.value".into(),
                    system: "http://unitsofmeasure.org".into(),
                    code: ValueSource::Column("c.unit".into()),
                }),
            ],
        };
        let table = TableMapping::new("Observation", "obs", "o", "o.id", IdKind::Text)
            .select(["o.id"])
            .param(
                r4_param("Observation", "component-code-value-quantity").unwrap(),
                ParamMapping::Composite(composite),
            );
        let schema = Arc::new(SqlSchema::new([table]).unwrap());
        let translator = SqlTranslator::new(&PgDialect, schema.clone());
        let render = |query: &str| {
            let query = SearchQuery::parse(
                "Observation",
                query,
                &schema.supported_params(),
                &Default::default(),
            )
            .unwrap();
            let plan = translator.translate(&query, &[]).unwrap();
            PgDialect.render(plan.select.as_ref().unwrap())
        };
        let (sql, binds) =
            render("component-code-value-quantity=http://loinc.org|8462-4$lt60,8480-6$gt100");
        assert!(
            sql.contains(
                "WHERE ((EXISTS (SELECT 1 FROM comp c WHERE c.obs_id = o.id AND \
                 (c.code = $1 AND c.value < $2)) OR \
                 EXISTS (SELECT 1 FROM comp c WHERE c.obs_id = o.id AND \
                 (c.code = $3 AND c.value > $4))))"
            ),
            "{sql}"
        );
        assert_eq!(binds[0], BindValue::Text("8462-4".into()));
        assert_eq!(binds[1], BindValue::Decimal(60.into()));
        // A system the components cannot have matches nothing; :missing asks for any row.
        let (sql, _) = render("component-code-value-quantity=http://snomed.info/sct|1$lt60");
        assert!(sql.contains("AND (1=0 AND c.value < $1)"), "{sql}");
        let (sql, _) = render("component-code-value-quantity:missing=true");
        assert!(
            sql.contains(
                "(CASE WHEN EXISTS (SELECT 1 FROM comp c WHERE c.obs_id = o.id AND \
                 (c.code IS NOT NULL AND c.value IS NOT NULL)) THEN 1 ELSE 0 END) = 0"
            ),
            "{sql}"
        );
    }
}
