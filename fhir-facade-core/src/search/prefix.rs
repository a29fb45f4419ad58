//! Comparison prefixes of number, date and quantity values (`eq ne gt lt ge le sa eb ap`).

use std::fmt;

/// A comparison prefix. No prefix means [`Prefix::Eq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `lt`
    Lt,
    /// `ge`
    Ge,
    /// `le`
    Le,
    /// `sa`: starts after.
    Sa,
    /// `eb`: ends before.
    Eb,
    /// `ap`: approximately.
    Ap,
}

impl Prefix {
    /// Every prefix, in the order the specification lists them.
    const ALL: [Prefix; 9] = [
        Prefix::Eq,
        Prefix::Ne,
        Prefix::Gt,
        Prefix::Lt,
        Prefix::Ge,
        Prefix::Le,
        Prefix::Sa,
        Prefix::Eb,
        Prefix::Ap,
    ];

    /// The two-letter code as written in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Prefix::Eq => "eq",
            Prefix::Ne => "ne",
            Prefix::Gt => "gt",
            Prefix::Lt => "lt",
            Prefix::Ge => "ge",
            Prefix::Le => "le",
            Prefix::Sa => "sa",
            Prefix::Eb => "eb",
            Prefix::Ap => "ap",
        }
    }

    /// The prefix with this code (lower case, as the specification writes them), if any.
    pub fn parse_code(s: &str) -> Option<Prefix> {
        Prefix::ALL.into_iter().find(|p| p.code() == s)
    }

    /// Separates a leading prefix from the value: `ge2020` is `(Ge, "2020")`.
    ///
    /// A prefix is only taken when it is followed by something that can start a number or a date
    /// (a digit, `-`, `+` or `.`); anything else, including a bare `ge`, is `(Eq, value)` so that
    /// the value parser reports what is wrong with the whole text.
    pub fn split(value: &str) -> (Prefix, &str) {
        let bytes = value.as_bytes();
        let starts_value = |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.');
        if bytes.len() > 2 && bytes[..2].is_ascii() && starts_value(bytes[2]) {
            // The first two bytes are ASCII, so 2 is a char boundary.
            if let Some(prefix) = Prefix::parse_code(&value[..2]) {
                return (prefix, &value[2..]);
            }
        }
        (Prefix::Eq, value)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip() {
        for p in Prefix::ALL {
            assert_eq!(Prefix::parse_code(p.code()), Some(p));
            assert_eq!(p.to_string(), p.code());
        }
        assert_eq!(Prefix::parse_code("GE"), None);
        assert_eq!(Prefix::parse_code("xx"), None);
    }

    #[test]
    fn split_takes_prefix_only_before_a_value() {
        assert_eq!(Prefix::split("ge2020"), (Prefix::Ge, "2020"));
        assert_eq!(Prefix::split("lt-5"), (Prefix::Lt, "-5"));
        assert_eq!(Prefix::split("ap.5"), (Prefix::Ap, ".5"));
        assert_eq!(Prefix::split("eb+1"), (Prefix::Eb, "+1"));
        assert_eq!(Prefix::split("2020"), (Prefix::Eq, "2020"));
        assert_eq!(Prefix::split("ge"), (Prefix::Eq, "ge"));
        assert_eq!(Prefix::split("gex"), (Prefix::Eq, "gex"));
        assert_eq!(Prefix::split("xx10"), (Prefix::Eq, "xx10"));
        assert_eq!(Prefix::split("é1"), (Prefix::Eq, "é1"));
        assert_eq!(Prefix::split(""), (Prefix::Eq, ""));
    }

    proptest! {
        #[test]
        fn split_never_panics(s in any::<String>()) {
            let (_, rest) = Prefix::split(&s);
            prop_assert!(s.ends_with(rest));
        }
    }
}
