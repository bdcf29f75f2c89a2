//! Enumerations and read models of the CRM's entities.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;

/// Declares a closed set of values stored and sent as snake_case strings.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every stored spelling, in display order.
            pub const KEYS: &'static [&'static str] = &[$($s),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// Parses the stored spelling, naming `field` when it is not one.
            pub fn parse(field: &str, s: &str) -> Result<Self, $crate::validation::FieldError> {
                match s.trim() {
                    $($s => Ok($name::$variant),)+
                    other => Err($crate::validation::FieldError::invalid_choice(field, other, Self::KEYS)),
                }
            }

            /// Reads a value the database wrote; unknown text means a bad migration.
            pub fn from_db(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Company or individual.
    CustomerKind { Company = "company", Person = "person" }
);

string_enum!(
    /// Classification (客户分类): who is our market at all (DOMAIN §2).
    Classification {
        /// 目标客户
        Target = "target",
        /// 潜在客户
        Potential = "potential",
        /// 合作伙伴
        Partner = "partner",
        /// 非客户
        NonCustomer = "non_customer",
    }
);

string_enum!(
    /// Whether the customer is being worked on.
    CustomerStatus {
        /// 正常跟进
        Active = "active",
        /// 暂停跟进
        Inactive = "inactive",
        /// 已归档 (kept for history, hidden from daily lists by default)
        Archived = "archived",
    }
);

string_enum!(
    /// The channel of an interaction (跟进方式).
    Channel {
        Call = "call",
        Visit = "visit",
        Wechat = "wechat",
        Email = "email",
        Meeting = "meeting",
        Other = "other",
    }
);

string_enum!(
    /// How close our relationship with a contact is (DOMAIN §10).
    Closeness {
        /// 关系密切
        Close = "close",
        /// 常规合作
        Regular = "regular",
        /// 初步沟通
        Initial = "initial",
        /// 不认识
        Unknown = "unknown",
    }
);

string_enum!(
    /// A contact's level in the customer's organization.
    ContactLevel {
        /// 决策层
        Executive = "executive",
        /// 管理层
        Management = "management",
        /// 执行层
        Staff = "staff",
        Other = "other",
    }
);

string_enum!(
    /// What a contact may do with budget.
    BudgetAuthority {
        /// 无预算权
        None = "none",
        /// 影响预算
        Influence = "influence",
        /// 审批预算
        Approve = "approve",
        /// 最终拍板
        Final = "final",
    }
);

string_enum!(
    /// Order state; cancelled orders are kept but count nowhere.
    OrderStatus {
        Pending = "pending",
        Completed = "completed",
        Cancelled = "cancelled",
    }
);

impl OrderStatus {
    /// Whether the order counts in aggregates and analytics.
    pub fn counts(self) -> bool {
        !matches!(self, OrderStatus::Cancelled)
    }
}

impl Aggregates {
    /// The aggregates of a set of orders given as (date, amount, cost, status):
    /// the definition that storage maintains incrementally and verifies.
    pub fn from_orders(
        orders: impl IntoIterator<Item = (NaiveDate, i64, Option<i64>, OrderStatus)>,
    ) -> Aggregates {
        let mut a = Aggregates::default();
        let mut days = std::collections::BTreeSet::new();
        for (date, amount, cost, status) in orders {
            if !status.counts() {
                continue;
            }
            a.first_order_date = Some(a.first_order_date.map_or(date, |d| d.min(date)));
            a.last_order_date = Some(a.last_order_date.map_or(date, |d| d.max(date)));
            a.order_count += 1;
            days.insert(date);
            a.total_amount += amount;
            if let Some(c) = cost {
                a.total_profit += amount - c;
                a.profit_order_count += 1;
            }
        }
        a.purchase_days = days.len() as i64;
        a
    }
}

/// A customer with its maintained aggregates.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub name: String,
    pub classification: Classification,
    pub status: CustomerStatus,
    pub source: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    pub owner_id: UserId,
    pub team_id: Option<TeamId>,
    pub tags: Vec<crate::Tag>,
    /// Free custom attributes: a JSON object of scalars.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub aggregates: Aggregates,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Per-customer order figures, maintained in the same transaction as every
/// order write and verifiable against a recomputation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Aggregates {
    pub first_order_date: Option<NaiveDate>,
    pub last_order_date: Option<NaiveDate>,
    pub order_count: i64,
    /// Distinct days with at least one order (the frequency of BG/NBD).
    pub purchase_days: i64,
    /// Sum of counted orders in the base currency, as a decimal string.
    #[serde(with = "minor_as_decimal")]
    #[schema(value_type = String, example = "1234.50")]
    pub total_amount: i64,
    /// Sum of amount minus cost over orders whose cost is known.
    #[serde(with = "minor_as_decimal")]
    #[schema(value_type = String, example = "234.50")]
    pub total_profit: i64,
    /// How many orders the profit figure covers.
    pub profit_order_count: i64,
}

/// A person at a customer, with the key-decision-maker fields of DOMAIN §10.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
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
    pub mobile: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub other_channels: Option<String>,
    pub closeness: Closeness,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One logged touch with a customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Interaction {
    pub id: InteractionId,
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub channel: Channel,
    pub content: String,
    pub occurred_at: DateTime<Utc>,
    pub user_id: UserId,
    pub next_follow_up: Option<NaiveDate>,
    /// The follow-up task the interaction opened, if any.
    pub task_id: Option<TaskId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A follow-up or other to-do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub customer_id: Option<CustomerId>,
    pub title: String,
    pub due_date: NaiveDate,
    pub assignee_id: UserId,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order of a customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub external_id: Option<String>,
    pub order_date: NaiveDate,
    #[serde(with = "minor_as_decimal")]
    #[schema(value_type = String, example = "1234.50")]
    pub amount: i64,
    pub currency: crate::Currency,
    #[serde(with = "opt_minor_as_decimal")]
    #[schema(value_type = Option<String>, example = "800.00")]
    pub cost: Option<i64>,
    pub status: OrderStatus,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user as others may see it (never with the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: crate::Role,
    pub team_id: Option<TeamId>,
    pub locale: String,
    pub time_zone: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A sales team.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// One audit record: who changed what, when, and how.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Serializes minor units as a decimal string (`"12.30"`), so JSON clients
/// never see a float.
pub mod minor_as_decimal {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(minor: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::money::format_minor(*minor))
    }
}

/// [`minor_as_decimal`] for optional amounts.
pub mod opt_minor_as_decimal {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(minor: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match minor {
            Some(m) => s.serialize_str(&crate::money::format_minor(*m)),
            None => s.serialize_none(),
        }
    }
}
