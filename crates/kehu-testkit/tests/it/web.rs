//! The web pages over HTTP (browser-driven tests come with the UI work):
//! language negotiation, login with rate limiting, CSRF on every form, and
//! scope on every page.

use kehu_testkit::{on_both_engines, TestApp, TestDb};
use reqwest::StatusCode;

use crate::fixtures::*;

on_both_engines!(pages_follow_language_login_csrf_and_scope);

fn browser(lang: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::ACCEPT_LANGUAGE, lang.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(h)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    html[at..].split('"').next().unwrap().to_owned()
}

async fn pages_follow_language_login_csrf_and_scope(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let b_customer = customer(&as_user(&app.store, &org.rep_b), "乙方科技有限公司", None).await;
    let a_customer = customer(&as_user(&app.store, &org.rep_a), "甲方贸易有限公司", None).await;
    let base = &app.base;

    // The login page speaks the browser's language.
    let en = browser("en-US,en;q=0.9");
    let html = en
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Log in") && html.contains("lang=\"en\""),
        "{html}"
    );
    let zh = browser("zh-CN,zh;q=0.9");
    let html = zh
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("登录") && html.contains("lang=\"zh-CN\""));
    // Pages need a login.
    let r = zh.get(format!("{base}/customers")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let login = |c: &reqwest::Client, user: &str, pw: &str| {
        c.post(format!("{base}/login"))
            .form(&[("username", user), ("password", pw)])
            .send()
    };
    let r = login(&zh, "rep.a", "wrong").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    // The fixture password is not stored as a real hash; set one.
    let input = kehu_domain::inputs::UserInput {
        password: Some("rep-a-password".into()),
        ..Default::default()
    };
    kehu_core::accounts::update_user(&app.store, None, org.rep_a.id, input)
        .await
        .unwrap();
    let r = login(&zh, "rep.a", "rep-a-password").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The list shows rep A's customer and nothing of rep B's, in Chinese.
    let html = zh
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("甲方贸易有限公司") && !html.contains("乙方科技"),
        "{html}"
    );
    assert!(html.contains("客户列表"));
    let html = zh
        .get(format!("{base}/customers?q=jfmy"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("甲方贸易有限公司"), "pinyin initials find it");
    let r = zh
        .get(format!("{base}/customers/{}", b_customer.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no existence leak");

    // A form post without the token is refused; with it, it works.
    let page = zh
        .get(format!("{base}/customers/{}", a_customer.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_of(&page);
    let url = format!("{base}/customers/{}/interactions", a_customer.id);
    let form = [
        ("channel", "call"),
        ("content", "电话沟通，想了解报价"),
        ("next_follow_up", "2030-01-01"),
    ];
    let r = zh.post(&url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = zh
        .post(&url)
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut with_token = form.to_vec();
    with_token.push(("_csrf", &token));
    let r = zh.post(&url).form(&with_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = zh
        .get(format!("{base}/customers/{}", a_customer.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("电话沟通，想了解报价"));
    let html = zh
        .get(format!("{base}/follow-ups"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("甲方贸易有限公司") && html.contains("即将到期"));

    // Creating a customer: a bad field is named, in the user's language.
    let form = zh
        .get(format!("{base}/customers/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token2 = csrf_of(&form);
    let r = zh
        .post(format!("{base}/customers/new"))
        .form(&[
            ("_csrf", token2.as_str()),
            ("name", "丙方物流有限公司"),
            ("mobile", "12345"),
            ("classification", "target"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("手机: 不是有效的手机号") && html.contains("丙方物流有限公司"),
        "{html}"
    );
    let r = zh
        .post(format!("{base}/customers/new"))
        .form(&[
            ("_csrf", token2.as_str()),
            ("name", "丙方物流有限公司"),
            ("mobile", "13712345678"),
            ("classification", "target"),
            ("tags", "行业: 物流; 意向: 高"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = zh
        .get(format!("{base}/customers?q=bfwl"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("丙方物流有限公司") && html.contains("行业: 物流"),
        "{html}"
    );

    // Switching language is remembered in the user's settings.
    let r = zh
        .post(format!("{base}/lang"))
        .form(&[("_csrf", token.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = zh
        .get(format!("{base}/follow-ups"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("My follow-ups") && html.contains("Upcoming"),
        "{html}"
    );
    assert_eq!(app.store.user(org.rep_a.id).await.unwrap().locale, "en");

    // Output is escaped.
    let evil = customer(
        &as_user(&app.store, &org.rep_a),
        "<script>alert(1)</script>",
        None,
    )
    .await;
    let html = zh
        .get(format!("{base}/customers/{}", evil.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>alert(1)") && html.contains("&#60;script&#62;"),
        "{html}"
    );

    // Five failures lock the username for a while, with a clear message.
    let c = browser("en");
    for _ in 0..5 {
        login(&c, "viewer1", "nope").await.unwrap();
    }
    let r = login(&c, "viewer1", "nope").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("Too many failed attempts"));
}
