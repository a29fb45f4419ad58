//! Date and dateTime search values, at every precision, as half-open instant ranges.

use super::Prefix;
use time::OffsetDateTime;

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
