//! Special functions for the CLV models: log-gamma, digamma and the Gauss
//! hypergeometric series.
//!
//! `ln_gamma` and `digamma` shift the argument upward with the recurrences
//! `Gamma(x + 1) = x Gamma(x)` and `psi(x + 1) = psi(x) + 1 / x` until it is at
//! least 10, then use the Stirling / de Moivre asymptotic series with
//! Bernoulli-number coefficients (Abramowitz & Stegun 6.1.41 and 6.3.18). At
//! 10 the first omitted terms are below 1e-15 relative, which is what the
//! likelihoods need.

/// Bernoulli-number coefficients `B_2k / (2k (2k - 1))` of the Stirling series.
const STIRLING: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360_360.0,
    1.0 / 156.0,
];

/// Coefficients `B_2k / (2k)` of the digamma asymptotic series.
const DIGAMMA: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 120.0,
    1.0 / 252.0,
    -1.0 / 240.0,
    1.0 / 132.0,
    -691.0 / 32_760.0,
    1.0 / 12.0,
];

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
const SHIFT_TO: f64 = 10.0;

/// `ln Gamma(x)` for `x > 0`; NaN otherwise.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return if x == f64::INFINITY {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let mut z = x;
    let mut product = 1.0;
    while z < SHIFT_TO {
        product *= z;
        z += 1.0;
    }
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    let mut series = 0.0;
    let mut power = inv;
    for c in STIRLING {
        series += c * power;
        power *= inv2;
    }
    (z - 0.5) * z.ln() - z + HALF_LN_2PI + series - product.ln()
}

/// Digamma `psi(x) = d/dx ln Gamma(x)` for `x > 0`; NaN otherwise.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return if x == f64::INFINITY {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let mut z = x;
    let mut shift = 0.0;
    while z < SHIFT_TO {
        shift += 1.0 / z;
        z += 1.0;
    }
    let inv2 = 1.0 / (z * z);
    let mut series = 0.0;
    let mut power = inv2;
    for c in DIGAMMA {
        series += c * power;
        power *= inv2;
    }
    z.ln() - 0.5 / z - series - shift
}

/// Most terms any hypergeometric series here may use before giving up.
pub(crate) const MAX_TERMS: usize = 200_000;

/// Sum `sum_{n >= 1} t_n` where `t_1 = first` and `t_{n+1} = t_n * ratio(n)`,
/// stopping when a term no longer changes the sum in the last bit (twice in
/// a row, to step over a term that happens to be tiny). `None` when the
/// series has not settled within [`MAX_TERMS`] terms or produced a
/// non-finite value.
fn sum_series(first: f64, ratio: impl Fn(f64) -> f64) -> Option<f64> {
    let mut term = first;
    let mut sum = 0.0;
    let mut quiet = 0;
    for n in 1..=MAX_TERMS {
        sum += term;
        if !sum.is_finite() {
            return None;
        }
        if term.abs() <= f64::EPSILON * 0.5 * sum.abs() || term == 0.0 {
            quiet += 1;
            if quiet == 2 {
                return Some(sum);
            }
        } else {
            quiet = 0;
        }
        term *= ratio(n as f64);
    }
    None
}

/// Gauss hypergeometric function `2F1(a, b; c; z)` for real `z < 1`.
///
/// For `0 <= z < 1` the defining series is summed directly; for `z < 0` the
/// Pfaff transformation `2F1(a, b; c; z) = (1 - z)^(-a) 2F1(a, c - b; c;
/// z / (z - 1))` (A&S 15.3.4) maps the argument into `[0, 1)` where all
/// series terms eventually share one sign. Convergence slows as the mapped
/// argument approaches 1; the result is `None` when `c` is a non-positive
/// integer, `z >= 1`, or the series does not settle.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if z.is_nan() || z >= 1.0 || (c <= 0.0 && c == c.floor()) {
        return None;
    }
    if z < 0.0 {
        let w = z / (z - 1.0);
        return hyp2f1(a, c - b, c, w).map(|f| f * (1.0 - z).powf(-a));
    }
    let tail = sum_series(a * b / c * z, |n| {
        (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z
    })?;
    Some(1.0 + tail)
}

/// The BG/NBD building block `(1 - 2F1(m, u; c; -k)) / u` for `k >= 0`,
/// with `u = a - 1`, evaluated without dividing by `u` (so it is smooth
/// through `a = 1`) and without cancellation for small `k`.
///
/// * `k <= 1/2`: the series in `-k` with the factor `u` cancelled:
///   `-sum_{n >= 1} (m)_n (a)_(n-1) / ((c)_n n!) (-k)^n`.
/// * `k > 1/2`: Pfaff's transformation on the second parameter,
///   `2F1(m, u; c; -k) = (1 + k)^(-u) 2F1(c - m, u; c; z)` with
///   `z = k / (1 + k)`, gives
///   `-expm1(-u L) / u - (1 + k)^(-u) sum_{n >= 1} (c - m)_n (a)_(n-1) / ((c)_n n!) z^n`
///   with `L = ln(1 + k)`; its terms decay like `n^(a - m - 2) z^n`.
pub(crate) fn one_minus_hyp2f1_over_u(m: f64, a: f64, c: f64, k: f64) -> Option<f64> {
    if k.is_nan() || k < 0.0 || k.is_infinite() || (c <= 0.0 && c == c.floor()) {
        return None;
    }
    if k == 0.0 {
        return Some(0.0);
    }
    let u = a - 1.0;
    if k <= 0.5 {
        let w = -k;
        let s = sum_series(m / c * w, |n| {
            (m + n) * (a + n - 1.0) / ((c + n) * (n + 1.0)) * w
        })?;
        Some(-s)
    } else {
        let l = k.ln_1p();
        let head = if u == 0.0 { l } else { -(-u * l).exp_m1() / u };
        let z = k / (1.0 + k);
        let cm = c - m;
        let s = sum_series(cm / c * z, |n| {
            (cm + n) * (a + n - 1.0) / ((c + n) * (n + 1.0)) * z
        })?;
        Some(head - (-u * l).exp() * s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_known_values() {
        // Gamma(n) = (n - 1)!, Gamma(1/2) = sqrt(pi).
        let mut fact = 1.0f64;
        for n in 1..30 {
            if n > 1 {
                fact *= (n - 1) as f64;
            }
            assert!((ln_gamma(n as f64) - fact.ln()).abs() < 1e-13, "n = {n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        // Reference values from mpmath.loggamma at 30 digits.
        assert!(close(ln_gamma(1e-8), 18.420_680_738_180_21, 1e-15));
        assert!(close(ln_gamma(0.243), 1.3180435846996699, 1e-14));
        assert!(close(ln_gamma(123.456), 469.60554712992945, 1e-15));
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn digamma_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-15);
        assert!((digamma(0.5) + euler + 2.0 * std::f64::consts::LN_2).abs() < 1e-14);
        // psi(x + 1) = psi(x) + 1/x across the shift boundary.
        for x in [0.01, 0.7, 3.3, 9.5, 9.999, 10.0, 57.0] {
            assert!(
                (digamma(x + 1.0) - digamma(x) - 1.0 / x).abs() < 1e-12,
                "x = {x}"
            );
        }
        // Matches the derivative of ln_gamma.
        for x in [0.3, 2.5, 14.0] {
            let h = 1e-5;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((numeric - digamma(x)).abs() < 1e-8, "x = {x}");
        }
    }

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        for z in [-3.0f64, -0.5, 0.1, 0.5, 0.9] {
            let exact = -(-z).ln_1p() / z;
            assert!(
                close(hyp2f1(1.0, 1.0, 2.0, z).unwrap(), exact, 1e-13),
                "z = {z}"
            );
        }
        // 2F1(a, b; b; z) = (1 - z)^(-a).
        for z in [-10.0, -0.9, 0.3, 0.8] {
            assert!(close(
                hyp2f1(0.7, 2.5, 2.5, z).unwrap(),
                (1.0 - z).powf(-0.7),
                1e-13
            ));
        }
        assert!(hyp2f1(1.0, 1.0, -2.0, 0.5).is_none());
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_none());
    }

    #[test]
    fn bg_nbd_block_matches_the_plain_definition_on_both_branches_and_through_a_equals_one() {
        for &(m, a, c) in &[
            (0.243, 0.793, 2.219),
            (2.243, 0.793, 4.219),
            (5.0, 3.0, 9.0),
            (1.5, 1.0, 4.0),
        ] {
            for &k in &[0.01, 0.3, 0.5, 0.51, 1.0, 3.0, 20.0] {
                let got = one_minus_hyp2f1_over_u(m, a, c, k).unwrap();
                let u = a - 1.0;
                if u.abs() > 1e-9 {
                    let plain = (1.0 - hyp2f1(m, u, c, -k).unwrap()) / u;
                    assert!(
                        close(got, plain, 1e-11),
                        "m {m} a {a} c {c} k {k}: {got} vs {plain}"
                    );
                } else {
                    // Continuity at a = 1 from both sides.
                    let lo = one_minus_hyp2f1_over_u(m, a - 1e-7, c, k).unwrap();
                    let hi = one_minus_hyp2f1_over_u(m, a + 1e-7, c, k).unwrap();
                    assert!(close(got, (lo + hi) / 2.0, 1e-9));
                }
            }
        }
    }

    #[test]
    fn bg_nbd_block_matches_mpmath_far_out() {
        // (1 - 2F1(m, a - 1; c; -k)) / (a - 1) from mpmath.hyp2f1 at 30 digits.
        let cases = [
            (0.243, 0.793, 2.219, 100.0, 2.0815796269448428),
            (10.243, 0.793, 12.219, 50.0, 5.674998129760748),
            (0.243, 0.793, 2.219, 1000.0, 5.1758408460380005),
            (3.5, 2.2, 7.1, 0.7, 0.24287270849603484),
            (0.4, 0.3, 0.2, 5.0, 6.882648291637571),
        ];
        for (m, a, c, k, want) in cases {
            let got = one_minus_hyp2f1_over_u(m, a, c, k).unwrap();
            assert!(close(got, want, 1e-12), "{m} {a} {c} {k}: {got} vs {want}");
        }
    }
}
