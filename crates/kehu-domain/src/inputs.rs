//! Raw inputs as they arrive (JSON bodies, import rows, form posts) and the
//! validated drafts they turn into. A draft is the only way into storage, so
//! nothing unvalidated is ever written.
//!
//! Strings are trimmed and an empty string means "no value"; on update the
//! fields that are absent keep their current value (see the `over` methods),
//! so sending `""` clears a field and leaving it out keeps it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::entities::*;
use crate::ids::*;
use crate::money::{parse_amount, Currency};
use crate::tag::Tag;
use crate::text::non_empty;
use crate::validation::{FieldError, ValidationErrors};
use crate::{Email, Mobile, Role};

pub const MAX_NAME: usize = 200;
pub const MAX_SHORT: usize = 100;
pub const MAX_LONG: usize = 10_000;
pub const MAX_ATTRIBUTES: usize = 50;
pub const MAX_TAGS: usize = 50;

/// A JSON amount: `"1234.50"` (preferred) or a JSON number, parsed exactly
/// from its text, never through a float.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AmountInput {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl AmountInput {
    pub fn parse(&self, field: &str) -> Result<i64, FieldError> {
        match self {
            AmountInput::Text(s) => parse_amount(field, s),
            AmountInput::Number(n) => parse_amount(field, &n.to_string()),
        }
    }
}

impl From<&str> for AmountInput {
    fn from(s: &str) -> Self {
        AmountInput::Text(s.to_owned())
    }
}

fn text(errs: &mut ValidationErrors, field: &str, v: Option<&str>, max: usize) -> Option<String> {
    let v = non_empty(v)?;
    if v.chars().count() > max {
        errs.push(FieldError::too_long(field, max));
        return None;
    }
    Some(v)
}

fn required_text(errs: &mut ValidationErrors, field: &str, v: Option<&str>, max: usize) -> String {
    match text(errs, field, v, max) {
        Some(v) => v,
        None => {
            if non_empty(v).is_none() {
                errs.push(FieldError::required(field));
            }
            String::new()
        }
    }
}

fn choice<T>(
    errs: &mut ValidationErrors,
    field: &str,
    v: Option<&str>,
    parse: fn(&str, &str) -> Result<T, FieldError>,
) -> Option<T> {
    let v = non_empty(v)?;
    errs.take(parse(field, &v))
}

/// Parses a calendar date as people write it: `2024-03-05`, `2024/3/5`,
/// `2024.3.5`, `2024年3月5日`, or an RFC 3339 timestamp's date part.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    let s = crate::text::to_half_width(raw.trim());
    let s = s.split(['T', ' ']).next().unwrap_or("");
    let unified: String = s
        .replace(['年', '月', '/', '.'], "-")
        .trim_end_matches('日')
        .to_owned();
    NaiveDate::parse_from_str(&unified, "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            "invalid_date",
            format!("{field} must be a date such as 2024-03-05, not {raw:?}"),
        )
    })
}

/// Parses an instant: RFC 3339, or a bare date taken as midnight UTC.
pub fn parse_instant(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    parse_date(field, raw)
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid_datetime",
                format!("{field} must be a time such as 2024-03-05T09:30:00+08:00, not {raw:?}"),
            )
        })
}

fn parse_bool(field: &str, raw: &str) -> Result<bool, FieldError> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" | "对" | "✓" => Ok(true),
        "false" | "no" | "n" | "0" | "否" | "" => Ok(false),
        _ => Err(FieldError::new(
            field,
            "invalid_bool",
            format!("{field} must be yes or no, not {raw:?}"),
        )),
    }
}

// ---------------------------------------------------------------- customers

/// A customer as sent by a client; every field optional so the same shape
/// serves create, partial update and import.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// `company` (default) or `person`.
    pub kind: Option<String>,
    pub name: Option<String>,
    /// `target`, `potential` (default), `partner`, `non_customer`.
    pub classification: Option<String>,
    /// `active` (default), `inactive`, `archived`.
    pub status: Option<String>,
    pub source: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    /// Owning rep; defaults to the acting user.
    pub owner_id: Option<UserId>,
    /// Tags as `dimension: value` or plain `value`; replaces all tags when present.
    pub tags: Option<Vec<String>>,
    /// Custom attributes: a JSON object of scalars; replaces all when present.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A validated customer, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerDraft {
    pub kind: CustomerKind,
    pub name: String,
    pub classification: Classification,
    pub status: CustomerStatus,
    pub source: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub mobile: Option<Mobile>,
    pub email: Option<Email>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    pub owner_id: Option<UserId>,
    pub tags: Vec<Tag>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl CustomerDraft {
    /// Duplicate-detection key of the name.
    pub fn name_key(&self) -> String {
        crate::text::company_key(&self.name)
    }
}

impl CustomerInput {
    /// Fills the absent fields from an existing customer (partial update).
    pub fn over(self, c: &Customer) -> CustomerInput {
        CustomerInput {
            kind: self.kind.or_else(|| Some(c.kind.as_str().into())),
            name: self.name.or_else(|| Some(c.name.clone())),
            classification: self
                .classification
                .or_else(|| Some(c.classification.as_str().into())),
            status: self.status.or_else(|| Some(c.status.as_str().into())),
            source: self.source.or_else(|| c.source.clone()),
            province: self.province.or_else(|| c.province.clone()),
            city: self.city.or_else(|| c.city.clone()),
            industry: self.industry.or_else(|| c.industry.clone()),
            size: self.size.or_else(|| c.size.clone()),
            mobile: self.mobile.or_else(|| c.mobile.clone()),
            email: self.email.or_else(|| c.email.clone()),
            external_id: self.external_id.or_else(|| c.external_id.clone()),
            notes: self.notes.or_else(|| c.notes.clone()),
            owner_id: self.owner_id.or(Some(c.owner_id)),
            tags: self
                .tags
                .or_else(|| Some(c.tags.iter().map(Tag::to_string).collect())),
            attributes: self.attributes.or_else(|| Some(c.attributes.clone())),
        }
    }

    pub fn validate(&self) -> Result<CustomerDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = required_text(&mut e, "name", self.name.as_deref(), MAX_NAME);
        let kind = choice(&mut e, "kind", self.kind.as_deref(), CustomerKind::parse)
            .unwrap_or(CustomerKind::Company);
        let classification = choice(
            &mut e,
            "classification",
            self.classification.as_deref(),
            Classification::parse,
        )
        .unwrap_or(Classification::Potential);
        let status = choice(
            &mut e,
            "status",
            self.status.as_deref(),
            CustomerStatus::parse,
        )
        .unwrap_or(CustomerStatus::Active);
        let source = text(&mut e, "source", self.source.as_deref(), MAX_SHORT);
        let province = text(&mut e, "province", self.province.as_deref(), MAX_SHORT);
        let city = text(&mut e, "city", self.city.as_deref(), MAX_SHORT);
        let industry = text(&mut e, "industry", self.industry.as_deref(), MAX_SHORT);
        let size = text(&mut e, "size", self.size.as_deref(), MAX_SHORT);
        let mobile =
            non_empty(self.mobile.as_deref()).and_then(|m| e.take(Mobile::parse("mobile", &m)));
        let email =
            non_empty(self.email.as_deref()).and_then(|m| e.take(Email::parse("email", &m)));
        let external_id = text(
            &mut e,
            "external_id",
            self.external_id.as_deref(),
            MAX_SHORT,
        );
        let notes = text(&mut e, "notes", self.notes.as_deref(), MAX_LONG);
        let tags = parse_tags(&mut e, self.tags.as_deref().unwrap_or_default());
        let attributes = parse_attributes(&mut e, self.attributes.clone().unwrap_or_default());
        e.finish(CustomerDraft {
            kind,
            name,
            classification,
            status,
            source,
            province,
            city,
            industry,
            size,
            mobile,
            email,
            external_id,
            notes,
            owner_id: self.owner_id,
            tags,
            attributes,
        })
    }
}

fn parse_tags(e: &mut ValidationErrors, raw: &[String]) -> Vec<Tag> {
    if raw.len() > MAX_TAGS {
        e.push(FieldError::new(
            "tags",
            "too_many",
            format!("at most {MAX_TAGS} tags per customer"),
        ));
        return Vec::new();
    }
    let mut tags: Vec<Tag> = raw
        .iter()
        .filter(|t| !t.trim().is_empty())
        .filter_map(|t| e.take(Tag::parse("tags", t)))
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

fn parse_attributes(
    e: &mut ValidationErrors,
    attrs: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    if attrs.len() > MAX_ATTRIBUTES {
        e.push(FieldError::new(
            "attributes",
            "too_many",
            format!("at most {MAX_ATTRIBUTES} custom attributes"),
        ));
    }
    for (k, v) in &attrs {
        if k.trim().is_empty() || k.chars().count() > 64 {
            e.push(FieldError::new(
                format!("attributes.{k}"),
                "invalid_key",
                "attribute names must have 1 to 64 characters",
            ));
        }
        let fits = match v {
            serde_json::Value::String(s) => s.chars().count() <= 1000,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => false,
            _ => true,
        };
        if !fits {
            e.push(FieldError::new(
                format!("attributes.{k}"),
                "invalid_value",
                "attribute values must be text (up to 1000 characters), numbers, true/false or null",
            ));
        }
    }
    attrs
}

// ----------------------------------------------------------------- contacts

/// Tells a field sent as `null` (`Some(None)`) from one not sent at all
/// (`None`, through `#[serde(default)]`).
fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A contact as sent by a client.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Required on create; a contact cannot move between customers (merge does that).
    pub customer_id: Option<CustomerId>,
    pub name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    /// `executive`, `management`, `staff`, `other`.
    pub level: Option<String>,
    /// The contact's superior at the same customer, for the org chart.
    /// On an update, `null` removes the superior and an absent field keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub superior_id: Option<Option<ContactId>>,
    pub business_area: Option<String>,
    pub authority_scope: Option<String>,
    /// `none`, `influence`, `approve`, `final`.
    pub budget_authority: Option<String>,
    pub is_key_decision_maker: Option<bool>,
    pub mobile: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub other_channels: Option<String>,
    /// `close`, `regular`, `initial`, `unknown` (default).
    pub closeness: Option<String>,
    pub notes: Option<String>,
}

/// A validated contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactDraft {
    pub customer_id: CustomerId,
    pub name: String,
    pub department: Option<String>,
    pub title: Option<String>,
    pub level: Option<ContactLevel>,
    pub superior_id: Option<ContactId>,
    pub business_area: Option<String>,
    pub authority_scope: Option<String>,
    pub budget_authority: Option<BudgetAuthority>,
    pub is_key_decision_maker: bool,
    pub mobile: Option<Mobile>,
    pub wechat: Option<String>,
    pub email: Option<Email>,
    pub other_channels: Option<String>,
    pub closeness: Closeness,
    pub notes: Option<String>,
}

impl ContactInput {
    pub fn over(self, c: &Contact) -> ContactInput {
        ContactInput {
            customer_id: Some(c.customer_id),
            name: self.name.or_else(|| Some(c.name.clone())),
            department: self.department.or_else(|| c.department.clone()),
            title: self.title.or_else(|| c.title.clone()),
            level: self.level.or_else(|| c.level.map(|l| l.as_str().into())),
            superior_id: Some(self.superior_id.unwrap_or(c.superior_id)),
            business_area: self.business_area.or_else(|| c.business_area.clone()),
            authority_scope: self.authority_scope.or_else(|| c.authority_scope.clone()),
            budget_authority: self
                .budget_authority
                .or_else(|| c.budget_authority.map(|b| b.as_str().into())),
            is_key_decision_maker: self.is_key_decision_maker.or(Some(c.is_key_decision_maker)),
            mobile: self.mobile.or_else(|| c.mobile.clone()),
            wechat: self.wechat.or_else(|| c.wechat.clone()),
            email: self.email.or_else(|| c.email.clone()),
            other_channels: self.other_channels.or_else(|| c.other_channels.clone()),
            closeness: self.closeness.or_else(|| Some(c.closeness.as_str().into())),
            notes: self.notes.or_else(|| c.notes.clone()),
        }
    }

    pub fn validate(&self) -> Result<ContactDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.customer_id.is_none() {
            e.push(FieldError::required("customer_id"));
        }
        let name = required_text(&mut e, "name", self.name.as_deref(), MAX_SHORT);
        let department = text(&mut e, "department", self.department.as_deref(), MAX_SHORT);
        let title = text(&mut e, "title", self.title.as_deref(), MAX_SHORT);
        let level = choice(&mut e, "level", self.level.as_deref(), ContactLevel::parse);
        let business_area = text(
            &mut e,
            "business_area",
            self.business_area.as_deref(),
            MAX_SHORT,
        );
        let authority_scope = text(
            &mut e,
            "authority_scope",
            self.authority_scope.as_deref(),
            MAX_LONG,
        );
        let budget_authority = choice(
            &mut e,
            "budget_authority",
            self.budget_authority.as_deref(),
            BudgetAuthority::parse,
        );
        let mobile =
            non_empty(self.mobile.as_deref()).and_then(|m| e.take(Mobile::parse("mobile", &m)));
        let wechat = text(&mut e, "wechat", self.wechat.as_deref(), MAX_SHORT);
        let email =
            non_empty(self.email.as_deref()).and_then(|m| e.take(Email::parse("email", &m)));
        let other_channels = text(
            &mut e,
            "other_channels",
            self.other_channels.as_deref(),
            MAX_LONG,
        );
        let closeness = choice(
            &mut e,
            "closeness",
            self.closeness.as_deref(),
            Closeness::parse,
        )
        .unwrap_or(Closeness::Unknown);
        let notes = text(&mut e, "notes", self.notes.as_deref(), MAX_LONG);
        e.finish(ContactDraft {
            customer_id: self.customer_id.unwrap_or(CustomerId(0)),
            name,
            department,
            title,
            level,
            superior_id: self.superior_id.flatten(),
            business_area,
            authority_scope,
            budget_authority,
            is_key_decision_maker: self.is_key_decision_maker.unwrap_or(false),
            mobile,
            wechat,
            email,
            other_channels,
            closeness,
            notes,
        })
    }
}

/// Parses yes/no text from an import cell.
pub fn parse_yes_no(field: &str, raw: &str) -> Result<bool, FieldError> {
    parse_bool(field, raw)
}

// ------------------------------------------------------------- interactions

/// An interaction as sent by a client.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    pub customer_id: Option<CustomerId>,
    pub contact_id: Option<ContactId>,
    /// `call`, `visit`, `wechat`, `email`, `meeting`, `other`.
    pub channel: Option<String>,
    pub content: Option<String>,
    /// When it happened (RFC 3339); defaults to now.
    pub occurred_at: Option<String>,
    /// Date of the next follow-up; opens a task for the acting user.
    pub next_follow_up: Option<String>,
    /// Title of that task; defaults to a text derived from the interaction.
    pub follow_up_title: Option<String>,
}

/// A validated interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionDraft {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub channel: Channel,
    pub content: String,
    pub occurred_at: DateTime<Utc>,
    pub next_follow_up: Option<NaiveDate>,
    pub follow_up_title: Option<String>,
}

impl InteractionInput {
    pub fn over(self, i: &Interaction) -> InteractionInput {
        InteractionInput {
            customer_id: Some(i.customer_id),
            contact_id: self.contact_id.or(i.contact_id),
            channel: self.channel.or_else(|| Some(i.channel.as_str().into())),
            content: self.content.or_else(|| Some(i.content.clone())),
            occurred_at: self
                .occurred_at
                .or_else(|| Some(i.occurred_at.to_rfc3339())),
            next_follow_up: self.next_follow_up,
            follow_up_title: self.follow_up_title,
        }
    }

    pub fn validate(&self, now: DateTime<Utc>) -> Result<InteractionDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.customer_id.is_none() {
            e.push(FieldError::required("customer_id"));
        }
        let channel = match non_empty(self.channel.as_deref()) {
            Some(c) => e.take(Channel::parse("channel", &c)),
            None => {
                e.push(FieldError::required("channel"));
                None
            }
        };
        let content = required_text(&mut e, "content", self.content.as_deref(), MAX_LONG);
        let occurred_at = match non_empty(self.occurred_at.as_deref()) {
            Some(s) => e.take(parse_instant("occurred_at", &s)).unwrap_or(now),
            None => now,
        };
        let next_follow_up = non_empty(self.next_follow_up.as_deref())
            .and_then(|s| e.take(parse_date("next_follow_up", &s)));
        let follow_up_title = text(
            &mut e,
            "follow_up_title",
            self.follow_up_title.as_deref(),
            MAX_NAME,
        );
        e.finish(InteractionDraft {
            customer_id: self.customer_id.unwrap_or(CustomerId(0)),
            contact_id: self.contact_id,
            channel: channel.unwrap_or(Channel::Other),
            content,
            occurred_at,
            next_follow_up,
            follow_up_title,
        })
    }
}

// -------------------------------------------------------------------- tasks

/// A task as sent by a client.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub customer_id: Option<CustomerId>,
    pub title: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// Defaults to the acting user.
    pub assignee_id: Option<UserId>,
    pub done: Option<bool>,
}

/// A validated task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    pub customer_id: Option<CustomerId>,
    pub title: String,
    pub due_date: NaiveDate,
    pub assignee_id: Option<UserId>,
    pub done: bool,
}

impl TaskInput {
    pub fn over(self, t: &Task) -> TaskInput {
        TaskInput {
            customer_id: self.customer_id.or(t.customer_id),
            title: self.title.or_else(|| Some(t.title.clone())),
            due_date: self.due_date.or_else(|| Some(t.due_date.to_string())),
            assignee_id: self.assignee_id.or(Some(t.assignee_id)),
            done: self.done.or(Some(t.done)),
        }
    }

    pub fn validate(&self) -> Result<TaskDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let title = required_text(&mut e, "title", self.title.as_deref(), MAX_NAME);
        let due_date = match non_empty(self.due_date.as_deref()) {
            Some(s) => e.take(parse_date("due_date", &s)),
            None => {
                e.push(FieldError::required("due_date"));
                None
            }
        };
        e.finish(TaskDraft {
            customer_id: self.customer_id,
            title,
            due_date: due_date.unwrap_or_default(),
            assignee_id: self.assignee_id,
            done: self.done.unwrap_or(false),
        })
    }
}

// ------------------------------------------------------------------- orders

/// An order as sent by a client.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub customer_id: Option<CustomerId>,
    pub external_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub order_date: Option<String>,
    /// Decimal amount, preferably as a string: `"1234.50"`. Negative for refunds.
    pub amount: Option<AmountInput>,
    /// ISO 4217; default CNY.
    pub currency: Option<String>,
    /// Cost of the order, when known, so profit can be computed.
    pub cost: Option<AmountInput>,
    /// `pending`, `completed` (default), `cancelled`.
    pub status: Option<String>,
    pub note: Option<String>,
}

/// A validated order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDraft {
    pub customer_id: CustomerId,
    pub external_id: Option<String>,
    pub order_date: NaiveDate,
    pub amount: i64,
    pub currency: Currency,
    pub cost: Option<i64>,
    pub status: OrderStatus,
    pub note: Option<String>,
}

impl OrderInput {
    pub fn over(self, o: &Order) -> OrderInput {
        let minor = |m: i64| AmountInput::Text(crate::money::format_minor(m));
        OrderInput {
            customer_id: Some(o.customer_id),
            external_id: self.external_id.or_else(|| o.external_id.clone()),
            order_date: self.order_date.or_else(|| Some(o.order_date.to_string())),
            amount: self.amount.or_else(|| Some(minor(o.amount))),
            currency: self.currency.or_else(|| Some(o.currency.to_string())),
            cost: self.cost.or_else(|| o.cost.map(minor)),
            status: self.status.or_else(|| Some(o.status.as_str().into())),
            note: self.note.or_else(|| o.note.clone()),
        }
    }

    pub fn validate(&self) -> Result<OrderDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.customer_id.is_none() {
            e.push(FieldError::required("customer_id"));
        }
        let order_date = match non_empty(self.order_date.as_deref()) {
            Some(s) => e.take(parse_date("order_date", &s)),
            None => {
                e.push(FieldError::required("order_date"));
                None
            }
        };
        let amount = match &self.amount {
            Some(a) => e.take(a.parse("amount")),
            None => {
                e.push(FieldError::required("amount"));
                None
            }
        };
        let cost = match &self.cost {
            Some(AmountInput::Text(s)) if s.trim().is_empty() => None,
            Some(c) => e.take(c.parse("cost")),
            None => None,
        };
        let currency = non_empty(self.currency.as_deref())
            .and_then(|c| e.take(Currency::parse("currency", &c)))
            .unwrap_or_default();
        let status = choice(&mut e, "status", self.status.as_deref(), OrderStatus::parse)
            .unwrap_or(OrderStatus::Completed);
        let external_id = text(
            &mut e,
            "external_id",
            self.external_id.as_deref(),
            MAX_SHORT,
        );
        let note = text(&mut e, "note", self.note.as_deref(), MAX_LONG);
        e.finish(OrderDraft {
            customer_id: self.customer_id.unwrap_or(CustomerId(0)),
            external_id,
            order_date: order_date.unwrap_or_default(),
            amount: amount.unwrap_or(0),
            currency,
            cost,
            status,
            note,
        })
    }
}

// -------------------------------------------------------------------- users

/// Supported interface languages.
pub const LOCALES: &[&str] = &["zh-CN", "en"];
pub const MIN_PASSWORD: usize = 8;

/// A user as sent by an administrator.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Only on create; at least 8 characters.
    pub password: Option<String>,
    /// `admin`, `manager`, `rep` (default), `read_only`.
    pub role: Option<String>,
    pub team_id: Option<TeamId>,
    /// `zh-CN` (default) or `en`.
    pub locale: Option<String>,
    /// IANA time zone; default `Asia/Shanghai`.
    pub time_zone: Option<String>,
    pub active: Option<bool>,
}

/// A validated user (the password still in clear; storage hashes it).
#[derive(Debug, Clone, PartialEq)]
pub struct UserDraft {
    pub username: String,
    pub display_name: String,
    pub email: Option<Email>,
    pub password: Option<String>,
    pub role: Role,
    pub team_id: Option<TeamId>,
    pub locale: String,
    pub time_zone: String,
    pub active: bool,
}

/// Checks a new password against the policy.
pub fn check_password(field: &str, p: &str) -> Result<(), FieldError> {
    if p.chars().count() < MIN_PASSWORD {
        return Err(FieldError::new(
            field,
            "password_too_short",
            format!("{field} must have at least {MIN_PASSWORD} characters"),
        ));
    }
    Ok(())
}

impl UserInput {
    pub fn over(self, u: &User) -> UserInput {
        UserInput {
            username: self.username.or_else(|| Some(u.username.clone())),
            display_name: self.display_name.or_else(|| Some(u.display_name.clone())),
            email: self.email.or_else(|| u.email.clone()),
            password: self.password,
            role: self.role.or_else(|| Some(u.role.as_str().into())),
            team_id: self.team_id.or(u.team_id),
            locale: self.locale.or_else(|| Some(u.locale.clone())),
            time_zone: self.time_zone.or_else(|| Some(u.time_zone.clone())),
            active: self.active.or(Some(u.active)),
        }
    }

    pub fn validate(&self, creating: bool) -> Result<UserDraft, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let username =
            required_text(&mut e, "username", self.username.as_deref(), 64).to_lowercase();
        if !username.is_empty()
            && !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            e.push(FieldError::new(
                "username",
                "invalid_username",
                "username may contain only letters, digits and . _ - @",
            ));
        }
        let display_name = text(
            &mut e,
            "display_name",
            self.display_name.as_deref(),
            MAX_SHORT,
        )
        .unwrap_or_else(|| username.clone());
        let email =
            non_empty(self.email.as_deref()).and_then(|m| e.take(Email::parse("email", &m)));
        let password = match non_empty(self.password.as_deref()) {
            Some(p) => e.take(check_password("password", &p)).map(|_| p),
            None if creating => {
                e.push(FieldError::required("password"));
                None
            }
            None => None,
        };
        let role = choice(&mut e, "role", self.role.as_deref(), Role::parse).unwrap_or(Role::Rep);
        let locale = match non_empty(self.locale.as_deref()) {
            Some(l) if LOCALES.contains(&l.as_str()) => l,
            Some(l) => {
                e.push(FieldError::invalid_choice("locale", &l, LOCALES));
                String::new()
            }
            None => "zh-CN".to_owned(),
        };
        let time_zone = match non_empty(self.time_zone.as_deref()) {
            Some(tz) if tz.parse::<chrono_tz::Tz>().is_ok() => tz,
            Some(tz) => {
                e.push(FieldError::new(
                    "time_zone",
                    "invalid_time_zone",
                    format!("time_zone must be an IANA zone such as Asia/Shanghai, not {tz:?}"),
                ));
                String::new()
            }
            None => "Asia/Shanghai".to_owned(),
        };
        e.finish(UserDraft {
            username,
            display_name,
            email,
            password,
            role,
            team_id: self.team_id,
            locale,
            time_zone,
            active: self.active.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn codes(r: ValidationErrors) -> Vec<(String, &'static str)> {
        r.0.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn customer_errors_name_every_field() {
        let input = CustomerInput {
            name: Some("  ".into()),
            classification: Some("vip".into()),
            mobile: Some("123".into()),
            email: Some("nope".into()),
            tags: Some(vec!["行业:".into()]),
            ..Default::default()
        };
        assert_eq!(
            codes(input.validate().unwrap_err()),
            vec![
                ("name".into(), "required"),
                ("classification".into(), "invalid_choice"),
                ("mobile".into(), "invalid_mobile"),
                ("email".into(), "invalid_email"),
                ("tags".into(), "invalid_tag"),
            ]
        );
    }

    #[test]
    fn customer_defaults() {
        let d = CustomerInput {
            name: Some(" 张三 ".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(d.name, "张三");
        assert_eq!(d.kind, CustomerKind::Company);
        assert_eq!(d.classification, Classification::Potential);
        assert_eq!(d.status, CustomerStatus::Active);
    }

    #[test]
    fn orders_parse_exact_amounts() {
        let o: OrderInput = serde_json::from_str(
            r#"{"customer_id": 1, "order_date": "2024/3/5", "amount": 1234.56, "cost": "1000"}"#,
        )
        .unwrap();
        let d = o.validate().unwrap();
        assert_eq!((d.amount, d.cost), (123_456, Some(100_000)));
        assert_eq!(d.order_date, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        assert_eq!(d.currency, Currency::CNY);
        assert_eq!(d.status, OrderStatus::Completed);
    }

    #[test]
    fn dates_in_common_spellings() {
        for s in [
            "2024-03-05",
            "2024/3/5",
            "2024.03.05",
            "2024年3月5日",
            "2024-03-05T10:00:00+08:00",
        ] {
            assert_eq!(
                parse_date("d", s).unwrap(),
                NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
                "{s}"
            );
        }
        assert_eq!(
            parse_date("d", "2024-02-30").unwrap_err().code,
            "invalid_date"
        );
    }

    #[test]
    fn users() {
        let u = UserInput {
            username: Some("Li.Lei".into()),
            password: Some("short".into()),
            time_zone: Some("Mars/Base".into()),
            ..Default::default()
        };
        assert_eq!(
            codes(u.validate(true).unwrap_err()),
            vec![
                ("password".into(), "password_too_short"),
                ("time_zone".into(), "invalid_time_zone"),
            ]
        );
    }

    #[test]
    fn a_superior_sent_as_null_is_removed_and_an_absent_one_kept() {
        let parse = |j: &str| serde_json::from_str::<ContactInput>(j).unwrap().superior_id;
        assert_eq!(parse(r#"{"name": "王"}"#), None);
        assert_eq!(parse(r#"{"superior_id": null}"#), Some(None));
        assert_eq!(parse(r#"{"superior_id": 7}"#), Some(Some(ContactId(7))));
    }
}
