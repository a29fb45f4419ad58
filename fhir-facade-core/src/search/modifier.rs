//! Search modifiers (`:exact`, `:not`, `:Patient`, ...) and which parameter types allow them.

use super::reference::is_resource_type;
use super::registry::SearchParamType;
use std::borrow::Cow;
use std::fmt;

/// A modifier written after the parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Modifier {
    /// `:missing`
    Missing,
    /// `:exact`
    Exact,
    /// `:contains`
    Contains,
    /// `:text`
    Text,
    /// `:not`
    Not,
    /// `:above`
    Above,
    /// `:below`
    Below,
    /// `:in`
    In,
    /// `:not-in`
    NotIn,
    /// `:of-type`
    OfType,
    /// `:identifier`
    Identifier,
    /// `:[type]` on a reference, e.g. `subject:Patient`.
    Type(String),
}

impl Modifier {
    /// Parses the text after `:` in a parameter name (without the colon).
    ///
    /// A resource type name (an ASCII capital, then ASCII letters and digits) is a
    /// [`Modifier::Type`]; any other unknown modifier (such as `fuzzy`) is an error.
    pub fn parse(s: &str) -> Result<Modifier, String> {
        Ok(match s {
            "missing" => Modifier::Missing,
            "exact" => Modifier::Exact,
            "contains" => Modifier::Contains,
            "text" => Modifier::Text,
            "not" => Modifier::Not,
            "above" => Modifier::Above,
            "below" => Modifier::Below,
            "in" => Modifier::In,
            "not-in" => Modifier::NotIn,
            "of-type" => Modifier::OfType,
            "identifier" => Modifier::Identifier,
            t if is_resource_type(t) => Modifier::Type(t.to_string()),
            _ => return Err("unknown search modifier".into()),
        })
    }

    /// The modifier as written after `:`.
    pub fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            Modifier::Missing => "missing",
            Modifier::Exact => "exact",
            Modifier::Contains => "contains",
            Modifier::Text => "text",
            Modifier::Not => "not",
            Modifier::Above => "above",
            Modifier::Below => "below",
            Modifier::In => "in",
            Modifier::NotIn => "not-in",
            Modifier::OfType => "of-type",
            Modifier::Identifier => "identifier",
            Modifier::Type(t) => t,
        })
    }

    /// Whether FHIR R4 allows this modifier on a parameter of type `kind`; `is_identifier` tells
    /// whether a token parameter searches an `Identifier`, the only place `:of-type` applies.
    ///
    /// | type | modifiers |
    /// |---|---|
    /// | all | `missing` |
    /// | string | `exact`, `contains` |
    /// | token | `text`, `not`, `above`, `below`, `in`, `not-in`, `of-type` (identifiers) |
    /// | reference | `[type]`, `identifier`, `above`, `below` |
    /// | uri | `above`, `below` |
    /// | date, number, quantity, composite, special | only `missing` |
    pub fn allowed_for(&self, kind: SearchParamType, is_identifier: bool) -> bool {
        use SearchParamType as T;
        match self {
            Modifier::Missing => true,
            Modifier::Exact | Modifier::Contains => kind == T::String,
            Modifier::Text | Modifier::Not | Modifier::In | Modifier::NotIn => kind == T::Token,
            Modifier::OfType => kind == T::Token && is_identifier,
            Modifier::Above | Modifier::Below => {
                matches!(kind, T::Token | T::Reference | T::Uri)
            }
            Modifier::Identifier | Modifier::Type(_) => kind == T::Reference,
        }
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL_TYPES: [SearchParamType; 9] = [
        SearchParamType::Number,
        SearchParamType::Date,
        SearchParamType::String,
        SearchParamType::Token,
        SearchParamType::Reference,
        SearchParamType::Composite,
        SearchParamType::Quantity,
        SearchParamType::Uri,
        SearchParamType::Special,
    ];

    fn allowed(m: &str, is_identifier: bool) -> Vec<SearchParamType> {
        let m = Modifier::parse(m).unwrap();
        ALL_TYPES
            .into_iter()
            .filter(|&kind| m.allowed_for(kind, is_identifier))
            .collect()
    }

    #[test]
    fn parse_and_code_round_trip() {
        for code in [
            "missing",
            "exact",
            "contains",
            "text",
            "not",
            "above",
            "below",
            "in",
            "not-in",
            "of-type",
            "identifier",
            "Patient",
            "Observation",
            "G6PD",
        ] {
            let m = Modifier::parse(code).unwrap();
            assert_eq!(m.code(), code);
            assert_eq!(m.to_string(), code);
        }
        assert_eq!(
            Modifier::parse("Patient"),
            Ok(Modifier::Type("Patient".into()))
        );
    }

    #[test]
    fn rejects_unknown() {
        for bad in [
            "", "fuzzy", "patient", "not_in", "iterate", "Pa-tient", "Ünits",
        ] {
            assert!(Modifier::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        // Capitalised, it reads as a resource type; the registry decides whether the type exists.
        assert_eq!(Modifier::parse("Exact"), Ok(Modifier::Type("Exact".into())));
    }

    #[test]
    fn allowed_per_r4() {
        use SearchParamType as T;
        assert_eq!(allowed("missing", false), ALL_TYPES);
        assert_eq!(allowed("exact", false), [T::String]);
        assert_eq!(allowed("contains", false), [T::String]);
        assert_eq!(allowed("text", false), [T::Token]);
        assert_eq!(allowed("not", false), [T::Token]);
        assert_eq!(allowed("in", false), [T::Token]);
        assert_eq!(allowed("not-in", false), [T::Token]);
        assert_eq!(allowed("above", false), [T::Token, T::Reference, T::Uri]);
        assert_eq!(allowed("below", false), [T::Token, T::Reference, T::Uri]);
        assert_eq!(allowed("of-type", false), []);
        assert_eq!(allowed("of-type", true), [T::Token]);
        assert_eq!(allowed("identifier", false), [T::Reference]);
        assert_eq!(allowed("Patient", false), [T::Reference]);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(s in any::<String>()) {
            if let Ok(m) = Modifier::parse(&s) {
                prop_assert_eq!(m.code(), s.as_str());
            }
        }
    }
}
