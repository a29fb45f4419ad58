//! Quantity search values: `[prefix]number|system|code`.

use super::NumberValue;
use super::escape;
use std::fmt;

/// A quantity search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityValue {
    /// The number, its prefix and its implicit range.
    pub number: NumberValue,
    /// The unit system (`http://unitsofmeasure.org`); `None` for any.
    pub system: Option<String>,
    /// The unit code or unit text (`mg`); `None` for any.
    pub code: Option<String>,
}

impl QuantityValue {
    /// Parses `[prefix]number`, or `[prefix]number|system|code` where an empty system or code
    /// stands for any (`5.4||mg`). The parts are split on unescaped `|` and then unescaped.
    pub fn parse(s: &str) -> Result<QuantityValue, String> {
        let parts = escape::split(s, '|');
        let (number, system, code) = match parts.as_slice() {
            [number] => (*number, "", ""),
            [number, system, code] => (*number, *system, *code),
            _ => {
                return Err(format!(
                    "a quantity is `number` or `number|system|code`, not {} parts separated by `|` \
                     (a literal bar is escaped as `\\|`)",
                    parts.len()
                ));
            }
        };
        let non_empty = |part: &str| Some(escape::unescape(part)).filter(|p| !p.is_empty());
        Ok(QuantityValue {
            number: NumberValue::parse(&escape::unescape(number))?,
            system: non_empty(system),
            code: non_empty(code),
        })
    }
}

impl fmt::Display for QuantityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        if self.system.is_some() || self.code.is_some() {
            let part = |p: &Option<String>| p.as_deref().map(escape::escape).unwrap_or_default();
            write!(f, "|{}|{}", part(&self.system), part(&self.code))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Prefix;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn forms() {
        let q = QuantityValue::parse("5.4").unwrap();
        assert_eq!((q.system, q.code), (None, None));
        let q = QuantityValue::parse("5.4||mg").unwrap();
        assert_eq!((q.system, q.code.as_deref()), (None, Some("mg")));
        let q = QuantityValue::parse("5.4|http://unitsofmeasure.org|mg").unwrap();
        assert_eq!(q.system.as_deref(), Some("http://unitsofmeasure.org"));
        assert_eq!(q.code.as_deref(), Some("mg"));
        assert_eq!((q.number.low, q.number.high), (dec("5.35"), dec("5.45")));
        assert_eq!(q.number.prefix, Prefix::Eq);
        let q = QuantityValue::parse("gt2.04||mmol/L").unwrap();
        assert_eq!(q.number.prefix, Prefix::Gt);
        assert_eq!(q.number.value, dec("2.04"));
        assert_eq!(q.code.as_deref(), Some("mmol/L"));
        let q = QuantityValue::parse("1|urn:x|a\\|b\\,c").unwrap();
        assert_eq!(q.code.as_deref(), Some("a|b,c"));
        let q = QuantityValue::parse("1|s|").unwrap();
        assert_eq!((q.system.as_deref(), q.code), (Some("s"), None));
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            "",
            "5.4|mg",
            "5.4|a|b|c",
            "|s|mg",
            "abc||mg",
            "5,4||mg",
            "1,5",
        ] {
            assert!(
                QuantityValue::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn display() {
        for s in [
            "5.4",
            "5.4||mg",
            "ge5.4|http://unitsofmeasure.org|mg",
            "1|s|",
            "1||a\\|b",
        ] {
            assert_eq!(QuantityValue::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(QuantityValue::parse("eq5||").unwrap().to_string(), "5");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = QuantityValue::parse(&s);
        }

        #[test]
        fn valid_values_round_trip(
            prefix in prop::sample::select(vec!["", "gt", "le", "ap"]),
            number in "-?(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?",
            system in proptest::option::of(any::<String>().prop_filter("non-empty", |s| !s.is_empty())),
            code in proptest::option::of(any::<String>().prop_filter("non-empty", |s| !s.is_empty())),
        ) {
            let v = QuantityValue {
                number: NumberValue::parse(&format!("{prefix}{number}")).unwrap(),
                system,
                code,
            };
            prop_assert_eq!(QuantityValue::parse(&v.to_string()), Ok(v));
        }
    }
}
