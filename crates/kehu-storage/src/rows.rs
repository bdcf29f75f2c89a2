//! Column lists and row decoding, kept next to each other so a column added
//! to one is added to the other.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::*;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{StoreError, StoreResult};

pub(crate) const CUSTOMER_COLS: &str = "c.id, c.kind, c.name, c.classification, c.status, \
    c.source, c.province, c.city, c.industry, c.size, c.mobile, c.email, c.external_id, \
    c.notes, c.owner_id, c.team_id, c.attributes, c.first_order_date, c.last_order_date, \
    c.order_count, c.purchase_days, c.total_amount, c.total_profit, c.profit_order_count, \
    c.created_at, c.updated_at";

pub(crate) const CONTACT_COLS: &str = "x.id, x.customer_id, x.name, x.department, x.title, \
    x.level, x.superior_id, x.business_area, x.authority_scope, x.budget_authority, \
    x.is_key_decision_maker, x.mobile, x.wechat, x.email, x.other_channels, x.closeness, \
    x.notes, x.created_at, x.updated_at";

pub(crate) const INTERACTION_COLS: &str = "i.id, i.customer_id, i.contact_id, i.channel, \
    i.content, i.occurred_at, i.user_id, i.next_follow_up, i.task_id, i.created_at, i.updated_at";

pub(crate) const TASK_COLS: &str = "t.id, t.customer_id, t.title, t.due_date, t.assignee_id, \
    t.done_at, t.created_at, t.updated_at";

pub(crate) const ORDER_COLS: &str = "o.id, o.customer_id, o.external_id, o.order_date, \
    o.amount, o.currency, o.cost, o.status, o.note, o.created_at, o.updated_at";

pub(crate) const USER_COLS: &str = "u.id, u.username, u.display_name, u.email, u.role, \
    u.team_id, u.locale, u.time_zone, u.active, u.created_at";

pub(crate) fn instant(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("instant {ms}")))
}

/// A stored date, `YYYY-MM-DD`. Whole-table reads parse millions of them:
/// the usual shape is read digit by digit, anything else goes through
/// chrono's parser.
pub(crate) fn date(s: &str) -> StoreResult<NaiveDate> {
    iso_date(s.as_bytes())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| StoreError::Corrupt(format!("date {s:?}")))
}

fn iso_date(b: &[u8]) -> Option<NaiveDate> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let digits = |ds: &[u8]| {
        ds.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(digits(&[y0, y1, y2, y3])?).ok()?,
        digits(&[m0, m1])?,
        digits(&[d0, d1])?,
    )
}

/// A date column where `''` or NULL means none.
pub(crate) fn opt_date(s: Option<String>) -> StoreResult<Option<NaiveDate>> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(d) => date(d).map(Some),
    }
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn choice<T>(v: String, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(&v).ok_or_else(|| StoreError::Corrupt(format!("enum value {v:?}")))
}

fn opt_choice<T>(v: Option<String>, parse: fn(&str) -> Option<T>) -> StoreResult<Option<T>> {
    v.map(|v| choice(v, parse)).transpose()
}

pub(crate) fn customer(r: &AnyRow) -> StoreResult<Customer> {
    let attributes: String = r.try_get("attributes")?;
    let attributes = serde_json::from_str(&attributes)
        .map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))?;
    Ok(Customer {
        id: CustomerId(r.try_get("id")?),
        kind: choice(r.try_get("kind")?, CustomerKind::from_db)?,
        name: r.try_get("name")?,
        classification: choice(r.try_get("classification")?, Classification::from_db)?,
        status: choice(r.try_get("status")?, CustomerStatus::from_db)?,
        source: r.try_get("source")?,
        province: r.try_get("province")?,
        city: r.try_get("city")?,
        industry: r.try_get("industry")?,
        size: r.try_get("size")?,
        mobile: r.try_get("mobile")?,
        email: r.try_get("email")?,
        external_id: r.try_get("external_id")?,
        notes: r.try_get("notes")?,
        owner_id: UserId(r.try_get("owner_id")?),
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        tags: Vec::new(),
        attributes,
        aggregates: Aggregates {
            first_order_date: opt_date(r.try_get("first_order_date")?)?,
            last_order_date: opt_date(r.try_get("last_order_date")?)?,
            order_count: r.try_get("order_count")?,
            purchase_days: r.try_get("purchase_days")?,
            total_amount: r.try_get("total_amount")?,
            total_profit: r.try_get("total_profit")?,
            profit_order_count: r.try_get("profit_order_count")?,
        },
        created_at: instant(r.try_get("created_at")?)?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

pub(crate) fn contact(r: &AnyRow) -> StoreResult<Contact> {
    Ok(Contact {
        id: ContactId(r.try_get("id")?),
        customer_id: CustomerId(r.try_get("customer_id")?),
        name: r.try_get("name")?,
        department: r.try_get("department")?,
        title: r.try_get("title")?,
        level: opt_choice(r.try_get("level")?, ContactLevel::from_db)?,
        superior_id: r.try_get::<Option<i64>, _>("superior_id")?.map(ContactId),
        business_area: r.try_get("business_area")?,
        authority_scope: r.try_get("authority_scope")?,
        budget_authority: opt_choice(r.try_get("budget_authority")?, BudgetAuthority::from_db)?,
        is_key_decision_maker: r.try_get::<i64, _>("is_key_decision_maker")? != 0,
        mobile: r.try_get("mobile")?,
        wechat: r.try_get("wechat")?,
        email: r.try_get("email")?,
        other_channels: r.try_get("other_channels")?,
        closeness: choice(r.try_get("closeness")?, Closeness::from_db)?,
        notes: r.try_get("notes")?,
        created_at: instant(r.try_get("created_at")?)?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

pub(crate) fn interaction(r: &AnyRow) -> StoreResult<Interaction> {
    Ok(Interaction {
        id: InteractionId(r.try_get("id")?),
        customer_id: CustomerId(r.try_get("customer_id")?),
        contact_id: r.try_get::<Option<i64>, _>("contact_id")?.map(ContactId),
        channel: choice(r.try_get("channel")?, Channel::from_db)?,
        content: r.try_get("content")?,
        occurred_at: instant(r.try_get("occurred_at")?)?,
        user_id: UserId(r.try_get("user_id")?),
        next_follow_up: opt_date(r.try_get("next_follow_up")?)?,
        task_id: r.try_get::<Option<i64>, _>("task_id")?.map(TaskId),
        created_at: instant(r.try_get("created_at")?)?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

pub(crate) fn task(r: &AnyRow) -> StoreResult<Task> {
    let done_at = r
        .try_get::<Option<i64>, _>("done_at")?
        .map(instant)
        .transpose()?;
    Ok(Task {
        id: TaskId(r.try_get("id")?),
        customer_id: r.try_get::<Option<i64>, _>("customer_id")?.map(CustomerId),
        title: r.try_get("title")?,
        due_date: date(&r.try_get::<String, _>("due_date")?)?,
        assignee_id: UserId(r.try_get("assignee_id")?),
        done: done_at.is_some(),
        done_at,
        created_at: instant(r.try_get("created_at")?)?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

pub(crate) fn order(r: &AnyRow) -> StoreResult<Order> {
    let currency: String = r.try_get("currency")?;
    Ok(Order {
        id: OrderId(r.try_get("id")?),
        customer_id: CustomerId(r.try_get("customer_id")?),
        external_id: r.try_get("external_id")?,
        order_date: date(&r.try_get::<String, _>("order_date")?)?,
        amount: r.try_get("amount")?,
        currency: Currency::try_from(currency)
            .map_err(|_| StoreError::Corrupt("currency".into()))?,
        cost: r.try_get("cost")?,
        status: choice(r.try_get("status")?, OrderStatus::from_db)?,
        note: r.try_get("note")?,
        created_at: instant(r.try_get("created_at")?)?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

pub(crate) fn user(r: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        role: choice(r.try_get("role")?, Role::from_db)?,
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        locale: r.try_get("locale")?,
        time_zone: r.try_get("time_zone")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: instant(r.try_get("created_at")?)?,
    })
}

pub(crate) fn all<T>(rows: &[AnyRow], f: fn(&AnyRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_read_digit_by_digit_equal_chrono() {
        for s in [
            "1970-01-01",
            "2026-11-22",
            "2024-02-29",
            "0001-01-01",
            "9999-12-31",
        ] {
            assert_eq!(date(s).ok(), s.parse::<NaiveDate>().ok(), "{s}");
        }
        // Not a date, or not in this shape: an error, or chrono's reading.
        for s in ["2023-02-29", "2026-13-01", "2026-1x-01", "", "2026-11-2"] {
            assert_eq!(
                date(s).ok(),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s}"
            );
        }
    }
}
