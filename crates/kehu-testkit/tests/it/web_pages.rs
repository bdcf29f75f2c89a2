//! The work pages over HTTP, as a browser without JavaScript uses them:
//! account (password, API tokens), admin (users, teams, ownership
//! transfer), duplicates and the side-by-side merge, bulk actions on the
//! customer list, and the dashboard, each within the user's scope.

use kehu_domain::inputs::{AmountInput, OrderInput, UserInput};
use kehu_domain::{CustomerId, User};
use kehu_testkit::{on_both_engines, TestApp, TestDb};
use reqwest::StatusCode;

use crate::fixtures::*;

on_both_engines!(
    account_page_changes_password_and_manages_tokens,
    admin_page_manages_users_and_transfers_within_scope,
    duplicates_page_merges_with_picked_values_within_scope,
    bulk_actions_tag_and_assign_within_scope,
    dashboard_counts_only_what_the_user_may_see,
    analytics_page_is_scoped_and_admins_run_it,
    an_interaction_is_edited_in_the_users_time_zone,
);

/// A browser session of one user: cookies kept, redirects not followed.
struct Web {
    client: reqwest::Client,
    base: String,
}

impl Web {
    async fn login(app: &TestApp, user: &User) -> Web {
        let password = format!("{}-password", user.username);
        kehu_core::accounts::update_user(
            &app.store,
            None,
            user.id,
            UserInput {
                password: Some(password.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        Web::login_with(app, &user.username, &password, StatusCode::SEE_OTHER).await
    }

    async fn login_with(app: &TestApp, username: &str, password: &str, expect: StatusCode) -> Web {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::ACCEPT_LANGUAGE, "zh-CN".parse().unwrap());
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(h)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let web = Web {
            client,
            base: app.base.clone(),
        };
        let r = web
            .client
            .post(format!("{}/login", web.base))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expect, "login of {username}");
        web
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A page that must answer 200.
    async fn page(&self, path: &str) -> String {
        let (status, html) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {html}");
        html
    }

    /// Posts a form with the session's CSRF token (read from `/account`).
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let token = csrf_of(&self.page("/account").await);
        let mut fields = form.to_vec();
        fields.push(("_csrf", &token));
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    html[at..].split('"').next().unwrap().to_owned()
}

/// The first number in `html` after `prefix`.
fn number_after(html: &str, prefix: &str) -> i64 {
    let at = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {html}"))
        + prefix.len();
    html[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

async fn account_page_changes_password_and_manages_tokens(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let web = Web::login(&app, &org.rep_a).await;
    let other_device =
        Web::login_with(&app, "rep.a", "rep.a-password", StatusCode::SEE_OTHER).await;

    let html = web.page("/account").await;
    assert!(
        html.contains("我的账号") && html.contains("rep.a"),
        "{html}"
    );

    // A token is shown once, works as a bearer token, and can be revoked.
    let (status, html) = web.post("/account/tokens", &[("name", "报表脚本")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("请立即复制该令牌"), "{html}");
    let at = html.find("<code").expect("the token in a code element");
    let token: String = html[at..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let api = |t: String| {
        let url = format!("{}/api/v1/customers", app.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, StatusCode::OK);
    let html = web.page("/account").await;
    assert!(
        html.contains("报表脚本") && !html.contains(&token),
        "shown once"
    );
    let id = number_after(&html, "/account/tokens/");
    let (status, _) = web.post(&format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(api(token).await, StatusCode::UNAUTHORIZED);
    let (status, html) = web.post("/account/tokens", &[("name", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("名称"), "the field is named: {html}");

    // Changing the password: the current one is checked, the two new ones
    // must agree, and other sessions are signed out.
    let (status, html) = change(&web, "wrong", "a-new-password", "a-new-password").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("当前密码不正确"), "{html}");
    let (status, html) = change(&web, "rep.a-password", "a-new-password", "another").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("两次输入的新密码不一致"), "{html}");
    let (status, html) = change(&web, "rep.a-password", "a-new-password", "a-new-password").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("密码已修改"), "{html}");
    assert_eq!(web.get("/customers").await.0, StatusCode::OK);
    assert_eq!(
        other_device.get("/customers").await.0,
        StatusCode::SEE_OTHER,
        "the other device is signed out"
    );
    Web::login_with(&app, "rep.a", "rep.a-password", StatusCode::UNAUTHORIZED).await;
    Web::login_with(&app, "rep.a", "a-new-password", StatusCode::SEE_OTHER).await;
}

async fn change(web: &Web, current: &str, new: &str, repeat: &str) -> (StatusCode, String) {
    let form = [("current", current), ("new", new), ("repeat", repeat)];
    web.post("/account/password", &form).await
}

async fn admin_page_manages_users_and_transfers_within_scope(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a1 = customer(&as_user(&app.store, &org.rep_a), "甲一贸易有限公司", None).await;
    let a2 = customer(&as_user(&app.store, &org.rep_a), "甲二贸易有限公司", None).await;
    let c1 = customer(&as_user(&app.store, &org.rep_c), "丙一物流有限公司", None).await;

    // Reps have no admin page; managers see it for their team.
    let rep = Web::login(&app, &org.rep_a).await;
    assert_eq!(rep.get("/admin").await.0, StatusCode::FORBIDDEN);
    let manager = Web::login(&app, &org.manager1).await;
    let html = manager.page("/admin").await;
    assert!(html.contains("客户转移"), "{html}");
    // A manager cannot create users, nor move customers out of the team.
    let (status, _) = manager
        .post(
            "/admin/users",
            &[
                ("username", "intruder"),
                ("password", "long-enough-1"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_ne!(status, StatusCode::OK);
    assert!(app
        .store
        .user_by_username("intruder")
        .await
        .unwrap()
        .is_none());
    let (_, html) = manager
        .post(
            "/admin/transfer",
            &[
                ("from", &org.rep_c.id.to_string()),
                ("to", &org.rep_a.id.to_string()),
            ],
        )
        .await;
    assert!(
        html.contains("已转移 0 个客户"),
        "nothing visible to move: {html}"
    );
    let c1_now = as_user(&app.store, &org.admin)
        .customer(c1.id)
        .await
        .unwrap();
    assert_eq!(c1_now.owner_id, org.rep_c.id, "rep C's customer stays");

    // The admin creates a user who can then log in; bad input is named.
    let admin = Web::login(&app, &org.admin).await;
    let (status, html) = admin
        .post(
            "/admin/users",
            &[
                ("username", "rep.d"),
                ("display_name", "赵六"),
                ("password", "short"),
                ("role", "rep"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("密码"), "the password field is named: {html}");
    let team = org.rep_a.team_id.unwrap().to_string();
    let (status, html) = admin
        .post(
            "/admin/users",
            &[
                ("username", "rep.d"),
                ("display_name", "赵六"),
                ("password", "rep-d-password"),
                ("role", "rep"),
                ("team_id", &team),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已创建用户 rep.d"), "{html}");
    Web::login_with(&app, "rep.d", "rep-d-password", StatusCode::SEE_OTHER).await;
    let (status, html) = admin.post("/admin/teams", &[("name", "西南渠道部")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已创建团队 西南渠道部"), "{html}");

    // Rep A leaves: the manager hands all of A's customers to rep B.
    let (status, html) = manager
        .post(
            "/admin/transfer",
            &[
                ("from", &org.rep_a.id.to_string()),
                ("to", &org.rep_b.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已转移 2 个客户"), "{html}");
    let b = Web::login(&app, &org.rep_b).await;
    let list = b.page("/customers").await;
    assert!(
        list.contains("甲一贸易") && list.contains("甲二贸易"),
        "{list}"
    );
    for c in [a1.id, a2.id] {
        let html = b.page(&format!("/customers/{c}")).await;
        assert!(html.contains("rep.b") || html.contains(&org.rep_b.display_name));
    }

    // Deactivating a user stops their logins.
    let (status, _) = admin
        .post(
            &format!("/admin/users/{}", org.rep_a.id),
            &[("role", "rep"), ("team_id", &team)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    Web::login_with(&app, "rep.a", "rep.a-password", StatusCode::UNAUTHORIZED).await;
}

async fn duplicates_page_merges_with_picked_values_within_scope(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = as_user(&app.store, &org.rep_a);
    let first = customer(&a, "华星电子有限公司", Some("13800138000")).await;
    let second = customer(&a, "华星电子科技", Some("+86 138 0013 8000")).await;
    let _not_mine = customer(
        &as_user(&app.store, &org.rep_b),
        "华星电子（乙）",
        Some("13800138000"),
    )
    .await;

    let web = Web::login(&app, &org.rep_a).await;
    let html = web.page("/duplicates").await;
    assert!(
        html.contains("华星电子有限公司") && html.contains("华星电子科技"),
        "{html}"
    );
    assert!(html.contains("手机相同"), "{html}");
    assert!(
        !html.contains("（乙）"),
        "rep B's customer is not offered: {html}"
    );

    let compare = web
        .page(&format!(
            "/duplicates/compare?a={}&b={}",
            first.id, second.id
        ))
        .await;
    assert!(compare.contains("合并两个客户"), "{compare}");
    // Keep the first record, but the second one's name.
    let (status, _) = web
        .post(
            "/duplicates/merge",
            &[
                ("a", &first.id.to_string()),
                ("b", &second.id.to_string()),
                ("survivor", "a"),
                ("name", "b"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let merged = a.customer(first.id).await.unwrap();
    assert_eq!(merged.name, "华星电子科技");
    assert_eq!(
        web.get(&format!("/customers/{}", second.id)).await.0,
        StatusCode::NOT_FOUND
    );
    let html = web.page("/duplicates").await;
    assert!(html.contains("没有疑似重复的客户"), "{html}");

    // Comparing with a customer out of scope is "not found".
    let hidden = _not_mine.id;
    let (status, _) = web
        .get(&format!("/duplicates/compare?a={}&b={hidden}", first.id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn bulk_actions_tag_and_assign_within_scope(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = as_user(&app.store, &org.rep_a);
    let x = customer(&a, "甲方一号有限公司", None).await;
    let y = customer(&a, "甲方二号有限公司", None).await;
    let theirs = customer(&as_user(&app.store, &org.rep_b), "乙方一号有限公司", None).await;

    let rep = Web::login(&app, &org.rep_a).await;
    let list = rep.page("/customers").await;
    assert!(list.contains("name=\"ids\""), "rows can be selected");

    // A rep tags two own customers at once; the list says how many.
    let tag = [("action", "tag"), ("tag", "意向: 高")];
    let (status, _) = bulk(&rep, &[x.id, y.id], &tag).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let html = rep
        .page("/customers?tag=%E6%84%8F%E5%90%91:%E9%AB%98")
        .await;
    assert!(html.contains("已为 2 个客户添加标签"), "{html}");
    assert!(
        html.contains("甲方一号") && html.contains("甲方二号"),
        "{html}"
    );

    // Including another rep's customer applies nothing.
    let (status, _) = bulk(
        &rep,
        &[x.id, theirs.id],
        &[("action", "tag"), ("tag", "重点: 是")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let x_now = a.customer(x.id).await.unwrap();
    assert!(x_now.tags.iter().all(|t| t.dimension != "重点"));
    let b_side = as_user(&app.store, &org.rep_b);
    assert!(b_side.customer(theirs.id).await.unwrap().tags.is_empty());

    // A bad tag names the problem.
    let (status, html) = bulk(&rep, &[x.id], &[("action", "tag"), ("tag", "意向:")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

    // Reps cannot reassign; the manager can, within the team.
    let to_b = org.rep_b.id.to_string();
    let assign_b = [("action", "assign"), ("owner_id", to_b.as_str())];
    let (status, _) = bulk(&rep, &[x.id], &assign_b).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let manager = Web::login(&app, &org.manager1).await;
    let (status, _) = bulk(&manager, &[x.id], &assign_b).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(b_side.customer(x.id).await.unwrap().owner_id, org.rep_b.id);
    assert!(Web::login(&app, &org.rep_b)
        .await
        .page("/customers")
        .await
        .contains("甲方一号"));
    let to_c = org.rep_c.id.to_string();
    let (status, _) = bulk(
        &manager,
        &[y.id],
        &[("action", "assign"), ("owner_id", &to_c)],
    )
    .await;
    assert_ne!(status, StatusCode::SEE_OTHER, "rep C is outside the team");
    assert_eq!(a.customer(y.id).await.unwrap().owner_id, org.rep_a.id);
}

/// Posts the customer list's bulk form for `ids`.
async fn bulk(web: &Web, ids: &[CustomerId], fields: &[(&str, &str)]) -> (StatusCode, String) {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    form.extend_from_slice(fields);
    web.post("/customers/bulk", &form).await
}

async fn dashboard_counts_only_what_the_user_may_see(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let order = |customer: CustomerId, amount: &str| OrderInput {
        customer_id: Some(customer),
        order_date: Some(
            kehu_core::time::today_in(app.store.clock().now(), "Asia/Shanghai").to_string(),
        ),
        amount: Some(AmountInput::Text(amount.into())),
        ..Default::default()
    };
    let a = as_user(&app.store, &org.rep_a);
    let mine = customer(&a, "甲方小店", None).await;
    a.create_order(&order(mine.id, "1200")).await.unwrap();
    let b = as_user(&app.store, &org.rep_b);
    let theirs = customer(&b, "乙方机密大客户有限公司", None).await;
    b.create_order(&order(theirs.id, "987654")).await.unwrap();

    let rep = Web::login(&app, &org.rep_a).await;
    let html = rep.page("/").await;
    assert!(
        html.contains("经营概览") && html.contains("甲方小店"),
        "{html}"
    );
    assert!(
        !html.contains("乙方机密") && !html.contains("987,654") && !html.contains("98.8"),
        "rep B's customer and revenue stay out: {html}"
    );
    let admin = Web::login(&app, &org.admin).await;
    let html = admin.page("/").await;
    assert!(html.contains("乙方机密大客户有限公司"), "{html}");
}

async fn analytics_page_is_scoped_and_admins_run_it(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let today = kehu_core::time::today_in(app.store.clock().now(), "Asia/Shanghai");
    let order = |customer: CustomerId, days_ago: u64, amount: &str| OrderInput {
        customer_id: Some(customer),
        order_date: Some((today - chrono::Days::new(days_ago)).to_string()),
        amount: Some(AmountInput::Text(amount.into())),
        ..Default::default()
    };
    let a = as_user(&app.store, &org.rep_a);
    let mine = customer(&a, "甲方常客有限公司", None).await;
    for d in [200, 120, 40, 5] {
        a.create_order(&order(mine.id, d, "800")).await.unwrap();
    }
    let b = as_user(&app.store, &org.rep_b);
    let theirs = customer(&b, "乙方大客户有限公司", None).await;
    b.create_order(&order(theirs.id, 30, "99000"))
        .await
        .unwrap();

    let rep = Web::login(&app, &org.rep_a).await;
    let html = rep.page("/analytics").await;
    assert!(html.contains("尚未计算"), "before the first run: {html}");
    let (status, _) = rep.post("/analytics/run", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "reps do not run it");

    let admin = Web::login(&app, &org.admin).await;
    let r = admin
        .client
        .post(format!("{}/analytics/run", admin.base))
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "CSRF is checked");
    let (status, _) = admin.post("/analytics/run", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The run goes on in the background; the page says so until it is done.
    let mut html = admin.page("/analytics").await;
    for _ in 0..100 {
        if !html.contains("正在计算") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        html = admin.page("/analytics").await;
    }
    assert!(
        html.contains("客户金字塔") && html.contains("帕累托曲线") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains("¥102,200.00"), "both reps' revenue: {html}");
    assert!(
        html.contains("计算于 ") && !html.contains("此后已为"),
        "{html}"
    );

    // A purchase after the run: a refresh re-scores the buyer and the
    // page says so.
    a.create_order(&order(mine.id, 0, "1000")).await.unwrap();
    kehu_core::analysis::refresh_on_store(&app.store)
        .await
        .unwrap();
    let html = admin.page("/analytics").await;
    // Both customers: the buyer, and rep B's customer, created within the
    // minutes a refresh looks back before the run began.
    assert!(html.contains("此后已为 2 位客户更新结果"), "{html}");

    // Rep A sees the same sections over own customers only.
    let html = rep.page("/analytics").await;
    assert!(
        html.contains("客户金字塔") && html.contains("¥4,200.00"),
        "{html}"
    );
    assert!(html.contains("的 365 天"), "the period is named: {html}");
    assert!(
        !html.contains("帕累托曲线"),
        "company-wide curves are for admins"
    );
    assert!(!html.contains("乙方") && !html.contains("99,000"), "{html}");
}

async fn an_interaction_is_edited_in_the_users_time_zone(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = as_user(&app.store, &org.rep_a);
    let c = customer(&a, "甲方跟进有限公司", None).await;
    let it = a
        .create_interaction(&kehu_domain::inputs::InteractionInput {
            customer_id: Some(c.id),
            channel: Some("call".into()),
            content: Some("初次电话".into()),
            occurred_at: Some("2026-11-02T01:30:00Z".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let web = Web::login(&app, &org.rep_a).await;
    let path = format!("/interactions/{}/edit", it.id);
    // Shown in the user's zone (Asia/Shanghai, UTC+8).
    let html = web.page(&path).await;
    assert!(
        html.contains("2026-11-02 09:30") && html.contains("初次电话"),
        "{html}"
    );
    let (status, html) = web
        .post(
            &path,
            &[
                ("channel", "visit"),
                ("occurred_at", "明天"),
                ("content", "上门拜访"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("时间") && html.contains("上门拜访"),
        "named, input kept: {html}"
    );
    let (status, _) = web
        .post(
            &path,
            &[
                ("channel", "visit"),
                ("occurred_at", "2026-11-03 14:00"),
                ("content", "上门拜访，确认需求"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let after = a.interaction(it.id).await.unwrap();
    assert_eq!(after.channel.as_str(), "visit");
    assert_eq!(after.content, "上门拜访，确认需求");
    assert_eq!(after.occurred_at.to_rfc3339(), "2026-11-03T06:00:00+00:00");
    // Another rep's interaction is not found.
    let b = Web::login(&app, &org.rep_b).await;
    assert_eq!(b.get(&path).await.0, StatusCode::NOT_FOUND);
}
