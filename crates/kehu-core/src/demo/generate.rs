//! A seeded, streaming generator of realistic customers.
//!
//! Customer `i` is generated from `(seed, i)` alone, so any range can be
//! produced on its own and in any order with the same result. Orders follow
//! a repeat-purchase process in the spirit of BG/NBD: each buying customer
//! has its own purchase rate (log-normal across customers) and, after each
//! purchase, a chance of leaving for good (so some customers churn). Spend
//! follows the Gamma-Gamma model's own assumption: each order's value is
//! Gamma(p = 6, ν) with ν Gamma(q = 3.5)-distributed across customers, so
//! customer-level mean spend has a power-law tail (inverse gamma) yet a
//! finite mean, as in real retail data (Fader, Hardie & Lee fitted
//! q = 3.74 on CDNOW). Together with the spread of purchase rates, that
//! makes revenue heavy-tailed: the top 10% of customers hold most of it.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use kehu_domain::inputs::{ContactDraft, CustomerDraft, OrderDraft};
use kehu_domain::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::names::*;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub seed: u64,
    pub customers: u64,
    pub teams: usize,
    pub reps_per_team: usize,
    /// The last day of history; orders and interactions end here.
    pub today: NaiveDate,
    pub history_days: u32,
    /// Mean purchase rate of buying customers, orders per year.
    pub orders_per_year: f64,
}

impl DemoConfig {
    pub fn new(customers: u64, today: NaiveDate) -> Self {
        Self {
            seed: 2026,
            customers,
            teams: 4,
            reps_per_team: 5,
            today,
            history_days: 730,
            orders_per_year: 30.0,
        }
    }

    fn start(&self) -> NaiveDate {
        self.today - Days::new(u64::from(self.history_days))
    }
}

/// A team of the demo organisation with its manager and reps.
#[derive(Debug, Clone)]
pub struct DemoTeam {
    pub name: String,
    pub manager: DemoUser,
    pub reps: Vec<DemoUser>,
}

#[derive(Debug, Clone)]
pub struct DemoUser {
    pub username: String,
    pub display_name: String,
}

/// Teams with Chinese names, a manager and reps each.
pub fn roster(cfg: &DemoConfig) -> Vec<DemoTeam> {
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x5eed_7ea3);
    let mut used = std::collections::HashSet::new();
    let mut person = |rng: &mut StdRng| loop {
        let s = pick(rng, SURNAMES);
        let g: String = (0..rng.gen_range(1..=2))
            .map(|_| pick(rng, GIVEN))
            .collect();
        let display = format!("{}{}", s.0, g);
        if used.insert(display.clone()) {
            let username = format!("{}.{}", s.1, used.len());
            return DemoUser {
                username,
                display_name: display,
            };
        }
    };
    (0..cfg.teams)
        .map(|t| DemoTeam {
            name: TEAM_NAMES[t % TEAM_NAMES.len()].to_owned()
                + &if t >= TEAM_NAMES.len() {
                    format!("{}", t / TEAM_NAMES.len() + 1)
                } else {
                    String::new()
                },
            manager: person(&mut rng),
            reps: (0..cfg.reps_per_team).map(|_| person(&mut rng)).collect(),
        })
        .collect()
}

/// One generated customer with everything attached to it.
#[derive(Debug, Clone)]
pub struct DemoCustomer {
    pub index: u64,
    /// Index into the flat list of reps (team by team).
    pub owner: usize,
    pub created_at: DateTime<Utc>,
    pub customer: CustomerDraft,
    /// Contacts; `superior` is an index into this list.
    pub contacts: Vec<(ContactDraft, Option<usize>)>,
    pub interactions: Vec<DemoInteraction>,
    pub orders: Vec<OrderDraft>,
}

#[derive(Debug, Clone)]
pub struct DemoInteraction {
    pub contact: Option<usize>,
    pub channel: Channel,
    pub content: String,
    pub occurred_at: DateTime<Utc>,
    pub next_follow_up: Option<NaiveDate>,
    pub follow_up_done: bool,
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma(shape, scale 1) by Marsaglia and Tsang's method (2000), with the
/// shape < 1 boost.
fn gamma(rng: &mut StdRng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    -mean * u.ln()
}

/// Spreads the index bits so neighbouring customers get unrelated streams.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A mainland mobile unique to `(kind, i)`: 11 digits starting 13–19.
fn mobile(prefix: u64, i: u64) -> Mobile {
    // 1 + [3-9] + 9 digits; the index fills the 9 digits, the prefix the
    // second digit and spreads over the first of the nine.
    let second = 3 + prefix % 7;
    Mobile::from_stored(format!(
        "+861{second}{:09}",
        (i * 7 + prefix / 7) % 1_000_000_000
    ))
}

fn instant(day: NaiveDate, rng: &mut StdRng) -> DateTime<Utc> {
    // Office hours in Shanghai (UTC+8): 01:00–10:00 UTC.
    let secs = rng.gen_range(3_600..36_000);
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)) + chrono::Duration::seconds(secs)
}

/// The customers `range` of the demo data set.
pub fn customers(
    cfg: &DemoConfig,
    reps: usize,
    range: std::ops::Range<u64>,
) -> impl Iterator<Item = DemoCustomer> + '_ {
    range.map(move |i| customer(cfg, reps.max(1), i))
}

fn customer(cfg: &DemoConfig, reps: usize, i: u64) -> DemoCustomer {
    let mut rng = StdRng::seed_from_u64(mix(cfg.seed, i));
    let start = cfg.start();
    let span = i64::from(cfg.history_days);
    // More customers arrived recently than two years ago.
    let age = ((rng.gen::<f64>().powf(1.1)) * span as f64) as i64;
    let created_day = cfg.today - Days::new(age as u64);
    let created_at = instant(created_day, &mut rng);
    let (province, city) = pick(&mut rng, PLACES);
    let industry = pick(&mut rng, INDUSTRIES);
    let is_person = rng.gen_bool(0.12);
    let name = if is_person {
        let s = pick(&mut rng, SURNAMES).0;
        let g: String = (0..rng.gen_range(1..=2))
            .map(|_| pick(&mut rng, GIVEN))
            .collect();
        format!("{s}{g}")
    } else {
        let brand: String = format!("{}{}", pick(&mut rng, BRAND), pick(&mut rng, BRAND2));
        let trade = industry.1;
        // A few near-duplicates: the same company written another way.
        let suffix = pick(&mut rng, LEGAL);
        let spaced = rng.gen_bool(0.01);
        if spaced {
            format!("{city} {brand} {trade}{suffix}")
        } else {
            format!("{city}{brand}{trade}{suffix}")
        }
    };
    let classification = match rng.gen_range(0..100) {
        0..=59 => Classification::Target,
        60..=84 => Classification::Potential,
        85..=92 => Classification::Partner,
        _ => Classification::NonCustomer,
    };
    let buys = matches!(
        classification,
        Classification::Target | Classification::Partner
    ) && rng.gen_bool(0.9);
    let size = pick(&mut rng, SIZES);
    let intent = pick(&mut rng, &["高", "中", "低"]);
    let mut tags = vec![
        Tag {
            dimension: "行业".into(),
            value: industry.0.into(),
        },
        Tag {
            dimension: "意向".into(),
            value: intent.into(),
        },
    ];
    if !is_person {
        tags.push(Tag {
            dimension: "规模".into(),
            value: size.into(),
        });
    }
    let mut attributes = serde_json::Map::new();
    if !is_person {
        attributes.insert("年营收".into(), pick(&mut rng, REVENUE).into());
    }
    tags.sort_by(|a, b| (&a.dimension, &a.value).cmp(&(&b.dimension, &b.value)));
    let draft = CustomerDraft {
        kind: if is_person {
            CustomerKind::Person
        } else {
            CustomerKind::Company
        },
        name,
        classification,
        status: if rng.gen_bool(0.04) {
            CustomerStatus::Inactive
        } else {
            CustomerStatus::Active
        },
        source: Some(pick(&mut rng, SOURCES).into()),
        province: Some(province.into()),
        city: Some(city.into()),
        industry: Some(industry.0.into()),
        size: (!is_person).then(|| size.into()),
        mobile: Some(mobile(1, i)),
        email: rng
            .gen_bool(0.4)
            .then(|| Email::from_stored(format!("info{i}@example.cn"))),
        external_id: rng
            .gen_bool(0.3)
            .then(|| format!("ERP-{}-{:07}", cfg.seed, i + 1)),
        notes: None,
        owner_id: None,
        tags,
        attributes,
    };

    // Contacts with key-decision-maker data: the first is the top person.
    let n_contacts = if is_person { 0 } else { rng.gen_range(1..=3) };
    let mut contacts = Vec::with_capacity(n_contacts);
    for k in 0..n_contacts {
        let role = if k == 0 {
            ROLES[0]
        } else {
            pick(&mut rng, &ROLES[1..])
        };
        let s = pick(&mut rng, SURNAMES).0;
        let g: String = (0..rng.gen_range(1..=2))
            .map(|_| pick(&mut rng, GIVEN))
            .collect();
        let d = ContactDraft {
            customer_id: CustomerId(0),
            name: format!("{s}{g}"),
            department: Some(role.0.into()),
            title: Some(role.1.into()),
            level: Some(role.2),
            superior_id: None,
            business_area: Some(role.3.into()),
            authority_scope: Some(role.4.into()),
            budget_authority: Some(role.5),
            is_key_decision_maker: matches!(
                role.5,
                BudgetAuthority::Final | BudgetAuthority::Approve
            ),
            mobile: Some(mobile(2 + k as u64, i)),
            wechat: rng.gen_bool(0.7).then(|| format!("wx_{i}_{k}")),
            email: rng
                .gen_bool(0.3)
                .then(|| Email::from_stored(format!("c{i}.{k}@example.cn"))),
            other_channels: None,
            closeness: pick(
                &mut rng,
                &[
                    Closeness::Close,
                    Closeness::Regular,
                    Closeness::Regular,
                    Closeness::Initial,
                    Closeness::Unknown,
                ],
            ),
            notes: None,
        };
        contacts.push((d, (k > 0).then_some(0)));
    }

    // Orders: a repeat-purchase process from the first purchase to churn
    // or today.
    let mut orders = Vec::new();
    if buys {
        let rate = cfg.orders_per_year * (0.9 * normal(&mut rng) - 0.405).exp(); // mean ≈ rate
        let dropout = rng.gen_range(0.0..0.06);
        // ν ~ Gamma(q, rate γ): median mean spend p·γ/(q − 1/3) ≈ 665 yuan.
        let (p, q, gamma_rate) = (6.0, 3.5, 350.0);
        let nu = gamma(&mut rng, q) / gamma_rate;
        let mut day = created_day + Days::new(exponential(&mut rng, 20.0) as u64);
        let mut n = 0u32;
        while day <= cfg.today && n < 400 {
            n += 1;
            let amount_yuan = gamma(&mut rng, p) / nu;
            let mut amount = (amount_yuan * 100.0).round().max(100.0) as i64;
            let refund = rng.gen_bool(0.004);
            if refund {
                amount = -(amount / 4).max(100);
            }
            let cost = if rng.gen_bool(0.7) {
                let ratio = if rng.gen_bool(0.03) {
                    rng.gen_range(1.0..1.3)
                } else {
                    rng.gen_range(0.55..0.85)
                };
                Some((amount as f64 * ratio).round() as i64)
            } else {
                None
            };
            let recent = (cfg.today - day).num_days() < 20;
            let status = if recent && rng.gen_bool(0.3) {
                OrderStatus::Pending
            } else if rng.gen_bool(0.03) {
                OrderStatus::Cancelled
            } else {
                OrderStatus::Completed
            };
            orders.push(OrderDraft {
                customer_id: CustomerId(0),
                external_id: Some(format!("SO-{}-{}-{n}", cfg.seed, i + 1)),
                order_date: day,
                amount,
                currency: Currency::default(),
                cost,
                status,
                note: None,
            });
            if rng.gen_bool(dropout) {
                break;
            }
            let gap = exponential(&mut rng, 365.0 / rate.max(0.2)).max(1.0);
            day = day + Days::new(gap.min(10_000.0) as u64);
        }
    }

    // Interactions: a handful, more for bigger accounts, the latest possibly
    // with a follow-up around today.
    let n_inter = rng.gen_range(0..=3) + (orders.len() / 6).min(5);
    let mut interactions = Vec::with_capacity(n_inter);
    let lived = (cfg.today - created_day).num_days().max(1);
    for k in 0..n_inter {
        let back = rng.gen_range(0..lived);
        let day = cfg.today - Days::new(back as u64);
        let last = k + 1 == n_inter;
        let next = (last && rng.gen_bool(0.5))
            .then(|| cfg.today + Days::new(rng.gen_range(0..20)) - Days::new(rng.gen_range(0..10)));
        interactions.push(DemoInteraction {
            contact: (!contacts.is_empty()).then(|| rng.gen_range(0..contacts.len())),
            channel: pick(
                &mut rng,
                &[
                    Channel::Call,
                    Channel::Call,
                    Channel::Wechat,
                    Channel::Visit,
                    Channel::Email,
                    Channel::Meeting,
                ],
            ),
            content: pick(&mut rng, NOTES).into(),
            occurred_at: instant(day.max(start), &mut rng),
            next_follow_up: next,
            follow_up_done: next.is_some_and(|d| d < cfg.today && rng.gen_bool(0.5)),
        });
    }
    interactions.sort_by_key(|x| x.occurred_at);

    DemoCustomer {
        index: i,
        owner: (mix(cfg.seed ^ 1, i) % reps as u64) as usize,
        created_at,
        customer: draft,
        contacts,
        interactions,
        orders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kehu_domain::inputs::{ContactInput, CustomerInput};

    fn cfg(n: u64) -> DemoConfig {
        DemoConfig::new(n, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
    }

    #[test]
    fn the_same_seed_gives_the_same_customers_in_any_order() {
        let c = cfg(100);
        let all: Vec<_> = customers(&c, 20, 0..100).collect();
        let tail: Vec<_> = customers(&c, 20, 60..100).collect();
        assert_eq!(all[60].customer, tail[0].customer);
        assert_eq!(all[99].orders, tail[39].orders);
        let other = DemoConfig {
            seed: 7,
            ..c.clone()
        };
        assert_ne!(
            customers(&other, 20, 0..1).next().unwrap().customer.name,
            all[0].customer.name
        );
    }

    #[test]
    fn generated_records_pass_the_same_validation_as_user_input() {
        let c = cfg(3000);
        for d in customers(&c, 20, 0..3000) {
            let k = &d.customer;
            let input = CustomerInput {
                kind: Some(k.kind.as_str().into()),
                name: Some(k.name.clone()),
                classification: Some(k.classification.as_str().into()),
                status: Some(k.status.as_str().into()),
                source: k.source.clone(),
                province: k.province.clone(),
                city: k.city.clone(),
                industry: k.industry.clone(),
                size: k.size.clone(),
                mobile: k.mobile.as_ref().map(|m| m.as_str().into()),
                email: k.email.as_ref().map(|m| m.as_str().into()),
                external_id: k.external_id.clone(),
                tags: Some(k.tags.iter().map(ToString::to_string).collect()),
                attributes: Some(k.attributes.clone()),
                ..Default::default()
            };
            let draft = input.validate().unwrap();
            assert_eq!(&draft, k);
            for (contact, _) in &d.contacts {
                let ci = ContactInput {
                    customer_id: Some(CustomerId(1)),
                    name: Some(contact.name.clone()),
                    mobile: contact.mobile.as_ref().map(|m| m.as_str().into()),
                    email: contact.email.as_ref().map(|m| m.as_str().into()),
                    ..Default::default()
                };
                let v = ci.validate().unwrap();
                assert_eq!(v.mobile, contact.mobile);
            }
            for o in &d.orders {
                assert!(o.order_date >= d.created_at.date_naive() && o.order_date <= c.today);
            }
        }
    }

    #[test]
    fn mobiles_and_order_numbers_are_unique() {
        let c = cfg(50_000);
        let mut mobiles = std::collections::HashSet::new();
        let mut orders = std::collections::HashSet::new();
        for d in customers(&c, 20, 0..50_000) {
            assert!(mobiles.insert(d.customer.mobile.clone().unwrap()));
            for (contact, _) in &d.contacts {
                assert!(mobiles.insert(contact.mobile.clone().unwrap()));
            }
            for o in &d.orders {
                assert!(orders.insert(o.external_id.clone().unwrap()));
            }
        }
    }

    #[test]
    fn revenue_is_heavy_tailed_and_some_customers_churn() {
        let c = cfg(20_000);
        let mut totals: Vec<i64> = Vec::new();
        let mut orders = 0usize;
        let mut buyers = 0usize;
        let mut lapsed = 0usize;
        for d in customers(&c, 20, 0..20_000) {
            let a = Aggregates::from_orders(
                d.orders
                    .iter()
                    .map(|o| (o.order_date, o.amount, o.cost, o.status)),
            );
            orders += d.orders.len();
            if a.order_count > 0 {
                buyers += 1;
                if (c.today - a.last_order_date.unwrap()).num_days() > 180 {
                    lapsed += 1;
                }
            }
            totals.push(a.total_amount);
        }
        totals.sort_unstable_by(|a, b| b.cmp(a));
        let all: i64 = totals.iter().sum();
        let top: i64 = totals[..totals.len() / 10].iter().sum();
        let share = top as f64 / all as f64;
        eprintln!("top 10% share {share:.3}, {lapsed} of {buyers} buyers lapsed, {orders} orders");
        assert!(share > 0.5, "top 10% hold {share:.2} of revenue");
        assert!(lapsed * 10 > buyers, "{lapsed} of {buyers} buyers lapsed");
        let per_customer = orders as f64 / 20_000.0;
        assert!(
            (7.0..14.0).contains(&per_customer),
            "{per_customer} orders per customer"
        );
    }
}
