//! Reference parameters and everything that follows a foreign key: `reference=Type/id`,
//! `reference:identifier`, chains (`subject:Patient.family=…`) and `_has`, the last three as
//! `EXISTS` sub-queries on the other table under the request's compartment constraints.

use time::OffsetDateTime;

use super::condition::{binary, misfit, never, or, unsupported, unsupported_modifier};
use super::{Scope, SqlTranslator, param_mapping};
use crate::Result;
use crate::search::{Criterion, Modifier, ReferenceValue, SearchParamDef, SearchValue};
use crate::sql::SqlFragment;
use crate::sql::mapping::{ParamMapping, ReferenceMapping, TableMapping};

impl SqlTranslator {
    /// `reference=Type/id` (or `reference:Type=id`) as foreign-key equality; a reference to
    /// another server or type matches nothing.
    pub(super) fn reference_values(
        &self,
        reference: &ReferenceMapping,
        param: &SearchParamDef,
        modifier: Option<&Modifier>,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        let wanted = match modifier {
            None => None,
            Some(Modifier::Type(t)) => Some(t.as_str()),
            Some(Modifier::Above | Modifier::Below) => {
                return Err(unsupported(name, "reference hierarchies are not supported"));
            }
            Some(_) => return Err(unsupported_modifier(name)),
        };
        let target = self.table(&reference.target_type, param.code)?;
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Reference(value) = value else {
                return Err(misfit(name));
            };
            let key = match value {
                ReferenceValue::Local {
                    resource_type, id, ..
                } => {
                    let named = resource_type.as_deref().or(wanted);
                    if named.is_some_and(|t| t != reference.target_type) {
                        None
                    } else {
                        target.id_kind.key(id)
                    }
                }
                ReferenceValue::Url(_) => None,
            };
            alternatives.push(key.map_or_else(never, |k| binary(&reference.fk, "=", k)));
        }
        Ok(or(alternatives))
    }

    /// `param:Target.inner`: a referenced row of the target matches `inner`.
    pub(super) fn chain(
        &self,
        scope: &Scope<'_>,
        param: &SearchParamDef,
        target_type: &str,
        inner: &Criterion,
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        let ParamMapping::Reference(reference) = param_mapping(scope.table, param)? else {
            return Err(unsupported(param.code, "not mapped as a reference"));
        };
        if reference.target_type != target_type {
            return Ok(never());
        }
        let target = self.table(target_type, param.code)?;
        let link = SqlFragment::sql(format!("{} = {}", target.id_expr, reference.fk));
        self.subquery(scope, target, link, inner, param.code, now)
    }

    /// `_has:Source:param:inner`: a row of the source referring to this one matches `inner`.
    pub(super) fn has(
        &self,
        scope: &Scope<'_>,
        source_type: &str,
        param: &SearchParamDef,
        inner: &Criterion,
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        let source = self.table(source_type, "_has")?;
        let ParamMapping::Reference(reference) = param_mapping(source, param)? else {
            return Err(unsupported(param.code, "not mapped as a reference"));
        };
        if reference.target_type != scope.table.resource_type {
            return Ok(never());
        }
        let link = SqlFragment::sql(format!("{} = {}", reference.fk, scope.table.id_expr));
        self.subquery(scope, source, link, inner, "_has", now)
    }

    /// `EXISTS (SELECT 1 FROM other WHERE link AND base AND inner)`.
    fn subquery(
        &self,
        scope: &Scope<'_>,
        other: &TableMapping,
        link: SqlFragment,
        inner: &Criterion,
        param: &str,
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        if scope.outer.contains(&other.alias.as_str()) {
            return Err(unsupported(
                param,
                format!("{} cannot be joined to itself", other.resource_type),
            ));
        }
        let mut outer = scope.outer.clone();
        outer.push(&other.alias);
        let inner_scope = Scope {
            table: other,
            outer,
            compartments: scope.compartments,
        };
        let mut sql = SqlFragment::sql(format!(
            "EXISTS (SELECT 1 FROM {} {} WHERE ",
            other.table, other.alias
        ));
        sql.append(link);
        if let Some(filter) = &other.base_filter {
            sql.push(format!(" AND ({filter})"));
        }
        sql.push(" AND ");
        sql.append(self.criterion(&inner_scope, inner, now)?);
        // A chained or referring row outside the caller's compartment must not decide a match:
        // that would tell another patient's data (`asserter:Patient.family=…`) without
        // returning it.
        for compartment in scope.compartments {
            sql.push(" AND ");
            sql.append(self.constraint(&inner_scope, compartment, now)?);
        }
        sql.push(")");
        Ok(sql)
    }

    /// `reference:identifier=system|value`: the referenced row matches `identifier=system|value`
    /// on the target's parameter the mapping exposes (see [`ReferenceMapping::identifier`]).
    pub(super) fn reference_identifier(
        &self,
        scope: &Scope<'_>,
        param: &SearchParamDef,
        reference: &ReferenceMapping,
        values: &[SearchValue],
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        let name = format!("{}:identifier", param.code);
        let Some(code) = &reference.identifier else {
            return Err(unsupported(
                name,
                format!(
                    "the mapping of {} does not expose an identifier of the {} it refers to",
                    param.code, reference.target_type
                ),
            ));
        };
        let target = self.table(&reference.target_type, &name)?;
        // SqlSchema::new checked that the target maps this token parameter.
        let target_param = target
            .search_params()
            .into_iter()
            .find(|d| d.code == code)
            .ok_or_else(|| unsupported(name.clone(), format!("{code} is not mapped")))?;
        let inner = Criterion::Values {
            param: target_param,
            modifier: None,
            values: values.to_vec(),
        };
        let link = SqlFragment::sql(format!("{} = {}", target.id_expr, reference.fk));
        self.subquery(scope, target, link, &inner, &name, now)
    }
}
