//! Merging duplicates. Everything attached to the removed record moves to
//! the survivor in one transaction; blank fields of the survivor are filled
//! from the removed record; both ends are written to the audit trail.

use kehu_domain::*;

use crate::aggregates::recompute;
use crate::audit::{record, snap, Change};
use crate::error::{StoreError, StoreResult};
use crate::sql::{Arg, Sql};
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

/// Deletes row `from` of `table` after copying its values of `cols` into
/// the blank ones of row `into`; `extra` sets one more column.
/// The copy is read first because unique columns (external ids) can only
/// move once their old row is gone.
async fn fill_blanks(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    cols: &[&str],
    from: i64,
    into: i64,
    now: i64,
    extra: Option<(&str, Arg)>,
) -> StoreResult<()> {
    let fill = Sql::new(&format!(
        "SELECT {} FROM {table} WHERE id = ",
        cols.join(", ")
    ))
    .bind(from)
    .query()
    .fetch_one(&mut *conn)
    .await?;
    Sql::new(&format!("DELETE FROM {table} WHERE id = "))
        .bind(from)
        .query()
        .execute(&mut *conn)
        .await?;
    let mut sql = Sql::new(&format!("UPDATE {table} SET updated_at = "));
    sql.bind(now);
    for col in cols {
        let v: Option<String> = sqlx::Row::try_get(&fill, *col)?;
        sql.push(&format!(", {col} = COALESCE({col}, "))
            .bind(v)
            .push(")");
    }
    if let Some((col, v)) = extra {
        sql.push(&format!(", {col} = ")).bind(v);
    }
    sql.push(" WHERE id = ").bind(into);
    sql.query().execute(conn).await?;
    Ok(())
}

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
    ///
    /// `keep` holds field values the survivor takes after the merge (for
    /// instance the removed record's mobile, picked by the user); it is
    /// validated and applied in the same transaction.
    pub async fn merge_customers(
        &self,
        survivor: CustomerId,
        removed: CustomerId,
        keep: Option<kehu_domain::inputs::CustomerInput>,
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
        let mut attributes = r.attributes.clone();
        attributes.extend(s.attributes.clone());
        let attributes = serde_json::to_string(&attributes).unwrap_or_else(|_| "{}".into());
        let extra = Some(("attributes", Arg::Text(attributes)));
        fill_blanks(
            &mut tx.tx,
            "customers",
            FILLABLE,
            removed.0,
            survivor.0,
            now,
            extra,
        )
        .await?;
        recompute(&mut tx.tx, survivor, now).await?;
        search::rebuild(&mut tx.tx, survivor).await?;
        let mut after = self.load_customer_unscoped(&mut tx.tx, survivor).await?;
        let actor = Some(self.actor.user_id);
        record(
            &mut tx.tx,
            now,
            actor,
            Change::new(
                "customer",
                survivor.0,
                "merge",
                snap(&s),
                snap(&serde_json::json!({ "merged_from": removed, "customer": after })),
            ),
        )
        .await?;
        record(
            &mut tx.tx,
            now,
            actor,
            Change::new(
                "customer",
                removed.0,
                "merged_into",
                snap(&r),
                snap(&serde_json::json!({ "merged_into": survivor })),
            ),
        )
        .await?;
        if let Some(keep) = keep {
            after = self
                .update_customer_in(&mut tx, survivor, keep, now)
                .await?;
        }
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
        let extra = r
            .is_key_decision_maker
            .then_some(("is_key_decision_maker", Arg::I64(1)));
        fill_blanks(
            &mut tx.tx,
            "contacts",
            CONTACT_FILLABLE,
            removed.0,
            survivor.0,
            now,
            extra,
        )
        .await?;
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
            Change::new(
                "contact",
                survivor.0,
                "merge",
                snap(&s),
                snap(&serde_json::json!({ "merged_from": removed, "contact": after })),
            ),
        )
        .await?;
        record(
            &mut tx.tx,
            now,
            actor,
            Change::new(
                "contact",
                removed.0,
                "merged_into",
                snap(&r),
                snap(&serde_json::json!({ "merged_into": survivor })),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
