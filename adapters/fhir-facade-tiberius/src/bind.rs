//! From [`BindValue`]s to TDS parameter values.

use std::borrow::Cow;

use fhir_facade_core::sql::BindValue;
use tiberius::time::{Date as TdsDate, DateTime2, Time as TdsTime};
use tiberius::{ColumnData, IntoSql};
use time::{Date, Month, Time, UtcOffset};

/// Days since 0001-01-01. SQL Server's `date` starts there, so an earlier date (`time` allows
/// negative years) is sent as 0001-01-01 and still compares as a lower bound; the upper end,
/// 9999-12-31, is also `time`'s.
fn tds_date(date: Date) -> TdsDate {
    let epoch = Date::from_calendar_date(1, Month::January, 1).expect("0001-01-01 is a date");
    let days = (date.max(epoch) - epoch).whole_days();
    TdsDate::new(u32::try_from(days).unwrap_or_default())
}

/// The time of day in 100 ns increments, `datetime2(7)`.
fn tds_time(time: Time) -> TdsTime {
    let nanos = u64::from(time.hour()) * 3_600_000_000_000
        + u64::from(time.minute()) * 60_000_000_000
        + u64::from(time.second()) * 1_000_000_000
        + u64::from(time.nanosecond());
    TdsTime::new(nanos / 100, 7)
}

/// The TDS value `value` is sent as.
pub(crate) fn column_data(value: &BindValue) -> ColumnData<'static> {
    match value {
        BindValue::Bool(b) => ColumnData::Bit(Some(*b)),
        BindValue::Int(n) => ColumnData::I64(Some(*n)),
        BindValue::Decimal(d) => (*d).into_sql(),
        BindValue::Text(s) => ColumnData::String(Some(Cow::Owned(s.clone()))),
        // `datetime2` holding UTC wall-clock time, as the dialect expects of legacy columns.
        BindValue::Timestamp(t) => {
            let utc = t.to_offset(UtcOffset::UTC);
            ColumnData::DateTime2(Some(DateTime2::new(
                tds_date(utc.date()),
                tds_time(utc.time()),
            )))
        }
        BindValue::Date(d) => ColumnData::Date(Some(tds_date(*d))),
        // `Null`, as a typed `nvarchar` null (SQL Server converts it to the compared type).
        _ => ColumnData::String(None),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn values_get_their_tds_types() {
        assert_eq!(
            column_data(&BindValue::Text("Müller".into())),
            ColumnData::String(Some("Müller".into()))
        );
        assert_eq!(column_data(&BindValue::Int(7)), ColumnData::I64(Some(7)));
        assert_eq!(
            column_data(&BindValue::Bool(true)),
            ColumnData::Bit(Some(true))
        );
        assert_eq!(column_data(&BindValue::Null), ColumnData::String(None));
        let ColumnData::Numeric(Some(n)) = column_data(&BindValue::Decimal(Decimal::new(12345, 2)))
        else {
            panic!("a decimal is sent as numeric");
        };
        assert_eq!((n.value(), n.scale()), (12345, 2));
        let day = |d| match column_data(&BindValue::Date(d)) {
            ColumnData::Date(Some(d)) => d.days(),
            other => panic!("a date is sent as date, not {other:?}"),
        };
        assert_eq!(day(date!(0001 - 01 - 01)), 0);
        assert_eq!(day(date!(0001 - 01 - 02)), 1);
        assert_eq!(day(date!(1980 - 05 - 17)), 722_951);
        assert_eq!(day(date!(-0005 - 01 - 01)), 0);
        assert_eq!(day(date!(9999 - 12 - 31)), 3_652_058);
    }

    fn day_of(d: Date) -> u32 {
        tds_date(d).days()
    }

    #[test]
    fn instants_are_sent_as_utc_datetime2() {
        let at = |t| column_data(&BindValue::Timestamp(t));
        let local = at(datetime!(2024-03-01 01:30:00.000_000_15 +02:00));
        assert_eq!(local, at(datetime!(2024-02-29 23:30:00.000_000_15 UTC)));
        let ColumnData::DateTime2(Some(dt)) = local else {
            panic!("an instant is sent as datetime2, not {local:?}");
        };
        assert_eq!(dt.date().days(), day_of(date!(2024 - 02 - 29)));
        assert_eq!(
            (dt.time().increments(), dt.time().scale()),
            ((23 * 3600 + 30 * 60) * 10_000_000 + 1, 7)
        );
    }
}
