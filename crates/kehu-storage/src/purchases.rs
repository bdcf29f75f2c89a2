//! Each customer's completed orders in one row of `customer_purchases`.
//!
//! The analysis reads every completed order of every customer. Read as
//! order rows that is 10M rows at 10M orders, the bulk of a full run's
//! reading; read as one row per customer it is a tenth of the rows, and
//! the orders come grouped by customer and sorted by date, ready for the
//! models' one pass ([`kehu_analytics::profiles`]).
//!
//! A row is rebuilt from the customer's orders, with one SQL statement,
//! in every transaction that writes an order of the customer (beside the
//! aggregates), so it is exact by construction; `kehu aggregates
//! --verify` checks that it is. A customer without completed orders has
//! no row.
//!
//! The text is the orders by date (then id), separated by `;`, each
//! `DAY,AMOUNT,COST`: the day as days since 1970-01-01, amount and cost
//! in minor units, cost empty when unknown. `19787,12800,9100;19790,-500,`
//! is an order of 128.00 (cost 91.00) on 2024-03-05 and a refund of 5.00
//! three days later.

use chrono::{Datelike, NaiveDate};
use kehu_analytics::Line;
use sqlx::AnyConnection;

use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;

/// Customers per rebuilding statement.
const IDS_PER_STATEMENT: usize = 500;

/// `SELECT customer_id, <text> AS orders FROM orders WHERE … GROUP BY
/// customer_id` for the customers `filter` selects (a condition on
/// `customer_id`, or `TRUE`).
pub(crate) fn grouped(sqlite: bool, filter: &str) -> String {
    let line = if sqlite {
        "group_concat((unixepoch(order_date) / 86400) || ',' || amount || ',' || \
         COALESCE(cost, ''), ';' ORDER BY order_date, id)"
    } else {
        "string_agg((order_date::date - DATE '1970-01-01')::text || ',' || amount::text || \
         ',' || COALESCE(cost::text, ''), ';' ORDER BY order_date, id)"
    };
    format!(
        "SELECT customer_id, {line} AS orders FROM orders \
         WHERE status = 'completed' AND {filter} GROUP BY customer_id"
    )
}

/// Rebuilds the rows of `ids` from their orders, in the caller's
/// transaction.
pub(crate) async fn rebuild(conn: &mut AnyConnection, ids: &[i64]) -> StoreResult<()> {
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let filter = format!("customer_id IN ({})", crate::sql::id_list(chunk));
        rebuild_where(conn, sqlite, &filter).await?;
    }
    Ok(())
}

/// Rebuilds every customer's row, for repairs.
pub(crate) async fn rebuild_all(conn: &mut AnyConnection) -> StoreResult<()> {
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    rebuild_where(conn, sqlite, "TRUE").await
}

/// Rebuilds the rows of the customers `filter` selects.
async fn rebuild_where(conn: &mut AnyConnection, sqlite: bool, filter: &str) -> StoreResult<()> {
    for sql in [
        format!("DELETE FROM customer_purchases WHERE {filter}"),
        format!(
            "INSERT INTO customer_purchases (customer_id, orders) {}",
            grouped(sqlite, filter)
        ),
    ] {
        Sql::new(&sql).query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_FROM_CE: i64 = 719_163;

/// The day number of the text format.
pub(crate) fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - EPOCH_FROM_CE
}

/// Dates by day number, from a table of the years before the last day a
/// read wants: a run turns every order's day into a date (9M at 10M
/// orders), and the table costs a lookup where the calendar arithmetic
/// costs a chain of divisions. Days outside it are worked out.
pub(crate) struct Days {
    first: i64,
    dates: Vec<Option<NaiveDate>>,
}

/// Days the table of [`Days`] holds: forty years.
const TABLED_DAYS: i64 = 40 * 366;

impl Days {
    /// A table of the days up to `last`.
    pub(crate) fn up_to(last: i64) -> Self {
        let last = last.min(day_number(NaiveDate::MAX));
        let first = last.saturating_sub(TABLED_DAYS - 1);
        Self {
            first,
            dates: (first..=last).map(date_of).collect(),
        }
    }

    fn date(&self, day: i64) -> Option<NaiveDate> {
        day.checked_sub(self.first)
            .and_then(|at| usize::try_from(at).ok())
            .and_then(|at| self.dates.get(at).copied())
            .unwrap_or_else(|| date_of(day))
    }
}

fn date_of(day: i64) -> Option<NaiveDate> {
    day.checked_add(EPOCH_FROM_CE)
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Appends the orders of one row's text dated on or before `up_to` (a
/// day number) to `out`, reading the text once, left to right.
pub(crate) fn parse(text: &str, up_to: i64, days: &Days, out: &mut Vec<Line>) -> StoreResult<()> {
    let bad = || StoreError::Corrupt(format!("purchases {text:?}"));
    let b = text.as_bytes();
    let mut at = 0;
    loop {
        let day = integer(b, &mut at).ok_or_else(bad)?;
        separator(b, &mut at, b',').ok_or_else(bad)?;
        let amount_minor = integer(b, &mut at).ok_or_else(bad)?;
        separator(b, &mut at, b',').ok_or_else(bad)?;
        let cost_minor = match b.get(at) {
            None | Some(b';') => None,
            Some(_) => Some(integer(b, &mut at).ok_or_else(bad)?),
        };
        if day <= up_to {
            out.push(Line {
                date: days.date(day).ok_or_else(bad)?,
                amount_minor,
                cost_minor,
            });
        }
        match b.get(at) {
            None => return Ok(()),
            Some(b';') => at += 1,
            Some(_) => return Err(bad()),
        }
    }
}

/// Steps over the byte `sep` at `at`.
fn separator(b: &[u8], at: &mut usize, sep: u8) -> Option<()> {
    (b.get(*at) == Some(&sep)).then(|| *at += 1)
}

/// The decimal integer (optional minus sign, at least one digit) at `at`,
/// stepping over it.
fn integer(b: &[u8], at: &mut usize) -> Option<i64> {
    let negative = b.get(*at) == Some(&b'-');
    if negative {
        *at += 1;
    }
    let start = *at;
    let mut n: i64 = 0;
    while let Some(d) = b.get(*at).filter(|d| d.is_ascii_digit()) {
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        *at += 1;
    }
    if *at == start {
        return None;
    }
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_documented_example_reads_as_documented() {
        let mut out = Vec::new();
        parse(
            "19787,12800,9100;19790,-500,",
            i64::MAX,
            &Days::up_to(i64::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            [
                Line {
                    date: d("2024-03-05"),
                    amount_minor: 12800,
                    cost_minor: Some(9100)
                },
                Line {
                    date: d("2024-03-08"),
                    amount_minor: -500,
                    cost_minor: None
                },
            ]
        );
        assert_eq!(day_number(d("2024-03-05")), 19787);
        assert_eq!(day_number(d("1969-12-31")), -1);
    }

    #[test]
    fn orders_after_the_day_asked_for_are_left_out() {
        let mut out = Vec::new();
        parse("-1,5,;0,6,1;1,7,", 0, &Days::up_to(0), &mut out).unwrap();
        assert_eq!(
            out.iter()
                .map(|l| (l.date, l.amount_minor))
                .collect::<Vec<_>>(),
            [(d("1969-12-31"), 5), (d("1970-01-01"), 6)]
        );
    }

    #[test]
    fn days_in_and_out_of_the_table_are_the_calendar_s() {
        let today = day_number(d("2026-11-22"));
        let days = Days::up_to(today);
        let edge = today - TABLED_DAYS;
        for day in [
            -800_000,
            -1,
            0,
            edge - 1,
            edge,
            edge + 1,
            today,
            today + 1,
            3_000_000,
        ] {
            let calendar = NaiveDate::from_num_days_from_ce_opt((day + EPOCH_FROM_CE) as i32);
            assert_eq!(days.date(day), calendar, "day {day}");
        }
        assert_eq!(days.date(i64::MAX), None);
    }

    #[test]
    fn malformed_text_is_an_error_not_a_guess() {
        for bad in [
            "",
            "1,2",
            "1,2,3,4",
            "x,2,",
            "1,,",
            "1,2,-",
            "1,99999999999999999999,",
            "1,2,3;",
            "1,2,3x",
            ";1,2,3",
            "1,2,3;;4,5,6",
            "1,--2,",
            "99999999999,2,",
        ] {
            assert!(
                parse(bad, i64::MAX, &Days::up_to(i64::MAX), &mut Vec::new()).is_err(),
                "{bad:?}"
            );
        }
    }
}
