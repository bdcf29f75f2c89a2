//! People and teams most tests need: two teams, a manager and two reps in
//! team 1, a rep in team 2, an admin and a read-only analyst of team 1.

use kehu_domain::inputs::{CustomerInput, UserInput};
use kehu_domain::{Customer, User};
use kehu_storage::{actor_of, Scoped, Store};

pub struct Org {
    pub admin: User,
    pub manager1: User,
    pub rep_a: User,
    pub rep_b: User,
    pub rep_c: User,
    pub viewer1: User,
}

pub async fn user(
    store: &Store,
    name: &str,
    role: &str,
    team: Option<kehu_domain::TeamId>,
) -> User {
    let draft = UserInput {
        username: Some(name.into()),
        password: Some("correct horse".into()),
        role: Some(role.into()),
        team_id: team,
        ..Default::default()
    }
    .validate(true)
    .unwrap();
    store
        .create_user(&draft, "not-a-real-hash", None)
        .await
        .unwrap()
}

pub async fn org(store: &Store) -> Org {
    let t1 = store.create_team("华东销售一部", None).await.unwrap();
    let t2 = store.create_team("华南大客户部", None).await.unwrap();
    Org {
        admin: user(store, "admin", "admin", None).await,
        manager1: user(store, "manager1", "manager", Some(t1.id)).await,
        rep_a: user(store, "rep.a", "rep", Some(t1.id)).await,
        rep_b: user(store, "rep.b", "rep", Some(t1.id)).await,
        rep_c: user(store, "rep.c", "rep", Some(t2.id)).await,
        viewer1: user(store, "viewer1", "read_only", Some(t1.id)).await,
    }
}

pub fn as_user<'a>(store: &'a Store, u: &User) -> Scoped<'a> {
    store.scoped(actor_of(u))
}

pub async fn customer(s: &Scoped<'_>, name: &str, mobile: Option<&str>) -> Customer {
    s.create_customer(&CustomerInput {
        name: Some(name.into()),
        mobile: mobile.map(Into::into),
        ..Default::default()
    })
    .await
    .unwrap()
}
