//! Demo data: a realistic organisation and its customers, generated from a
//! seed and loaded in one transaction through the bulk path.

mod generate;
mod names;

pub use generate::{
    customers, roster, DemoConfig, DemoCustomer, DemoInteraction, DemoTeam, DemoUser,
};

use chrono::TimeZone;
use kehu_domain::inputs::UserInput;
use kehu_domain::*;
use kehu_storage::bulk::{IdTable, NewContact, NewCustomer, NewInteraction, NewTask};
use kehu_storage::{Searchable, Store};

use crate::accounts::{self, AccountError};

/// Password of every demo user.
pub const DEMO_PASSWORD: &str = "kehu-demo-2026";
/// Username of the demo admin.
pub const DEMO_ADMIN: &str = "admin";

/// Customers generated and written per batch.
const BATCH: u64 = 2_000;

/// What a load produced.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub users: usize,
    pub customers: u64,
    pub contacts: u64,
    pub interactions: u64,
    pub tasks: u64,
    pub orders: u64,
}

async fn ensure_user(
    store: &Store,
    username: &str,
    display: &str,
    role: Role,
    team: Option<TeamId>,
    made: &mut usize,
) -> Result<User, AccountError> {
    if let Some(u) = store.user_by_username(username).await? {
        return Ok(u.user);
    }
    *made += 1;
    let input = UserInput {
        username: Some(username.into()),
        display_name: Some(display.into()),
        password: Some(DEMO_PASSWORD.into()),
        role: Some(role.as_str().into()),
        team_id: team,
        ..Default::default()
    };
    accounts::create_user(store, None, &input).await
}

/// Creates the demo organisation (users that already exist are kept) and
/// loads `cfg.customers` customers with their contacts, interactions,
/// follow-ups and orders. `progress` is told how many customers are done.
pub async fn fill(
    store: &Store,
    cfg: &DemoConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DemoSummary, AccountError> {
    let mut summary = DemoSummary::default();
    let mut made = 0;
    ensure_user(store, DEMO_ADMIN, "管理员", Role::Admin, None, &mut made).await?;
    let teams = roster(cfg);
    let existing = store.teams().await?;
    let mut reps: Vec<(UserId, Option<TeamId>)> = Vec::new();
    for t in &teams {
        let team = match existing.iter().find(|e| e.name == t.name) {
            Some(e) => e.id,
            None => store.create_team(&t.name, None).await?.id,
        };
        ensure_user(
            store,
            &t.manager.username,
            &t.manager.display_name,
            Role::Manager,
            Some(team),
            &mut made,
        )
        .await?;
        for r in &t.reps {
            let u = ensure_user(
                store,
                &r.username,
                &r.display_name,
                Role::Rep,
                Some(team),
                &mut made,
            )
            .await?;
            reps.push((u.id, u.team_id));
        }
    }
    let first_team = store.teams().await?.first().map(|t| t.id);
    ensure_user(
        store,
        "analyst",
        "数据分析师",
        Role::ReadOnly,
        first_team,
        &mut made,
    )
    .await?;
    summary.users = made;

    let mut bulk = store.bulk(None).await?;
    let mut done = 0u64;
    while done < cfg.customers {
        let end = (done + BATCH).min(cfg.customers);
        let batch: Vec<DemoCustomer> = customers(cfg, reps.len(), done..end).collect();
        let customer_ids = bulk.reserve_ids(IdTable::Customers, batch.len()).await?;
        let n_contacts: usize = batch.iter().map(|c| c.contacts.len()).sum();
        let contact_ids = bulk.reserve_ids(IdTable::Contacts, n_contacts).await?;
        let mut new_customers = Vec::with_capacity(batch.len());
        let mut new_contacts = Vec::with_capacity(n_contacts);
        let mut interactions = Vec::new();
        let mut tasks = Vec::new();
        let mut orders = Vec::new();
        let mut terms = Vec::with_capacity(batch.len());
        let mut next_contact = contact_ids.iter();
        for (d, id) in batch.into_iter().zip(customer_ids) {
            let id = CustomerId(id);
            let (owner, team) = reps[d.owner];
            let ids: Vec<ContactId> = d
                .contacts
                .iter()
                .filter_map(|_| next_contact.next().map(|c| ContactId(*c)))
                .collect();
            let mut searchable = Searchable::of_draft(&d.customer);
            for ((mut c, superior), cid) in d.contacts.into_iter().zip(&ids) {
                c.customer_id = id;
                c.superior_id = superior.and_then(|s| ids.get(s).copied());
                searchable.contacts.push((
                    c.name.clone(),
                    c.mobile.as_ref().map(|m| m.as_str().to_owned()),
                    c.email.as_ref().map(|m| m.as_str().to_owned()),
                ));
                new_contacts.push(NewContact {
                    id: *cid,
                    draft: c,
                    created_at: d.created_at,
                });
            }
            for i in d.interactions {
                if let Some(due) = i.next_follow_up {
                    tasks.push(NewTask {
                        customer_id: Some(id),
                        title: format!("跟进 / Follow up: {}", d.customer.name),
                        due_date: due,
                        assignee_id: owner,
                        done_at: i.follow_up_done.then_some(i.occurred_at),
                        created_at: i.occurred_at,
                    });
                }
                interactions.push(NewInteraction {
                    customer_id: id,
                    contact_id: i.contact.and_then(|k| ids.get(k).copied()),
                    channel: i.channel,
                    content: i.content,
                    occurred_at: i.occurred_at,
                    user_id: owner,
                    next_follow_up: i.next_follow_up,
                });
            }
            let aggregates = Aggregates::from_orders(
                d.orders
                    .iter()
                    .map(|o| (o.order_date, o.amount, o.cost, o.status)),
            );
            for mut o in d.orders {
                o.customer_id = id;
                let at =
                    chrono::Utc.from_utc_datetime(&o.order_date.and_time(chrono::NaiveTime::MIN));
                orders.push((o, at));
            }
            terms.push((id, searchable));
            new_customers.push(NewCustomer {
                id,
                draft: d.customer,
                owner,
                team,
                created_at: d.created_at,
                aggregates,
            });
        }
        summary.customers += new_customers.len() as u64;
        summary.contacts += new_contacts.len() as u64;
        summary.interactions += interactions.len() as u64;
        summary.tasks += tasks.len() as u64;
        summary.orders += orders.len() as u64;
        bulk.customers(&new_customers).await?;
        bulk.contacts(&new_contacts).await?;
        bulk.interactions(&interactions).await?;
        bulk.tasks(&tasks).await?;
        bulk.orders(&orders).await?;
        bulk.search_terms(&terms).await?;
        done = end;
        progress(done);
    }
    bulk.audit("demo", "load", &[summary.customers as i64])
        .await?;
    bulk.commit().await?;
    Ok(summary)
}
