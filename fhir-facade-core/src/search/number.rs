//! Number search values with the implicit precision range of how they are written.

use super::Prefix;
use rust_decimal::Decimal;
use std::fmt;

/// A number search value: `100` stands for `[99.5, 100.5)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberValue {
    /// The comparison prefix.
    pub prefix: Prefix,
    /// The value as a decimal.
    pub value: Decimal,
    /// The lower bound of the implicit range (inclusive).
    pub low: Decimal,
    /// The upper bound of the implicit range (exclusive).
    pub high: Decimal,
    /// The value as written, without its prefix (for links).
    pub text: String,
}

/// The most decimal places a [`Decimal`] holds.
const MAX_SCALE: i64 = 28;

impl NumberValue {
    /// Parses a number search value: an optional prefix, then a FHIR decimal
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; a leading `+`, leading zeros, `.5`,
    /// `1,5`, `NaN` and `inf` are rejected).
    ///
    /// The implicit range is the value ± half a unit of the last significant digit written:
    /// `100` is `[99.5, 100.5)`, `100.00` is `[99.995, 100.005)`, `0.1` is `[0.05, 0.15)`.
    ///
    /// Exponent forms follow the specification's table, whose one example reads `1e2` as
    /// `[95, 105)`: the range is half a unit of the digit one place below the mantissa's last
    /// written digit, so `1e2` is `[95, 105)`, `1.5e2` is `[149.5, 150.5)` and `1e0` is
    /// `[0.95, 1.05)`.
    ///
    /// Values, bounds or precisions that a 96-bit [`Decimal`] with at most 28 decimal places cannot
    /// hold exactly (such as `1e999999` or `1e-30`) are errors.
    pub fn parse(s: &str) -> Result<NumberValue, String> {
        let (prefix, text) = Prefix::split(s);
        let written = Written::parse(text)?;
        let value = written.value()?;
        let half = written.half_width()?;
        let out_of_range =
            || "the number's precision range is beyond what is supported".to_string();
        let low = value.checked_sub(half).ok_or_else(out_of_range)?;
        let high = value.checked_add(half).ok_or_else(out_of_range)?;
        // Decimal arithmetic rounds instead of failing when digits run out; a rounded bound would
        // silently change which values match.
        if value - low != half || high - value != half {
            return Err("the number has too many significant digits to search exactly".into());
        }
        Ok(NumberValue {
            prefix,
            value,
            low,
            high,
            text: text.to_string(),
        })
    }

    /// Whether a resource value `target` matches:
    ///
    /// | prefix | holds when |
    /// |---|---|
    /// | `eq` | `low <= target < high` (the implicit range) |
    /// | `ne` | not `eq` |
    /// | `gt`, `sa` | `target > value` |
    /// | `lt`, `eb` | `target < value` |
    /// | `ge` | `target >= value` |
    /// | `le` | `target <= value` |
    /// | `ap` | `eq`, or `target` within 10% of `value` (inclusive) |
    ///
    /// The ordering prefixes compare with the exact value, as the specification's examples do
    /// (`gt100`: greater than exactly 100). A resource number is a point, so `sa` and `eb` are `gt`
    /// and `lt`. `ap` uses the recommended 10% of the stated value, and never matches less than
    /// `eq`, so that `ap0` still finds 0.
    pub fn matches(&self, target: Decimal) -> bool {
        let eq = self.low <= target && target < self.high;
        match self.prefix {
            Prefix::Eq => eq,
            Prefix::Ne => !eq,
            Prefix::Gt | Prefix::Sa => target > self.value,
            Prefix::Lt | Prefix::Eb => target < self.value,
            Prefix::Ge => target >= self.value,
            Prefix::Le => target <= self.value,
            Prefix::Ap => {
                let margin = self.value.abs() / Decimal::TEN;
                // A difference too large for a Decimal is far outside any 10% margin.
                eq || target
                    .checked_sub(self.value)
                    .is_some_and(|d| d.abs() <= margin)
            }
        }
    }
}

impl fmt::Display for NumberValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix != Prefix::Eq {
            f.write_str(self.prefix.code())?;
        }
        f.write_str(&self.text)
    }
}

/// A syntactically valid FHIR decimal, taken apart.
struct Written<'a> {
    negative: bool,
    /// The digits before the decimal point.
    integer: &'a [u8],
    /// The digits after the decimal point.
    fraction: &'a [u8],
    /// The exponent, when written.
    exponent: Option<i64>,
}

impl<'a> Written<'a> {
    fn parse(text: &'a str) -> Result<Written<'a>, String> {
        let bytes = text.as_bytes();
        let digit_run = |from: usize| {
            bytes.get(from..).map_or(0, |rest| {
                rest.iter().take_while(|b| b.is_ascii_digit()).count()
            })
        };
        if text.is_empty() {
            return Err("the number is empty".into());
        }
        let mut pos = 0;
        let negative = bytes[0] == b'-';
        if negative || bytes[0] == b'+' {
            if bytes[0] == b'+' {
                return Err("a number may not start with `+` (FHIR decimal syntax)".into());
            }
            pos += 1;
        }
        let int_len = digit_run(pos);
        if int_len == 0 {
            return Err(
                "not a number: expected digits, as in 100, -0.5 or 1.5e3 (FHIR decimal syntax)"
                    .into(),
            );
        }
        if int_len > 1 && bytes[pos] == b'0' {
            return Err("a number may not have leading zeros".into());
        }
        let int_digits = &bytes[pos..pos + int_len];
        pos += int_len;
        let mut fraction: &[u8] = &[];
        if bytes.get(pos) == Some(&b'.') {
            let len = digit_run(pos + 1);
            if len == 0 {
                return Err("a decimal point must be followed by digits".into());
            }
            fraction = &bytes[pos + 1..pos + 1 + len];
            pos += 1 + len;
        }
        let mut exponent = None;
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let exp_negative = bytes.get(pos) == Some(&b'-');
            if matches!(bytes.get(pos), Some(b'-' | b'+')) {
                pos += 1;
            }
            let len = digit_run(pos);
            if len == 0 {
                return Err("an exponent must have digits".into());
            }
            // ASCII digits only, so the slice is valid UTF-8 at char boundaries.
            let magnitude: i64 = text[pos..pos + len]
                .parse()
                .map_err(|_| "the exponent is out of range")?;
            exponent = Some(if exp_negative { -magnitude } else { magnitude });
            pos += len;
        }
        if pos != bytes.len() {
            return Err(
                "unexpected characters in the number (FHIR decimals look like 100, -0.5 or 1.5e3)"
                    .into(),
            );
        }
        Ok(Written {
            negative,
            integer: int_digits,
            fraction,
            exponent,
        })
    }

    /// The number of decimal places of the value: negative when the exponent shifts digits left of
    /// the point.
    fn scale(&self) -> i64 {
        self.fraction_digits()
            .saturating_sub(self.exponent.unwrap_or(0))
    }

    fn fraction_digits(&self) -> i64 {
        // A text of more than i64::MAX bytes cannot exist.
        self.fraction.len() as i64
    }

    fn value(&self) -> Result<Decimal, String> {
        let too_large = || "the number is too large or has too many digits".to_string();
        let mut mantissa: i128 = 0;
        for &d in self.integer.iter().chain(self.fraction) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(d - b'0')))
                .ok_or_else(too_large)?;
        }
        let scale = self.scale();
        let value = if mantissa == 0 {
            Decimal::ZERO
        } else if scale > MAX_SCALE {
            return Err(format!(
                "the number needs more than {MAX_SCALE} decimal places, which is not supported"
            ));
        } else if scale >= 0 {
            Decimal::try_from_i128_with_scale(mantissa, scale as u32).map_err(|_| too_large())?
        } else {
            let shifted = u32::try_from(-scale)
                .ok()
                .and_then(|shift| 10_i128.checked_pow(shift))
                .and_then(|factor| mantissa.checked_mul(factor))
                .ok_or_else(too_large)?;
            Decimal::try_from_i128_with_scale(shifted, 0).map_err(|_| too_large())?
        };
        Ok(if self.negative { -value } else { value })
    }

    /// Half a unit of the last significant digit (one digit further for exponent forms).
    fn half_width(&self) -> Result<Decimal, String> {
        let power = match self.exponent {
            Some(_) => (-self.scale()).saturating_sub(2),
            None => -self.fraction_digits() - 1,
        };
        let unsupported = || {
            "the number's precision is finer or coarser than supported (at most 28 decimal places)"
                .to_string()
        };
        if power >= 0 {
            let unit = u32::try_from(power)
                .ok()
                .and_then(|p| 10_i128.checked_pow(p))
                .and_then(|u| u.checked_mul(5))
                .ok_or_else(unsupported)?;
            Decimal::try_from_i128_with_scale(unit, 0).map_err(|_| unsupported())
        } else if -power <= MAX_SCALE {
            Decimal::try_from_i128_with_scale(5, (-power) as u32).map_err(|_| unsupported())
        } else {
            Err(unsupported())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn bounds(s: &str) -> (Decimal, Decimal) {
        let v = NumberValue::parse(s).unwrap();
        (v.low, v.high)
    }

    #[test]
    fn implicit_ranges() {
        assert_eq!(bounds("100"), (dec("99.5"), dec("100.5")));
        assert_eq!(bounds("100.00"), (dec("99.995"), dec("100.005")));
        assert_eq!(bounds("0.1"), (dec("0.05"), dec("0.15")));
        assert_eq!(bounds("-2.0"), (dec("-2.05"), dec("-1.95")));
        assert_eq!(bounds("0"), (dec("-0.5"), dec("0.5")));
    }

    #[test]
    fn exponent_ranges_follow_the_spec_table() {
        let v = NumberValue::parse("1e2").unwrap();
        assert_eq!(v.value, dec("100"));
        assert_eq!((v.low, v.high), (dec("95"), dec("105")));
        assert_eq!(bounds("1.5E2"), (dec("149.5"), dec("150.5")));
        assert_eq!(bounds("1e0"), (dec("0.95"), dec("1.05")));
        assert_eq!(bounds("25e-1"), (dec("2.495"), dec("2.505")));
        assert_eq!(bounds("1e+2"), (dec("95"), dec("105")));
    }

    #[test]
    fn rejects_what_is_not_a_fhir_decimal() {
        for bad in [
            "",
            "+1",
            "1,5",
            "abc",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            ".5",
            "5.",
            "01",
            "-",
            "1e",
            "1e+",
            "1.2.3",
            "1 ",
            " 1",
            "0x10",
            "1e999999",
            "1e-30",
            "ge",
            "１",
            "1e99999999999999999999999",
        ] {
            assert!(
                NumberValue::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let huge = "9".repeat(10_000);
        assert!(NumberValue::parse(&huge).is_err());
        let tiny = format!("0.{}1", "0".repeat(10_000));
        assert!(NumberValue::parse(&tiny).is_err());
    }

    #[test]
    fn prefixes_compare_with_the_exact_value() {
        let m =
            |search: &str, target: &str| NumberValue::parse(search).unwrap().matches(dec(target));
        assert!(m("100", "99.5"));
        assert!(m("100", "100.4999"));
        assert!(!m("100", "100.5"));
        assert!(!m("100.00", "100.005"));
        assert!(m("ne100", "100.5"));
        assert!(!m("ne100", "100.2"));
        assert!(m("gt100", "100.1"));
        assert!(!m("gt100", "100"));
        assert!(m("ge100", "100"));
        assert!(!m("ge100", "99.9"));
        assert!(m("lt100", "99.9"));
        assert!(!m("lt100", "100"));
        assert!(m("le100", "100"));
        assert!(m("sa100", "100.1"));
        assert!(!m("eb100", "100"));
        assert!(m("ap100", "110"));
        assert!(m("ap100", "90"));
        assert!(!m("ap100", "110.1"));
        assert!(m("ap0", "0.4"));
        assert!(m("ap-100", "-91"));
        // The difference overflows a Decimal: far outside the margin, not a panic.
        assert!(!m("ap3e28", "-70000000000000000000000000000"));
        assert!(NumberValue::parse("79228162514264337593543950335").is_err());
    }

    #[test]
    fn display_keeps_the_written_form() {
        let v = NumberValue::parse("ge1.50e3").unwrap();
        assert_eq!(v.prefix, Prefix::Ge);
        assert_eq!(v.to_string(), "ge1.50e3");
        assert_eq!(NumberValue::parse("eq7").unwrap().to_string(), "7");
    }

    fn arb_number_text() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            "0|[1-9][0-9]{0,12}",
            proptest::option::of("[0-9]{1,10}"),
            proptest::option::of(("[eE]", "[+-]?", -5i32..6)),
        )
            .prop_map(|(neg, int, frac, exp)| {
                let mut s = String::new();
                if neg {
                    s.push('-');
                }
                s.push_str(&int);
                if let Some(frac) = frac {
                    s.push('.');
                    s.push_str(&frac);
                }
                if let Some((e, sign, magnitude)) = exp {
                    s.push_str(&format!("{e}{sign}{}", magnitude.abs()));
                }
                s
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = NumberValue::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_near_numbers(s in "(gt|ap)?[-+]?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][-+]?[0-9]{0,25})?") {
            let _ = NumberValue::parse(&s);
        }

        #[test]
        fn valid_values_round_trip(
            prefix in prop::sample::select(vec!["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]),
            text in arb_number_text(),
        ) {
            let v = NumberValue::parse(&format!("{prefix}{text}"));
            prop_assert!(v.is_ok(), "{prefix}{text}: {v:?}");
            let v = v.unwrap();
            prop_assert!(v.low < v.value && v.value < v.high);
            prop_assert_eq!(v.value, Decimal::from_scientific(&text).or_else(|_| Decimal::from_str(&text)).unwrap());
            prop_assert_eq!(NumberValue::parse(&v.to_string()), Ok(v));
        }
    }
}
