//! Times are stored as UTC RFC 3339 text and shown in the local zone.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC, as stored in the database ("2026-11-25T09:15:08.123Z" style).
pub fn now_utc() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

/// A stored UTC time shown in the local zone as "YYYY-MM-DD HH:MM:SS"; text that is not RFC 3339 is shown as is.
pub fn to_local_display(stored: &str) -> String {
    let Ok(t) = OffsetDateTime::parse(stored, &Rfc3339) else {
        return stored.to_owned();
    };
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let local = t.to_offset(offset);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    local.format(&format).unwrap_or_else(|_| stored.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_utc_rfc3339() {
        let now = now_utc();
        assert!(now.ends_with('Z'), "{now}");
        assert!(OffsetDateTime::parse(&now, &Rfc3339).is_ok());
    }

    #[test]
    fn unparsable_times_are_shown_as_is() {
        assert_eq!(to_local_display("yesterday"), "yesterday");
        assert_eq!(to_local_display("2026-11-25T00:00:00Z").len(), 19);
    }
}
