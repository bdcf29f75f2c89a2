//! The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005,
//! "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD
//! Model", *Marketing Science* 24(2), 275-284).
//!
//! While alive, a customer buys as a Poisson process with rate `lambda`;
//! after every purchase they drop out with probability `p`. Across
//! customers `lambda ~ Gamma(r, alpha)` and `p ~ Beta(a, b)`. A customer is
//! summarised by `x` repeat purchases, the time `t_x` of the last one and the
//! age `T`, all measured from the first purchase.
//!
//! Individual likelihood (paper eq. 6), in logs:
//!
//! ```text
//! ln L = ln Gamma(r + x) - ln Gamma(r) + r ln alpha
//!      + ln Gamma(a + b) + ln Gamma(b + x) - ln Gamma(b) - ln Gamma(a + b + x)
//!      + ln[ (alpha + T)^-(r + x) + [x > 0] a / (b + x - 1) (alpha + t_x)^-(r + x) ]
//! ```
//!
//! The last term is a log-sum-exp. The fit maximises the summed likelihood
//! over `ln r, ln alpha, ln a, ln b` with analytic gradients and a
//! quasi-Newton (BFGS) search. Gamma-function terms depend only on `x`, so they are
//! computed once per distinct `x`; logs of `alpha + T` and `alpha + t_x` once
//! per distinct time value; customers without repeat purchases are grouped
//! by `T`. The sum over repeat customers runs on fixed-size blocks, in
//! parallel, and the block sums are added in block order, so the result does
//! not depend on the number of threads.
//!
//! Predictions:
//!
//! * probability alive (paper eq. 13):
//!   `P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))`;
//! * expected purchases in `(T, T + t]` (paper eq. 10):
//!   `E[Y(t)] = (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
//!   2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))] * P(alive)`.
//!   The bracket is evaluated through the Pfaff-transformed form in
//!   [`super::special`], which is stable for small and large `t` and smooth
//!   through `a = 1`.

use serde::{Deserialize, Serialize};

use super::optimize::{minimize, Settings};
use super::special::{digamma, ln_gamma, one_minus_hyp2f1_over_u};
use super::RepeatSummary;
use crate::aggregate::{chunks, workers};
use crate::error::{AnalyticsError, Result};

const MODEL: &str = "bg_nbd";
/// Fewest customers accepted for a fit: four parameters need real data.
pub const MIN_CUSTOMERS: usize = 20;
const BLOCK: usize = 1 << 14;

/// BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    /// Shape of the purchase-rate gamma distribution.
    pub r: f64,
    /// Scale (in time units) of the purchase-rate gamma distribution.
    pub alpha: f64,
    /// First shape of the dropout-probability beta distribution.
    pub a: f64,
    /// Second shape of the dropout-probability beta distribution.
    pub b: f64,
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdFit {
    /// Maximum-likelihood parameters.
    pub params: BgNbdParams,
    /// The maximised log-likelihood (natural log, summed over customers).
    pub log_likelihood: f64,
    /// Customers in the fit.
    pub customers: u64,
    /// Of which with at least one repeat purchase.
    pub repeat_customers: u64,
    /// Optimiser iterations.
    pub iterations: u32,
}

struct Repeater {
    x: u32,
    t: u32,
    tx: u32,
}

/// The data reorganised for fast likelihood evaluation.
struct Prepared {
    customers: f64,
    /// Distinct `x` (all customers) and their counts.
    xs: Vec<(f64, f64)>,
    /// Distinct time values of `T` and `t_x`.
    times: Vec<f64>,
    /// Customers with `x = 0`, grouped: (index of `T` in `times`, count).
    zero: Vec<(usize, f64)>,
    /// Customers with `x > 0`; `x` indexes `xs`.
    rep: Vec<Repeater>,
}

impl Prepared {
    fn new(data: &[RepeatSummary]) -> Self {
        let mut times: Vec<f64> = data.iter().flat_map(|c| [c.age, c.recency]).collect();
        times.sort_unstable_by(f64::total_cmp);
        times.dedup();
        let mut xs_raw: Vec<u32> = data.iter().map(|c| c.frequency).collect();
        xs_raw.sort_unstable();
        let mut xs: Vec<(f64, f64)> = Vec::new();
        for x in xs_raw {
            match xs.last_mut() {
                Some(last) if last.0 == f64::from(x) => last.1 += 1.0,
                _ => xs.push((f64::from(x), 1.0)),
            }
        }
        let time_index = |v: f64| times.partition_point(|t| *t < v);
        let x_index = |x: u32| xs.partition_point(|e| e.0 < f64::from(x));
        let mut zero_counts = vec![0.0; times.len()];
        let mut rep = Vec::new();
        for c in data {
            if c.frequency == 0 {
                zero_counts[time_index(c.age)] += 1.0;
            } else {
                rep.push(Repeater {
                    x: x_index(c.frequency) as u32,
                    t: time_index(c.age) as u32,
                    tx: time_index(c.recency) as u32,
                });
            }
        }
        let zero = zero_counts
            .into_iter()
            .enumerate()
            .filter(|(_, c)| *c > 0.0)
            .collect();
        Self {
            customers: data.len() as f64,
            xs,
            times,
            zero,
            rep,
        }
    }

    /// Log-likelihood and its gradient with respect to `(r, alpha, a, b)`.
    fn log_likelihood(&self, p: &BgNbdParams) -> (f64, [f64; 4]) {
        let BgNbdParams { r, alpha, a, b } = *p;
        let ln_alpha = alpha.ln();
        let (lg_r, lg_b, lg_ab) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b));
        let (dg_r, dg_b, dg_ab) = (digamma(r), digamma(b), digamma(a + b));
        let (mut ll, mut dr, mut dal, mut da, mut db) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(x, c) in &self.xs {
            ll += c
                * (ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + x)
                    - lg_b
                    - ln_gamma(a + b + x));
            dr += c * (digamma(r + x) - dg_r + ln_alpha);
            dal += c * r / alpha;
            da += c * (dg_ab - digamma(a + b + x));
            db += c * (dg_ab + digamma(b + x) - dg_b - digamma(a + b + x));
        }
        let logs: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let invs: Vec<f64> = self.times.iter().map(|t| 1.0 / (alpha + t)).collect();
        for &(i, c) in &self.zero {
            ll -= c * r * logs[i];
            dr -= c * logs[i];
            dal -= c * r * invs[i];
        }
        // Per distinct x: r + x, ln a - ln(b + x - 1), 1 / (b + x - 1).
        let ln_a = a.ln();
        let per_x: Vec<(f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&(x, _)| {
                let bx = b + x - 1.0;
                (r + x, ln_a - bx.ln(), 1.0 / bx)
            })
            .collect();
        let block_sums = |block: &[Repeater]| -> [f64; 5] {
            let mut s = [0.0; 5];
            for c in block {
                let (m, base, inv_bx) = per_x[c.x as usize];
                let (l_t, l_tx) = (logs[c.t as usize], logs[c.tx as usize]);
                // d = ln of the ratio of the second likelihood term to the first.
                let d = base + m * (l_t - l_tx);
                let e = (-d.abs()).exp();
                let softplus = d.max(0.0) + e.ln_1p();
                let w = if d >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                s[0] += softplus - m * l_t;
                s[1] += w * (l_t - l_tx) - l_t;
                s[2] -= m * ((1.0 - w) * invs[c.t as usize] + w * invs[c.tx as usize]);
                s[3] += w;
                s[4] -= w * inv_bx;
            }
            s
        };
        let blocks: Vec<&[Repeater]> = self.rep.chunks(BLOCK).collect();
        let threads = workers(self.rep.len()).min(blocks.len().max(1));
        let sums: Vec<[f64; 5]> = if threads <= 1 {
            blocks.iter().map(|b| block_sums(b)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunks(blocks.len(), threads)
                    .into_iter()
                    .map(|range| {
                        let blocks = &blocks[range];
                        let f = &block_sums;
                        scope.spawn(move || blocks.iter().map(|b| f(b)).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        for s in sums {
            ll += s[0];
            dr += s[1];
            dal += s[2];
            da += s[3] / a;
            db += s[4];
        }
        (ll, [dr, dal, da, db])
    }
}

fn validate(data: &[RepeatSummary]) -> Result<()> {
    for c in data {
        let ok = c.age.is_finite()
            && c.recency.is_finite()
            && c.recency >= 0.0
            && c.age >= c.recency
            && (c.frequency > 0 || c.recency == 0.0);
        if !ok {
            return Err(AnalyticsError::InvalidInput {
                customer_id: c.customer_id,
                reason: format!(
                    "need 0 <= recency <= age and recency 0 without repeat purchases (x = {}, t_x = {}, T = {})",
                    c.frequency, c.recency, c.age
                ),
            });
        }
    }
    Ok(())
}

/// Fit BG/NBD by maximum likelihood.
///
/// Errors: invalid records, fewer than [`MIN_CUSTOMERS`] customers, no
/// repeat purchase at all, no convergence, or a parameter running into the
/// search box (`1e-5` to `1e5`, for `alpha` relative to the mean age).
pub fn fit(data: &[RepeatSummary]) -> Result<BgNbdFit> {
    fit_from(data, None)
}

/// [`fit`] starting the search at `start` (e.g. yesterday's parameters
/// on today's data, which are close: a handful of iterations instead of a
/// few dozen). The optimum is the same within the convergence tolerance.
pub fn fit_from(data: &[RepeatSummary], start: Option<&BgNbdParams>) -> Result<BgNbdFit> {
    validate(data)?;
    if data.len() < MIN_CUSTOMERS {
        return Err(AnalyticsError::TooFewCustomers {
            model: MODEL,
            needed: MIN_CUSTOMERS,
            got: data.len(),
        });
    }
    let prepared = Prepared::new(data);
    if prepared.rep.is_empty() {
        return Err(AnalyticsError::NoRepeatCustomers { model: MODEL });
    }
    let mean_age = data.iter().map(|c| c.age).sum::<f64>() / data.len() as f64;
    let scale = if mean_age > 0.0 { mean_age } else { 1.0 };
    let span = 1e5f64.ln();
    let lower = [-span, scale.ln() - span, -span, -span];
    let upper = [span, scale.ln() + span, span, span];
    let n = prepared.customers;
    let objective = |theta: &[f64], grad: &mut [f64]| {
        let p = BgNbdParams {
            r: theta[0].exp(),
            alpha: theta[1].exp(),
            a: theta[2].exp(),
            b: theta[3].exp(),
        };
        let (ll, g) = prepared.log_likelihood(&p);
        // Minimise the mean negative log-likelihood; chain rule to logs.
        let values = [p.r, p.alpha, p.a, p.b];
        for i in 0..4 {
            grad[i] = -g[i] * values[i] / n;
        }
        -ll / n
    };
    let start = match start.filter(|p| p.validate().is_ok()) {
        Some(p) => super::optimize::inside(&[p.r, p.alpha, p.a, p.b].map(f64::ln), &lower, &upper),
        None => vec![0.0, scale.ln(), 0.0, 0.0],
    };
    let m = minimize(objective, &start, &lower, &upper, Settings::default());
    let names = ["r", "alpha", "a", "b"];
    for i in 0..4 {
        if m.x[i] - lower[i] < 1e-3 || upper[i] - m.x[i] < 1e-3 {
            return Err(AnalyticsError::ParameterAtBound {
                model: MODEL,
                parameter: names[i],
                value: m.x[i].exp(),
            });
        }
    }
    if !m.converged {
        return Err(AnalyticsError::NotConverged {
            model: MODEL,
            iterations: m.iterations,
        });
    }
    Ok(BgNbdFit {
        params: BgNbdParams {
            r: m.x[0].exp(),
            alpha: m.x[1].exp(),
            a: m.x[2].exp(),
            b: m.x[3].exp(),
        },
        log_likelihood: -m.value * n,
        customers: data.len() as u64,
        repeat_customers: prepared.rep.len() as u64,
        iterations: m.iterations as u32,
    })
}

impl BgNbdParams {
    fn validate(&self) -> Result<()> {
        let ok = [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0);
        if ok {
            Ok(())
        } else {
            Err(AnalyticsError::Undefined(format!(
                "invalid BG/NBD parameters {self:?}"
            )))
        }
    }

    /// Summed log-likelihood of `data` under these parameters.
    pub fn log_likelihood(&self, data: &[RepeatSummary]) -> Result<f64> {
        self.validate()?;
        validate(data)?;
        Ok(Prepared::new(data).log_likelihood(self).0)
    }

    /// Probability that the customer is still alive at `T`.
    pub fn probability_alive(&self, c: &RepeatSummary) -> f64 {
        if c.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(c.frequency);
        let ln_odds = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + c.age).ln() - (self.alpha + c.recency).ln());
        // 1 / (1 + e^z), written to avoid overflow for large z.
        if ln_odds > 0.0 {
            let e = (-ln_odds).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + ln_odds.exp())
        }
    }

    /// Expected purchases in the next `t` time units after the customer's
    /// age `T` (paper eq. 10).
    pub fn conditional_expected_purchases(&self, c: &RepeatSummary, t: f64) -> Result<f64> {
        Ok(self.purchases_if_alive(c.frequency, c.age, t)? * self.probability_alive(c))
    }

    /// The part of eq. 10 that does not depend on `t_x`: expected purchases
    /// in the next `t` time units of a customer with `frequency` repeat
    /// purchases and age `age`, given that the customer is alive.
    pub(crate) fn purchases_if_alive(&self, frequency: u32, age: f64, t: f64) -> Result<f64> {
        self.validate()?;
        if t.is_nan() || t < 0.0 || t.is_infinite() {
            return Err(AnalyticsError::Undefined(format!(
                "horizon {t} is not a non-negative number"
            )));
        }
        let x = f64::from(frequency);
        let m = self.r + x;
        let cc = self.a + self.b + x - 1.0;
        let k = t / (self.alpha + age);
        let d = one_minus_hyp2f1_over_u(m, self.a, cc, k).ok_or_else(|| {
            AnalyticsError::Undefined(format!(
                "BG/NBD expectation has no finite value for x = {frequency}, T = {age}, t = {t}"
            ))
        })?;
        Ok(cc * d)
    }

    /// Expected purchases in `(0, t]` of a customer just acquired (paper eq. 9).
    pub fn expected_purchases(&self, t: f64) -> Result<f64> {
        let newcomer = RepeatSummary {
            customer_id: 0,
            frequency: 0,
            recency: 0.0,
            age: 0.0,
            monetary: 0.0,
        };
        self.conditional_expected_purchases(&newcomer, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: u32, tx: f64, t: f64) -> RepeatSummary {
        RepeatSummary {
            customer_id: 1,
            frequency: x,
            recency: tx,
            age: t,
            monetary: 0.0,
        }
    }

    /// The likelihood written out plainly from the paper, for one customer.
    fn plain_ll(p: &BgNbdParams, x: f64, tx: f64, t: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *p;
        let beta = |u: f64, v: f64| (ln_gamma(u) + ln_gamma(v) - ln_gamma(u + v)).exp();
        let g = (ln_gamma(r + x) - ln_gamma(r)).exp() * alpha.powf(r);
        let first = beta(a, b + x) / beta(a, b) * g / (alpha + t).powf(r + x);
        let second = if x > 0.0 {
            beta(a + 1.0, b + x - 1.0) / beta(a, b) * g / (alpha + tx).powf(r + x)
        } else {
            0.0
        };
        (first + second).ln()
    }

    #[test]
    fn likelihood_and_gradient_match_the_paper_formula_and_finite_differences() {
        let data = [
            c(0, 0.0, 30.0),
            c(2, 30.43, 38.86),
            c(1, 1.71, 38.86),
            c(5, 20.0, 25.5),
            c(0, 0.0, 10.0),
        ];
        let p = BgNbdParams {
            r: 0.6,
            alpha: 3.0,
            a: 0.9,
            b: 2.2,
        };
        let prep = Prepared::new(&data);
        let (ll, g) = prep.log_likelihood(&p);
        let plain: f64 = data
            .iter()
            .map(|c| plain_ll(&p, f64::from(c.frequency), c.recency, c.age))
            .sum();
        assert!((ll - plain).abs() < 1e-10, "{ll} vs {plain}");
        let h = 1e-6;
        for i in 0..4 {
            let mut v = [p.r, p.alpha, p.a, p.b];
            v[i] += h;
            let up = prep
                .log_likelihood(&BgNbdParams {
                    r: v[0],
                    alpha: v[1],
                    a: v[2],
                    b: v[3],
                })
                .0;
            v[i] -= 2.0 * h;
            let down = prep
                .log_likelihood(&BgNbdParams {
                    r: v[0],
                    alpha: v[1],
                    a: v[2],
                    b: v[3],
                })
                .0;
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - g[i]).abs() < 1e-6,
                "param {i}: {numeric} vs {}",
                g[i]
            );
        }
    }

    #[test]
    fn predictions_behave() {
        let p = BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        // Nobody who never repeated is known to be dead.
        assert_eq!(p.probability_alive(&c(0, 0.0, 30.0)), 1.0);
        // A long silence after frequent buying lowers P(alive).
        assert!(p.probability_alive(&c(10, 5.0, 38.0)) < p.probability_alive(&c(10, 37.0, 38.0)));
        assert_eq!(
            p.conditional_expected_purchases(&c(2, 30.0, 38.0), 0.0)
                .unwrap(),
            0.0
        );
        let e1 = p
            .conditional_expected_purchases(&c(2, 30.0, 38.0), 10.0)
            .unwrap();
        let e2 = p
            .conditional_expected_purchases(&c(2, 30.0, 38.0), 52.0)
            .unwrap();
        assert!(0.0 < e1 && e1 < e2);
        assert!(p.expected_purchases(-1.0).is_err());
    }

    #[test]
    fn fit_refuses_unsupported_data() {
        let few: Vec<RepeatSummary> = (0..5).map(|_| c(1, 1.0, 2.0)).collect();
        assert!(matches!(
            fit(&few),
            Err(AnalyticsError::TooFewCustomers { .. })
        ));
        let none: Vec<RepeatSummary> = (0..50).map(|_| c(0, 0.0, 2.0)).collect();
        assert!(matches!(
            fit(&none),
            Err(AnalyticsError::NoRepeatCustomers { .. })
        ));
        let bad = [c(1, 5.0, 2.0)];
        assert!(matches!(
            fit(&bad),
            Err(AnalyticsError::InvalidInput { .. })
        ));
    }
}
