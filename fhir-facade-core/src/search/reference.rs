//! Reference search values: `id`, `Type/id`, `Type/id/_history/vid`, absolute URLs.

use super::escape;
use std::fmt;

/// A reference search value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReferenceValue {
    /// A resource on this server: `id`, `Type/id`, or this server's base URL followed by `Type/id`.
    Local {
        /// The type, when written (or given by a `:Type` modifier).
        resource_type: Option<String>,
        /// The id.
        id: String,
        /// The version, for `Type/id/_history/vid`.
        version: Option<String>,
    },
    /// An absolute URL that is not on this server; matched as written.
    Url(String),
}

impl ReferenceValue {
    /// Parses a reference search value, after unescaping it.
    ///
    /// - `id`, `Type/id` and `Type/id/_history/vid` are [`ReferenceValue::Local`]; a bare `id` takes
    ///   its type from the `:Type` modifier, when given.
    /// - `{base_url}/Type/id[/_history/vid]`, where `base_url` is this server's base (with or without
    ///   a trailing slash), is also `Local`.
    /// - Any other absolute URL (`scheme:...`, such as `http://...` or `urn:uuid:...`) is
    ///   [`ReferenceValue::Url`], kept as written.
    ///
    /// Types must look like FHIR resource types (an ASCII capital, then ASCII letters and digits) and
    /// ids and versions must follow the FHIR id rule `[A-Za-z0-9\-\.]{1,64}`. With a `:Type`
    /// modifier, a value naming another type is an error; for an absolute URL the type is read from
    /// a trailing `Type/id` or `Type/id/_history/vid`, when it has one.
    pub fn parse(
        s: &str,
        base_url: Option<&str>,
        type_modifier: Option<&str>,
    ) -> Result<ReferenceValue, String> {
        if let Some(t) = type_modifier {
            if !is_resource_type(t) {
                return Err("the type modifier is not a resource type (such as `Patient`)".into());
            }
        }
        let value = escape::unescape(s);
        if value.is_empty() {
            return Err("the reference is empty".into());
        }
        if let Some(path) = base_url.and_then(|base| strip_base(&value, base)) {
            return parse_local(path, type_modifier, true);
        }
        if is_absolute(&value) {
            if let (Some(wanted), Some(named)) = (type_modifier, url_type(&value)) {
                if wanted != named {
                    return Err(format!(
                        "the reference points to a {named}, but the modifier asks for {wanted}"
                    ));
                }
            }
            return Ok(ReferenceValue::Url(value));
        }
        parse_local(&value, type_modifier, false)
    }
}

/// The path after this server's base URL, if `value` is on this server.
fn strip_base<'a>(value: &'a str, base: &str) -> Option<&'a str> {
    let base = base.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    value.strip_prefix(base)?.strip_prefix('/')
}

/// Whether `value` starts with a URI scheme (RFC 3986: a letter, then letters, digits, `+ - .`)
/// and a colon. Ids and types cannot contain `:`, so a local reference never looks absolute.
fn is_absolute(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

/// The resource type an absolute URL names in a trailing `Type/id` or `Type/id/_history/vid`.
fn url_type(url: &str) -> Option<&str> {
    let segments: Vec<&str> = url.rsplit('/').take(4).collect();
    let (t, id) = match segments.as_slice() {
        [_, "_history", id, t] => (*t, *id),
        [id, t, ..] => (*t, *id),
        _ => return None,
    };
    (is_resource_type(t) && is_fhir_id(id)).then_some(t)
}

fn parse_local(
    path: &str,
    type_modifier: Option<&str>,
    type_required: bool,
) -> Result<ReferenceValue, String> {
    let segments: Vec<&str> = path.split('/').collect();
    let (resource_type, id, version) = match segments.as_slice() {
        [id] if !type_required => (None, *id, None),
        [t, id] => (Some(*t), *id, None),
        [t, id, "_history", version] => (Some(*t), *id, Some(*version)),
        _ => {
            return Err(
                "a reference is `id`, `Type/id`, `Type/id/_history/vid` or an absolute URL".into(),
            );
        }
    };
    if let Some(t) = resource_type {
        if !is_resource_type(t) {
            return Err("the part before `/` must be a resource type (such as `Patient`)".into());
        }
        if let Some(wanted) = type_modifier.filter(|wanted| *wanted != t) {
            return Err(format!(
                "the reference points to a {t}, but the modifier asks for {wanted}"
            ));
        }
    }
    if !is_fhir_id(id) {
        return Err("a resource id is 1 to 64 letters, digits, `-` or `.`".into());
    }
    if version.is_some_and(|v| !is_fhir_id(v)) {
        return Err("a version id is 1 to 64 letters, digits, `-` or `.`".into());
    }
    Ok(ReferenceValue::Local {
        resource_type: resource_type.or(type_modifier).map(str::to_string),
        id: id.to_string(),
        version: version.map(str::to_string),
    })
}

/// Whether `s` looks like a FHIR resource type name: an ASCII capital, then ASCII letters and digits.
pub(crate) fn is_resource_type(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The FHIR id rule: `[A-Za-z0-9\-\.]{1,64}`.
fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}

impl fmt::Display for ReferenceValue {
    /// Writes the value as a client would: `Type/id[/_history/vid]` or `id` for local references
    /// (a version is only written after a type, as the syntax requires), and absolute URLs escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceValue::Local {
                resource_type: Some(t),
                id,
                version,
            } => {
                write!(f, "{t}/{id}")?;
                if let Some(v) = version {
                    write!(f, "/_history/{v}")?;
                }
                Ok(())
            }
            ReferenceValue::Local {
                resource_type: None,
                id,
                ..
            } => f.write_str(id),
            ReferenceValue::Url(url) => f.write_str(&escape::escape(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn local(t: Option<&str>, id: &str, version: Option<&str>) -> ReferenceValue {
        ReferenceValue::Local {
            resource_type: t.map(str::to_string),
            id: id.to_string(),
            version: version.map(str::to_string),
        }
    }

    const BASE: Option<&str> = Some("https://fhir.example.org/r4");

    #[test]
    fn local_forms() {
        assert_eq!(
            ReferenceValue::parse("123", None, None),
            Ok(local(None, "123", None))
        );
        assert_eq!(
            ReferenceValue::parse("123", None, Some("Patient")),
            Ok(local(Some("Patient"), "123", None))
        );
        assert_eq!(
            ReferenceValue::parse("Patient/a.b-C", None, None),
            Ok(local(Some("Patient"), "a.b-C", None))
        );
        assert_eq!(
            ReferenceValue::parse("Patient/1/_history/2", None, Some("Patient")),
            Ok(local(Some("Patient"), "1", Some("2")))
        );
    }

    #[test]
    fn base_url_forms() {
        let expected = Ok(local(Some("Patient"), "1", None));
        assert_eq!(
            ReferenceValue::parse("https://fhir.example.org/r4/Patient/1", BASE, None),
            expected
        );
        assert_eq!(
            ReferenceValue::parse(
                "https://fhir.example.org/r4/Patient/1",
                Some("https://fhir.example.org/r4/"),
                None
            ),
            expected
        );
        assert_eq!(
            ReferenceValue::parse(
                "https://fhir.example.org/r4/Patient/1/_history/3",
                BASE,
                None
            ),
            Ok(local(Some("Patient"), "1", Some("3")))
        );
        assert!(ReferenceValue::parse("https://fhir.example.org/r4/1", BASE, None).is_err());
        assert!(ReferenceValue::parse("https://fhir.example.org/r4/metadata", BASE, None).is_err());
        assert_eq!(
            ReferenceValue::parse("https://fhir.example.org/r4x/Patient/1", BASE, None),
            Ok(ReferenceValue::Url(
                "https://fhir.example.org/r4x/Patient/1".into()
            ))
        );
    }

    #[test]
    fn absolute_urls() {
        for url in [
            "http://other.org/fhir/Patient/1",
            "https://other.org/fhir/Patient/1/_history/2",
            "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7",
            "urn:oid:1.2.3",
        ] {
            assert_eq!(
                ReferenceValue::parse(url, BASE, None),
                Ok(ReferenceValue::Url(url.into()))
            );
        }
        assert_eq!(
            ReferenceValue::parse("http://x.org/a\\,b", None, None),
            Ok(ReferenceValue::Url("http://x.org/a,b".into()))
        );
        assert_eq!(
            ReferenceValue::parse("http://other.org/fhir/Patient/1", None, Some("Patient")),
            Ok(ReferenceValue::Url(
                "http://other.org/fhir/Patient/1".into()
            ))
        );
        assert!(
            ReferenceValue::parse("http://other.org/fhir/Group/1", None, Some("Patient")).is_err()
        );
        assert!(
            ReferenceValue::parse(
                "http://other.org/fhir/Group/1/_history/2",
                None,
                Some("Patient")
            )
            .is_err()
        );
    }

    #[test]
    fn rejects() {
        for (bad, modifier) in [
            ("", None),
            ("patient/1", None),
            ("Pa-tient/1", None),
            ("Patient/", None),
            ("Patient/1/2", None),
            ("Patient/1/_history/", None),
            ("Patient/1/_history/a b", None),
            ("a_b", None),
            ("Patient/a b", None),
            ("Group/1", Some("Patient")),
            ("1", Some("patient")),
            ("Pätient/1", None),
            ("1:2", None),
        ] {
            assert!(
                ReferenceValue::parse(bad, BASE, modifier).is_err(),
                "{bad:?} with {modifier:?} should be rejected"
            );
        }
        let long = "1".repeat(65);
        assert!(ReferenceValue::parse(&long, None, None).is_err());
        assert!(ReferenceValue::parse(&"1".repeat(64), None, None).is_ok());
        assert!(ReferenceValue::parse(&"Patient/é".repeat(2_000), BASE, None).is_err());
    }

    #[test]
    fn display() {
        assert_eq!(
            local(Some("Patient"), "1", Some("2")).to_string(),
            "Patient/1/_history/2"
        );
        assert_eq!(local(None, "1", None).to_string(), "1");
        assert_eq!(
            ReferenceValue::Url("http://x/a,b".into()).to_string(),
            "http://x/a\\,b"
        );
    }

    fn arb_reference() -> impl Strategy<Value = ReferenceValue> {
        let id = "[A-Za-z0-9.-]{1,64}";
        let t = "[A-Z][A-Za-z0-9]{0,20}";
        prop_oneof![
            id.prop_map(|id| ReferenceValue::Local {
                resource_type: None,
                id,
                version: None
            }),
            (t, id, proptest::option::of(id)).prop_map(|(t, id, version)| ReferenceValue::Local {
                resource_type: Some(t),
                id,
                version,
            }),
            ("(https?|urn)", any::<String>())
                .prop_map(|(scheme, rest)| ReferenceValue::Url(format!("{scheme}:x{rest}"))),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>(), t in proptest::option::of(any::<String>())) {
            let _ = ReferenceValue::parse(&s, BASE, t.as_deref());
            let _ = ReferenceValue::parse(&s, None, None);
        }

        #[test]
        fn valid_values_round_trip(v in arb_reference()) {
            prop_assert_eq!(ReferenceValue::parse(&v.to_string(), None, None), Ok(v));
        }
    }
}
