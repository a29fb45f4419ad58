//! Path-segment matching of URIs, for the `:below` and `:above` modifiers of uri parameters.
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

/// The most `/` characters an `:above` value may contain: each adds two candidates, and every
/// candidate is a bound value (SQL Server accepts 2100 per statement).
pub const MAX_SLASHES: usize = 64;

/// The text every URI strictly below `value` starts with: `value` itself when it ends with `/`,
/// else `value/`. A URI is below `value` when it equals `value` or starts with this prefix.
pub fn below_prefix(value: &str) -> String {
    if value.ends_with('/') {
        value.to_owned()
    } else {
        format!("{value}/")
    }
}

/// Every URI above `value`, `value` included: each prefix of `value` that ends just before or
/// just after a `/`. `Err` when `value` holds more than [`MAX_SLASHES`] slashes.
pub fn ancestors(value: &str) -> Result<Vec<String>, String> {
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
