//! Times are stored as UTC RFC 3339 text and shown in the local zone.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// China Standard Time (UTC+8, no daylight saving): the acquirers' clock. Bills are cut at China midnight, their
/// times are China time, and "the day" of a bill, a reconciliation or a sales report is a China calendar day.
pub const CHINA: time::UtcOffset = time::macros::offset!(+8);

/// Today's date in China at `now`.
pub fn china_date(now: OffsetDateTime) -> time::Date {
    now.to_offset(CHINA).date()
}

/// The China business day whose bills are out at `now`: the day before today in China (the acquirers publish a
/// day's bill the next morning). What `reconcile`, `bills fetch` and the 对账 screen default to, whatever the
/// machine's own time zone.
pub fn china_business_day(now: OffsetDateTime) -> time::Date {
    let today = china_date(now);
    today.previous_day().unwrap_or(today)
}

/// Now, in UTC, as stored in the database ("2026-11-25T09:15:08.123456Z": fixed width, so text order is time order).
pub fn now_utc() -> String {
    format_utc(OffsetDateTime::now_utc())
}

/// A time as stored: UTC, RFC 3339 with exactly six fractional digits, so that stored times sort as text.
pub fn format_utc(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000000Z"))
}

/// The UTC bounds [start, end) of a local calendar day, as stored times (for date filters).
pub fn local_day_bounds(day: time::Date, offset: time::UtcOffset) -> (String, String) {
    let start = day.midnight().assume_offset(offset);
    (format_utc(start), format_utc(start + time::Duration::days(1)))
}

/// An acquirer's timestamp (China time, "yyyy-MM-dd HH:mm:ss" as Alipay writes it or "yyyyMMddHHmmss" as WeChat
/// Pay does) as a stored UTC time; None when it is neither.
pub fn acquirer_time_to_utc(text: &str) -> Option<String> {
    let china = CHINA;
    let dashed = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let compact = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let text = text.trim();
    let local = time::PrimitiveDateTime::parse(text, &dashed)
        .or_else(|_| time::PrimitiveDateTime::parse(text, &compact))
        .ok()?;
    Some(format_utc(local.assume_offset(china)))
}

/// A stored UTC time shown in China time as "YYYY-MM-DD HH:MM:SS" (the business day's clock: closed days, their
/// resolutions), whatever the machine's zone; text that is not RFC 3339 is shown as is.
pub fn to_china_display(stored: &str) -> String {
    let Ok(t) = OffsetDateTime::parse(stored, &Rfc3339) else {
        return stored.to_owned();
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(CHINA).format(&format).unwrap_or_else(|_| stored.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_utc_rfc3339() {
        let now = now_utc();
        assert!(now.ends_with('Z'), "{now}");
        assert!(OffsetDateTime::parse(&now, &Rfc3339).is_ok());
        assert_eq!(now.len(), "2026-11-25T09:15:08.123456Z".len());
    }

    #[test]
    fn acquirer_times_are_china_time() {
        assert_eq!(acquirer_time_to_utc("2026-11-25 10:10:10").as_deref(), Some("2026-11-25T02:10:10.000000Z"));
        assert_eq!(acquirer_time_to_utc("20261125101010").as_deref(), Some("2026-11-25T02:10:10.000000Z"));
        assert_eq!(acquirer_time_to_utc("soon"), None);
    }

    #[test]
    fn day_bounds_cover_one_local_day() {
        let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap();
        let (from, to) = local_day_bounds(time::macros::date!(2026 - 11 - 25), offset);
        assert_eq!(from, "2026-11-24T16:00:00.000000Z");
        assert_eq!(to, "2026-11-25T16:00:00.000000Z");
    }

    #[test]
    fn the_business_day_is_yesterday_in_china_whatever_the_utc_date() {
        use time::macros::datetime;
        // 15:59 UTC is 23:59 in China: still the 5th there, so the bills out are the 4th's.
        assert_eq!(china_business_day(datetime!(2026-12-05 15:59 UTC)), time::macros::date!(2026 - 12 - 04));
        // 16:00 UTC is midnight in China: the 6th has begun, the 5th's bills are the ones to fetch.
        assert_eq!(china_business_day(datetime!(2026-12-05 16:00 UTC)), time::macros::date!(2026 - 12 - 05));
        assert_eq!(china_date(datetime!(2026-12-05 16:00 UTC)), time::macros::date!(2026 - 12 - 06));
    }

    #[test]
    fn stored_times_show_in_china_time_whatever_the_machine() {
        assert_eq!(to_china_display("2026-11-25T02:00:00.000000Z"), "2026-11-25 10:00:00");
        assert_eq!(to_china_display("2026-11-24T16:00:00Z"), "2026-11-25 00:00:00");
        assert_eq!(to_china_display("later"), "later");
    }

    #[test]
    fn unparsable_times_are_shown_as_is() {
        assert_eq!(to_china_display("yesterday"), "yesterday");
        assert_eq!(
            to_china_display("2026-11-25T16:30:00Z"),
            "2026-11-26 00:30:00",
            "China time, whatever the machine's zone"
        );
    }
}
