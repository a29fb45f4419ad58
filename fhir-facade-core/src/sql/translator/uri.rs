//! Uri parameters: matched exactly, and by path segment for the `:below` and `:above` modifiers.
//!
//! FHIR compares URIs by path segment: `http://acme.org/fhir` is above
//! `http://acme.org/fhir/ValueSet/123` but not above `http://acme.org/fhirx`. Here a stored URI
//! `s` is *below* a search value `v` (and `v` *above* `s`) when `s == v`, or `s` starts with `v`
//! and either `v` ends with `/` or the character of `s` after `v` is `/`. Everything else
//! (scheme, authority, query, fragment, a `|version`) is compared as plain, case-sensitive text,
//! as the default uri match is.
//!
//! Both directions are answered from the search value alone, so the column is never used as a
//! `LIKE` pattern: `:below` is one prefix ([`below_prefix`]) plus equality, and `:above` an
//! equality with each of the value's finitely many [`ancestors`], all bound. That keeps every
//! dialect's index usable and needs no escaping of stored text.

use super::SqlTranslator;
use super::condition::{misfit, never, or, unsupported_modifier};
use crate::search::{Modifier, SearchValue};
use crate::sql::LikePattern;
use crate::sql::{BindValue, SqlFragment};
use crate::{Error, Result};

/// The most `/` characters an `:above` value may contain: each adds two candidates, and every
/// candidate is a bound value (SQL Server accepts 2100 per statement).
const MAX_SLASHES: usize = 64;

/// The text every URI strictly below `value` starts with: `value` itself when it ends with `/`,
/// else `value/`. A URI is below `value` when it equals `value` or starts with this prefix.
fn below_prefix(value: &str) -> String {
    if value.ends_with('/') {
        value.to_owned()
    } else {
        format!("{value}/")
    }
}

/// Every URI above `value`, `value` included: each prefix of `value` that ends just before or
/// just after a `/`. `Err` when `value` holds more than [`MAX_SLASHES`] slashes.
fn ancestors(value: &str) -> Result<Vec<String>, String> {
    if value.matches('/').count() > MAX_SLASHES {
        return Err(format!(
            ":above takes URIs of at most {MAX_SLASHES} path segments"
        ));
    }
    let mut found = Vec::new();
    for (i, _) in value.match_indices('/') {
        if i > 0 {
            found.push(value[..i].to_owned());
        }
        found.push(value[..=i].to_owned());
    }
    found.push(value.to_owned());
    // Duplicates are adjacent: `a//` yields `a/` twice, and a trailing `/` yields `value` twice.
    found.dedup();
    Ok(found)
}

impl SqlTranslator {
    /// Any value matching the uri expression `expr`: equal, or below or above it by segments.
    pub(super) fn uri_values(
        &self,
        expr: &str,
        modifier: Option<&Modifier>,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        if !matches!(modifier, None | Some(Modifier::Below | Modifier::Above)) {
            return Err(unsupported_modifier(name));
        }
        let d = self.dialect;
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::String(text) = value else {
                return Err(misfit(name));
            };
            if text.contains('\0') {
                alternatives.push(never());
                continue;
            }
            alternatives.push(match modifier {
                None => d.exact_eq(expr, BindValue::Text(text.clone())),
                Some(Modifier::Below) => {
                    let prefix = below_prefix(text);
                    let under = d.like(expr, LikePattern::StartsWith, &prefix, false);
                    if prefix == *text {
                        under
                    } else {
                        or(vec![d.exact_eq(expr, BindValue::Text(text.clone())), under])
                    }
                }
                _ => {
                    let above = ancestors(text).map_err(|msg| Error::invalid_search(name, msg))?;
                    or(above
                        .into_iter()
                        .map(|a| d.exact_eq(expr, BindValue::Text(a)))
                        .collect())
                }
            });
        }
        Ok(or(alternatives))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition in the module documentation, written out directly.
    fn is_below(stored: &str, value: &str) -> bool {
        stored == value
            || stored
                .strip_prefix(value)
                .is_some_and(|rest| value.ends_with('/') || rest.starts_with('/'))
    }

    #[test]
    fn ancestors_of_a_versioned_url() {
        assert_eq!(
            ancestors("http://a.org/fhir/ValueSet/1").unwrap(),
            [
                "http:",
                "http:/",
                "http://",
                "http://a.org",
                "http://a.org/",
                "http://a.org/fhir",
                "http://a.org/fhir/",
                "http://a.org/fhir/ValueSet",
                "http://a.org/fhir/ValueSet/",
                "http://a.org/fhir/ValueSet/1",
            ]
        );
        assert_eq!(ancestors("urn:oid:1.2.3").unwrap(), ["urn:oid:1.2.3"]);
        assert_eq!(ancestors("a/").unwrap(), ["a", "a/"]);
        assert!(ancestors(&"/".repeat(MAX_SLASHES)).is_ok());
        assert!(ancestors(&"/".repeat(MAX_SLASHES + 1)).is_err());
    }

    #[test]
    fn below_is_a_segment_prefix() {
        assert_eq!(below_prefix("http://a.org/fhir"), "http://a.org/fhir/");
        assert_eq!(below_prefix("http://a.org/fhir/"), "http://a.org/fhir/");
        assert!(is_below("http://a.org/fhir/x", "http://a.org/fhir"));
        assert!(!is_below("http://a.org/fhirx", "http://a.org/fhir"));
        assert!(!is_below("http://a.org/fhir", "http://a.org/fhir/"));
    }

    proptest! {
        /// What `:below` finds (equality or the prefix) and what `:above` finds (the ancestors)
        /// are the same relation read in both directions.
        #[test]
        fn below_and_above_agree(stored in "[a:/]{0,8}", value in "[a:/]{1,8}") {
            let below = is_below(&stored, &value);
            prop_assert_eq!(
                below,
                stored == value || stored.starts_with(&below_prefix(&value))
            );
            prop_assert_eq!(below, ancestors(&stored).unwrap().contains(&value));
        }
    }
}
