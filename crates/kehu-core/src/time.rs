//! Dates as users see them: "today" depends on the user's time zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The zone of a stored IANA name, falling back to the default.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or_else(|_| {
        DEFAULT_TIME_ZONE
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai)
    })
}

/// The calendar day of `now` in `time_zone`.
pub fn today_in(now: DateTime<Utc>, time_zone: &str) -> NaiveDate {
    now.with_timezone(&zone(time_zone)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_follows_the_users_zone() {
        // 2026-11-22 20:00 UTC is already the 23rd in Shanghai (UTC+8).
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 20, 0, 0).unwrap();
        assert_eq!(today_in(now, "Asia/Shanghai").to_string(), "2026-11-23");
        assert_eq!(today_in(now, "Europe/Berlin").to_string(), "2026-11-22");
        assert_eq!(today_in(now, "not/a zone").to_string(), "2026-11-23");
    }
}
