//! [`SearchTranslator`], from a parsed search to a query plan for one legacy schema, and
//! [`SqlTranslator`], the default one over an [`SqlSchema`].
//!
//! Semantics, in short:
//!
//! - criteria are ANDed, the values of one criterion ORed; every criterion and constraint is
//!   translated or the search fails with [`Error::UnsupportedSearch`];
//! - a value that cannot exist in the schema (an id that is not a key, a reference to another
//!   server or type, a system the column cannot have, text with a NUL character, which no
//!   supported database keeps in text portably) becomes the condition `1=0`, never a database
//!   error;
//! - `:not` on tokens also matches rows without a value, as FHIR says; `code:not=a,b` matches
//!   rows that have neither `a` nor `b`;
//! - `:in` and `:not-in` on tokens expand a value set declared with
//!   [`SqlSchema::value_set`] into its `system|code` tokens (`:not-in` then negates like
//!   `:not`); a value set the schema does not declare fails with a 400 naming it;
//! - `:above` and `:below` on tokens (subsumption) and references (hierarchies) need a
//!   terminology server or hierarchy the facade does not have, and fail with
//!   [`Error::UnsupportedSearch`]; on uri parameters they compare path segments (see
//!   [`uri`]);
//! - `reference:identifier` follows the foreign key to the target and searches the token
//!   parameter the [`ReferenceMapping::identifier`] names there; a reference that declares none
//!   fails with [`Error::UnsupportedSearch`];
//! - date prefixes follow [`DateValue::matches`] on the range each stored value stands for (see
//!   [`TimeKind`]); number and quantity prefixes follow [`NumberValue::matches`]; a row without a
//!   value matches no prefix, `ne` included;
//! - a `Patient` compartment constraint on a type without a mapped compartment reference fails
//!   with [`Error::UnsupportedSearch`] rather than running unconstrained or silently empty, so a
//!   mapping gap shows up at once;
//! - results are ordered by the `_sort` keys, then always by the id, so pages are stable.

mod composite;
mod condition;
mod date;
mod id;
mod number;
mod plan;
mod quantity;
mod reference;
mod sort;
mod string;
mod token;
mod uri;

use std::sync::Arc;

use time::OffsetDateTime;

use self::condition::{
    and, binary, is_not_null, negate, never, or, unsupported, unsupported_modifier,
};
pub use self::plan::SqlPlan;
use super::Dialect;
use super::mapping::{
    DateMapping, ParamMapping, ReferenceMapping, SqlSchema, TableMapping, TokenCode,
};
use crate::search::{
    Criterion, Modifier, PageToken, SearchParamDef, SearchValue, Summary, TotalMode,
};
use crate::sql::{BindValue, SqlFragment};
use crate::{Constraint, Error, Result, SearchQuery};

/// Turns a [`SearchQuery`] and the request's [`Constraint`]s into a plan an adapter can execute.
///
/// A translator must translate every criterion and constraint or fail with
/// [`Error::UnsupportedSearch`](crate::Error::UnsupportedSearch): a dropped filter returns wrong
/// clinical data, and a dropped constraint leaks it.
///
/// # Example
///
/// A translator that only knows `_id`, over a table `pat(pat_id)`:
///
/// ```
/// use fhir_facade_core::search::{Criterion, SearchValue};
/// use fhir_facade_core::sql::{BindValue, SearchTranslator, SqlFragment};
/// use fhir_facade_core::{Constraint, Error, Result, SearchQuery};
///
/// struct ById;
///
/// impl SearchTranslator for ById {
///     type Plan = SqlFragment;
///
///     fn translate(&self, query: &SearchQuery, constraints: &[Constraint]) -> Result<SqlFragment> {
///         if !constraints.is_empty() {
///             return Err(Error::UnsupportedSearch { param: "constraint".into(), message: "none supported".into() });
///         }
///         let mut sql = SqlFragment::sql("SELECT pat_id FROM pat WHERE 1=1");
///         for criterion in &query.criteria {
///             let Criterion::Values { param, modifier: None, values } = criterion else {
///                 return Err(Error::UnsupportedSearch { param: "?".into(), message: "unsupported".into() });
///             };
///             if param.code != "_id" {
///                 return Err(Error::UnsupportedSearch { param: param.code.into(), message: "unsupported".into() });
///             }
///             let ids = values.iter().filter_map(|v| match v {
///                 SearchValue::Token(t) => t.code.clone(),
///                 _ => None,
///             });
///             sql.push(" AND pat_id IN (");
///             for (i, id) in ids.enumerate() {
///                 if i > 0 { sql.push(", "); }
///                 sql.push_bind(BindValue::Text(id));
///             }
///             sql.push(")");
///         }
///         Ok(sql)
///     }
/// }
///
/// let id = fhir_facade_core::search::registry::r4_param("Patient", "_id").unwrap();
/// let query = SearchQuery::by_ids("Patient", id, &["7".to_owned(), "9".to_owned()]);
/// let plan = ById.translate(&query, &[]).unwrap();
/// let (sql, binds) = plan.render(|n| format!("${n}"));
/// assert_eq!(sql, "SELECT pat_id FROM pat WHERE 1=1 AND pat_id IN ($1, $2)");
/// assert_eq!(binds, vec![BindValue::Text("7".into()), BindValue::Text("9".into())]);
/// ```
pub trait SearchTranslator: Send + Sync {
    /// What the adapter executes (for the SQL adapters, statements built from [`SqlFragment`]s).
    type Plan;

    /// Translates a search under the request's constraints.
    fn translate(&self, query: &SearchQuery, constraints: &[Constraint]) -> Result<Self::Plan>;
}

/// The page size when the search does not say (the facade normally sets `_count`).
const DEFAULT_COUNT: u32 = 100;

/// Translates searches into SQL for one dialect over a declarative [`SqlSchema`].
///
/// ```
/// use std::sync::Arc;
/// use fhir_facade_core::search::registry::r4_param;
/// use fhir_facade_core::sql::mapping::{IdKind, ParamMapping, SqlSchema, StringColumn, TableMapping};
/// use fhir_facade_core::sql::{Dialect, PgDialect, SqlTranslator};
/// use fhir_facade_core::{SearchQuery, SearchTranslator};
///
/// let patient = TableMapping::new("Patient", "patient", "p", "p.id", IdKind::Integer)
///     .select(["p.id", "p.family"])
///     .param(r4_param("Patient", "family").unwrap(),
///            ParamMapping::String(vec![StringColumn::with_folded("p.family", "p.family_folded")]));
/// let schema = Arc::new(SqlSchema::new([patient]).unwrap());
/// let translator = SqlTranslator::new(&PgDialect, schema.clone());
/// let query = SearchQuery::parse("Patient", "family=Mü&_count=10", &schema.supported_params(),
///                                &Default::default()).unwrap();
/// let plan = translator.translate(&query, &[]).unwrap();
/// let (sql, _) = PgDialect.render(plan.select.as_ref().unwrap());
/// assert_eq!(sql, "SELECT p.id, p.family FROM patient p WHERE (p.family_folded LIKE $1 ESCAPE '\\') \
///                  ORDER BY p.id ASC LIMIT $2 OFFSET $3");
/// ```
#[derive(Debug, Clone)]
pub struct SqlTranslator {
    dialect: &'static dyn Dialect,
    schema: Arc<SqlSchema>,
}

impl SearchTranslator for SqlTranslator {
    type Plan = SqlPlan;

    fn translate(&self, query: &SearchQuery, constraints: &[Constraint]) -> Result<SqlPlan> {
        self.translate_at(query, constraints, OffsetDateTime::now_utc())
    }
}

impl SqlTranslator {
    /// A translator writing `dialect`'s SQL over `schema`.
    pub fn new(dialect: &'static dyn Dialect, schema: Arc<SqlSchema>) -> Self {
        SqlTranslator { dialect, schema }
    }

    /// The database's dialect.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    /// The mappings.
    pub fn schema(&self) -> &Arc<SqlSchema> {
        &self.schema
    }
}

struct Scope<'a> {
    table: &'a TableMapping,
    /// Aliases already in use by enclosing statements.
    outer: Vec<&'a str>,
    /// The request's compartment constraints, which hold for the rows of a chain or `_has`
    /// subquery too: a search must not test data the caller may not see.
    compartments: &'a [Constraint],
}

impl SqlTranslator {
    /// [`translate`](SearchTranslator::translate) with `ap` measured from `now`, so that the SQL is
    /// reproducible.
    pub fn translate_at(
        &self,
        query: &SearchQuery,
        constraints: &[Constraint],
        now: OffsetDateTime,
    ) -> Result<SqlPlan> {
        let (table, mut conditions) = self.conditions(query, constraints, now)?;
        let result = &query.result;
        let count_only = result.count == Some(0) || result.summary == Some(Summary::Count);
        let count = (count_only || result.total == Some(TotalMode::Accurate)).then(|| {
            let mut inner = SqlFragment::sql(format!(
                "SELECT {} FROM {} {}",
                table.id_expr, table.table, table.alias
            ));
            inner.append(where_clause(table, conditions.clone()));
            self.dialect.count_wrap(inner)
        });
        let limit = u64::from(result.count.unwrap_or(DEFAULT_COUNT));
        let keyset = match result.sort.as_slice() {
            [] => Some(false),
            [key] if key.param.code == "_id" => Some(key.descending),
            _ => None,
        };
        let mut offset = 0;
        let mut backward = false;
        match &result.page {
            None => {}
            Some(PageToken::Offset(n)) => offset = *n,
            Some(PageToken::Cursor(edge) | PageToken::Before(edge)) => {
                backward = matches!(result.page, Some(PageToken::Before(_)));
                let param = if backward { "_before" } else { "_cursor" };
                let Some(descending) = keyset else {
                    return Err(Error::invalid_search(
                        param,
                        "a cursor only pages searches sorted by _id",
                    ));
                };
                // Rows after the cursor in search order, or before it when reading backwards.
                let op = if descending != backward { "<" } else { ">" };
                let beyond = match &table.order_key {
                    None => table
                        .id_kind
                        .key(edge)
                        .map(|key| binary(&table.id_expr, op, key)),
                    Some(key) => (key.values)(edge)
                        .filter(|values| values.len() == key.columns.len())
                        .map(|values| beyond_key(&key.columns, values, op)),
                };
                let beyond = beyond
                    .ok_or_else(|| Error::invalid_search(param, "not a cursor of this search"))?;
                conditions.push(beyond);
            }
        }
        let select = (!count_only)
            .then(|| -> Result<SqlFragment> {
                let mut select = rows_of(table);
                select.append(where_clause(table, conditions));
                select.push(format!(" ORDER BY {}", self.order(table, query, backward)?));
                self.dialect.paginate(&mut select, limit + 1, offset);
                Ok(select)
            })
            .transpose()?;
        for statement in select.iter().chain(&count) {
            self.check_bind_count(query, statement)?;
        }
        Ok(SqlPlan {
            select,
            count,
            limit,
            offset,
            keyset: keyset.is_some(),
            after_cursor: matches!(
                result.page,
                Some(PageToken::Cursor(_) | PageToken::Before(_))
            ),
            backward,
        })
    }

    /// The statement for a read by id (or ids): the rows that `query` and `constraints` select,
    /// without order, limit or offset, which a keyed lookup does not need and which would cost
    /// the database a sort.
    pub fn translate_lookup(
        &self,
        query: &SearchQuery,
        constraints: &[Constraint],
    ) -> Result<SqlFragment> {
        let (table, conditions) = self.conditions(query, constraints, OffsetDateTime::now_utc())?;
        let mut select = rows_of(table);
        select.append(where_clause(table, conditions));
        self.check_bind_count(query, &select)?;
        Ok(select)
    }

    /// The table `query` searches and one condition per criterion and constraint.
    fn conditions(
        &self,
        query: &SearchQuery,
        constraints: &[Constraint],
        now: OffsetDateTime,
    ) -> Result<(&TableMapping, Vec<SqlFragment>)> {
        let table = self.table(&query.resource_type, "_type")?;
        let compartments: Vec<Constraint> = constraints
            .iter()
            .filter(|c| matches!(c, Constraint::Compartment { .. }))
            .cloned()
            .collect();
        let scope = Scope {
            table,
            outer: vec![table.alias.as_str()],
            compartments: &compartments,
        };
        let mut conditions = Vec::new();
        for criterion in &query.criteria {
            conditions.push(self.criterion(&scope, criterion, now)?);
        }
        for constraint in constraints {
            conditions.push(self.constraint(&scope, constraint, now)?);
        }
        Ok((table, conditions))
    }

    /// Refuses a statement with more bound values than the database accepts (a client can send
    /// thousands of comma-separated values), naming the parameter with the most values.
    fn check_bind_count(&self, query: &SearchQuery, statement: &SqlFragment) -> Result<()> {
        let binds = statement.binds().count();
        let max = self.dialect.max_bind_values();
        if binds <= max {
            return Ok(());
        }
        let param = query
            .criteria
            .iter()
            .filter_map(|c| match c {
                Criterion::Values { param, values, .. } => Some((values.len(), param.code)),
                _ => None,
            })
            .max()
            .map_or("_query", |(_, code)| code);
        Err(Error::invalid_search(
            param,
            format!("the search needs {binds} values, more than the {max} this database accepts"),
        ))
    }

    fn table(&self, resource_type: &str, param: &str) -> Result<&TableMapping> {
        self.schema
            .table(resource_type)
            .ok_or_else(|| unsupported(param, format!("{resource_type} is not mapped to a table")))
    }

    fn constraint(
        &self,
        scope: &Scope<'_>,
        constraint: &Constraint,
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        match constraint {
            Constraint::Criterion(criterion) => self.criterion(scope, criterion, now),
            Constraint::Compartment {
                compartment_type,
                id,
            } => {
                let table = scope.table;
                if compartment_type != "Patient" {
                    return Err(unsupported(
                        "compartment",
                        format!("the {compartment_type} compartment is not supported"),
                    ));
                }
                if table.resource_type == "Patient" {
                    return Ok(table
                        .id_kind
                        .key(id)
                        .map_or_else(never, |key| binary(&table.id_expr, "=", key)));
                }
                let patient = self.table("Patient", "compartment")?;
                let key = patient.id_kind.key(id);
                let references: Vec<&ReferenceMapping> =
                    crate::compartment::patient_compartment_params(&table.resource_type)
                        .iter()
                        .filter_map(|code| match table.param_mapping(code) {
                            Some(ParamMapping::Reference(r)) if r.target_type == "Patient" => {
                                Some(r)
                            }
                            _ => None,
                        })
                        .collect();
                if references.is_empty() {
                    return Err(unsupported(
                        "compartment",
                        format!(
                            "{} maps no reference that puts it in a Patient compartment",
                            table.resource_type
                        ),
                    ));
                }
                let Some(key) = key else {
                    return Ok(never());
                };
                Ok(or(references
                    .into_iter()
                    .map(|r| binary(&r.fk, "=", key.clone()))
                    .collect()))
            }
        }
    }

    fn criterion(
        &self,
        scope: &Scope<'_>,
        criterion: &Criterion,
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        let table = scope.table;
        match criterion {
            Criterion::Values {
                param,
                modifier,
                values,
            } => match (param_mapping(table, param)?, modifier) {
                (ParamMapping::Custom(custom), _) => custom(criterion, self.dialect),
                (ParamMapping::Reference(reference), Some(Modifier::Identifier)) => {
                    self.reference_identifier(scope, param, reference, values, now)
                }
                (mapping, _) => self.values(table, param, mapping, modifier.as_ref(), values, now),
            },
            Criterion::Missing { param, missing } => {
                let present = match param_mapping(table, param)? {
                    ParamMapping::Custom(custom) => return custom(criterion, self.dialect),
                    mapping => self.presence(table, mapping),
                };
                Ok(if *missing { negate(present) } else { present })
            }
            Criterion::Chain {
                param,
                target_type,
                inner,
            } => self.chain(scope, param, target_type, inner, now),
            Criterion::Has {
                source_type,
                param,
                inner,
            } => self.has(scope, source_type, param, inner, now),
        }
    }

    /// The condition that a row has a value for the parameter.
    fn presence(&self, table: &TableMapping, mapping: &ParamMapping) -> SqlFragment {
        match mapping {
            ParamMapping::Id => SqlFragment::sql("1=1"),
            ParamMapping::String(columns) => {
                or(columns.iter().map(|c| is_not_null(&c.expr)).collect())
            }
            ParamMapping::Token(token) => match &token.code {
                TokenCode::Column(expr) => is_not_null(expr),
                TokenCode::Lookup { code, .. } => token::lookup(token, is_not_null(code)),
            },
            ParamMapping::Date(DateMapping::Point { expr, .. }) | ParamMapping::Number(expr) => {
                is_not_null(expr)
            }
            ParamMapping::Date(DateMapping::Period { start, end, .. }) => {
                or(vec![is_not_null(start), is_not_null(end)])
            }
            ParamMapping::Quantity(q) => is_not_null(&q.value),
            ParamMapping::Reference(r) => is_not_null(&r.fk),
            ParamMapping::Uri(expr) => is_not_null(expr),
            ParamMapping::Composite(composite) => {
                let parts = composite
                    .components
                    .iter()
                    .map(|c| self.presence(table, c))
                    .collect();
                composite::exists_in(composite, and(parts))
            }
            ParamMapping::Custom(_) => {
                unreachable!("custom mappings translate the criterion themselves ({table:?})")
            }
        }
    }

    /// A `Values` criterion on a parameter mapped by `mapping`, translated by its type.
    fn values(
        &self,
        table: &TableMapping,
        param: &SearchParamDef,
        mapping: &ParamMapping,
        modifier: Option<&Modifier>,
        values: &[SearchValue],
        now: OffsetDateTime,
    ) -> Result<SqlFragment> {
        let name = match modifier {
            Some(m) => format!("{}:{}", param.code, m.code()),
            None => param.code.to_owned(),
        };
        let name = name.as_str();
        match mapping {
            ParamMapping::Id => id::values(table, modifier, values, name),
            ParamMapping::String(columns) => self.string_values(columns, modifier, values, name),
            ParamMapping::Token(token) => self.token_values(token, modifier, values, name),
            ParamMapping::Uri(expr) => self.uri_values(expr, modifier, values, name),
            ParamMapping::Reference(reference) => {
                self.reference_values(reference, param, modifier, values, name)
            }
            ParamMapping::Date(date) if modifier.is_none() => {
                self.date_values(date, values, now, name)
            }
            ParamMapping::Number(expr) if modifier.is_none() => number::values(expr, values, name),
            ParamMapping::Quantity(quantity) if modifier.is_none() => {
                self.quantity_values(quantity, values, name)
            }
            ParamMapping::Composite(composite) if modifier.is_none() => {
                self.composite_values(table, param, composite, values, now, name)
            }
            _ => Err(unsupported_modifier(name)),
        }
    }
}

fn param_mapping<'t>(table: &'t TableMapping, param: &SearchParamDef) -> Result<&'t ParamMapping> {
    table.param_mapping(param.code).ok_or_else(|| {
        unsupported(
            param.code,
            format!("not mapped for {}", table.resource_type),
        )
    })
}

/// Rows past `values` in the order of `columns` (`op` is `>` or `<`): `c1 > v1 OR (c1 = v1 AND
/// c2 > v2) ...`, spelt out because SQL Server has no row-value comparison.
fn beyond_key(columns: &[String], values: Vec<BindValue>, op: &str) -> SqlFragment {
    let mut alternatives = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let mut parts: Vec<SqlFragment> = columns[..i]
            .iter()
            .zip(&values)
            .map(|(c, v)| binary(c, "=", v.clone()))
            .collect();
        parts.push(binary(column, op, values[i].clone()));
        alternatives.push(and(parts));
    }
    or(alternatives)
}

/// `SELECT` of the mapped columns from the table and its joins, for statements that fetch rows.
fn rows_of(table: &TableMapping) -> SqlFragment {
    let mut sql = format!(
        "SELECT {} FROM {} {}",
        table.columns.join(", "),
        table.table,
        table.alias
    );
    for join in &table.joins {
        sql.push(' ');
        sql.push_str(join);
    }
    SqlFragment::sql(sql)
}

fn where_clause(table: &TableMapping, conditions: Vec<SqlFragment>) -> SqlFragment {
    let mut all = Vec::new();
    if let Some(filter) = &table.base_filter {
        all.push(SqlFragment::sql(filter.clone()));
    }
    all.extend(conditions);
    let mut sql = SqlFragment::new();
    for (i, condition) in all.into_iter().enumerate() {
        sql.push(if i == 0 { " WHERE (" } else { " AND (" });
        sql.append(condition);
        sql.push(")");
    }
    sql
}
