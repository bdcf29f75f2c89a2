//! `kehu-bench`: p50/p99 latency of the read paths users wait on, over a
//! database filled by `kehu demo`: first through the same scoped storage
//! API the server uses, then as whole web pages (request in, HTML body
//! out) through the server's router, in process, without the network.
//!
//! ```text
//! kehu demo --customers 1000000 --database-url URL
//! cargo run --release -p kehu-bench -- --database-url URL
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kehu_domain::{Actor, CustomerId, SystemClock, Tag};
use kehu_storage::{actor_of, CustomerFilter, CustomerSort, SortDir, Store, StoreOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Parser)]
#[command(about = "Latency of list, search and 360° reads over a demo database")]
struct Args {
    #[arg(long, env = "KEHU_DATABASE_URL")]
    database_url: String,
    /// Timed runs of each query (after 20 warm-up runs).
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// Also print the inputs of the slowest runs of each query.
    #[arg(long)]
    slowest: bool,
    /// Measure only the storage reads, not the web pages.
    #[arg(long)]
    no_pages: bool,
    /// Skip the warm-up pass that runs every sampled query once, as a
    /// server that has been up for a while has done (measures cold reads).
    #[arg(long)]
    cold: bool,
}

struct Stats {
    name: String,
    samples: Vec<Duration>,
    /// Input of each sample (the search text or customer id).
    inputs: Vec<String>,
    /// Mean rows returned, to show the queries do real work.
    rows: f64,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let mut s = self.samples.clone();
        s.sort();
        let i = ((s.len() as f64 - 1.0) * p).round() as usize;
        s[i].as_secs_f64() * 1000.0
    }
}

/// A logged-in browser: the session cookie of one user.
struct Session {
    cookie: String,
}

impl Session {
    async fn start(store: &Store, actor: Actor) -> anyhow::Result<Self> {
        let (sid, _csrf) = kehu_core::accounts::start_session(store, actor.user_id).await?;
        Ok(Self {
            cookie: format!("{}={sid}", kehu_http::auth::SESSION_COOKIE),
        })
    }

    /// GETs a page and reads its whole body; returns the body's size in
    /// KiB as the "rows" figure. Anything but 200 is an error.
    async fn get(&self, app: &axum::Router, path: &str) -> anyhow::Result<usize> {
        use tower::ServiceExt;
        let request = axum::http::Request::get(path)
            .header("cookie", &self.cookie)
            .header("accept-language", "zh-CN")
            .body(axum::body::Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        anyhow::ensure!(status == 200, "{path}: {status}");
        Ok(body.len() / 1024)
    }
}

/// Percent-encodes a query parameter value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn initials(name: &str) -> String {
    use pinyin::ToPinyin;
    kehu_domain::text::company_key(name)
        .chars()
        .filter_map(|c| c.to_pinyin().and_then(|p| p.plain().chars().next()))
        .take(3)
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = Store::open(
        &args.database_url,
        Arc::new(SystemClock),
        StoreOptions::default(),
    )
    .await?;
    let users = store.users().await?;
    let pick = |role: kehu_domain::Role| {
        users
            .iter()
            .find(|u| u.role == role && (u.team_id.is_some() || role == kehu_domain::Role::Admin))
            .map(actor_of)
    };
    let admin = pick(kehu_domain::Role::Admin)
        .ok_or_else(|| anyhow::anyhow!("no admin: run kehu demo first"))?;
    let manager = pick(kehu_domain::Role::Manager).unwrap_or(admin);
    let rep = pick(kehu_domain::Role::Rep).unwrap_or(admin);
    let total = store.count_customers().await?;
    anyhow::ensure!(
        total > 0,
        "the database has no customers: run kehu demo first"
    );
    println!(
        "database: {} ({} customers)",
        kehu_storage::redact(&args.database_url),
        total
    );

    // Sample customers (ids are dense after a demo load) for queries.
    let mut rng = StdRng::seed_from_u64(7);
    let s_admin = store.scoped(admin);
    let mut sample = Vec::new();
    while sample.len() < 200 {
        let id = CustomerId(rng.gen_range(1..=total));
        if let Ok(c) = s_admin.customer(id).await {
            sample.push(c);
        }
    }
    let names: Vec<String> = sample
        .iter()
        .map(|c| {
            let key: Vec<char> = kehu_domain::text::company_key(&c.name).chars().collect();
            let start = if key.len() > 4 { 2 } else { 0 };
            key[start..(start + 3).min(key.len())].iter().collect()
        })
        .collect();
    let inits: Vec<String> = sample.iter().map(|c| initials(&c.name)).collect();
    let ids: Vec<CustomerId> = sample.iter().map(|c| c.id).collect();

    let mut results = Vec::new();
    let list = |actor: Actor, filter: CustomerFilter| {
        let store = &store;
        async move {
            store
                .scoped(actor)
                .customers(&filter, CustomerSort::CreatedAt, SortDir::Desc, None, 50)
                .await
                .map(|p| p.items.len())
        }
    };
    let target = || CustomerFilter {
        classification: Some(kehu_domain::Classification::Target),
        ..Default::default()
    };
    let tagged = || CustomerFilter {
        tag: Some(Tag {
            dimension: "意向".into(),
            value: "高".into(),
        }),
        ..Default::default()
    };
    if !args.cold {
        // Every sampled query once, so the measured runs see the database
        // as a running server does: its working set read in.
        for who in [admin, rep] {
            for q in names.iter().chain(&inits) {
                let f = CustomerFilter {
                    q: Some(q.clone()),
                    ..Default::default()
                };
                list(who, f).await?;
            }
        }
        for id in &ids {
            s_admin.customer(*id).await?;
            s_admin.contacts_of(*id).await?;
            s_admin.interactions_of(*id, None, None, 20).await?;
        }
    }
    macro_rules! measure {
        ($name:expr, $i:ident, $input:expr, $body:expr) => {{
            let mut samples = Vec::with_capacity(args.iterations);
            let mut inputs = Vec::with_capacity(args.iterations);
            let mut rows = 0usize;
            for $i in 0..(args.iterations + 20) {
                let t = Instant::now();
                let n: usize = $body;
                if $i >= 20 {
                    samples.push(t.elapsed());
                    inputs.push($input);
                    rows += n;
                }
            }
            results.push(Stats {
                name: $name.into(),
                samples,
                inputs,
                rows: rows as f64 / args.iterations as f64,
            });
        }};
    }
    measure!(
        "list, first page, classification filter (rep)",
        i,
        String::new(),
        list(rep, target()).await?
    );
    measure!(
        "list, first page, classification filter (manager)",
        i,
        String::new(),
        list(manager, target()).await?
    );
    measure!(
        "list, first page, tag filter (admin)",
        i,
        String::new(),
        list(admin, tagged()).await?
    );
    measure!(
        "list, first page, classification filter (admin)",
        i,
        String::new(),
        list(admin, target()).await?
    );
    measure!(
        "name search, 3 characters (admin)",
        i,
        names[i % names.len()].clone(),
        {
            let f = CustomerFilter {
                q: Some(names[i % names.len()].clone()),
                ..Default::default()
            };
            list(admin, f).await?
        }
    );
    measure!(
        "name search, 3 characters (rep)",
        i,
        names[i % names.len()].clone(),
        {
            let f = CustomerFilter {
                q: Some(names[i % names.len()].clone()),
                ..Default::default()
            };
            list(rep, f).await?
        }
    );
    measure!(
        "pinyin initials search (admin)",
        i,
        inits[i % inits.len()].clone(),
        {
            let f = CustomerFilter {
                q: Some(inits[i % inits.len()].clone()),
                ..Default::default()
            };
            list(admin, f).await?
        }
    );
    measure!(
        "customer + contacts + last 20 interactions (admin)",
        i,
        ids[i % ids.len()].to_string(),
        {
            let id = ids[i % ids.len()];
            let c = s_admin.customer(id).await?;
            let k = s_admin.contacts_of(id).await?;
            let t = s_admin.interactions_of(id, None, None, 20).await?;
            usize::from(c.id.0 > 0) + k.len() + t.items.len()
        }
    );

    if !args.no_pages {
        let app = kehu_http::app(
            kehu_http::AppState::new(store.clone(), false),
            kehu_web::router(),
        );
        let admin_page = Session::start(&store, admin).await?;
        let rep_page = Session::start(&store, rep).await?;
        let search = |q: &str| format!("/customers?q={}", encode(q));
        if !args.cold {
            for q in names.iter().chain(&inits) {
                admin_page.get(&app, &search(q)).await?;
                rep_page.get(&app, &search(q)).await?;
            }
            for id in &ids {
                admin_page.get(&app, &format!("/customers/{id}")).await?;
            }
        }
        measure!(
            "page: customer list, classification filter (rep)",
            i,
            String::new(),
            rep_page
                .get(&app, "/customers?classification=target")
                .await?
        );
        measure!(
            "page: customer list, classification filter (admin)",
            i,
            String::new(),
            admin_page
                .get(&app, "/customers?classification=target")
                .await?
        );
        measure!(
            "page: name search, 3 characters (admin)",
            i,
            names[i % names.len()].clone(),
            admin_page
                .get(&app, &search(&names[i % names.len()]))
                .await?
        );
        measure!(
            "page: name search, 3 characters (rep)",
            i,
            names[i % names.len()].clone(),
            rep_page.get(&app, &search(&names[i % names.len()])).await?
        );
        measure!(
            "page: pinyin initials search (admin)",
            i,
            inits[i % inits.len()].clone(),
            admin_page
                .get(&app, &search(&inits[i % inits.len()]))
                .await?
        );
        measure!(
            "page: customer 360° (admin)",
            i,
            ids[i % ids.len()].to_string(),
            admin_page
                .get(&app, &format!("/customers/{}", ids[i % ids.len()]))
                .await?
        );
        measure!(
            "page: dashboard (rep)",
            i,
            String::new(),
            rep_page.get(&app, "/").await?
        );
    }

    let (pages, reads): (Vec<&Stats>, Vec<&Stats>) =
        results.iter().partition(|r| r.name.starts_with("page: "));
    println!("\n| query | rows | p50 ms | p99 ms |\n|---|---:|---:|---:|");
    for r in reads {
        println!(
            "| {} | {:.1} | {:.2} | {:.2} |",
            r.name,
            r.rows,
            r.pct(0.5),
            r.pct(0.99)
        );
    }
    if !pages.is_empty() {
        println!("\n| page | HTML KiB | p50 ms | p99 ms |\n|---|---:|---:|---:|");
        for r in pages {
            println!(
                "| {} | {:.0} | {:.2} | {:.2} |",
                &r.name["page: ".len()..],
                r.rows,
                r.pct(0.5),
                r.pct(0.99)
            );
        }
    }
    if args.slowest {
        for r in &results {
            let mut runs: Vec<(Duration, &String)> =
                r.samples.iter().copied().zip(&r.inputs).collect();
            runs.sort_by_key(|r| std::cmp::Reverse(r.0));
            let worst: Vec<String> = runs
                .iter()
                .take(5)
                .map(|(d, input)| format!("{:.1} ms {input:?}", d.as_secs_f64() * 1000.0))
                .collect();
            println!("slowest {}: {}", r.name, worst.join(", "));
        }
    }
    Ok(())
}
