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

/// The instant (epoch ms) where `day` begins in `time_zone`. At a
/// daylight-saving gap the day begins at the first instant that exists.
pub fn start_of_day_ms(day: NaiveDate, time_zone: &str) -> i64 {
    use chrono::TimeZone;
    let tz = zone(time_zone);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                .earliest()
        })
        .map_or_else(
            || midnight.and_utc().timestamp_millis(),
            |t| t.timestamp_millis(),
        )
}

/// The dashboard's window for a user: today, the starts of this and last
/// month in the user's zone, and `months` months of revenue.
pub fn dashboard_window(
    now: DateTime<Utc>,
    time_zone: &str,
    months: u32,
) -> kehu_storage::DashboardWindow {
    let today = today_in(now, time_zone);
    kehu_storage::DashboardWindow {
        today,
        this_month_start_ms: start_of_day_ms(kehu_storage::month_start(today, 0), time_zone),
        last_month_start_ms: start_of_day_ms(kehu_storage::month_start(today, 1), time_zone),
        months,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_begin_at_local_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 20, 0, 0).unwrap();
        let w = dashboard_window(now, "Asia/Shanghai", 6);
        // 2026-11-01 00:00 in Shanghai is 2026-10-31 16:00 UTC.
        let expected = Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap();
        assert_eq!(w.this_month_start_ms, expected.timestamp_millis());
        let expected = Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).unwrap();
        assert_eq!(w.last_month_start_ms, expected.timestamp_millis());
        assert_eq!(w.today.to_string(), "2026-11-23");
    }

    #[test]
    fn today_follows_the_users_zone() {
        // 2026-11-22 20:00 UTC is already the 23rd in Shanghai (UTC+8).
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 20, 0, 0).unwrap();
        assert_eq!(today_in(now, "Asia/Shanghai").to_string(), "2026-11-23");
        assert_eq!(today_in(now, "Europe/Berlin").to_string(), "2026-11-22");
        assert_eq!(today_in(now, "not/a zone").to_string(), "2026-11-23");
    }
}
