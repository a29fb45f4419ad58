//! The legacy value formats, read and written.
//!
//! - lab values (`wert`): a number with a decimal comma (`5,4`), optionally behind a comparator
//!   (`<0,5`, `>200`, `<=1`, `>=10`), else text (`positiv`);
//! - reference ranges (`ref_bereich`): `3,5-5,0`, `<5,0`, `>10`;
//! - dates (`geb_datum`, `diag_datum`, `verstorben_am`): `CHAR(8)` `YYYYMMDD` where `00` for the
//!   month or day means unknown and `00000000` (or blank) means no date.
//!
//! ```
//! use kis_facade::value::{Comparator, LabValue, legacy_date_to_fhir};
//! use rust_decimal::Decimal;
//!
//! assert_eq!(
//!     LabValue::parse("<0,5"),
//!     LabValue::Quantity { comparator: Some(Comparator::Lt), value: Decimal::new(5, 1) }
//! );
//! assert_eq!(LabValue::parse("positiv"), LabValue::Text("positiv".into()));
//! assert_eq!(LabValue::parse("5,40").to_legacy(), "5,40");
//! assert_eq!(legacy_date_to_fhir("19800500").as_deref(), Some("1980-05"));
//! ```

use std::str::FromStr;

use fhir_facade_core::sql::BindValue;

use rust_decimal::Decimal;

/// A quantity's comparator, as FHIR's `Quantity.comparator` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Comparator {
    /// The symbol, the same in the legacy text and in FHIR.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
        }
    }

    /// The comparator for a FHIR `Quantity.comparator` code.
    pub fn from_fhir(code: &str) -> Option<Comparator> {
        [
            Comparator::Lt,
            Comparator::Le,
            Comparator::Ge,
            Comparator::Gt,
        ]
        .into_iter()
        .find(|c| c.symbol() == code)
    }

    /// Splits a leading comparator off `text`.
    fn strip(text: &str) -> (Option<Comparator>, &str) {
        for c in [
            Comparator::Le,
            Comparator::Ge,
            Comparator::Lt,
            Comparator::Gt,
        ] {
            if let Some(rest) = text.strip_prefix(c.symbol()) {
                return (Some(c), rest.trim_start());
            }
        }
        (None, text)
    }
}

/// A lab value as the `wert` column holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabValue {
    /// A number, possibly behind a comparator.
    Quantity {
        /// The comparator, if any.
        comparator: Option<Comparator>,
        /// The number, with the scale it was written with (`5,40` keeps two places).
        value: Decimal,
    },
    /// Anything else (`positiv`, `s. Kommentar`), trimmed.
    Text(String),
}

impl LabValue {
    /// Reads a `wert`. Numbers take a decimal comma (a point is read too); a sign is allowed;
    /// anything else is text.
    pub fn parse(text: &str) -> LabValue {
        let trimmed = text.trim();
        let (comparator, rest) = Comparator::strip(trimmed);
        match parse_decimal_comma(rest) {
            Some(value) => LabValue::Quantity { comparator, value },
            None => LabValue::Text(trimmed.to_owned()),
        }
    }

    /// The `wert` text for this value: decimal comma, comparator first.
    pub fn to_legacy(&self) -> String {
        match self {
            LabValue::Quantity { comparator, value } => format!(
                "{}{}",
                comparator.map_or("", Comparator::symbol),
                format_decimal_comma(*value)
            ),
            LabValue::Text(text) => text.clone(),
        }
    }
}

/// A number written with a decimal comma (or point): `5,4`, `-2,0`, `200`. `None` for anything
/// else, including thousands separators and exponents, which lab systems do not write.
pub fn parse_decimal_comma(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = match unsigned.split_once([',', '.']) {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    Decimal::from_str(&text.replace(',', ".")).ok()
}

/// A number with a decimal comma, as the legacy columns write it (`5,4`).
pub fn format_decimal_comma(value: Decimal) -> String {
    value.to_string().replace('.', ",")
}

/// A reference range (`ref_bereich`): either bound may be missing (`<5,0` has only a high one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefRange {
    /// The low bound.
    pub low: Option<Decimal>,
    /// The high bound.
    pub high: Option<Decimal>,
}

impl RefRange {
    /// Reads `3,5-5,0`, `-2,0-2,0`, `<5,0`, `<=5`, `>10`, `>=10`. `None` for anything else.
    pub fn parse(text: &str) -> Option<RefRange> {
        let text = text.trim();
        if let (Some(c), rest) = Comparator::strip(text) {
            let bound = parse_decimal_comma(rest)?;
            return Some(match c {
                Comparator::Lt | Comparator::Le => RefRange {
                    low: None,
                    high: Some(bound),
                },
                Comparator::Gt | Comparator::Ge => RefRange {
                    low: Some(bound),
                    high: None,
                },
            });
        }
        // The separator is a '-' that is neither a leading sign nor right after another '-'.
        text.char_indices()
            .filter(|&(i, c)| c == '-' && i > 0)
            .find_map(|(i, _)| {
                let low = parse_decimal_comma(&text[..i])?;
                let high = parse_decimal_comma(&text[i + 1..])?;
                Some(RefRange {
                    low: Some(low),
                    high: Some(high),
                })
            })
    }

    /// The legacy text of this range, or `None` when it has no bound.
    pub fn to_legacy(&self) -> Option<String> {
        match (self.low, self.high) {
            (Some(l), Some(h)) => Some(format!(
                "{}-{}",
                format_decimal_comma(l),
                format_decimal_comma(h)
            )),
            (None, Some(h)) => Some(format!("<{}", format_decimal_comma(h))),
            (Some(l), None) => Some(format!(">{}", format_decimal_comma(l))),
            (None, None) => None,
        }
    }
}

/// A legacy `YYYYMMDD` date as a FHIR `date` at the precision it has: `19800517` is
/// `1980-05-17`, `19800500` is `1980-05`, `19800000` is `1980`. `None` for `00000000`, blank
/// or malformed text (a day without a month, an impossible date).
pub fn legacy_date_to_fhir(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, month, day) = (&text[..4], &text[4..6], &text[6..]);
    let y: i32 = year.parse().ok()?;
    let m: u8 = month.parse().ok()?;
    let d: u8 = day.parse().ok()?;
    match (y, m, d) {
        (0, ..) => None,
        (_, 0, 0) => Some(year.to_owned()),
        (_, 0, _) => None,
        (_, 1..=12, 0) => Some(format!("{year}-{month}")),
        (_, 1..=12, _) => {
            let month = time::Month::try_from(m).ok()?;
            time::Date::from_calendar_date(y, month, d).ok()?;
            Some(format!("{year}-{month:02}-{day}", month = m))
        }
        _ => None,
    }
}

/// A FHIR `date` (`1980`, `1980-05`, `1980-05-17`) as legacy `YYYYMMDD` text, or `None` when it
/// is not one.
pub fn fhir_date_to_legacy(date: &str) -> Option<String> {
    let parts: Vec<&str> = date.split('-').collect();
    fn number(s: &str, len: usize) -> Option<&str> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
    let legacy = match parts.as_slice() {
        [y] => format!("{}0000", number(y, 4)?),
        [y, m] => format!("{}{}00", number(y, 4)?, number(m, 2)?),
        [y, m, d] => format!("{}{}{}", number(y, 4)?, number(m, 2)?, number(d, 2)?),
        _ => return None,
    };
    // Round-trips only when it is a real (partial) date.
    (legacy_date_to_fhir(&legacy).as_deref() == Some(date)).then_some(legacy)
}

/// `None` for blank text; the trimmed text otherwise (`CHAR` columns come padded).
pub fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A text value bound to a legacy column.
pub(crate) fn text(s: &str) -> BindValue {
    BindValue::Text(s.to_owned())
}

/// A nullable text value bound to a legacy column.
pub(crate) fn opt_text(s: &Option<String>) -> BindValue {
    s.as_deref().map_or(BindValue::Null, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn lab_values() {
        let q = |c, v: &str| LabValue::Quantity {
            comparator: c,
            value: dec(v),
        };
        assert_eq!(LabValue::parse("5,4"), q(None, "5.4"));
        assert_eq!(LabValue::parse(" 5,40 "), q(None, "5.40"));
        assert_eq!(LabValue::parse("<0,5"), q(Some(Comparator::Lt), "0.5"));
        assert_eq!(LabValue::parse("< 0,5"), q(Some(Comparator::Lt), "0.5"));
        assert_eq!(LabValue::parse(">200"), q(Some(Comparator::Gt), "200"));
        assert_eq!(LabValue::parse("<=1"), q(Some(Comparator::Le), "1"));
        assert_eq!(LabValue::parse(">=10,0"), q(Some(Comparator::Ge), "10.0"));
        assert_eq!(LabValue::parse("-2,1"), q(None, "-2.1"));
        assert_eq!(LabValue::parse("7.25"), q(None, "7.25"));
        for text in [
            "positiv",
            "negativ",
            "s. Kommentar",
            "1.000,5",
            "1e3",
            ",5",
            "5,",
            "<",
            "",
            "--1",
            "5,4,3",
        ] {
            assert_eq!(
                LabValue::parse(text),
                LabValue::Text(text.trim().into()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn lab_values_round_trip() {
        for text in [
            "5,4", "5,40", "<0,5", ">200", "<=1", ">=10,0", "-2,1", "positiv",
        ] {
            assert_eq!(LabValue::parse(text).to_legacy(), text);
        }
        assert_eq!(LabValue::parse("7.25").to_legacy(), "7,25");
    }

    #[test]
    fn reference_ranges() {
        let r = |l: Option<&str>, h: Option<&str>| RefRange {
            low: l.map(dec),
            high: h.map(dec),
        };
        assert_eq!(
            RefRange::parse("3,5-5,0"),
            Some(r(Some("3.5"), Some("5.0")))
        );
        assert_eq!(
            RefRange::parse("-2,0-2,0"),
            Some(r(Some("-2.0"), Some("2.0")))
        );
        assert_eq!(RefRange::parse("-3--1"), Some(r(Some("-3"), Some("-1"))));
        assert_eq!(RefRange::parse("<5,0"), Some(r(None, Some("5.0"))));
        assert_eq!(RefRange::parse(">10"), Some(r(Some("10"), None)));
        for bad in ["", "negativ", "3,5-", "-", "a-b"] {
            assert_eq!(RefRange::parse(bad), None, "{bad:?}");
        }
        for text in ["3,5-5,0", "<5,0", ">10", "-2,0-2,0"] {
            assert_eq!(
                RefRange::parse(text).unwrap().to_legacy().as_deref(),
                Some(text)
            );
        }
    }

    #[test]
    fn legacy_dates() {
        assert_eq!(
            legacy_date_to_fhir("19800517").as_deref(),
            Some("1980-05-17")
        );
        assert_eq!(legacy_date_to_fhir("19800500").as_deref(), Some("1980-05"));
        assert_eq!(legacy_date_to_fhir("19800000").as_deref(), Some("1980"));
        for none in [
            "00000000", "        ", "", "19800017", "19801300", "19800230", "1980051", "1980-5-1",
        ] {
            assert_eq!(legacy_date_to_fhir(none), None, "{none:?}");
        }
        assert_eq!(
            fhir_date_to_legacy("1980-05-17").as_deref(),
            Some("19800517")
        );
        assert_eq!(fhir_date_to_legacy("1980-05").as_deref(), Some("19800500"));
        assert_eq!(fhir_date_to_legacy("1980").as_deref(), Some("19800000"));
        for bad in [
            "1980-02-30",
            "1980-13",
            "80",
            "1980-5",
            "1980-05-17T10:00:00Z",
            "",
        ] {
            assert_eq!(fhir_date_to_legacy(bad), None, "{bad:?}");
        }
    }
}
