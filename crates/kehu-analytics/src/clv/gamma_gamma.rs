//! The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee
//! 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
//! *Journal of Marketing Research* 42(4), 415-430; Fader & Hardie 2013,
//! "The Gamma-Gamma Model of Monetary Value", technical note).
//!
//! A customer's transaction values are `Gamma(p, nu)`; across customers
//! `nu ~ Gamma(q, gamma)`. Only the `x` repeat transactions and their mean
//! `zbar` are used, which are sufficient. The likelihood of one customer is
//!
//! ```text
//! ln L = ln Gamma(p x + q) - ln Gamma(p x) - ln Gamma(q) + q ln gamma
//!      + (p x - 1) ln zbar + p x ln x - (p x + q) ln(gamma + x zbar)
//! ```
//!
//! and the expected spend per transaction given the data is the weighted
//! mean of the population mean `p gamma / (q - 1)` and the customer's own
//! mean:
//!
//! ```text
//! E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1)
//! ```
//!
//! which needs `q > 1`. The model assumes spend is independent of purchase
//! frequency, and is fitted on customers with at least one repeat purchase
//! and a positive mean spend.

use serde::{Deserialize, Serialize};

use super::optimize::{minimize, Settings};
use super::special::{digamma, ln_gamma};
use super::RepeatSummary;
use crate::aggregate::{chunks, workers};
use crate::error::{AnalyticsError, Result};

const MODEL: &str = "gamma_gamma";
/// Fewest repeat customers accepted for a fit.
pub const MIN_CUSTOMERS: usize = 10;
const BLOCK: usize = 1 << 14;

/// Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    /// Shape of the per-transaction spend distribution.
    pub p: f64,
    /// Shape of the heterogeneity distribution.
    pub q: f64,
    /// Scale of the heterogeneity distribution (in money units of the data).
    pub gamma: f64,
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaFit {
    /// Maximum-likelihood parameters.
    pub params: GammaGammaParams,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// Customers used (repeat customers with positive mean spend).
    pub customers: u64,
    /// Optimiser iterations.
    pub iterations: u32,
}

struct Prepared {
    /// Distinct x and counts.
    xs: Vec<(f64, f64)>,
    /// Sum of x ln zbar, of ln zbar, of x ln x over customers.
    sum_x_ln_z: f64,
    sum_ln_z: f64,
    sum_x_ln_x: f64,
    /// (x, x zbar) per customer.
    rows: Vec<(f64, f64)>,
}

fn usable(c: &RepeatSummary) -> bool {
    c.frequency > 0 && c.monetary > 0.0 && c.monetary.is_finite()
}

impl Prepared {
    fn new(data: &[RepeatSummary]) -> Self {
        let mut xs_raw: Vec<u32> = data
            .iter()
            .filter(|c| usable(c))
            .map(|c| c.frequency)
            .collect();
        xs_raw.sort_unstable();
        let mut xs: Vec<(f64, f64)> = Vec::new();
        for x in xs_raw {
            match xs.last_mut() {
                Some(last) if last.0 == f64::from(x) => last.1 += 1.0,
                _ => xs.push((f64::from(x), 1.0)),
            }
        }
        let (mut sum_x_ln_z, mut sum_ln_z, mut sum_x_ln_x) = (0.0, 0.0, 0.0);
        let mut rows = Vec::new();
        for c in data.iter().filter(|c| usable(c)) {
            let x = f64::from(c.frequency);
            let lz = c.monetary.ln();
            sum_x_ln_z += x * lz;
            sum_ln_z += lz;
            sum_x_ln_x += x * x.ln();
            rows.push((x, x * c.monetary));
        }
        Self {
            xs,
            sum_x_ln_z,
            sum_ln_z,
            sum_x_ln_x,
            rows,
        }
    }

    fn log_likelihood(&self, par: &GammaGammaParams) -> (f64, [f64; 3]) {
        let GammaGammaParams { p, q, gamma } = *par;
        let n = self.rows.len() as f64;
        let mut ll = n * (q * gamma.ln() - ln_gamma(q)) + p * (self.sum_x_ln_z + self.sum_x_ln_x)
            - self.sum_ln_z;
        let mut dp = self.sum_x_ln_z + self.sum_x_ln_x;
        let mut dq = n * (gamma.ln() - digamma(q));
        let mut dg = n * q / gamma;
        for &(x, c) in &self.xs {
            ll += c * (ln_gamma(p * x + q) - ln_gamma(p * x));
            dp += c * x * (digamma(p * x + q) - digamma(p * x));
            dq += c * digamma(p * x + q);
        }
        let block_sums = |block: &[(f64, f64)]| -> [f64; 4] {
            let mut s = [0.0; 4];
            for &(x, xz) in block {
                let g = gamma + xz;
                let lg = g.ln();
                let shape = p * x + q;
                s[0] -= shape * lg;
                s[1] -= x * lg;
                s[2] -= lg;
                s[3] -= shape / g;
            }
            s
        };
        let blocks: Vec<&[(f64, f64)]> = self.rows.chunks(BLOCK).collect();
        let threads = workers(self.rows.len()).min(blocks.len().max(1));
        let sums: Vec<[f64; 4]> = if threads <= 1 {
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
            dp += s[1];
            dq += s[2];
            dg += s[3];
        }
        (ll, [dp, dq, dg])
    }
}

/// Fit Gamma-Gamma by maximum likelihood on the customers with at least one
/// repeat purchase and a positive mean repeat spend (others are ignored).
///
/// Errors: fewer than [`MIN_CUSTOMERS`] usable customers (or none at all),
/// no convergence, or a parameter running into the search box (`1e-5` to
/// `1e5`, for `gamma` relative to the mean spend).
pub fn fit(data: &[RepeatSummary]) -> Result<GammaGammaFit> {
    fit_from(data, None)
}

/// [`fit`] starting the search at `start` (see [`super::bgnbd::fit_from`]).
pub fn fit_from(data: &[RepeatSummary], start: Option<&GammaGammaParams>) -> Result<GammaGammaFit> {
    let prepared = Prepared::new(data);
    let n = prepared.rows.len();
    if n == 0 {
        return Err(AnalyticsError::NoRepeatCustomers { model: MODEL });
    }
    if n < MIN_CUSTOMERS {
        return Err(AnalyticsError::TooFewCustomers {
            model: MODEL,
            needed: MIN_CUSTOMERS,
            got: n,
        });
    }
    let mean = data
        .iter()
        .filter(|c| usable(c))
        .map(|c| c.monetary)
        .sum::<f64>()
        / n as f64;
    let span = 1e5f64.ln();
    let lower = [-span, -span, mean.ln() - span];
    let upper = [span, span, mean.ln() + span];
    let nf = n as f64;
    let objective = |theta: &[f64], grad: &mut [f64]| {
        let par = GammaGammaParams {
            p: theta[0].exp(),
            q: theta[1].exp(),
            gamma: theta[2].exp(),
        };
        let (ll, g) = prepared.log_likelihood(&par);
        let values = [par.p, par.q, par.gamma];
        for i in 0..3 {
            grad[i] = -g[i] * values[i] / nf;
        }
        -ll / nf
    };
    // Without a start: a spend shape of 1 and a population mean equal to
    // the data's.
    let usable_start = start.filter(|p| {
        [p.p, p.q, p.gamma]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    });
    let start = match usable_start {
        Some(p) => super::optimize::inside(&[p.p, p.q, p.gamma].map(f64::ln), &lower, &upper),
        None => vec![0.0, 2f64.ln(), mean.ln()],
    };
    let m = minimize(objective, &start, &lower, &upper, Settings::default());
    let names = ["p", "q", "gamma"];
    for i in 0..3 {
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
    Ok(GammaGammaFit {
        params: GammaGammaParams {
            p: m.x[0].exp(),
            q: m.x[1].exp(),
            gamma: m.x[2].exp(),
        },
        log_likelihood: -m.value * nf,
        customers: n as u64,
        iterations: m.iterations as u32,
    })
}

impl GammaGammaParams {
    /// Summed log-likelihood over the usable customers of `data`.
    pub fn log_likelihood(&self, data: &[RepeatSummary]) -> f64 {
        Prepared::new(data).log_likelihood(self).0
    }

    /// The population mean spend per transaction, `p gamma / (q - 1)`.
    pub fn population_mean(&self) -> Result<f64> {
        if self.q <= 1.0 {
            return Err(AnalyticsError::Undefined(format!(
                "Gamma-Gamma mean spend is infinite for q = {} <= 1",
                self.q
            )));
        }
        Ok(self.p * self.gamma / (self.q - 1.0))
    }

    /// Expected spend per transaction of a customer with `frequency` repeat
    /// purchases of mean value `monetary`. A non-positive or non-finite mean
    /// counts as no spend information (the customer gets the population mean
    /// shrunk by their frequency, as if `monetary` were 0).
    pub fn expected_average_value(&self, frequency: u32, monetary: f64) -> Result<f64> {
        self.population_mean()?;
        let x = f64::from(frequency);
        let z = if monetary.is_finite() && monetary > 0.0 {
            monetary
        } else {
            0.0
        };
        Ok(self.p * (self.gamma + x * z) / (self.p * x + self.q - 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: u32, z: f64) -> RepeatSummary {
        RepeatSummary {
            customer_id: 1,
            frequency: x,
            recency: 1.0,
            age: 2.0,
            monetary: z,
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = [c(1, 10.0), c(3, 25.5), c(7, 14.0), c(2, 99.0)];
        let prep = Prepared::new(&data);
        let par = GammaGammaParams {
            p: 4.0,
            q: 3.0,
            gamma: 12.0,
        };
        let (_, g) = prep.log_likelihood(&par);
        let h = 1e-6;
        for i in 0..3 {
            let mut v = [par.p, par.q, par.gamma];
            v[i] += h;
            let up = prep
                .log_likelihood(&GammaGammaParams {
                    p: v[0],
                    q: v[1],
                    gamma: v[2],
                })
                .0;
            v[i] -= 2.0 * h;
            let down = prep
                .log_likelihood(&GammaGammaParams {
                    p: v[0],
                    q: v[1],
                    gamma: v[2],
                })
                .0;
            assert!(((up - down) / (2.0 * h) - g[i]).abs() < 1e-6);
        }
    }

    #[test]
    fn expectation_shrinks_towards_the_population_mean() {
        let par = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let pop = par.population_mean().unwrap();
        assert_eq!(par.expected_average_value(0, 0.0).unwrap(), pop);
        let one = par.expected_average_value(1, 100.0).unwrap();
        let many = par.expected_average_value(20, 100.0).unwrap();
        assert!(pop < one && one < many && many < 100.0);
        let bad = GammaGammaParams { q: 0.9, ..par };
        assert!(bad.expected_average_value(1, 10.0).is_err());
    }

    #[test]
    fn fit_needs_repeat_customers_with_spend() {
        let none: Vec<RepeatSummary> = (0..30).map(|_| c(0, 0.0)).collect();
        assert!(matches!(
            fit(&none),
            Err(AnalyticsError::NoRepeatCustomers { .. })
        ));
        let few: Vec<RepeatSummary> = (0..3).map(|i| c(1, 10.0 + f64::from(i))).collect();
        assert!(matches!(
            fit(&few),
            Err(AnalyticsError::TooFewCustomers { .. })
        ));
    }
}
