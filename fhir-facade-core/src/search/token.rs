//! Token search values: `code`, `system|code`, `|code`, `system|`.

use super::escape;
use std::fmt;

/// Which coding system a token value asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSystem {
    /// `code`: any system, or none.
    Any,
    /// `|code`: only values with no system.
    NoSystem,
    /// `system|code` or `system|`.
    System(String),
}

/// A token search value, unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenValue {
    /// The system constraint.
    pub system: TokenSystem,
    /// The code; `None` for `system|` (any code in the system).
    pub code: Option<String>,
}

impl TokenValue {
    /// Parses `code`, `|code`, `system|` or `system|code`, splitting on the unescaped `|` and
    /// unescaping both parts.
    ///
    /// An empty value, a bare `|`, and more than one unescaped `|` are errors; the three-part
    /// `:of-type` form is read by [`TokenValue::parse_of_type`].
    pub fn parse(s: &str) -> Result<TokenValue, String> {
        if s.is_empty() {
            return Err(
                "the token is empty; expected `code`, `system|code`, `|code` or `system|`".into(),
            );
        }
        match escape::split(s, '|').as_slice() {
            [code] => Ok(TokenValue {
                system: TokenSystem::Any,
                code: Some(escape::unescape(code)),
            }),
            [system, code] => {
                let code = Some(escape::unescape(code)).filter(|c| !c.is_empty());
                let system = match escape::unescape(system) {
                    system if !system.is_empty() => TokenSystem::System(system),
                    _ if code.is_some() => TokenSystem::NoSystem,
                    _ => return Err("`|` alone names neither a system nor a code".into()),
                };
                Ok(TokenValue { system, code })
            }
            _ => Err("a token has at most one `|` between system and code \
                      (a literal bar is escaped as `\\|`)"
                .into()),
        }
    }

    /// Parses the `:of-type` value `system|code|value` (the identifier type's system and code, then
    /// the identifier's value) into its three unescaped parts, none of which may be empty.
    pub fn parse_of_type(s: &str) -> Result<(String, String, String), String> {
        let parts: Vec<String> = escape::split(s, '|')
            .into_iter()
            .map(escape::unescape)
            .collect();
        match <[String; 3]>::try_from(parts) {
            Ok([system, code, value])
                if !system.is_empty() && !code.is_empty() && !value.is_empty() =>
            {
                Ok((system, code, value))
            }
            _ => {
                Err("an :of-type value is `system|code|value` with all three parts present".into())
            }
        }
    }
}

impl fmt::Display for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code.as_deref().map(escape::escape).unwrap_or_default();
        match &self.system {
            TokenSystem::Any => f.write_str(&code),
            TokenSystem::NoSystem => write!(f, "|{code}"),
            TokenSystem::System(system) => write!(f, "{}|{code}", escape::escape(system)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn token(system: TokenSystem, code: Option<&str>) -> TokenValue {
        TokenValue {
            system,
            code: code.map(str::to_string),
        }
    }

    fn sys(s: &str) -> TokenSystem {
        TokenSystem::System(s.to_string())
    }

    #[test]
    fn forms() {
        assert_eq!(
            TokenValue::parse("1234-5"),
            Ok(token(TokenSystem::Any, Some("1234-5")))
        );
        assert_eq!(
            TokenValue::parse("|abc"),
            Ok(token(TokenSystem::NoSystem, Some("abc")))
        );
        assert_eq!(
            TokenValue::parse("http://loinc.org|"),
            Ok(token(sys("http://loinc.org"), None))
        );
        assert_eq!(
            TokenValue::parse("http://loinc.org|1234-5"),
            Ok(token(sys("http://loinc.org"), Some("1234-5")))
        );
        assert_eq!(
            TokenValue::parse("urn:a\\|b|c\\,d\\$e\\\\"),
            Ok(token(sys("urn:a|b"), Some("c,d$e\\")))
        );
    }

    #[test]
    fn rejects() {
        let long = "é|".repeat(5_000);
        for bad in ["", "|", "a|b|c", "||", long.as_str()] {
            assert!(
                TokenValue::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn of_type() {
        assert_eq!(
            TokenValue::parse_of_type("http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053"),
            Ok((
                "http://terminology.hl7.org/CodeSystem/v2-0203".to_string(),
                "MR".to_string(),
                "446053".to_string()
            ))
        );
        assert_eq!(
            TokenValue::parse_of_type("s|c|a\\|b"),
            Ok(("s".to_string(), "c".to_string(), "a|b".to_string()))
        );
        for bad in ["", "s|c", "s|c|", "|c|v", "s||v", "s|c|v|w"] {
            assert!(
                TokenValue::parse_of_type(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn display_escapes() {
        assert_eq!(
            token(sys("urn:a|b"), Some("c,d")).to_string(),
            "urn:a\\|b|c\\,d"
        );
        assert_eq!(token(TokenSystem::NoSystem, Some("x")).to_string(), "|x");
        assert_eq!(token(sys("s"), None).to_string(), "s|");
        assert_eq!(token(TokenSystem::Any, Some("x")).to_string(), "x");
    }

    fn arb_token() -> impl Strategy<Value = TokenValue> {
        let text = || any::<String>().prop_filter("non-empty", |s| !s.is_empty());
        prop_oneof![
            text().prop_map(|c| TokenValue {
                system: TokenSystem::Any,
                code: Some(c)
            }),
            text().prop_map(|c| TokenValue {
                system: TokenSystem::NoSystem,
                code: Some(c)
            }),
            (text(), proptest::option::of(text())).prop_map(|(s, code)| TokenValue {
                system: TokenSystem::System(s),
                code
            }),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = TokenValue::parse(&s);
            let _ = TokenValue::parse_of_type(&s);
        }

        #[test]
        fn valid_values_round_trip(v in arb_token()) {
            prop_assert_eq!(TokenValue::parse(&v.to_string()), Ok(v));
        }
    }
}
