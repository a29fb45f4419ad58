//! Date and dateTime search values, at every precision, as half-open instant ranges.

use super::Prefix;
use std::fmt;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// How precisely a date value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatePrecision {
    /// `2020`
    Year,
    /// `2020-01`
    Month,
    /// `2020-01-15`
    Day,
    /// `2020-01-15T10:00Z` (minutes, no seconds)
    Minute,
    /// `2020-01-15T10:00:00Z`
    Second,
    /// `2020-01-15T10:00:00.123Z`: the number of fraction digits.
    Fraction(u8),
}

/// The half-open range of instants `[start, end)` a date value stands for, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    /// The first instant in the range.
    pub start: OffsetDateTime,
    /// The first instant after the range.
    pub end: OffsetDateTime,
}

/// A date search value: prefix, the range the written value stands for, and its precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateValue {
    /// The comparison prefix.
    pub prefix: Prefix,
    /// The range of the written value.
    pub range: DateRange,
    /// The precision it was written with.
    pub precision: DatePrecision,
    /// The value as written, without its prefix (for links).
    pub text: String,
}

impl DateRange {
    /// Parses FHIR date, dateTime or instant text into the range of instants it stands for.
    ///
    /// Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm` (search allows minutes),
    /// `YYYY-MM-DDThh:mm:ss` and seconds with 1 to 9 fraction digits, each time optionally followed
    /// by a zone `Z` or `±hh:mm` (at most ±14:00, as in the FHIR regex). Years run from 0001 to 9999.
    ///
    /// A time without a zone is read in UTC, which this server takes as its local zone for search
    /// purposes: the specification leaves zone-less values to the server's zone, and UTC keeps results
    /// independent of where the process runs.
    ///
    /// The range is `[first instant, first instant after)` at the written precision, converted to
    /// UTC: `2020` is `[2020-01-01T00:00Z, 2021-01-01T00:00Z)`, `2019-12-31T23:30-05:00` is
    /// `[2020-01-01T04:30Z, 2020-01-01T04:31Z)`.
    ///
    /// Two limits of the underlying calendar (which ends at 9999-12-31T23:59:59.999999999Z):
    /// a range ending after it (`9999`, `9999-12-31`) ends at that last representable instant, and a
    /// value whose start is after it in UTC (`9999-12-31T23:00-05:00`) is rejected. Leap seconds
    /// (`:60`), which the FHIR regex allows, are rejected because they cannot be represented.
    pub fn parse(s: &str) -> Result<(DateRange, DatePrecision), String> {
        let fields = Fields::parse(s)?;
        let month = Month::try_from(fields.month).map_err(|_| "the month must be 01 to 12")?;
        let date = Date::from_calendar_date(fields.year, month, fields.day).map_err(|_| {
            format!(
                "{:04}-{:02} has no day {:02}",
                fields.year, fields.month, fields.day
            )
        })?;
        let time = Time::from_hms_nano(fields.hour, fields.minute, fields.second, fields.nanos)
            .map_err(|_| "the time of day is out of range")?;
        let offset = UtcOffset::from_hms(fields.offset_hours, fields.offset_minutes, 0)
            .map_err(|_| "the zone offset is out of range")?;
        let start = PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .checked_to_offset(UtcOffset::UTC)
            .ok_or("the instant is after 9999-12-31T23:59:59Z in UTC, which is not supported")?;
        let end = match fields.precision {
            DatePrecision::Year => Date::from_calendar_date(fields.year + 1, Month::January, 1)
                .ok()
                .map(|d| d.midnight().assume_utc()),
            DatePrecision::Month => {
                let (year, month) = if month == Month::December {
                    (fields.year + 1, Month::January)
                } else {
                    (fields.year, month.next())
                };
                Date::from_calendar_date(year, month, 1)
                    .ok()
                    .map(|d| d.midnight().assume_utc())
            }
            DatePrecision::Day => date.next_day().map(|d| d.midnight().assume_utc()),
            DatePrecision::Minute => start.checked_add(Duration::MINUTE),
            DatePrecision::Second => start.checked_add(Duration::SECOND),
            DatePrecision::Fraction(digits) => {
                let unit = 10_i64.pow(9 - u32::from(digits));
                start.checked_add(Duration::nanoseconds(unit))
            }
        }
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
        Ok((DateRange { start, end }, fields.precision))
    }
}

/// The fields of a date text, checked for syntax; the calendar checks are left to `time`.
struct Fields {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    offset_hours: i8,
    offset_minutes: i8,
    precision: DatePrecision,
}

/// A position in the bytes of a date text. Every byte looked for is ASCII, so any other byte
/// (including those of multi-byte characters) simply fails to match.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Exactly `n` ASCII digits (n ≤ 4, so the value fits).
    fn digits(&mut self, n: usize) -> Option<u16> {
        let run = self.bytes.get(self.pos..self.pos + n)?;
        if !run.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(run.iter().fold(0, |acc, b| acc * 10 + u16::from(b - b'0')))
    }

    /// Two digits no greater than `max`, for the fields of a time.
    fn two_digits(&mut self, max: u8, message: &str) -> Result<u8, String> {
        match self.digits(2) {
            Some(v) if v <= u16::from(max) => Ok(v as u8),
            _ => Err(message.to_string()),
        }
    }
}

impl Fields {
    fn parse(s: &str) -> Result<Fields, String> {
        let mut c = Cursor {
            bytes: s.as_bytes(),
            pos: 0,
        };
        let mut f = Fields {
            year: 0,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            offset_hours: 0,
            offset_minutes: 0,
            precision: DatePrecision::Year,
        };
        let year = c.digits(4).ok_or(
            "a date starts with a four-digit year (YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss)",
        )?;
        if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err("the year must have four digits (0001 to 9999)".into());
        }
        if year == 0 {
            return Err("year 0000 does not exist; years run from 0001 to 9999".into());
        }
        f.year = i32::from(year);
        if c.at_end() {
            return Ok(f);
        }
        Self::expect_date_separator(&mut c)?;
        f.month = match c.digits(2) {
            Some(m @ 1..=12) => m as u8,
            _ => return Err("the month must have two digits, 01 to 12 (YYYY-MM)".into()),
        };
        f.precision = DatePrecision::Month;
        if c.at_end() {
            return Ok(f);
        }
        Self::expect_date_separator(&mut c)?;
        f.day = match c.digits(2) {
            Some(d @ 1..=31) => d as u8,
            _ => return Err("the day must have two digits, 01 to 31 (YYYY-MM-DD)".into()),
        };
        f.precision = DatePrecision::Day;
        if c.at_end() {
            return Ok(f);
        }
        if !c.eat(b'T') {
            return Err("unexpected text after the date; a time starts with `T`".into());
        }
        if c.at_end() {
            return Err("`T` must be followed by a time (hh:mm or hh:mm:ss)".into());
        }
        f.hour = c.two_digits(23, "the hour must have two digits, 00 to 23")?;
        if !c.eat(b':') {
            return Err("a time needs at least hours and minutes (hh:mm)".into());
        }
        f.minute = c.two_digits(59, "the minutes must have two digits, 00 to 59")?;
        f.precision = DatePrecision::Minute;
        if c.eat(b':') {
            f.second = match c.digits(2) {
                Some(s @ 0..=59) => s as u8,
                Some(60) => return Err("leap seconds (:60) are not supported".into()),
                _ => return Err("the seconds must have two digits, 00 to 59".into()),
            };
            f.precision = DatePrecision::Second;
            if c.eat(b'.') {
                let mut digits = 0u8;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    if digits == 9 {
                        return Err("at most 9 fraction digits (nanoseconds) are supported".into());
                    }
                    f.nanos = f.nanos * 10 + u32::from(d - b'0');
                    digits += 1;
                    c.pos += 1;
                }
                if digits == 0 {
                    return Err("a decimal point in the seconds must be followed by digits".into());
                }
                f.nanos *= 10_u32.pow(9 - u32::from(digits));
                f.precision = DatePrecision::Fraction(digits);
            }
        }
        Self::parse_zone(&mut c, &mut f)?;
        if !c.at_end() {
            return Err("unexpected text after the time".into());
        }
        Ok(f)
    }

    fn expect_date_separator(c: &mut Cursor<'_>) -> Result<(), String> {
        if c.eat(b'-') {
            Ok(())
        } else if c.peek() == Some(b'T') {
            Err("a time needs a full date before it (YYYY-MM-DDThh:mm)".into())
        } else {
            Err("unexpected text in the date; expected `-` between year, month and day".into())
        }
    }

    fn parse_zone(c: &mut Cursor<'_>, f: &mut Fields) -> Result<(), String> {
        let sign = match c.peek() {
            Some(b'Z') => {
                c.pos += 1;
                return Ok(());
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Ok(()),
        };
        c.pos += 1;
        let message = "a zone offset is written ±hh:mm, from -14:00 to +14:00";
        let hours = c.two_digits(14, message)?;
        if !c.eat(b':') {
            return Err(message.into());
        }
        let minutes = c.two_digits(59, message)?;
        if hours == 14 && minutes != 0 {
            return Err(message.into());
        }
        // Both fit in i8: hours ≤ 14, minutes ≤ 59.
        f.offset_hours = sign * hours as i8;
        f.offset_minutes = sign * minutes as i8;
        Ok(())
    }
}

impl DateValue {
    /// Parses a date search value: an optional prefix, then a date as in [`DateRange::parse`].
    pub fn parse(s: &str) -> Result<DateValue, String> {
        let (prefix, text) = Prefix::split(s);
        let (range, precision) = DateRange::parse(text)?;
        Ok(DateValue {
            prefix,
            range,
            precision,
            text: text.to_string(),
        })
    }

    /// Whether a resource value with the range `target` matches, with `ap` measured from the
    /// current time. See [`DateValue::matches_at`].
    pub fn matches(&self, target: &DateRange) -> bool {
        self.matches_at(target, OffsetDateTime::now_utc())
    }

    /// Whether a resource value with the range `target` matches this value, as FHIR R4 defines the
    /// prefixes on ranges (`search` is this value's range):
    ///
    /// | prefix | holds when |
    /// |---|---|
    /// | `eq` | `search` fully contains `target` |
    /// | `ne` | not `eq` |
    /// | `gt` | `target.end > search.end` (the range above `search` meets `target`) |
    /// | `lt` | `target.start < search.start` (the range below `search` meets `target`) |
    /// | `ge` | `gt` or `eq` |
    /// | `le` | `lt` or `eq` |
    /// | `sa` | `target.start >= search.end` |
    /// | `eb` | `target.end <= search.start` |
    /// | `ap` | `target` overlaps `search` widened on each side by 10% of the time between `search.start` and `now` |
    ///
    /// `ap` follows the specification's recommendation (10% of the gap between now and the date);
    /// `now` is a parameter so that the result is reproducible.
    pub fn matches_at(&self, target: &DateRange, now: OffsetDateTime) -> bool {
        let search = &self.range;
        let eq = target.start >= search.start && target.end <= search.end;
        let gt = target.end > search.end;
        let lt = target.start < search.start;
        match self.prefix {
            Prefix::Eq => eq,
            Prefix::Ne => !eq,
            Prefix::Gt => gt,
            Prefix::Lt => lt,
            Prefix::Ge => gt || eq,
            Prefix::Le => lt || eq,
            Prefix::Sa => target.start >= search.end,
            Prefix::Eb => target.end <= search.start,
            Prefix::Ap => {
                let margin = (now - search.start).abs() / 10;
                // Past the calendar's limits the widened range is unbounded on that side.
                let after_low = search
                    .start
                    .checked_sub(margin)
                    .is_none_or(|low| target.end > low);
                let before_high = search
                    .end
                    .checked_add(margin)
                    .is_none_or(|high| target.start < high);
                after_low && before_high
            }
        }
    }
}

impl fmt::Display for DateValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix != Prefix::Eq {
            f.write_str(self.prefix.code())?;
        }
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn range(s: &str) -> DateRange {
        DateRange::parse(s).unwrap().0
    }

    fn value(s: &str) -> DateValue {
        DateValue::parse(s).unwrap()
    }

    /// Names of the targets that `search` matches, in order.
    fn matching<'a>(search: &str, targets: &[(&'a str, DateRange)]) -> Vec<&'a str> {
        let v = value(search);
        targets
            .iter()
            .filter(|(_, r)| v.matches(r))
            .map(|(name, _)| *name)
            .collect()
    }

    #[test]
    fn ranges_at_every_precision() {
        assert_eq!(
            DateRange::parse("2020").unwrap(),
            (
                DateRange {
                    start: datetime!(2020-01-01 00:00 UTC),
                    end: datetime!(2021-01-01 00:00 UTC)
                },
                DatePrecision::Year
            )
        );
        let feb = range("2020-02");
        assert_eq!(feb.end, datetime!(2020-03-01 00:00 UTC));
        assert_eq!(range("2019-02").end, datetime!(2019-03-01 00:00 UTC));
        assert_eq!(range("2020-12").end, datetime!(2021-01-01 00:00 UTC));
        assert_eq!(
            range("2020-02-29"),
            DateRange {
                start: datetime!(2020-02-29 00:00 UTC),
                end: datetime!(2020-03-01 00:00 UTC)
            }
        );
        let (r, p) = DateRange::parse("2019-12-31T23:30-05:00").unwrap();
        assert_eq!(p, DatePrecision::Minute);
        assert_eq!(r.start, datetime!(2020-01-01 04:30 UTC));
        assert_eq!(r.end, datetime!(2020-01-01 04:31 UTC));
        let (r, p) = DateRange::parse("2020-01-15T10:00:00.123Z").unwrap();
        assert_eq!(p, DatePrecision::Fraction(3));
        assert_eq!(r.start, datetime!(2020-01-15 10:00:00.123 UTC));
        assert_eq!(r.end - r.start, Duration::MILLISECOND);
        let (r, p) = DateRange::parse("2020-01-15T10:00:00.123456789+01:00").unwrap();
        assert_eq!(p, DatePrecision::Fraction(9));
        assert_eq!(r.start, datetime!(2020-01-15 09:00:00.123456789 UTC));
        assert_eq!(r.end - r.start, Duration::NANOSECOND);
        let (r, p) = DateRange::parse("2020-01-15T10:00:05").unwrap();
        assert_eq!(p, DatePrecision::Second);
        assert_eq!(r.start, datetime!(2020-01-15 10:00:05 UTC));
        assert_eq!(r.start.offset(), UtcOffset::UTC);
        assert_eq!(
            range("2020-06-01T00:00+14:00").start,
            datetime!(2020-05-31 10:00 UTC)
        );
    }

    #[test]
    fn calendar_limits() {
        assert_eq!(range("0001").start, datetime!(0001-01-01 00:00 UTC));
        assert_eq!(
            range("0001-01-01T00:00+14:00").start,
            datetime!(0000-12-31 10:00 UTC)
        );
        let last = PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(range("9999").end, last);
        assert_eq!(range("9999-12-31").end, last);
        assert_eq!(range("9999-12-31T23:59:59.999999999Z").end, last);
        assert!(DateRange::parse("9999-12-31T23:00-05:00").is_err());
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "31-12-2019",
            "2020-13",
            "2020-00",
            "2020-02-30",
            "2019-02-29",
            "2020-1-5",
            "2020-01-5",
            "20200",
            "0000",
            "12020-01-01",
            "2020-01-01T24:00",
            "2020-01-01T23:60",
            "2020-01-01T23:59:60Z",
            "2020-01T10:00",
            "2020T10:00",
            "2020-01-01T",
            "2020-01-01T10",
            "2020-01-01T10:00:00.",
            "2020-01-01T10:00:00.1234567890Z",
            "2020-01-01T10:00+15:00",
            "2020-01-01T10:00+14:30",
            "2020-01-01T10:00+0100",
            "2020-01-01Z",
            "2020-01-01t10:00",
            "2020-01-01 10:00",
            "2020-01-01T10:00:00Zx",
            "2020-01-01x",
            "2020é",
            "ge",
            "２０２０",
        ] {
            assert!(DateRange::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(DateValue::parse("31-12-2019").is_err());
        assert!(DateValue::parse(&format!("2020-01-01T10:00:00.{}Z", "1".repeat(10_000))).is_err());
        assert!(DateValue::parse(&"9".repeat(10_000)).is_err());
    }

    #[test]
    fn value_keeps_prefix_and_text() {
        let v = value("ge2020-01");
        assert_eq!(v.prefix, Prefix::Ge);
        assert_eq!(v.text, "2020-01");
        assert_eq!(v.precision, DatePrecision::Month);
        assert_eq!(v.range.start, datetime!(2020-01-01 00:00 UTC));
        assert_eq!(v.to_string(), "ge2020-01");
        assert_eq!(value("eq2020").to_string(), "2020");
    }

    #[test]
    fn year_matches_birthdate_within_it() {
        let v = value("1980");
        assert!(v.matches(&range("1980-05-05")));
        assert!(!v.matches(&range("1981-01-01")));
    }

    #[test]
    fn birthdate_prefixes() {
        let patients = [
            ("p1", range("1980-06-15")),
            ("p2", range("1979-12-31")),
            ("p3", range("1981-01-01")),
        ];
        assert_eq!(matching("gt1980", &patients), ["p3"]);
        assert_eq!(matching("ge1980", &patients), ["p1", "p3"]);
        assert_eq!(matching("lt1980", &patients), ["p2"]);
        assert_eq!(matching("le1980", &patients), ["p1", "p2"]);
        assert_eq!(matching("ne1980", &patients), ["p2", "p3"]);
        assert_eq!(matching("gt1980-06-15T10:00:00Z", &patients), ["p1", "p3"]);
        assert_eq!(matching("lt1980-06-15T10:00:00Z", &patients), ["p1", "p2"]);
    }

    fn observations() -> [(&'static str, DateRange); 4] {
        [
            ("o1", range("2020-03-01T10:00:00Z")),
            ("o2", range("2019-12-31T23:30-05:00")),
            (
                "o3",
                DateRange {
                    start: range("2020-01-10").start,
                    end: range("2020-01-20").end,
                },
            ),
            ("o4", range("2020-02-01")),
        ]
    }

    #[test]
    fn observation_prefixes() {
        let obs = observations();
        assert!(matching("2020-01-15", &obs).is_empty());
        assert_eq!(matching("2020-01", &obs), ["o2", "o3"]);
        assert_eq!(matching("ge2020-01-15", &obs), ["o1", "o3", "o4"]);
        assert_eq!(matching("sa2020-01-05", &obs), ["o1", "o3", "o4"]);
        assert_eq!(matching("eb2020-01-15", &obs), ["o2"]);
        assert_eq!(matching("lt2020-01-01T05:00:00+00:00", &obs), ["o2"]);
        let (ge, lt) = (value("ge2020-01-01"), value("lt2020-02-01"));
        let both: Vec<_> = obs
            .iter()
            .filter(|(_, r)| ge.matches(r) && lt.matches(r))
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(both, ["o2", "o3"]);
    }

    #[test]
    fn approximately_widens_by_a_tenth_of_the_distance_to_now() {
        let now = datetime!(2030-01-01 00:00 UTC);
        // Ten years before `now`: the margin is one year on each side.
        let v = value("ap2020-01-01");
        assert!(v.matches_at(&range("2019-01-05"), now));
        assert!(v.matches_at(&range("2020-12-30"), now));
        assert!(!v.matches_at(&range("2018-12-01"), now));
        assert!(!v.matches_at(&range("2021-03-01"), now));
        // At `now` itself there is no margin: `ap` is plain overlap.
        let v = value("ap2030-01-01");
        assert!(v.matches_at(&range("2030-01"), now));
        assert!(!v.matches_at(&range("2029-12-31"), now));
        // Margins beyond the calendar are unbounded rather than an overflow.
        let v = value("ap0001");
        assert!(v.matches_at(&range("0001-06-01"), datetime!(9999-01-01 00:00 UTC)));
    }

    fn arb_date_text() -> impl Strategy<Value = String> {
        let zone = prop_oneof![
            Just(String::new()),
            Just("Z".to_string()),
            (0u8..=14, 0u8..60, any::<bool>()).prop_map(|(h, m, neg)| {
                let m = if h == 14 { 0 } else { m };
                format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })
            }),
        ];
        (
            1i32..=9998,
            1u8..=12,
            1u8..=31,
            0usize..6,
            (0u8..24, 0u8..60, 0u8..60),
            proptest::string::string_regex("[0-9]{1,9}").unwrap(),
            zone,
        )
            .prop_map(|(y, mo, d, precision, (h, mi, s), frac, zone)| {
                let month = Month::try_from(mo).unwrap();
                let d = d.min(month.length(y));
                match precision {
                    0 => format!("{y:04}"),
                    1 => format!("{y:04}-{mo:02}"),
                    2 => format!("{y:04}-{mo:02}-{d:02}"),
                    3 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}{zone}"),
                    4 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}"),
                    _ => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac}{zone}"),
                }
            })
    }

    fn arb_prefix_code() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap",
        ])
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = DateValue::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_near_dates(s in "(ge|lt|ap)?[0-9T:Z+.\\-]{0,40}") {
            let _ = DateValue::parse(&s);
        }

        #[test]
        fn valid_values_round_trip(prefix in arb_prefix_code(), text in arb_date_text()) {
            let v = DateValue::parse(&format!("{prefix}{text}"));
            prop_assert!(v.is_ok(), "{prefix}{text}: {v:?}");
            let v = v.unwrap();
            prop_assert_eq!(&v.text, &text);
            prop_assert!(v.range.start < v.range.end);
            prop_assert_eq!(v.range.start.offset(), UtcOffset::UTC);
            prop_assert_eq!(DateValue::parse(&v.to_string()), Ok(v));
        }
    }
}
