//! Search parameter definitions: what a parameter is called, its type, what it may be combined with.
//!
//! The R4 standard definitions in [`r4`] are generated from the official `SearchParameter` resources by
//! `tools/gen-search-params.py`; do not edit them by hand.

/// The type of a search parameter (FHIR `SearchParamType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchParamType {
    /// `number`
    Number,
    /// `date`
    Date,
    /// `string`
    String,
    /// `token`
    Token,
    /// `reference`
    Reference,
    /// `composite`
    Composite,
    /// `quantity`
    Quantity,
    /// `uri`
    Uri,
    /// `special`
    Special,
}

impl SearchParamType {
    /// The code as the CapabilityStatement writes it.
    pub fn code(self) -> &'static str {
        match self {
            SearchParamType::Number => "number",
            SearchParamType::Date => "date",
            SearchParamType::String => "string",
            SearchParamType::Token => "token",
            SearchParamType::Reference => "reference",
            SearchParamType::Composite => "composite",
            SearchParamType::Quantity => "quantity",
            SearchParamType::Uri => "uri",
            SearchParamType::Special => "special",
        }
    }

    /// Whether values of this type take a comparison prefix (`ge`, `lt`, ...).
    pub fn takes_prefix(self) -> bool {
        matches!(
            self,
            SearchParamType::Number | SearchParamType::Date | SearchParamType::Quantity
        )
    }
}

/// One component of a composite parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// The code of the parameter (on the same resource type) that this component is searched as.
    pub code: &'static str,
    /// The FHIRPath of the component, relative to the composite's expression.
    pub expression: &'static str,
}

/// The definition of one search parameter on one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParamDef {
    /// The name used in URLs (`birthdate`, `_id`).
    pub code: &'static str,
    /// The resource type this definition applies to (`Resource` for the common parameters).
    pub resource_type: &'static str,
    /// The parameter's type.
    pub kind: SearchParamType,
    /// The FHIRPath expression for this resource type.
    pub expression: &'static str,
    /// For references: the resource types it may point to.
    pub targets: &'static [&'static str],
    /// For composites: the components in order.
    pub components: &'static [Component],
    /// The canonical URL of the definition.
    pub url: &'static str,
}
