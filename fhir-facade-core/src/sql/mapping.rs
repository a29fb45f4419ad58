//! A declarative mapping from FHIR search parameters to a legacy schema.
//!
//! A [`TableMapping`] says, for one resource type, which table holds it, how its FHIR id maps to
//! the table's key, and for each supported search parameter which columns answer it
//! ([`ParamMapping`]). An [`SqlSchema`] gathers the mappings of all types so that chains and
//! `_has` resolve through the target's mapping. [`SqlTranslator`](super::SqlTranslator) writes the
//! SQL; nobody writes SQL per parameter.
//!
//! Every expression in a mapping is SQL text written by the integrator, never by the client; it
//! refers to the table through the mapping's alias (`p.family`).
//!
//! ```
//! use fhir_facade_core::search::registry::r4_param;
//! use fhir_facade_core::sql::mapping::{IdKind, ParamMapping, SqlSchema, StringColumn, TableMapping};
//!
//! let patient = TableMapping::new("Patient", "patient", "p", "p.pat_id", IdKind::Integer)
//!     .filter("p.geloescht = 0")
//!     .select(["p.pat_id", "p.name"])
//!     .param(r4_param("Patient", "_id").unwrap(), ParamMapping::Id)
//!     .param(
//!         r4_param("Patient", "family").unwrap(),
//!         ParamMapping::String(vec![StringColumn::new("p.name")]),
//!     );
//! let schema = SqlSchema::new([patient]).unwrap();
//! assert!(schema.table("Patient").is_some());
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::Dialect;
use crate::search::{Criterion, SearchParamDef};
use crate::sql::{BindValue, SqlFragment};
use crate::{Error, Result};

/// How the table's key holds a FHIR id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdKind {
    /// An integer key; the FHIR id is its decimal form (`42`).
    Integer,
    /// A text key; the FHIR id is the key itself.
    Text,
    /// An integer key behind a prefix: with `"meas-"`, the FHIR id `meas-42` is key 42.
    PrefixedInteger(String),
}

impl IdKind {
    /// The key for a FHIR id, or `None` when the id cannot be one of this table's keys (then it
    /// matches nothing; it is never sent to the database to fail there).
    ///
    /// Integer keys only accept their canonical decimal form (`42`, not `042` or `+42`), so that
    /// each row has exactly one FHIR id.
    pub fn key(&self, fhir_id: &str) -> Option<BindValue> {
        let integer = |digits: &str| {
            digits
                .parse::<i64>()
                .ok()
                .filter(|n| n.to_string() == digits)
                .map(BindValue::Int)
        };
        match self {
            IdKind::Integer => integer(fhir_id),
            IdKind::Text => Some(BindValue::Text(fhir_id.to_owned())),
            IdKind::PrefixedInteger(prefix) => {
                fhir_id.strip_prefix(prefix.as_str()).and_then(integer)
            }
        }
    }

    /// The FHIR id of a row whose key, as text, is `key` (for row mappers).
    pub fn fhir_id(&self, key: &str) -> String {
        match self {
            IdKind::Integer | IdKind::Text => key.to_owned(),
            IdKind::PrefixedInteger(prefix) => format!("{prefix}{key}"),
        }
    }
}

/// One column (or expression) searched by a string parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringColumn {
    /// The expression holding the text as stored.
    pub expr: String,
    /// An expression the schema keeps already folded as [`fold`](super::fold) folds (lower case,
    /// no accents), often indexed. When set, default and `:contains` searches compare it with the
    /// folded value and the database folds nothing.
    pub folded: Option<String>,
}

impl StringColumn {
    /// A column folded at search time.
    pub fn new(expr: impl Into<String>) -> Self {
        StringColumn {
            expr: expr.into(),
            folded: None,
        }
    }

    /// A column with a pre-folded companion expression.
    pub fn with_folded(expr: impl Into<String>, folded: impl Into<String>) -> Self {
        StringColumn {
            expr: expr.into(),
            folded: Some(folded.into()),
        }
    }
}

/// Where a value's system (tokens) or unit (quantities) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueSource {
    /// Every row has this value (a column holding only LOINC codes: `http://loinc.org`).
    Constant(String),
    /// An expression per row.
    Column(String),
    /// The schema stores none.
    None,
}

impl From<&str> for ValueSource {
    /// A constant.
    fn from(value: &str) -> Self {
        ValueSource::Constant(value.to_owned())
    }
}

impl From<String> for ValueSource {
    /// A constant.
    fn from(value: String) -> Self {
        ValueSource::Constant(value)
    }
}

/// Where a token's code is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenCode {
    /// An expression on the searched table.
    Column(String),
    /// A lookup table: the code matches when a row of `from` joined by `join` has it, as in
    /// `EXISTS (SELECT 1 FROM loinc_map m WHERE m.local = l.labcode AND m.loinc = ?)`.
    Lookup {
        /// The `FROM` item, with its alias (`loinc_map m`).
        from: String,
        /// The join condition to the searched table (`m.local = l.labcode`).
        join: String,
        /// The code expression on the lookup table (`m.loinc`).
        code: String,
    },
}

/// A token parameter's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMapping {
    /// Where the code is.
    pub code: TokenCode,
    /// The code's system. For a [`TokenCode::Lookup`] a column refers to the lookup table.
    pub system: ValueSource,
    /// The display text, for `:text` (folded starts-with, like a string parameter).
    pub text: Option<String>,
    /// For identifiers: where the identifier type (system, code) comes from, for `:of-type`:
    /// constants when every value of this column has the same type, or columns (of the searched
    /// table, or of the lookup table for a [`TokenCode::Lookup`]) when each row has its own.
    pub identifier_type: Option<(ValueSource, ValueSource)>,
}

impl TokenMapping {
    /// A code column with the given system and no text or identifier type.
    pub fn new(code: TokenCode, system: ValueSource) -> Self {
        TokenMapping {
            code,
            system,
            text: None,
            identifier_type: None,
        }
    }
}

/// How a column holds a point in time, read as the range it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeKind {
    /// A timestamp holding UTC wall-clock time (see
    /// [`Dialect::utc_timestamp_param`]); it stands for the range of its own resolution, which is
    /// taken to be finer than any search value.
    Instant,
    /// A calendar date: the whole day, in UTC.
    Date,
    /// Legacy text `YYYYMMDD` (`CHAR(8)`) where month or day `00` means unknown: `19800500` is
    /// all of May 1980, `19800000` all of 1980. Other malformed text is compared as is.
    LegacyYmd,
}

/// A date parameter's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateMapping {
    /// One column.
    Point {
        /// The expression.
        expr: String,
        /// How it stores the time.
        kind: TimeKind,
    },
    /// A period: `start` to `end` inclusive; a `NULL` end is ongoing, a `NULL` start unbounded.
    Period {
        /// The start expression.
        start: String,
        /// The end expression.
        end: String,
        /// How both store the time.
        kind: TimeKind,
    },
}

/// A quantity parameter's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityMapping {
    /// The numeric value.
    pub value: String,
    /// The unit's system (`http://unitsofmeasure.org`).
    pub system: ValueSource,
    /// The unit's code (`mg/dL`).
    pub code: ValueSource,
}

/// A reference parameter's storage: a foreign key to one mapped resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceMapping {
    /// The foreign key expression, holding the target's key.
    pub fk: String,
    /// The resource type referred to; its [`TableMapping`] in the schema says how ids map to keys.
    pub target_type: String,
    /// The code of the target's token parameter that holds the identifier this reference
    /// exposes as `Reference.identifier` (usually `identifier`), or `None` when it exposes none.
    ///
    /// A legacy schema stores a reference as a foreign key, never as an identifier, so
    /// `subject:identifier=system|value` is answered by following the key: it matches when the
    /// referenced row matches `identifier=system|value` on the target's mapping (an `EXISTS`
    /// sub-query, like a chain). The row mapper must render `Reference.identifier` from the
    /// same value that parameter searches, so that what a client reads and what it can search
    /// for agree. Without a declaration, `:identifier` fails with a 400.
    pub identifier: Option<String>,
}

impl ReferenceMapping {
    /// A foreign key `fk` to `target_type`, exposing no identifier.
    pub fn new(fk: impl Into<String>, target_type: impl Into<String>) -> Self {
        ReferenceMapping {
            fk: fk.into(),
            target_type: target_type.into(),
            identifier: None,
        }
    }

    /// Exposes the target's token parameter `code` as the reference's identifier (see
    /// [`identifier`](ReferenceMapping::identifier)).
    #[must_use]
    pub fn with_identifier(mut self, code: impl Into<String>) -> Self {
        self.identifier = Some(code.into());
        self
    }
}

/// A composite parameter's storage: one mapping per component, in the definition's order, that
/// must all match on the same row — of the searched table, or of a child table such as the
/// components of an Observation (`befund_komponente c` joined by `c.befund_id = o.befund_id`).
/// Component mappings refer to that row's alias.
#[derive(Debug, Clone)]
pub struct CompositeMapping {
    /// The child table (`FROM` item with alias) and its join condition to the searched table;
    /// `None` when the components are columns of the searched table.
    pub from: Option<(String, String)>,
    /// The components' mappings.
    pub components: Vec<ParamMapping>,
}

/// The signature of a [`ParamMapping::Custom`] translation.
pub type CustomFn = dyn Fn(&Criterion, &dyn Dialect) -> Result<SqlFragment> + Send + Sync;

/// How one search parameter maps to the schema.
#[derive(Clone)]
#[non_exhaustive]
pub enum ParamMapping {
    /// `_id`: the table's id expression.
    Id,
    /// A string parameter over one or more expressions, any of which may match.
    String(Vec<StringColumn>),
    /// A token parameter.
    Token(TokenMapping),
    /// A date parameter (also `_lastUpdated`).
    Date(DateMapping),
    /// A number parameter over a numeric expression.
    Number(String),
    /// A quantity parameter.
    Quantity(QuantityMapping),
    /// A reference parameter.
    Reference(ReferenceMapping),
    /// A uri parameter over a text expression holding the URI as written: matched exactly (and
    /// case-sensitively); `:below` and `:above` compare whole path segments (see
    /// [`SqlTranslator`](super::SqlTranslator)).
    Uri(String),
    /// A composite parameter.
    Composite(CompositeMapping),
    /// Anything else: the function translates the whole criterion (`Values` or `Missing`).
    Custom(Arc<CustomFn>),
}

impl fmt::Debug for ParamMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamMapping::Id => f.write_str("Id"),
            ParamMapping::String(c) => f.debug_tuple("String").field(c).finish(),
            ParamMapping::Token(t) => f.debug_tuple("Token").field(t).finish(),
            ParamMapping::Date(d) => f.debug_tuple("Date").field(d).finish(),
            ParamMapping::Number(n) => f.debug_tuple("Number").field(n).finish(),
            ParamMapping::Quantity(q) => f.debug_tuple("Quantity").field(q).finish(),
            ParamMapping::Reference(r) => f.debug_tuple("Reference").field(r).finish(),
            ParamMapping::Uri(u) => f.debug_tuple("Uri").field(u).finish(),
            ParamMapping::Composite(c) => f.debug_tuple("Composite").field(c).finish(),
            ParamMapping::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The values of the order key of the row whose FHIR id is given, or `None` when no row can
/// have that id (see [`TableMapping::order_by_key`]).
pub type KeyFn = dyn Fn(&str) -> Option<Vec<BindValue>> + Send + Sync;

/// Columns that order a table's rows in place of its id expression.
#[derive(Clone)]
pub struct OrderKey {
    pub(crate) columns: Vec<String>,
    pub(crate) values: Arc<KeyFn>,
}

impl fmt::Debug for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderKey")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

/// The mapping of one resource type to its table.
#[derive(Debug, Clone)]
pub struct TableMapping {
    pub(crate) resource_type: String,
    pub(crate) table: String,
    pub(crate) alias: String,
    pub(crate) id_expr: String,
    pub(crate) id_kind: IdKind,
    pub(crate) base_filter: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) joins: Vec<String>,
    pub(crate) order_key: Option<OrderKey>,
    params: Vec<(&'static SearchParamDef, ParamMapping)>,
}

impl TableMapping {
    /// A mapping with no filter, no selected columns and no parameters yet.
    pub fn new(
        resource_type: impl Into<String>,
        table: impl Into<String>,
        alias: impl Into<String>,
        id_expr: impl Into<String>,
        id_kind: IdKind,
    ) -> Self {
        TableMapping {
            resource_type: resource_type.into(),
            table: table.into(),
            alias: alias.into(),
            id_expr: id_expr.into(),
            id_kind,
            base_filter: None,
            columns: Vec::new(),
            joins: Vec::new(),
            order_key: None,
            params: Vec::new(),
        }
    }

    /// Sets the base filter.
    #[must_use]
    pub fn filter(mut self, condition: impl Into<String>) -> Self {
        self.base_filter = Some(condition.into());
        self
    }

    /// Adds selected expressions (write `expr AS name` to give the row mapper a stable name).
    #[must_use]
    pub fn select<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns.extend(columns.into_iter().map(Into::into));
        self
    }

    /// Adds a join clause (`LEFT JOIN location loc ON loc.location_id = p.location_id`) that
    /// the selected expressions may read from.
    ///
    /// One join instead of a correlated subquery per column: the database looks the joined row
    /// up once. The clause is written into the statements that fetch rows (searches and reads)
    /// only, not into counts, chains or `_has`, so parameters and the base filter must not refer
    /// to its alias. It must add at most one row per row of the table (join on the joined
    /// table's key), or a page would hold a resource twice.
    #[must_use]
    pub fn join(mut self, clause: impl Into<String>) -> Self {
        self.joins.push(clause.into());
        self
    }

    /// Orders and pages the rows by `columns` (ascending, in turn) rather than by the id
    /// expression; `values` gives the columns' values for a row's FHIR id, which is how a
    /// `_cursor` becomes a position.
    ///
    /// For a source whose id is computed (a union of two tables with ids `meas-42` and `obs-7`),
    /// ordering by the id makes the database build that text for every matching row and compare
    /// it; the stored columns it is built from (`src`, `row_key`) sort as they are. Together the
    /// columns must identify a row, and `values` must give, for each row's id, that row's
    /// values. `_sort=_id` follows this order too (`meas-9` before `meas-10`).
    #[must_use]
    pub fn order_by_key<S: Into<String>>(
        mut self,
        columns: impl IntoIterator<Item = S>,
        values: impl Fn(&str) -> Option<Vec<BindValue>> + Send + Sync + 'static,
    ) -> Self {
        self.order_key = Some(OrderKey {
            columns: columns.into_iter().map(Into::into).collect(),
            values: Arc::new(values),
        });
        self
    }

    /// Maps a search parameter; a later mapping of the same code replaces an earlier one.
    #[must_use]
    pub fn param(mut self, def: &'static SearchParamDef, mapping: ParamMapping) -> Self {
        self.params.retain(|(d, _)| d.code != def.code);
        self.params.push((def, mapping));
        self
    }

    /// The resource type (`Patient`).
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The `FROM` source (a table name, quoted as the database needs).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The alias every expression of this mapping uses for the table; unique in a schema.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The key expression (`p.pat_id`).
    pub fn id_expr(&self) -> &str {
        &self.id_expr
    }

    /// How FHIR ids map to the key.
    pub fn id_kind(&self) -> &IdKind {
        &self.id_kind
    }

    /// The condition every row must meet to be a resource at all (`p.geloescht = 0`).
    pub fn base_filter(&self) -> Option<&str> {
        self.base_filter.as_deref()
    }

    /// The expressions selected for the row mapper, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The mapping of the parameter `code`.
    pub fn param_mapping(&self, code: &str) -> Option<&ParamMapping> {
        self.params
            .iter()
            .find(|(d, _)| d.code == code)
            .map(|(_, m)| m)
    }

    /// The mapped parameters' definitions, for
    /// [`SupportedParams`](crate::search::SupportedParams) and the CapabilityStatement.
    pub fn search_params(&self) -> Vec<&'static SearchParamDef> {
        self.params.iter().map(|(d, _)| *d).collect()
    }
}

/// The mappings of all resource types of one database, and the value sets `:in` and `:not-in`
/// may name.
///
/// A facade has no terminology server, so the value sets a search may use are declared here
/// with [`value_set`](SqlSchema::value_set), as the (system, code) pairs they contain.
/// `code:in=url` then matches what `code=system1|code1,system2|code2,…` matches, and
/// `code:not-in=url` its negation, rows without a code included (as `:not`). Each code is one
/// bound comparison (two on MySQL and SQL Server), so keep declared value sets small: SQL
/// Server accepts at most 2100 parameters in one statement.
///
/// ```
/// use fhir_facade_core::sql::mapping::{IdKind, SqlSchema, TableMapping};
///
/// let lab = TableMapping::new("Observation", "lab", "l", "l.id", IdKind::Integer).select(["l.id"]);
/// let schema = SqlSchema::new([lab])
///     .unwrap()
///     .value_set("http://example.org/vs/hb", [("http://loinc.org", "718-7")]);
/// assert_eq!(
///     schema.value_set_codes("http://example.org/vs/hb"),
///     Some(&[("http://loinc.org".to_owned(), "718-7".to_owned())][..])
/// );
/// assert!(schema.value_set_codes("http://example.org/vs/other").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct SqlSchema {
    tables: HashMap<String, TableMapping>,
    value_sets: HashMap<String, Vec<(String, String)>>,
}

impl SqlSchema {
    /// A schema of these mappings.
    ///
    /// Fails with [`Error::Config`] when two mappings share a resource type or an alias (a chain
    /// puts both tables in one statement, so their aliases must differ), a mapping selects no
    /// columns or orders by a key of none, or a reference exposes an identifier its target does not map as a token.
    pub fn new(tables: impl IntoIterator<Item = TableMapping>) -> Result<Self> {
        let mut schema = SqlSchema::default();
        for table in tables {
            let invalid = |why: String| Err(Error::Config(format!("invalid SQL mapping: {why}")));
            if table.columns.is_empty() {
                return invalid(format!("{} selects no columns", table.resource_type));
            }
            if table
                .order_key
                .as_ref()
                .is_some_and(|k| k.columns.is_empty())
            {
                return invalid(format!(
                    "{} has an order key of no columns",
                    table.resource_type
                ));
            }
            if let Some(other) = schema.tables.values().find(|t| t.alias == table.alias) {
                return invalid(format!(
                    "{} and {} both use the alias {}",
                    other.resource_type, table.resource_type, table.alias
                ));
            }
            if schema.tables.contains_key(&table.resource_type) {
                return invalid(format!("{} is mapped twice", table.resource_type));
            }
            schema.tables.insert(table.resource_type.clone(), table);
        }
        schema.check_reference_identifiers()?;
        Ok(schema)
    }

    /// Every declared [`ReferenceMapping::identifier`] names a token parameter of a mapped
    /// target, so that `:identifier` never fails for a mapping mistake at search time.
    fn check_reference_identifiers(&self) -> Result<()> {
        for table in self.tables.values() {
            for (def, mapping) in &table.params {
                let ParamMapping::Reference(ReferenceMapping {
                    target_type,
                    identifier: Some(code),
                    ..
                }) = mapping
                else {
                    continue;
                };
                let target_param = self
                    .table(target_type)
                    .and_then(|t| t.search_params().into_iter().find(|d| d.code == code));
                if !target_param.is_some_and(|d| d.kind == crate::search::SearchParamType::Token) {
                    return Err(Error::Config(format!(
                        "invalid SQL mapping: {}.{} exposes {target_type}.{code}, which is not a \
                         mapped token parameter",
                        table.resource_type, def.code
                    )));
                }
            }
        }
        Ok(())
    }

    /// Declares the value set `url` as these (system, code) pairs, for `:in` and `:not-in`; a
    /// later declaration of the same URL replaces an earlier one.
    #[must_use]
    pub fn value_set<S: Into<String>, C: Into<String>>(
        mut self,
        url: impl Into<String>,
        codes: impl IntoIterator<Item = (S, C)>,
    ) -> Self {
        let codes = codes
            .into_iter()
            .map(|(system, code)| (system.into(), code.into()))
            .collect();
        self.value_sets.insert(url.into(), codes);
        self
    }

    /// The (system, code) pairs of the declared value set `url`.
    pub fn value_set_codes(&self, url: &str) -> Option<&[(String, String)]> {
        self.value_sets.get(url).map(Vec::as_slice)
    }

    /// The mapping of `resource_type`.
    pub fn table(&self, resource_type: &str) -> Option<&TableMapping> {
        self.tables.get(resource_type)
    }

    /// The supported parameters of every mapped type, for [`SearchQuery::parse`](crate::SearchQuery::parse).
    pub fn supported_params(&self) -> crate::search::SupportedParams {
        let mut params = crate::search::SupportedParams::new();
        for table in self.tables.values() {
            params.insert(table.resource_type.clone(), table.search_params());
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_to_keys_or_nothing() {
        assert_eq!(IdKind::Integer.key("42"), Some(BindValue::Int(42)));
        for bad in ["042", "+42", "4x", "", "99999999999999999999", "meas-42"] {
            assert_eq!(IdKind::Integer.key(bad), None, "{bad}");
        }
        let prefixed = IdKind::PrefixedInteger("meas-".into());
        assert_eq!(prefixed.key("meas-42"), Some(BindValue::Int(42)));
        assert_eq!(prefixed.key("42"), None);
        assert_eq!(prefixed.key("meas-x"), None);
        assert_eq!(prefixed.fhir_id("42"), "meas-42");
        assert_eq!(IdKind::Text.key("a'b"), Some(BindValue::Text("a'b".into())));
    }

    #[test]
    fn schemas_reject_ambiguous_mappings() {
        let t = |ty: &str, alias: &str| {
            TableMapping::new(ty, "t", alias, "x.id", IdKind::Integer).select(["x.id"])
        };
        assert!(matches!(
            SqlSchema::new([t("Patient", "p"), t("Observation", "p")]),
            Err(Error::Config(_))
        ));
        assert!(SqlSchema::new([t("Patient", "p"), t("Patient", "q")]).is_err());
        assert!(
            SqlSchema::new([TableMapping::new("Patient", "t", "p", "p.id", IdKind::Text)]).is_err()
        );
        assert!(SqlSchema::new([t("Patient", "p"), t("Observation", "o")]).is_ok());
    }

    #[test]
    fn reference_identifiers_must_name_a_mapped_token_parameter() {
        let param = |ty, code| crate::search::registry::r4_param(ty, code).unwrap();
        let patient = |identifier: ParamMapping| {
            TableMapping::new("Patient", "t", "p", "p.id", IdKind::Integer)
                .select(["p.id"])
                .param(param("Patient", "identifier"), identifier)
                .param(param("Patient", "family"), ParamMapping::String(vec![]))
        };
        let lab = |exposed: &str| {
            TableMapping::new("Observation", "l", "l", "l.id", IdKind::Integer)
                .select(["l.id"])
                .param(
                    param("Observation", "subject"),
                    ParamMapping::Reference(
                        ReferenceMapping::new("l.pid", "Patient").with_identifier(exposed),
                    ),
                )
        };
        let token = ParamMapping::Token(TokenMapping::new(
            TokenCode::Column("p.mrn".into()),
            ValueSource::None,
        ));
        assert!(SqlSchema::new([patient(token.clone()), lab("identifier")]).is_ok());
        // Not mapped on the target, not a token, and no target at all.
        assert!(SqlSchema::new([patient(token.clone()), lab("gender")]).is_err());
        assert!(SqlSchema::new([patient(token), lab("family")]).is_err());
        assert!(SqlSchema::new([lab("identifier")]).is_err());
    }

    #[test]
    fn value_sets_are_declared_and_replaced() {
        let schema = SqlSchema::default()
            .value_set("urn:vs", [("s", "a"), ("s", "b")])
            .value_set("urn:vs", [("s", "c")]);
        assert_eq!(
            schema.value_set_codes("urn:vs"),
            Some(&[("s".to_owned(), "c".to_owned())][..])
        );
        assert_eq!(schema.value_set_codes("urn:VS"), None);
    }
}
