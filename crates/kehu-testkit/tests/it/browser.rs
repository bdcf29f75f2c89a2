//! The web UI in a real headless Chromium, as a sales rep uses it: log in,
//! create a customer and a contact, log an interaction with a next
//! follow-up and find it under "my follow-ups", find the customer by pinyin
//! initials, switch language, import a file with a bad row, and never see
//! another rep's customer. Works on a phone-sized window too. Screenshots
//! of each step go to `target/screenshots/browser-<engine>/`.

use kehu_testkit::browser::Browser;
use kehu_testkit::{TestApp, TestDb};
use serde_json::json;

use crate::fixtures::*;

kehu_testkit::on_both_engines!(a_rep_works_through_the_day_in_the_browser);

async fn set_password(app: &TestApp, user: &kehu_domain::User, password: &str) {
    let input = kehu_domain::inputs::UserInput {
        password: Some(password.into()),
        ..Default::default()
    };
    kehu_core::accounts::update_user(&app.store, None, user.id, input)
        .await
        .unwrap();
}

async fn a_rep_works_through_the_day_in_the_browser(db: &TestDb) {
    let engine = db.engine.name();
    let Some(mut b) = Browser::launch(&format!("browser-{engine}"), "zh-CN").await else {
        return;
    };
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    set_password(&app, &org.rep_a, "rep-a-password").await;
    let b_side = as_user(&app.store, &org.rep_b);
    let other = customer(&b_side, "乙方机密科技有限公司", None).await;
    // A big order, so that a leak would put it among the top customers.
    b_side
        .create_order(&kehu_domain::inputs::OrderInput {
            customer_id: Some(other.id),
            order_date: Some(today()),
            amount: Some(kehu_domain::inputs::AmountInput::Text("880000".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    let base = &app.base;

    // Log in (the browser asks for Chinese).
    b.goto(&format!("{base}/login")).await;
    b.wait_text("登录").await;
    b.screenshot("login").await;
    b.fill("input[name=username]", "rep.a").await;
    b.fill("input[name=password]", "rep-a-password").await;
    b.click("button[type=submit]").await;
    let home = b.wait_text("经营概览").await;
    assert!(
        !home.contains("乙方机密") && !home.contains("88万") && !home.contains("880,000"),
        "{home}"
    );
    b.screenshot("dashboard").await;

    // Create a customer.
    b.goto(&format!("{base}/customers/new")).await;
    b.fill("input[name=name]", "张三丰家具有限公司").await;
    b.fill("input[name=mobile]", "13912345678").await;
    b.select("select[name=classification]", "target").await;
    b.fill("input[name=tags]", "行业: 家具").await;
    b.screenshot("new-customer").await;
    b.click("form.card button[type=submit]").await;
    let path = b
        .wait_path(|p| p.starts_with("/customers/") && !p.ends_with("/new"))
        .await;
    b.wait_text("张三丰家具有限公司").await;

    // Add a contact who decides.
    b.click("a[href$='/contacts/new']").await;
    b.fill("input[name=name]", "李四").await;
    b.fill("input[name=title]", "采购总监").await;
    b.click("input[name=is_key_decision_maker]").await;
    b.select("select[name=closeness]", "close").await;
    b.select("select[name=budget_authority]", "final").await;
    b.click("form.card button[type=submit]").await;
    b.wait_path(|p| p == path).await;
    let page = b.wait_text("李四").await;
    assert!(
        page.contains("关键决策人") && page.contains("亲密"),
        "{page}"
    );
    b.screenshot("customer-with-contact").await;

    // Log a call with the next follow-up tomorrow.
    b.select("select[name=channel]", "call").await;
    b.fill("textarea[name=content]", "电话沟通报价，客户希望下周看样品")
        .await;
    b.script(
        "document.querySelector('input[name=next_follow_up]').value = arguments[0];",
        vec![json!(tomorrow())],
    )
    .await;
    b.click("#log button[type=submit]").await;
    let page = b.wait_text("客户希望下周看样品").await;
    assert!(page.contains(&tomorrow()), "{page}");
    b.screenshot("interaction-logged").await;

    // It is waiting under "my follow-ups".
    b.click("header nav a[href='/follow-ups']").await;
    let page = b.wait_text("我的跟进").await;
    assert!(page.contains(&tomorrow()), "{page}");
    assert!(page.contains("张三丰家具有限公司"), "{page}");
    b.screenshot("follow-ups").await;

    // Found by pinyin initials; the other rep's customer is found by nobody
    // but its owner.
    // Results follow the search box as the user types (no submit).
    b.goto(&format!("{base}/customers")).await;
    b.fill("input[name=q]", "乙方").await;
    let page = b.wait_text("没有符合条件的客户").await;
    assert!(!page.contains("乙方机密"), "{page}");
    b.fill("input[name=q]", "zsfjj").await;
    let page = b.wait_text("张三丰家具有限公司").await;
    assert!(!page.contains("乙方机密"), "{page}");
    assert!(
        b.url().await.contains("q=zsfjj"),
        "the address follows the search"
    );
    b.screenshot("search-initials").await;
    b.goto(&format!("{base}/customers?q=%E4%B9%99%E6%96%B9"))
        .await;
    let page = b.wait_text("没有符合条件的客户").await;
    assert!(!page.contains("乙方机密"), "{page}");
    b.goto(&format!("{base}/customers")).await;
    let page = b.wait_text("张三丰家具有限公司").await;
    assert!(!page.contains("乙方机密"), "{page}");
    b.goto(&format!("{base}/customers/{}", other.id)).await;
    let page = b.text().await;
    assert!(!page.contains("乙方机密"), "{page}");

    // The same page in English, remembered.
    b.goto(&format!("{base}{path}")).await;
    b.click("header form[action='/lang'] button").await;
    let page = b.wait_text("Key decision maker").await;
    assert!(
        page.contains("张三丰家具有限公司") && page.contains("Timeline"),
        "{page}"
    );
    assert_eq!(b.wait_path(|p| p == path).await, path);
    b.screenshot("customer-in-english").await;
    b.goto(&format!("{base}/follow-ups")).await;
    b.wait_text("My follow-ups").await;

    // Import a file with one bad row: the report names it, nothing is saved
    // until the user chooses to import the valid rows.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customers.csv");
    std::fs::write(
        &file,
        "客户名称,手机\n王五建材有限公司,13812345678\n赵六物流有限公司,12345\n钱七餐饮有限公司,13687654321\n",
    )
    .unwrap();
    b.goto(&format!("{base}/import")).await;
    b.select("select[name=kind]", "customers").await;
    b.attach("input[name=file]", &file).await;
    b.click("form.card button[type=submit]").await;
    let page = b.wait_text("Rows with errors").await;
    assert!(
        page.contains("3\tmobile") || page.contains("3\t手机"),
        "line 3, column 手机: {page}"
    );
    assert!(
        page.contains("Mobile: is not a valid mobile number"),
        "{page}"
    );
    b.screenshot("import-report").await;
    let before = as_user(&app.store, &org.rep_a)
        .customers(
            &Default::default(),
            kehu_storage::CustomerSort::CreatedAt,
            kehu_storage::SortDir::Desc,
            None,
            50,
        )
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(before, 1, "nothing imported before applying");
    b.click("#report form button[type=submit]").await;
    let page = b.wait_text("2 rows imported").await;
    assert!(page.contains("Done"), "{page}");
    b.screenshot("import-done").await;
    b.goto(&format!("{base}/customers?q=wangwu")).await;
    b.wait_text("王五建材有限公司").await;

    // After the daily analysis, the customer page says what the customer is
    // worth and why: a customer without orders is still being acquired.
    let today = kehu_core::time::today_in(app.store.clock().now(), "Asia/Shanghai");
    kehu_core::analysis::run_on_store(&app.store, &kehu_core::analysis::AnalysisConfig::new(today))
        .await
        .unwrap();
    b.goto(&format!("{base}{path}#value")).await;
    let page = b.wait_text("Customer value").await;
    assert!(
        page.contains("Acquisition") && page.contains("no purchase yet"),
        "{page}"
    );
    assert!(page.contains("A: potential (no order yet)"), "{page}");
    b.screenshot("customer-value").await;
    // The analytics section counts only rep A's own three customers.
    b.goto(&format!("{base}/analytics")).await;
    let page = b.wait_text("Customer pyramid").await;
    assert!(
        page.contains("Customers\n3") || page.contains("Customers 3"),
        "{page}"
    );
    assert!(
        !page.contains("Recompute now"),
        "reps do not run it: {page}"
    );
    assert!(
        !page.contains("Pareto"),
        "company-wide curves are for admins"
    );
    b.screenshot("analytics").await;

    // On a phone: the customer page, the quick log form and follow-ups fit
    // the screen.
    b.set_window(390, 844).await;
    for (url, step) in [
        (format!("{base}{path}"), "phone-customer"),
        (format!("{base}/follow-ups"), "phone-follow-ups"),
    ] {
        b.goto(&url).await;
        b.find("main").await;
        let fits = b
            .script(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await;
        assert_eq!(fits, json!(true), "{url} is wider than the phone");
        b.screenshot(step).await;
    }

    // The admin recomputes the analysis and sees the company-wide curves
    // and the migration between years.
    set_password(&app, &org.admin, "admin-password").await;
    b.set_window(1280, 1000).await;
    b.click("header form[action='/logout'] button").await;
    // The browser remembers the last language chosen on it.
    b.wait_text("Log in").await;
    b.fill("input[name=username]", "admin").await;
    b.fill("input[name=password]", "admin-password").await;
    b.click("button[type=submit]").await;
    b.wait_text("经营概览").await;
    b.goto(&format!("{base}/analytics")).await;
    b.wait_text("客户金字塔").await;
    b.click("form[action='/analytics/run'] button").await;
    let page = b.wait_text("帕累托曲线").await;
    assert!(
        page.contains("鲸鱼曲线") && page.contains("分组迁移") && page.contains("客户数\n4"),
        "{page}"
    );
    b.screenshot("analytics-admin").await;
    b.close().await;
}

fn today() -> String {
    use kehu_domain::Clock;
    kehu_core::time::today_in(kehu_domain::SystemClock.now(), "Asia/Shanghai").to_string()
}

fn tomorrow() -> String {
    use kehu_domain::Clock;
    let today = kehu_core::time::today_in(kehu_domain::SystemClock.now(), "Asia/Shanghai");
    (today + chrono::Duration::days(1)).to_string()
}
