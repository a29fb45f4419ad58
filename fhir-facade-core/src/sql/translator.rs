//! [`SqlTranslator`]: the default [`SearchTranslator`] over an [`SqlSchema`].
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

use std::sync::Arc;

use time::{Date, OffsetDateTime, Time};

use super::mapping::{
    CompositeMapping, DateMapping, ParamMapping, QuantityMapping, ReferenceMapping, SqlSchema,
    TableMapping, TimeKind, TokenCode, TokenMapping, ValueSource,
};
use super::{Dialect, LikePattern, fold, uri};
use crate::search::{
    Criterion, DateValue, Modifier, NumberValue, PageToken, Prefix, QuantityValue, ReferenceValue,
    SearchParamDef, SearchValue, Summary, TokenSystem, TokenValue, TotalMode,
};
use crate::translate::{BindValue, SearchTranslator, SqlFragment};
use crate::{Constraint, Error, Result, SearchQuery};

/// The page size when the search does not say (the facade normally sets `_count`).
pub const DEFAULT_COUNT: u32 = 100;

/// The statements of one search.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlPlan {
    /// The page's rows: the mapping's columns, ordered, at most `limit + 1` rows (the extra row
    /// only tells that there is a next page and is not returned). `None` when only the count is
    /// asked for (`_count=0`, `_summary=count`).
    pub select: Option<SqlFragment>,
    /// `SELECT COUNT(*)` of all matches, when `_total=accurate` or `_summary=count`.
    pub count: Option<SqlFragment>,
    /// The page size.
    pub limit: u64,
    /// The rows skipped before the page.
    pub offset: u64,
    /// Whether the next page continues after the last id (a keyset cursor) rather than at an
    /// offset; true when the search is ordered by id only.
    pub keyset: bool,
    /// Whether the page was asked for by a keyset cursor (`_cursor` or `_before`), so that a
    /// page before it exists.
    pub after_cursor: bool,
    /// Whether `select` reads backwards from a `_before` cursor: its rows come in reverse
    /// order, and the extra row tells that a page before this one exists.
    pub backward: bool,
}

impl SqlPlan {
    /// How many of the `fetched` rows of `select` belong to the page (the extra one only tells
    /// that more rows follow in the direction read).
    pub fn kept(&self, fetched: usize) -> usize {
        fetched.min(usize::try_from(self.limit).unwrap_or(usize::MAX))
    }

    /// The `next` and `previous` tokens of the page, given how many rows `select` returned
    /// and the FHIR ids of the first and last resources of the page in search order (after
    /// [`backward`](Self::backward) rows are put back in order).
    pub fn links(
        &self,
        fetched: usize,
        first_id: Option<&str>,
        last_id: Option<&str>,
    ) -> (Option<PageToken>, Option<PageToken>) {
        let more = fetched as u64 > self.limit;
        if !self.keyset {
            let next = more.then_some(PageToken::Offset(self.offset + self.limit));
            let previous = (self.offset > 0)
                .then(|| PageToken::Offset(self.offset.saturating_sub(self.limit)));
            return (next, previous);
        }
        let cursor =
            |id: Option<&str>, token: fn(String) -> PageToken| id.map(|i| token(i.to_owned()));
        if self.backward {
            // A page read backwards was reached from the page after it.
            let previous = if more {
                cursor(first_id, PageToken::Before)
            } else {
                None
            };
            (cursor(last_id, PageToken::Cursor), previous)
        } else {
            let next = if more {
                cursor(last_id, PageToken::Cursor)
            } else {
                None
            };
            let previous = if self.after_cursor {
                cursor(first_id, PageToken::Before)
            } else {
                None
            };
            (next, previous)
        }
    }
}

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
/// let translator = SqlTranslator { dialect: &PgDialect, schema: schema.clone() };
/// let query = SearchQuery::parse("Patient", "family=Mü&_count=10", &schema.supported_params(),
///                                &Default::default()).unwrap();
/// let plan = translator.translate(&query, &[]).unwrap();
/// let (sql, _) = PgDialect.render(plan.select.as_ref().unwrap());
/// assert_eq!(sql, "SELECT p.id, p.family FROM patient p WHERE (p.family_folded LIKE $1 ESCAPE '\\') \
///                  ORDER BY p.id ASC LIMIT $2 OFFSET $3");
/// ```
#[derive(Debug, Clone)]
pub struct SqlTranslator {
    /// The database's dialect.
    pub dialect: &'static dyn Dialect,
    /// The mappings.
    pub schema: Arc<SqlSchema>,
}

impl SearchTranslator for SqlTranslator {
    type Plan = SqlPlan;

    fn translate(&self, query: &SearchQuery, constraints: &[Constraint]) -> Result<SqlPlan> {
        self.translate_at(query, constraints, OffsetDateTime::now_utc())
    }
}

fn unsupported(param: impl Into<String>, message: impl Into<String>) -> Error {
    Error::UnsupportedSearch {
        param: param.into(),
        message: message.into(),
    }
}

fn never() -> SqlFragment {
    SqlFragment::sql("1=0")
}

/// `(a OP b OP …)`; one part stands alone.
fn join(mut parts: Vec<SqlFragment>, op: &str) -> SqlFragment {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let mut out = SqlFragment::sql("(");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(format!(" {op} "));
        }
        out.append(part);
    }
    out.push(")");
    out
}

fn or(parts: Vec<SqlFragment>) -> SqlFragment {
    if parts.is_empty() {
        return never();
    }
    join(parts, "OR")
}

fn and(parts: Vec<SqlFragment>) -> SqlFragment {
    if parts.is_empty() {
        return SqlFragment::sql("1=1");
    }
    join(parts, "AND")
}

/// True when `condition` is false or unknown: SQL's `NOT` keeps `NULL` unknown, which would drop
/// the rows without a value that `:not` and `ne` must reason about explicitly.
fn negate(condition: SqlFragment) -> SqlFragment {
    let mut out = SqlFragment::sql("(CASE WHEN ");
    out.append(condition);
    out.push(" THEN 1 ELSE 0 END) = 0");
    out
}

fn binary(expr: &str, op: &str, value: BindValue) -> SqlFragment {
    let mut out = SqlFragment::sql(format!("{expr} {op} "));
    out.push_bind(value);
    out
}

fn with_binary(expr: &str, op: &str, value: SqlFragment) -> SqlFragment {
    let mut out = SqlFragment::sql(format!("{expr} {op} "));
    out.append(value);
    out
}

fn is_not_null(expr: &str) -> SqlFragment {
    SqlFragment::sql(format!("{expr} IS NOT NULL"))
}

/// Request text that can be stored: see the module documentation on NUL characters.
fn storable(text: &str) -> Option<BindValue> {
    (!text.contains('\0')).then(|| BindValue::Text(text.to_owned()))
}

/// Which end of a stored value's range is compared with an instant, and how.
#[derive(Debug, Clone, Copy)]
enum Bound {
    StartGe,
    StartLt,
    EndLe,
    EndGt,
}

/// The first day starting at or after `x`.
fn ceil_date(x: OffsetDateTime) -> Option<Date> {
    if x.time() == Time::MIDNIGHT {
        Some(x.date())
    } else {
        x.date().next_day()
    }
}

fn ymd(d: Date, month: bool, day: bool) -> String {
    let m = if month { u8::from(d.month()) } else { 0 };
    let dd = if day { d.day() } else { 0 };
    format!("{:04}{m:02}{dd:02}", d.year())
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
                let key = table
                    .id_kind
                    .key(edge)
                    .ok_or_else(|| Error::invalid_search(param, "not a cursor of this search"))?;
                // Rows after the cursor in search order, or before it when reading backwards.
                let op = if descending != backward { "<" } else { ">" };
                conditions.push(binary(&table.id_expr, op, key));
            }
        }
        let select = (!count_only)
            .then(|| -> Result<SqlFragment> {
                let mut select = SqlFragment::sql(format!(
                    "SELECT {} FROM {} {}",
                    table.columns.join(", "),
                    table.table,
                    table.alias
                ));
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

    /// The `ORDER BY` list; `reverse` flips the id order, which is the whole order of a keyset
    /// search (only those read backwards).
    fn order(&self, table: &TableMapping, query: &SearchQuery, reverse: bool) -> Result<String> {
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
            } => {
                let ParamMapping::Reference(reference) = param_mapping(table, param)? else {
                    return Err(unsupported(param.code, "not mapped as a reference"));
                };
                if reference.target_type != *target_type {
                    return Ok(never());
                }
                let target = self.table(target_type, param.code)?;
                let link = SqlFragment::sql(format!("{} = {}", target.id_expr, reference.fk));
                self.subquery(scope, target, link, inner, param.code, now)
            }
            Criterion::Has {
                source_type,
                param,
                inner,
            } => {
                let source = self.table(source_type, "_has")?;
                let ParamMapping::Reference(reference) = param_mapping(source, param)? else {
                    return Err(unsupported(param.code, "not mapped as a reference"));
                };
                if reference.target_type != table.resource_type {
                    return Ok(never());
                }
                let link = SqlFragment::sql(format!("{} = {}", reference.fk, table.id_expr));
                self.subquery(scope, source, link, inner, "_has", now)
            }
        }
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
    fn reference_identifier(
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

    /// The condition that a row has a value for the parameter.
    fn presence(&self, table: &TableMapping, mapping: &ParamMapping) -> SqlFragment {
        match mapping {
            ParamMapping::Id => SqlFragment::sql("1=1"),
            ParamMapping::String(columns) => {
                or(columns.iter().map(|c| is_not_null(&c.expr)).collect())
            }
            ParamMapping::Token(token) => match &token.code {
                TokenCode::Column(expr) => is_not_null(expr),
                TokenCode::Lookup { code, .. } => lookup(token, is_not_null(code)),
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
                exists_in(composite, and(parts))
            }
            ParamMapping::Custom(_) => {
                unreachable!("custom mappings translate the criterion themselves ({table:?})")
            }
        }
    }

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
        let misfit = || {
            unsupported(
                name.clone(),
                "the value does not fit the parameter's mapping",
            )
        };
        let d = self.dialect;
        let mut alternatives = Vec::new();
        match (mapping, modifier) {
            (ParamMapping::Id, None | Some(Modifier::Not)) => {
                let mut keys = Vec::new();
                for value in values {
                    let SearchValue::Token(TokenValue {
                        system: TokenSystem::Any,
                        code: Some(id),
                    }) = value
                    else {
                        return Err(misfit());
                    };
                    keys.extend(table.id_kind.key(id));
                }
                let matched = if keys.is_empty() {
                    never()
                } else {
                    let mut list = SqlFragment::sql(format!("{} IN (", table.id_expr));
                    for (i, key) in keys.into_iter().enumerate() {
                        if i > 0 {
                            list.push(", ");
                        }
                        list.push_bind(key);
                    }
                    list.push(")");
                    list
                };
                return Ok(if modifier.is_some() {
                    negate(matched)
                } else {
                    matched
                });
            }
            (ParamMapping::String(columns), None | Some(Modifier::Contains | Modifier::Exact)) => {
                for value in values {
                    let SearchValue::String(text) = value else {
                        return Err(misfit());
                    };
                    if text.contains('\0') {
                        alternatives.push(never());
                        continue;
                    }
                    for column in columns {
                        alternatives.push(match (modifier, &column.folded) {
                            (Some(Modifier::Exact), _) => {
                                d.exact_eq(&column.expr, BindValue::Text(text.clone()))
                            }
                            (m, folded) => {
                                let pattern = if m.is_some() {
                                    LikePattern::Contains
                                } else {
                                    LikePattern::StartsWith
                                };
                                match folded {
                                    Some(folded) => d.like(folded, pattern, &fold(text), false),
                                    None => d.like(&column.expr, pattern, text, true),
                                }
                            }
                        });
                    }
                }
            }
            (ParamMapping::Token(token), None | Some(Modifier::Not)) => {
                let code = code_expr(token);
                for value in values {
                    let SearchValue::Token(value) = value else {
                        return Err(misfit());
                    };
                    alternatives.push(self.token_match(token, code, value));
                }
                let matched = lookup(token, or(alternatives));
                return Ok(if modifier.is_some() {
                    negate(matched)
                } else {
                    matched
                });
            }
            (ParamMapping::Token(token), Some(Modifier::In | Modifier::NotIn)) => {
                let code = code_expr(token);
                // A repeated URL would repeat its whole expansion; only the schema's value sets
                // then bound the number of bound values, not the client.
                let mut expanded: Vec<&str> = Vec::new();
                for value in values {
                    let SearchValue::String(url) = value else {
                        return Err(misfit());
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
                return Ok(if modifier == Some(&Modifier::NotIn) {
                    negate(matched)
                } else {
                    matched
                });
            }
            (ParamMapping::Token(_), Some(Modifier::Above | Modifier::Below)) => {
                return Err(unsupported(
                    name,
                    "subsumption needs a terminology server, which this facade does not have; \
                     :in with a value set declared in the mapping can list the codes instead",
                ));
            }
            (ParamMapping::Reference(_), Some(Modifier::Above | Modifier::Below)) => {
                return Err(unsupported(name, "reference hierarchies are not supported"));
            }
            (ParamMapping::Uri(expr), None | Some(Modifier::Below | Modifier::Above)) => {
                for value in values {
                    let SearchValue::String(text) = value else {
                        return Err(misfit());
                    };
                    if text.contains('\0') {
                        alternatives.push(never());
                        continue;
                    }
                    alternatives.push(match modifier {
                        None => d.exact_eq(expr, BindValue::Text(text.clone())),
                        Some(Modifier::Below) => {
                            let prefix = uri::below_prefix(text);
                            let under = d.like(expr, LikePattern::StartsWith, &prefix, false);
                            if prefix == *text {
                                under
                            } else {
                                or(vec![d.exact_eq(expr, BindValue::Text(text.clone())), under])
                            }
                        }
                        _ => {
                            let above = uri::ancestors(text)
                                .map_err(|msg| Error::invalid_search(name.clone(), msg))?;
                            or(above
                                .into_iter()
                                .map(|a| d.exact_eq(expr, BindValue::Text(a)))
                                .collect())
                        }
                    });
                }
            }
            (ParamMapping::Token(token), Some(Modifier::Text)) => {
                let Some(text_expr) = &token.text else {
                    return Err(unsupported(name, "no display text is mapped"));
                };
                for value in values {
                    let SearchValue::String(text) = value else {
                        return Err(misfit());
                    };
                    alternatives.push(if text.contains('\0') {
                        never()
                    } else {
                        d.like(text_expr, LikePattern::StartsWith, text, true)
                    });
                }
                return Ok(lookup(token, or(alternatives)));
            }
            (ParamMapping::Token(token), Some(Modifier::OfType)) => {
                let Some((type_system, type_code)) = &token.identifier_type else {
                    return Err(unsupported(name, "no identifier type is mapped"));
                };
                let code = code_expr(token);
                for value in values {
                    let SearchValue::OfType {
                        system,
                        code: of_type,
                        value,
                    } = value
                    else {
                        return Err(misfit());
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
                return Ok(lookup(token, or(alternatives)));
            }
            (ParamMapping::Date(date), None) => {
                for value in values {
                    let SearchValue::Date(value) = value else {
                        return Err(misfit());
                    };
                    alternatives.push(self.date_match(date, value, now));
                }
            }
            (ParamMapping::Number(expr), None) => {
                for value in values {
                    let SearchValue::Number(value) = value else {
                        return Err(misfit());
                    };
                    alternatives.push(number_match(expr, value));
                }
            }
            (ParamMapping::Quantity(quantity), None) => {
                for value in values {
                    let SearchValue::Quantity(value) = value else {
                        return Err(misfit());
                    };
                    alternatives.push(self.quantity_match(quantity, value));
                }
            }
            (ParamMapping::Composite(composite), None) => {
                if composite.components.len() != param.components.len() {
                    return Err(unsupported(
                        name,
                        "the mapping does not map each component of the composite",
                    ));
                }
                for value in values {
                    let SearchValue::Composite(parts) = value else {
                        return Err(misfit());
                    };
                    let mut matched = Vec::new();
                    for ((component, mapping), part) in param
                        .components
                        .iter()
                        .zip(&composite.components)
                        .zip(parts)
                    {
                        let def =
                            crate::search::registry::r4_param(&table.resource_type, component.code)
                                .ok_or_else(misfit)?;
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
            }
            (ParamMapping::Reference(reference), None | Some(Modifier::Type(_))) => {
                let target = self.table(&reference.target_type, param.code)?;
                let wanted = match modifier {
                    Some(Modifier::Type(t)) => Some(t.as_str()),
                    _ => None,
                };
                for value in values {
                    let SearchValue::Reference(value) = value else {
                        return Err(misfit());
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
            }
            _ => {
                return Err(unsupported(
                    name,
                    "this modifier is not supported on this parameter",
                ));
            }
        }
        Ok(or(alternatives))
    }

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

    fn quantity_match(&self, q: &QuantityMapping, value: &QuantityValue) -> SqlFragment {
        let mut parts = vec![number_match(&q.value, &value.number)];
        for (wanted, source) in [(&value.system, &q.system), (&value.code, &q.code)] {
            let Some(wanted) = wanted else { continue };
            match source {
                ValueSource::Constant(c) if c == wanted => {}
                ValueSource::Column(col) => match storable(wanted) {
                    Some(w) => parts.push(self.dialect.exact_eq(col, w)),
                    None => return never(),
                },
                _ => return never(),
            }
        }
        and(parts)
    }

    /// [`DateValue::matches`] on the stored range `[start, end)`.
    fn date_match(
        &self,
        date: &DateMapping,
        value: &DateValue,
        now: OffsetDateTime,
    ) -> SqlFragment {
        let bound = |b: Bound, x: OffsetDateTime| self.bound(date, b, x);
        let (s, e) = (value.range.start, value.range.end);
        let eq = || and(vec![bound(Bound::StartGe, s), bound(Bound::EndLe, e)]);
        let matched = match value.prefix {
            Prefix::Eq => eq(),
            Prefix::Ne => negate(eq()),
            Prefix::Gt => bound(Bound::EndGt, e),
            Prefix::Lt => bound(Bound::StartLt, s),
            Prefix::Ge => or(vec![bound(Bound::EndGt, e), eq()]),
            Prefix::Le => or(vec![bound(Bound::StartLt, s), eq()]),
            Prefix::Sa => bound(Bound::StartGe, e),
            Prefix::Eb => bound(Bound::EndLe, s),
            Prefix::Ap => {
                let margin = (now - s).abs() / 10;
                let mut parts = Vec::new();
                if let Some(low) = s.checked_sub(margin) {
                    parts.push(bound(Bound::EndGt, low));
                }
                if let Some(high) = e.checked_add(margin) {
                    parts.push(bound(Bound::StartLt, high));
                }
                and(parts)
            }
        };
        let presence = match date {
            DateMapping::Point { expr, .. } if value.prefix == Prefix::Ne => is_not_null(expr),
            DateMapping::Point { .. } => return matched,
            DateMapping::Period { start, end, .. } => {
                or(vec![is_not_null(start), is_not_null(end)])
            }
        };
        and(vec![presence, matched])
    }

    fn bound(&self, date: &DateMapping, b: Bound, x: OffsetDateTime) -> SqlFragment {
        match date {
            DateMapping::Point { expr, kind } => self.point_bound(expr, *kind, b, x),
            DateMapping::Period { start, end, kind } => match b {
                Bound::StartGe => self.point_bound(start, *kind, b, x),
                Bound::StartLt => or(vec![
                    SqlFragment::sql(format!("{start} IS NULL")),
                    self.point_bound(start, *kind, b, x),
                ]),
                Bound::EndLe => self.point_bound(end, *kind, b, x),
                Bound::EndGt => or(vec![
                    SqlFragment::sql(format!("{end} IS NULL")),
                    self.point_bound(end, *kind, b, x),
                ]),
            },
        }
    }

    /// One comparison of a stored point's range with the instant `x`; `NULL` compares false.
    fn point_bound(&self, expr: &str, kind: TimeKind, b: Bound, x: OffsetDateTime) -> SqlFragment {
        match kind {
            TimeKind::Instant => {
                let op = match b {
                    Bound::StartGe | Bound::EndGt => ">=",
                    Bound::StartLt | Bound::EndLe => "<",
                };
                with_binary(expr, op, self.dialect.utc_timestamp_param(x))
            }
            TimeKind::Date => match (b, ceil_date(x)) {
                (Bound::StartGe, Some(c)) => binary(expr, ">=", BindValue::Date(c)),
                (Bound::StartLt, Some(c)) => binary(expr, "<", BindValue::Date(c)),
                (Bound::StartGe, None) => never(),
                (Bound::StartLt, None) => is_not_null(expr),
                (Bound::EndLe, _) => binary(expr, "<", BindValue::Date(x.date())),
                (Bound::EndGt, _) => binary(expr, ">=", BindValue::Date(x.date())),
            },
            TimeKind::LegacyYmd => legacy_bound(expr, b, x),
        }
    }
}

/// A `CHAR(8)` `YYYYMMDD` value with `00` for unknown parts, compared as text: the range of such
/// a value starts where its text, read with `00` as `01`, says, and text order is time order.
fn legacy_bound(expr: &str, b: Bound, x: OffsetDateTime) -> SqlFragment {
    let text = |s: String| BindValue::Text(s);
    match b {
        Bound::StartGe | Bound::StartLt => {
            let op = if matches!(b, Bound::StartGe) {
                ">="
            } else {
                "<"
            };
            // The smallest text whose range starts on or after the first day from `x` on: a
            // partial date starting that day (`YYYY0000` on 1 January, `YYYYMM00` on the 1st)
            // qualifies too.
            match ceil_date(x) {
                Some(c) => {
                    let key = ymd(c, c.day() != 1 || u8::from(c.month()) != 1, c.day() != 1);
                    binary(expr, op, text(key))
                }
                None if op == "<" => is_not_null(expr),
                None => never(),
            }
        }
        Bound::EndLe | Bound::EndGt => {
            // A range ends by the day `f` when its text is below `f`'s, except the partial dates
            // of `f`'s own month and year, which sort below it but end after it.
            let f = x.date();
            let (key, excluded) = if f.day() == 1 && u8::from(f.month()) == 1 {
                (ymd(f, false, false), vec![])
            } else if f.day() == 1 {
                (ymd(f, true, false), vec![ymd(f, false, false)])
            } else {
                (
                    ymd(f, true, true),
                    vec![ymd(f, true, false), ymd(f, false, false)],
                )
            };
            let le = matches!(b, Bound::EndLe);
            let mut out = binary(expr, if le { "<" } else { ">=" }, text(key));
            if !excluded.is_empty() {
                out.push(format!(
                    " {} {expr} {}IN (",
                    if le { "AND" } else { "OR" },
                    if le { "NOT " } else { "" }
                ));
                for (i, k) in excluded.into_iter().enumerate() {
                    if i > 0 {
                        out.push(", ");
                    }
                    out.push_bind(text(k));
                }
                out.push(")");
                let mut wrapped = SqlFragment::sql("(");
                wrapped.append(out);
                wrapped.push(")");
                return wrapped;
            }
            out
        }
    }
}

/// [`NumberValue::matches`] on a numeric expression.
fn number_match(expr: &str, value: &NumberValue) -> SqlFragment {
    let dec = BindValue::Decimal;
    let eq = || {
        and(vec![
            binary(expr, ">=", dec(value.low)),
            binary(expr, "<", dec(value.high)),
        ])
    };
    match value.prefix {
        Prefix::Eq => eq(),
        Prefix::Ne => and(vec![is_not_null(expr), negate(eq())]),
        Prefix::Gt | Prefix::Sa => binary(expr, ">", dec(value.value)),
        Prefix::Lt | Prefix::Eb => binary(expr, "<", dec(value.value)),
        Prefix::Ge => binary(expr, ">=", dec(value.value)),
        Prefix::Le => binary(expr, "<=", dec(value.value)),
        Prefix::Ap => {
            let margin = value.value.abs() / rust_decimal::Decimal::TEN;
            match (
                value.value.checked_sub(margin),
                value.value.checked_add(margin),
            ) {
                (Some(low), Some(high)) => or(vec![
                    eq(),
                    and(vec![
                        binary(expr, ">=", dec(low)),
                        binary(expr, "<=", dec(high)),
                    ]),
                ]),
                _ => eq(),
            }
        }
    }
}

/// The expression holding a token's code: a column of the searched table, or of the lookup
/// table inside [`lookup`]'s `EXISTS`.
fn code_expr(token: &TokenMapping) -> &str {
    match &token.code {
        TokenCode::Column(expr) | TokenCode::Lookup { code: expr, .. } => expr,
    }
}

/// Wraps a condition on a composite's child table in its `EXISTS`.
fn exists_in(composite: &CompositeMapping, condition: SqlFragment) -> SqlFragment {
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

/// Wraps a condition on a lookup table's columns in its `EXISTS`.
fn lookup(token: &TokenMapping, condition: SqlFragment) -> SqlFragment {
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

fn param_mapping<'t>(table: &'t TableMapping, param: &SearchParamDef) -> Result<&'t ParamMapping> {
    table.param_mapping(param.code).ok_or_else(|| {
        unsupported(
            param.code,
            format!("not mapped for {}", table.resource_type),
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn keys(expr: &str, b: Bound, x: OffsetDateTime) -> (String, Vec<BindValue>) {
        legacy_bound(expr, b, x).render(|_| "?".into())
    }

    /// Evaluates a legacy bound on one stored text, as the database would.
    fn holds(stored: &str, b: Bound, x: OffsetDateTime) -> bool {
        let (sql, binds) = keys("c", b, x);
        let t = |i: usize| match &binds[i] {
            BindValue::Text(s) => s.as_str(),
            other => panic!("{other:?}"),
        };
        match sql.as_str() {
            "c >= ?" => stored >= t(0),
            "c < ?" => stored < t(0),
            "(c < ? AND c NOT IN (?))" => stored < t(0) && stored != t(1),
            "(c >= ? OR c IN (?))" => stored >= t(0) || stored == t(1),
            "(c < ? AND c NOT IN (?, ?))" => stored < t(0) && stored != t(1) && stored != t(2),
            "(c >= ? OR c IN (?, ?))" => stored >= t(0) || stored == t(1) || stored == t(2),
            other => panic!("{other}"),
        }
    }

    /// The range a legacy text stands for.
    fn legacy_range(stored: &str) -> crate::search::DateRange {
        let (y, m, d) = (&stored[..4], &stored[4..6], &stored[6..]);
        let text = match (m, d) {
            ("00", _) => y.to_owned(),
            (_, "00") => format!("{y}-{m}"),
            _ => format!("{y}-{m}-{d}"),
        };
        crate::search::DateRange::parse(&text).unwrap().0
    }

    #[test]
    fn legacy_dates_match_like_date_ranges() {
        let stored = [
            "19791231", "19800000", "19800101", "19800102", "19800500", "19800501", "19800515",
            "19800531", "19800600", "19801231", "19810000", "19810101",
        ];
        let bounds = [
            datetime!(1980-01-01 00:00 UTC),
            datetime!(1980-01-01 10:00 UTC),
            datetime!(1980-05-01 00:00 UTC),
            datetime!(1980-05-15 00:00 UTC),
            datetime!(1980-05-15 12:00 UTC),
            datetime!(1980-06-01 00:00 UTC),
            datetime!(1981-01-01 00:00 UTC),
        ];
        for s in stored {
            let r = legacy_range(s);
            for x in bounds {
                assert_eq!(
                    holds(s, Bound::StartGe, x),
                    r.start >= x,
                    "{s} start >= {x}"
                );
                assert_eq!(holds(s, Bound::StartLt, x), r.start < x, "{s} start < {x}");
                assert_eq!(holds(s, Bound::EndLe, x), r.end <= x, "{s} end <= {x}");
                assert_eq!(holds(s, Bound::EndGt, x), r.end > x, "{s} end > {x}");
            }
        }
    }

    #[test]
    fn of_type_compares_identifier_types_from_constants_or_columns() {
        use crate::search::registry::r4_param;
        use crate::sql::PgDialect;
        use crate::sql::mapping::IdKind;
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
            SqlTranslator {
                dialect: &PgDialect,
                schema: Arc::new(SqlSchema::new([table]).unwrap()),
            }
        };
        let render = |translator: &SqlTranslator, value: &str| {
            let schema = translator.schema.clone();
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

    #[test]
    fn composites_match_all_components_on_one_child_row() {
        use crate::search::registry::r4_param;
        use crate::sql::PgDialect;
        use crate::sql::mapping::IdKind;
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
        let translator = SqlTranslator {
            dialect: &PgDialect,
            schema: schema.clone(),
        };
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

    #[test]
    fn sorting_by_id_uses_the_id_expression_whatever_maps_id() {
        use super::super::PgDialect;
        use crate::search::registry::r4_param;
        use crate::sql::mapping::{CustomFn, IdKind};
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
        let translator = SqlTranslator {
            dialect: &PgDialect,
            schema: schema.clone(),
        };
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
    fn paging_tokens() {
        let cursor = |id: &str| Some(PageToken::Cursor(id.into()));
        let before = |id: &str| Some(PageToken::Before(id.into()));
        let plan = SqlPlan {
            select: None,
            count: None,
            limit: 2,
            offset: 4,
            keyset: false,
            after_cursor: false,
            backward: false,
        };
        let (a, b) = (Some("a"), Some("b"));
        assert_eq!(plan.links(2, a, b), (None, Some(PageToken::Offset(2))));
        assert_eq!(
            plan.links(3, a, b),
            (Some(PageToken::Offset(6)), Some(PageToken::Offset(2)))
        );
        let first = SqlPlan {
            keyset: true,
            offset: 0,
            ..plan
        };
        assert_eq!(first.links(3, a, b), (cursor("b"), None));
        assert_eq!(first.links(2, a, b), (None, None));
        let later = SqlPlan {
            after_cursor: true,
            ..first.clone()
        };
        assert_eq!(later.links(3, a, b), (cursor("b"), before("a")));
        assert_eq!(later.links(1, a, a), (None, before("a")));
        let back = SqlPlan {
            backward: true,
            ..later
        };
        assert_eq!(back.links(3, a, b), (cursor("b"), before("a")));
        assert_eq!(back.links(2, a, b), (cursor("b"), None));
        assert_eq!(back.kept(3), 2);
    }
}
