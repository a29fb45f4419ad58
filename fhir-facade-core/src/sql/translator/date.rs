//! Date parameters: each stored value stands for a range (see [`TimeKind`]), compared with the
//! search value's range as [`DateValue::matches`] says.

use time::{Date, OffsetDateTime, Time};

use super::SqlTranslator;
use super::condition::{and, binary, is_not_null, misfit, negate, never, or, with_binary};
use crate::Result;
use crate::search::{DateValue, Prefix, SearchValue};
use crate::sql::mapping::{DateMapping, TimeKind};
use crate::sql::{BindValue, SqlFragment};

/// Which end of a stored value's range is compared with an instant, and how.
#[derive(Debug, Clone, Copy)]
enum Bound {
    StartGe,
    StartLt,
    EndLe,
    EndGt,
}

/// The first day starting at or after `x`.
fn ceil_date(x: OffsetDateTime) -> Option<Date> {
    if x.time() == Time::MIDNIGHT {
        Some(x.date())
    } else {
        x.date().next_day()
    }
}

fn ymd(d: Date, month: bool, day: bool) -> String {
    let m = if month { u8::from(d.month()) } else { 0 };
    let dd = if day { d.day() } else { 0 };
    format!("{:04}{m:02}{dd:02}", d.year())
}

impl SqlTranslator {
    /// Any of the date values on the mapped point or period.
    pub(super) fn date_values(
        &self,
        date: &DateMapping,
        values: &[SearchValue],
        now: OffsetDateTime,
        name: &str,
    ) -> Result<SqlFragment> {
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::Date(value) = value else {
                return Err(misfit(name));
            };
            alternatives.push(self.date_match(date, value, now));
        }
        Ok(or(alternatives))
    }

    /// [`DateValue::matches`] on the stored range `[start, end)`.
    fn date_match(
        &self,
        date: &DateMapping,
        value: &DateValue,
        now: OffsetDateTime,
    ) -> SqlFragment {
        let bound = |b: Bound, x: OffsetDateTime| self.bound(date, b, x);
        let (s, e) = (value.range.start, value.range.end);
        let eq = || and(vec![bound(Bound::StartGe, s), bound(Bound::EndLe, e)]);
        let matched = match value.prefix {
            Prefix::Eq => eq(),
            Prefix::Ne => negate(eq()),
            Prefix::Gt => bound(Bound::EndGt, e),
            Prefix::Lt => bound(Bound::StartLt, s),
            Prefix::Ge => or(vec![bound(Bound::EndGt, e), eq()]),
            Prefix::Le => or(vec![bound(Bound::StartLt, s), eq()]),
            Prefix::Sa => bound(Bound::StartGe, e),
            Prefix::Eb => bound(Bound::EndLe, s),
            Prefix::Ap => {
                let margin = (now - s).abs() / 10;
                let mut parts = Vec::new();
                if let Some(low) = s.checked_sub(margin) {
                    parts.push(bound(Bound::EndGt, low));
                }
                if let Some(high) = e.checked_add(margin) {
                    parts.push(bound(Bound::StartLt, high));
                }
                and(parts)
            }
        };
        let presence = match date {
            DateMapping::Point { expr, .. } if value.prefix == Prefix::Ne => is_not_null(expr),
            DateMapping::Point { .. } => return matched,
            DateMapping::Period { start, end, .. } => {
                or(vec![is_not_null(start), is_not_null(end)])
            }
        };
        and(vec![presence, matched])
    }

    fn bound(&self, date: &DateMapping, b: Bound, x: OffsetDateTime) -> SqlFragment {
        match date {
            DateMapping::Point { expr, kind } => self.point_bound(expr, *kind, b, x),
            DateMapping::Period { start, end, kind } => match b {
                Bound::StartGe => self.point_bound(start, *kind, b, x),
                Bound::StartLt => or(vec![
                    SqlFragment::sql(format!("{start} IS NULL")),
                    self.point_bound(start, *kind, b, x),
                ]),
                Bound::EndLe => self.point_bound(end, *kind, b, x),
                Bound::EndGt => or(vec![
                    SqlFragment::sql(format!("{end} IS NULL")),
                    self.point_bound(end, *kind, b, x),
                ]),
            },
        }
    }

    /// One comparison of a stored point's range with the instant `x`; `NULL` compares false.
    fn point_bound(&self, expr: &str, kind: TimeKind, b: Bound, x: OffsetDateTime) -> SqlFragment {
        match kind {
            TimeKind::Instant => {
                let op = match b {
                    Bound::StartGe | Bound::EndGt => ">=",
                    Bound::StartLt | Bound::EndLe => "<",
                };
                with_binary(expr, op, self.dialect.utc_timestamp_param(x))
            }
            TimeKind::Date => date_bound(expr, b, x),
            TimeKind::LegacyYmd => legacy_bound(expr, b, x),
        }
    }
}

/// A `DATE` column's value stands for its whole day: it starts on or after `x` when it is on
/// or after the first midnight from `x` on, and ends by `x` when it is before `x`'s day.
fn date_bound(expr: &str, b: Bound, x: OffsetDateTime) -> SqlFragment {
    match (b, ceil_date(x)) {
        (Bound::StartGe, Some(c)) => binary(expr, ">=", BindValue::Date(c)),
        (Bound::StartLt, Some(c)) => binary(expr, "<", BindValue::Date(c)),
        (Bound::StartGe, None) => never(),
        (Bound::StartLt, None) => is_not_null(expr),
        (Bound::EndLe, _) => binary(expr, "<", BindValue::Date(x.date())),
        (Bound::EndGt, _) => binary(expr, ">=", BindValue::Date(x.date())),
    }
}

/// A `CHAR(8)` `YYYYMMDD` value with `00` for unknown parts, compared as text: the range of such
/// a value starts where its text, read with `00` as `01`, says, and text order is time order.
fn legacy_bound(expr: &str, b: Bound, x: OffsetDateTime) -> SqlFragment {
    let text = |s: String| BindValue::Text(s);
    match b {
        Bound::StartGe | Bound::StartLt => {
            let op = if matches!(b, Bound::StartGe) {
                ">="
            } else {
                "<"
            };
            // The smallest text whose range starts on or after the first day from `x` on: a
            // partial date starting that day (`YYYY0000` on 1 January, `YYYYMM00` on the 1st)
            // qualifies too.
            match ceil_date(x) {
                Some(c) => {
                    let key = ymd(c, c.day() != 1 || u8::from(c.month()) != 1, c.day() != 1);
                    binary(expr, op, text(key))
                }
                None if op == "<" => is_not_null(expr),
                None => never(),
            }
        }
        Bound::EndLe | Bound::EndGt => {
            // A range ends by the day `f` when its text is below `f`'s, except the partial dates
            // of `f`'s own month and year, which sort below it but end after it.
            let f = x.date();
            let (key, excluded) = if f.day() == 1 && u8::from(f.month()) == 1 {
                (ymd(f, false, false), vec![])
            } else if f.day() == 1 {
                (ymd(f, true, false), vec![ymd(f, false, false)])
            } else {
                (
                    ymd(f, true, true),
                    vec![ymd(f, true, false), ymd(f, false, false)],
                )
            };
            let le = matches!(b, Bound::EndLe);
            let mut out = binary(expr, if le { "<" } else { ">=" }, text(key));
            if !excluded.is_empty() {
                out.push(format!(
                    " {} {expr} {}IN (",
                    if le { "AND" } else { "OR" },
                    if le { "NOT " } else { "" }
                ));
                for (i, k) in excluded.into_iter().enumerate() {
                    if i > 0 {
                        out.push(", ");
                    }
                    out.push_bind(text(k));
                }
                out.push(")");
                let mut wrapped = SqlFragment::sql("(");
                wrapped.append(out);
                wrapped.push(")");
                return wrapped;
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn keys(expr: &str, b: Bound, x: OffsetDateTime) -> (String, Vec<BindValue>) {
        legacy_bound(expr, b, x).render(|_| "?".into())
    }

    /// Evaluates a legacy bound on one stored text, as the database would.
    fn holds(stored: &str, b: Bound, x: OffsetDateTime) -> bool {
        let (sql, binds) = keys("c", b, x);
        let t = |i: usize| match &binds[i] {
            BindValue::Text(s) => s.as_str(),
            other => panic!("{other:?}"),
        };
        match sql.as_str() {
            "c >= ?" => stored >= t(0),
            "c < ?" => stored < t(0),
            "(c < ? AND c NOT IN (?))" => stored < t(0) && stored != t(1),
            "(c >= ? OR c IN (?))" => stored >= t(0) || stored == t(1),
            "(c < ? AND c NOT IN (?, ?))" => stored < t(0) && stored != t(1) && stored != t(2),
            "(c >= ? OR c IN (?, ?))" => stored >= t(0) || stored == t(1) || stored == t(2),
            other => panic!("{other}"),
        }
    }

    /// Evaluates a `DATE` column's bound on one stored day, as the database would.
    fn date_holds(stored: time::Date, b: Bound, x: OffsetDateTime) -> bool {
        let (sql, binds) = date_bound("c", b, x).render(|_| "?".into());
        let day = |i: usize| match &binds[i] {
            BindValue::Date(d) => *d,
            other => panic!("{other:?}"),
        };
        match sql.as_str() {
            "c >= ?" => stored >= day(0),
            "c < ?" => stored < day(0),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn date_columns_match_like_day_ranges() {
        use time::macros::date;
        let days = [
            date!(1980 - 04 - 30),
            date!(1980 - 05 - 01),
            date!(1980 - 05 - 02),
        ];
        let bounds = [
            datetime!(1980-05-01 00:00 UTC),
            datetime!(1980-05-01 10:00 UTC),
            datetime!(1980-05-02 00:00 UTC),
        ];
        for d in days {
            let r = crate::search::DateRange::parse(&d.to_string()).unwrap().0;
            for x in bounds {
                assert_eq!(
                    date_holds(d, Bound::StartGe, x),
                    r.start >= x,
                    "{d} start >= {x}"
                );
                assert_eq!(
                    date_holds(d, Bound::StartLt, x),
                    r.start < x,
                    "{d} start < {x}"
                );
                assert_eq!(date_holds(d, Bound::EndLe, x), r.end <= x, "{d} end <= {x}");
                assert_eq!(date_holds(d, Bound::EndGt, x), r.end > x, "{d} end > {x}");
            }
        }
    }

    /// The range a legacy text stands for.
    fn legacy_range(stored: &str) -> crate::search::DateRange {
        let (y, m, d) = (&stored[..4], &stored[4..6], &stored[6..]);
        let text = match (m, d) {
            ("00", _) => y.to_owned(),
            (_, "00") => format!("{y}-{m}"),
            _ => format!("{y}-{m}-{d}"),
        };
        crate::search::DateRange::parse(&text).unwrap().0
    }

    #[test]
    fn legacy_dates_match_like_date_ranges() {
        let stored = [
            "19791231", "19800000", "19800101", "19800102", "19800500", "19800501", "19800515",
            "19800531", "19800600", "19801231", "19810000", "19810101",
        ];
        let bounds = [
            datetime!(1980-01-01 00:00 UTC),
            datetime!(1980-01-01 10:00 UTC),
            datetime!(1980-05-01 00:00 UTC),
            datetime!(1980-05-15 00:00 UTC),
            datetime!(1980-05-15 12:00 UTC),
            datetime!(1980-06-01 00:00 UTC),
            datetime!(1981-01-01 00:00 UTC),
        ];
        for s in stored {
            let r = legacy_range(s);
            for x in bounds {
                assert_eq!(
                    holds(s, Bound::StartGe, x),
                    r.start >= x,
                    "{s} start >= {x}"
                );
                assert_eq!(holds(s, Bound::StartLt, x), r.start < x, "{s} start < {x}");
                assert_eq!(holds(s, Bound::EndLe, x), r.end <= x, "{s} end <= {x}");
                assert_eq!(holds(s, Bound::EndGt, x), r.end > x, "{s} end > {x}");
            }
        }
    }
}
