//! Contacts and their key-decision-maker fields; visible through their customer.

use kehu_domain::inputs::{ContactDraft, ContactInput};
use kehu_domain::*;
use sqlx::{AnyConnection, Row};

use crate::audit::{snap, Change};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, CONTACT_COLS};
use crate::sql::{delete_row, Arg, Sql};
use crate::{search, Scoped};

impl Scoped<'_> {
    pub async fn contact(&self, id: ContactId) -> StoreResult<Contact> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_contact(&mut conn, id).await
    }

    pub(crate) async fn load_contact(
        &self,
        conn: &mut AnyConnection,
        id: ContactId,
    ) -> StoreResult<Contact> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONTACT_COLS} FROM contacts x JOIN customers c ON c.id = x.customer_id \
             WHERE x.id = "
        ));
        sql.bind(id.0);
        self.scope(&mut sql, "c");
        let row = sql.query().fetch_optional(conn).await?;
        rows::contact(&row.ok_or(StoreError::NotFound)?)
    }

    /// All contacts of a visible customer, in creation order.
    pub async fn contacts_of(&self, customer: CustomerId) -> StoreResult<Vec<Contact>> {
        let mut conn = self.store.pool().acquire().await?;
        self.visible_customer(&mut conn, customer).await?;
        let rows = Sql::new(&format!(
            "SELECT {CONTACT_COLS} FROM contacts x WHERE x.customer_id = "
        ))
        .bind(customer.0)
        .push(" ORDER BY x.id")
        .query()
        .fetch_all(&mut *conn)
        .await?;
        rows::all(&rows, rows::contact)
    }

    pub async fn create_contact(&self, input: &ContactInput) -> StoreResult<Contact> {
        self.require_write()?;
        let draft = input.validate()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        self.visible_customer(&mut tx.tx, draft.customer_id).await?;
        check_superior(&mut tx.tx, &draft, None).await?;
        let mut values = contact_values(&draft);
        values.extend([
            ("created_by", self.actor.user_id.0.into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ]);
        let cols: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let mut sql = Sql::new(&format!(
            "INSERT INTO contacts ({}) VALUES (",
            cols.join(", ")
        ));
        sql.bind_list(values.into_iter().map(|(_, v)| v))
            .push(") RETURNING id");
        let id = ContactId(sql.query().fetch_one(&mut *tx.tx).await?.try_get("id")?);
        search::rebuild(&mut tx.tx, draft.customer_id).await?;
        let c = self.load_contact(&mut tx.tx, id).await?;
        self.audit(&mut tx.tx, now, Change::created("contact", id.0, snap(&c)))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn update_contact(&self, id: ContactId, input: ContactInput) -> StoreResult<Contact> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_contact(&mut tx.tx, id).await?;
        let draft = input.over(&before).validate()?;
        if draft.customer_id != before.customer_id {
            self.visible_customer(&mut tx.tx, draft.customer_id).await?;
        }
        check_superior(&mut tx.tx, &draft, Some(id)).await?;
        let mut sql = Sql::new("UPDATE contacts SET ");
        for (i, (col, v)) in contact_values(&draft).into_iter().enumerate() {
            sql.push(&format!("{}{col} = ", if i == 0 { "" } else { ", " }))
                .bind(v);
        }
        sql.push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0);
        sql.query().execute(&mut *tx.tx).await?;
        if draft.customer_id != before.customer_id {
            // A contact that changes company leaves its old place in the
            // org chart behind.
            Sql::new("UPDATE contacts SET superior_id = NULL WHERE superior_id = ")
                .bind(id.0)
                .query()
                .execute(&mut *tx.tx)
                .await?;
            search::rebuild(&mut tx.tx, before.customer_id).await?;
        }
        search::rebuild(&mut tx.tx, draft.customer_id).await?;
        let after = self.load_contact(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::new("contact", id.0, "update", snap(&before), snap(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_contact(&self, id: ContactId) -> StoreResult<()> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_contact(&mut tx.tx, id).await?;
        delete_row(&mut tx.tx, "contacts", id.0).await?;
        search::rebuild(&mut tx.tx, before.customer_id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::deleted("contact", id.0, snap(&before)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A superior must be another contact of the same customer, and the chain
/// of superiors must not loop back.
async fn check_superior(
    conn: &mut AnyConnection,
    d: &ContactDraft,
    this: Option<ContactId>,
) -> StoreResult<()> {
    let Some(mut next) = d.superior_id else {
        return Ok(());
    };
    let bad = |msg: &str| {
        StoreError::Invalid(FieldError::new("superior_id", "invalid_superior", msg).into())
    };
    let mut first = true;
    for _ in 0..100 {
        if Some(next) == this {
            return Err(bad(
                "the chain of superiors would loop back to this contact",
            ));
        }
        let row = Sql::new("SELECT customer_id, superior_id FROM contacts WHERE id = ")
            .bind(next.0)
            .query()
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else {
            return Err(bad("no such contact"));
        };
        if first && CustomerId(row.try_get("customer_id")?) != d.customer_id {
            return Err(bad("the superior must be a contact of the same customer"));
        }
        first = false;
        match row.try_get::<Option<i64>, _>("superior_id")? {
            Some(s) => next = ContactId(s),
            None => return Ok(()),
        }
    }
    Err(bad("the chain of superiors is too long"))
}

fn contact_values(d: &ContactDraft) -> Vec<(&'static str, Arg)> {
    vec![
        ("customer_id", d.customer_id.0.into()),
        ("name", d.name.clone().into()),
        ("department", d.department.clone().into()),
        ("title", d.title.clone().into()),
        ("level", d.level.map(|v| v.as_str()).into()),
        ("superior_id", d.superior_id.map(|v| v.0).into()),
        ("business_area", d.business_area.clone().into()),
        ("authority_scope", d.authority_scope.clone().into()),
        (
            "budget_authority",
            d.budget_authority.map(|v| v.as_str()).into(),
        ),
        ("is_key_decision_maker", d.is_key_decision_maker.into()),
        (
            "mobile",
            d.mobile.as_ref().map(|m| m.as_str().to_owned()).into(),
        ),
        ("wechat", d.wechat.clone().into()),
        (
            "email",
            d.email.as_ref().map(|m| m.as_str().to_owned()).into(),
        ),
        ("other_channels", d.other_channels.clone().into()),
        ("closeness", d.closeness.as_str().into()),
        ("notes", d.notes.clone().into()),
    ]
}
