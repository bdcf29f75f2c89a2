//! The company-level figures of the home dashboard (DOMAIN §1): customers
//! by classification and source channel, new customers, revenue by month,
//! top customers and overdue follow-ups per rep, all within the actor's
//! scope. Each figure is one set-based query.

use chrono::NaiveDate;
use kehu_domain::{CustomerId, Scope, UserId};
use sqlx::Row;

use crate::error::StoreResult;
use crate::scoped::Scoped;
use crate::sql::Sql;

/// What the dashboard shows; every count is within the actor's scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub customers: i64,
    /// (classification key, customers), largest first.
    pub by_classification: Vec<(String, i64)>,
    /// (source channel or `None` when unknown, customers), largest first;
    /// at most [`SOURCES_SHOWN`] entries, the rest summed into the last.
    pub by_source: Vec<(Option<String>, i64)>,
    /// Sources beyond the shown ones, summed.
    pub other_sources: i64,
    pub new_this_month: i64,
    pub new_last_month: i64,
    /// One entry per month, oldest first: (first day, revenue in minor
    /// units, orders), counting orders that are not cancelled.
    pub revenue_by_month: Vec<(NaiveDate, i64, i64)>,
    /// Largest total spend first: (id, name, total spend in minor units).
    pub top_customers: Vec<(CustomerId, String, i64)>,
    /// Open follow-ups due before today, per assignee, most first.
    pub overdue_by_user: Vec<(UserId, i64)>,
}

/// How many source channels are shown by name.
pub const SOURCES_SHOWN: usize = 8;

/// The window of a dashboard: today in the user's time zone and the
/// instants (epoch ms) where this and last month began there.
#[derive(Debug, Clone, Copy)]
pub struct DashboardWindow {
    pub today: NaiveDate,
    pub this_month_start_ms: i64,
    pub last_month_start_ms: i64,
    /// How many months of revenue, ending with the current one.
    pub months: u32,
}

impl Scoped<'_> {
    pub async fn dashboard(&self, w: DashboardWindow) -> StoreResult<Dashboard> {
        let mut conn = self.store.pool().acquire().await?;
        let mut d = Dashboard::default();

        let mut sql = Sql::new(
            "SELECT c.classification AS k, CAST(COUNT(*) AS BIGINT) AS n \
             FROM customers c WHERE 1 = 1",
        );
        self.scope(&mut sql, "c");
        sql.push(" GROUP BY c.classification ORDER BY n DESC, k");
        for r in sql.query().fetch_all(&mut *conn).await? {
            d.by_classification.push((r.try_get("k")?, r.try_get("n")?));
        }
        d.customers = d.by_classification.iter().map(|(_, n)| n).sum();

        let mut sql = Sql::new(
            "SELECT c.source AS k, CAST(COUNT(*) AS BIGINT) AS n FROM customers c WHERE 1 = 1",
        );
        self.scope(&mut sql, "c");
        sql.push(" GROUP BY c.source ORDER BY n DESC, k");
        for (i, r) in sql.query().fetch_all(&mut *conn).await?.iter().enumerate() {
            let n: i64 = r.try_get("n")?;
            if i < SOURCES_SHOWN {
                d.by_source.push((r.try_get("k")?, n));
            } else {
                d.other_sources += n;
            }
        }

        let count_since = |from: i64, to: Option<i64>| {
            let mut sql = Sql::new(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM customers c WHERE c.created_at >= ",
            );
            sql.bind(from);
            if let Some(to) = to {
                sql.push(" AND c.created_at < ").bind(to);
            }
            self.scope(&mut sql, "c");
            sql
        };
        d.new_this_month = count_since(w.this_month_start_ms, None)
            .query()
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        d.new_last_month = count_since(w.last_month_start_ms, Some(w.this_month_start_ms))
            .query()
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;

        let first = month_start(w.today, w.months.saturating_sub(1));
        let mut sql = Sql::new(
            "SELECT substr(o.order_date, 1, 7) AS m, CAST(SUM(o.amount) AS BIGINT) AS total, \
             CAST(COUNT(*) AS BIGINT) AS n \
             FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.status <> 'cancelled' AND o.order_date >= ",
        );
        sql.bind(first.to_string());
        self.scope(&mut sql, "c");
        sql.push(" GROUP BY substr(o.order_date, 1, 7)");
        let mut by_month = std::collections::HashMap::new();
        for r in sql.query().fetch_all(&mut *conn).await? {
            let m: String = r.try_get("m")?;
            by_month.insert(
                m,
                (r.try_get::<i64, _>("total")?, r.try_get::<i64, _>("n")?),
            );
        }
        for back in (0..w.months).rev() {
            let m = month_start(w.today, back);
            let key = m.format("%Y-%m").to_string();
            let (total, n) = by_month.get(&key).copied().unwrap_or((0, 0));
            d.revenue_by_month.push((m, total, n));
        }

        let mut sql = Sql::new(
            "SELECT c.id, c.name, c.total_amount FROM customers c WHERE c.total_amount > 0",
        );
        self.scope(&mut sql, "c");
        sql.push(" ORDER BY c.total_amount DESC, c.id DESC LIMIT 10");
        for r in sql.query().fetch_all(&mut *conn).await? {
            d.top_customers.push((
                CustomerId(r.try_get("id")?),
                r.try_get("name")?,
                r.try_get("total_amount")?,
            ));
        }

        let mut sql = Sql::new(
            "SELECT t.assignee_id, CAST(COUNT(*) AS BIGINT) AS n FROM tasks t \
             JOIN users u ON u.id = t.assignee_id \
             WHERE t.done_at IS NULL AND t.due_date < ",
        );
        sql.bind(w.today.to_string());
        match self.actor.scope() {
            Scope::All => {}
            Scope::Team(t) => {
                sql.push(" AND u.team_id = ").bind(t.0);
            }
            Scope::Owner(u) => {
                sql.push(" AND t.assignee_id = ").bind(u.0);
            }
            Scope::Nothing => {
                sql.push(" AND 1 = 0");
            }
        }
        sql.push(" GROUP BY t.assignee_id ORDER BY n DESC, t.assignee_id");
        for r in sql.query().fetch_all(&mut *conn).await? {
            d.overdue_by_user
                .push((UserId(r.try_get("assignee_id")?), r.try_get("n")?));
        }
        Ok(d)
    }
}

/// The first day of the month `back` months before the month of `day`.
pub fn month_start(day: NaiveDate, back: u32) -> NaiveDate {
    use chrono::Datelike;
    let months = i64::from(day.year()) * 12 + i64::from(day.month0()) - i64::from(back);
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
    NaiveDate::from_ymd_opt(y as i32, m, 1).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_step_back_across_years() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 17).unwrap();
        let got: Vec<String> = (0..4).map(|b| month_start(d, b).to_string()).collect();
        assert_eq!(
            got,
            ["2026-02-01", "2026-01-01", "2025-12-01", "2025-11-01"]
        );
    }
}
