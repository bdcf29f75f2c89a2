//! Merging duplicates. Everything attached to the removed record moves to
//! the survivor in one transaction; blank fields of the survivor are filled
//! from the removed record; both ends are written to the audit trail.

use kehu_domain::*;

use crate::aggregates::recompute;
use crate::audit::{record, snap, Change};
use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;
use crate::{search, Scoped};

/// Customer columns that the survivor takes from the removed customer when
/// its own are empty.
const FILLABLE: &[&str] = &[
    "source",
    "province",
    "city",
    "industry",
    "size",
    "mobile",
    "email",
    "external_id",
    "notes",
];

const CONTACT_FILLABLE: &[&str] = &[
    "department",
    "title",
    "level",
    "business_area",
    "authority_scope",
    "budget_authority",
    "mobile",
    "wechat",
    "email",
    "other_channels",
    "notes",
];

fn same_record(field: &str) -> StoreError {
    StoreError::Invalid(
        FieldError::new(
            field,
            "same_record",
            "a record cannot be merged into itself",
        )
        .into(),
    )
}

impl Scoped<'_> {
    /// Merges `removed` into `survivor` and returns the survivor as it is now.
    pub async fn merge_customers(
        &self,
        survivor: CustomerId,
        removed: CustomerId,
    ) -> StoreResult<Customer> {
        self.require_write()?;
        if survivor == removed {
            return Err(same_record("removed_id"));
        }
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let s = self.load_customer(&mut tx.tx, survivor).await?;
        let r = self.load_customer(&mut tx.tx, removed).await?;
        for table in ["contacts", "interactions", "tasks", "orders"] {
            Sql::new(&format!("UPDATE {table} SET customer_id = "))
                .bind(survivor.0)
                .push(" WHERE customer_id = ")
                .bind(removed.0)
                .query()
                .execute(&mut *tx.tx)
                .await?;
        }
        // Both engines accept ON CONFLICT DO NOTHING for the tag union.
        Sql::new("INSERT INTO customer_tags (customer_id, dimension, value) SELECT ")
            .bind(survivor.0)
            .push(", dimension, value FROM customer_tags WHERE customer_id = ")
            .bind(removed.0)
            .push(" ON CONFLICT DO NOTHING")
            .query()
            .execute(&mut *tx.tx)
            .await?;
        // Read the removed row's fillable values before it goes.
        let cols = FILLABLE.join(", ");
        let fill = Sql::new(&format!(
            "SELECT {cols}, attributes FROM customers WHERE id = "
        ))
        .bind(removed.0)
        .query()
        .fetch_one(&mut *tx.tx)
        .await?;
        Sql::new("DELETE FROM customers WHERE id = ")
            .bind(removed.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        let mut sql = Sql::new("UPDATE customers SET updated_at = ");
        sql.bind(now);
        for col in FILLABLE {
            let v: Option<String> = sqlx::Row::try_get(&fill, *col)?;
            sql.push(&format!(", {col} = COALESCE({col}, "))
                .bind(v)
                .push(")");
        }
        let mut attributes = r.attributes.clone();
        attributes.extend(s.attributes.clone());
        sql.push(", attributes = ")
            .bind(serde_json::to_string(&attributes).unwrap_or_else(|_| "{}".into()))
            .push(" WHERE id = ")
            .bind(survivor.0);
        sql.query().execute(&mut *tx.tx).await?;
        recompute(&mut tx.tx, survivor).await?;
        search::rebuild(&mut tx.tx, survivor).await?;
        let after = self.load_customer_unscoped(&mut tx.tx, survivor).await?;
        let actor = Some(self.actor.user_id);
        record(
            &mut tx.tx,
            now,
            actor,
            Change {
                entity: "customer",
                entity_id: survivor.0,
                action: "merge",
                before: snap(&s),
                after: snap(&serde_json::json!({ "merged_from": removed, "customer": after })),
            },
        )
        .await?;
        record(
            &mut tx.tx,
            now,
            actor,
            Change {
                entity: "customer",
                entity_id: removed.0,
                action: "merged_into",
                before: snap(&r),
                after: snap(&serde_json::json!({ "merged_into": survivor })),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Merges contact `removed` into `survivor`: interactions and reporting
    /// lines move to the survivor, blank fields are filled.
    pub async fn merge_contacts(
        &self,
        survivor: ContactId,
        removed: ContactId,
    ) -> StoreResult<Contact> {
        self.require_write()?;
        if survivor == removed {
            return Err(same_record("removed_id"));
        }
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let s = self.load_contact(&mut tx.tx, survivor).await?;
        let r = self.load_contact(&mut tx.tx, removed).await?;
        Sql::new("UPDATE interactions SET contact_id = ")
            .bind(survivor.0)
            .push(" WHERE contact_id = ")
            .bind(removed.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        // Reports of the removed contact now report to the survivor, except
        // the survivor itself, which would otherwise report to itself.
        Sql::new("UPDATE contacts SET superior_id = CASE WHEN id = ")
            .bind(survivor.0)
            .push(" THEN NULL ELSE ")
            .bind(survivor.0)
            .push(" END WHERE superior_id = ")
            .bind(removed.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        let cols = CONTACT_FILLABLE.join(", ");
        let fill = Sql::new(&format!("SELECT {cols} FROM contacts WHERE id = "))
            .bind(removed.0)
            .query()
            .fetch_one(&mut *tx.tx)
            .await?;
        Sql::new("DELETE FROM contacts WHERE id = ")
            .bind(removed.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        let mut sql = Sql::new("UPDATE contacts SET updated_at = ");
        sql.bind(now);
        for col in CONTACT_FILLABLE {
            let v: Option<String> = sqlx::Row::try_get(&fill, *col)?;
            sql.push(&format!(", {col} = COALESCE({col}, "))
                .bind(v)
                .push(")");
        }
        if r.is_key_decision_maker {
            sql.push(", is_key_decision_maker = 1");
        }
        sql.push(" WHERE id = ").bind(survivor.0);
        sql.query().execute(&mut *tx.tx).await?;
        search::rebuild(&mut tx.tx, s.customer_id).await?;
        if r.customer_id != s.customer_id {
            search::rebuild(&mut tx.tx, r.customer_id).await?;
        }
        let after = self.load_contact(&mut tx.tx, survivor).await?;
        let actor = Some(self.actor.user_id);
        record(
            &mut tx.tx,
            now,
            actor,
            Change {
                entity: "contact",
                entity_id: survivor.0,
                action: "merge",
                before: snap(&s),
                after: snap(&serde_json::json!({ "merged_from": removed, "contact": after })),
            },
        )
        .await?;
        record(
            &mut tx.tx,
            now,
            actor,
            Change {
                entity: "contact",
                entity_id: removed.0,
                action: "merged_into",
                before: snap(&r),
                after: snap(&serde_json::json!({ "merged_into": survivor })),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
