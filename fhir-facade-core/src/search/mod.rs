//! FHIR search: parameter definitions, value types, and the parsed [`SearchQuery`].
//!
//! A query string such as `family=muller&birthdate=ge1980&_count=10` parses into a [`SearchQuery`]:
//! a list of [`Criterion`]s that all must hold (repeated parameters are AND), each with one or more
//! [`SearchValue`]s of which one must match (comma-separated values are OR), plus the
//! [`ResultParams`] that shape the result (`_count`, `_sort`, `_include`, ...).

pub(crate) mod date;
pub(crate) mod escape;
mod expression;
pub(crate) mod modifier;
pub(crate) mod number;
pub(crate) mod parse;
pub(crate) mod prefix;
pub(crate) mod quantity;
pub(crate) mod reference;
pub mod registry;
pub(crate) mod render;
pub(crate) mod token;

pub use crate::resource::Summary;
pub use date::{DatePrecision, DateRange, DateValue};
pub use expression::{LocalRef, references};
pub use modifier::Modifier;
pub use number::NumberValue;
pub use parse::{Handling, MAX_PARAMETERS, ParamSource, ParseOptions, SupportedParams};
pub use prefix::Prefix;
pub use quantity::QuantityValue;
pub use reference::ReferenceValue;
pub use registry::{SearchParamDef, SearchParamType};
pub use token::{TokenSystem, TokenValue};

/// A parsed search: the resource type, the criteria (all must hold) and the result parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// The resource type searched.
    pub resource_type: String,
    /// Criteria that must all hold.
    pub criteria: Vec<Criterion>,
    /// `_count`, `_sort`, `_include` and the other result parameters.
    pub result: ResultParams,
    /// Parameters that were not understood and were ignored (lenient handling); they are left out of links.
    pub ignored: Vec<String>,
}

impl SearchQuery {
    /// A search for all resources of a type.
    pub fn new(resource_type: impl Into<String>) -> Self {
        SearchQuery {
            resource_type: resource_type.into(),
            criteria: Vec::new(),
            result: ResultParams::default(),
            ignored: Vec::new(),
        }
    }

    /// The search `_id=id1,id2,...` with room for all of them on one page.
    pub fn by_ids(resource_type: &str, id_param: &'static SearchParamDef, ids: &[String]) -> Self {
        let mut query = SearchQuery::new(resource_type);
        query.criteria.push(Criterion::Values {
            param: id_param,
            modifier: None,
            values: ids
                .iter()
                .map(|id| {
                    SearchValue::Token(TokenValue {
                        system: TokenSystem::Any,
                        code: Some(id.clone()),
                    })
                })
                .collect(),
        });
        query.result.count = Some(u32::try_from(ids.len()).unwrap_or(u32::MAX));
        query
    }
}

/// One condition on the searched resources.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Criterion {
    /// A parameter of the searched type compared with values, one of which must match.
    Values {
        /// The parameter's definition.
        param: &'static SearchParamDef,
        /// The modifier written after `:`, if any.
        modifier: Option<Modifier>,
        /// The alternatives (comma-separated in the URL).
        values: Vec<SearchValue>,
    },
    /// `param:missing=true|false`.
    Missing {
        /// The parameter's definition.
        param: &'static SearchParamDef,
        /// `true`: the resource has no value for the parameter.
        missing: bool,
    },
    /// A chained parameter: `subject:Patient.name=peter` is the reference `subject`, the target type
    /// `Patient`, and the criterion `name=peter` on the referenced Patient.
    Chain {
        /// The reference parameter followed.
        param: &'static SearchParamDef,
        /// The resource type it must point to.
        target_type: String,
        /// The condition on the referenced resource.
        inner: Box<Criterion>,
    },
    /// A reverse chain: `_has:Observation:patient:code=1234` holds for resources that some Observation
    /// refers to through `patient` and whose `code` matches.
    Has {
        /// The type of the referring resources.
        source_type: String,
        /// The reference parameter on the referring type that points at the searched resource.
        param: &'static SearchParamDef,
        /// The condition on the referring resource.
        inner: Box<Criterion>,
    },
}

/// One value of a search parameter, typed by the parameter's type and modifier.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SearchValue {
    /// A string, already unescaped (string parameters; `:text`; uri parameters).
    String(String),
    /// A token (`system|code`).
    Token(TokenValue),
    /// `:of-type` on identifiers: `system|code|value` of the identifier type and the value.
    OfType {
        /// The identifier type's coding system.
        system: String,
        /// The identifier type's code.
        code: String,
        /// The identifier's value.
        value: String,
    },
    /// A date with its prefix and the range it stands for.
    Date(DateValue),
    /// A number with its prefix and implicit precision range.
    Number(NumberValue),
    /// A quantity: number, system and code.
    Quantity(QuantityValue),
    /// A reference.
    Reference(ReferenceValue),
    /// A composite's component values, in the definition's order.
    Composite(Vec<SearchValue>),
}

/// Result parameters: what to return and in which order, not which resources match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultParams {
    /// `_count`: the page size asked for.
    pub count: Option<u32>,
    /// `_sort`: keys in order of precedence.
    pub sort: Vec<SortKey>,
    /// `_include`.
    pub include: Vec<Include>,
    /// `_revinclude`.
    pub revinclude: Vec<Include>,
    /// `_summary`.
    pub summary: Option<Summary>,
    /// `_elements`: top-level element names to keep.
    pub elements: Vec<String>,
    /// `_total`.
    pub total: Option<TotalMode>,
    /// The page to return: an offset or a keyset cursor from a previous page's link.
    pub page: Option<PageToken>,
}

/// One `_sort` key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortKey {
    /// The parameter sorted on.
    pub param: &'static SearchParamDef,
    /// `-param`: descending.
    pub descending: bool,
}

/// One `_include` or `_revinclude` value: `Source:param[:Target]`, optionally `:iterate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    /// The resource type whose reference is followed.
    pub source_type: String,
    /// The reference parameter on the source type.
    pub param: &'static SearchParamDef,
    /// Only references to this type, when given.
    pub target_type: Option<String>,
    /// `:iterate` (R4; `:recurse` in earlier versions is read the same way).
    pub iterate: bool,
}

/// `_total` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    /// `none`: no total needed.
    None,
    /// `estimate`: a cheap estimate is fine.
    Estimate,
    /// `accurate`: the exact number of matches.
    Accurate,
}

/// Where a page starts. Both forms are opaque to clients: they only follow links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageToken {
    /// Skip this many matches (`_offset`): simple, but rows added meanwhile shift pages.
    Offset(u64),
    /// Continue after this sort-key tuple (`_cursor`): stable when rows are added between pages.
    Cursor(String),
    /// The page that ends just before this sort-key tuple (`_before`): the keyset form of a
    /// `previous` link.
    Before(String),
}
