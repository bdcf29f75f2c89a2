//! A small, deterministic quasi-Newton minimiser (BFGS, Nocedal & Wright,
//! *Numerical Optimization*, 2nd ed., algorithm 6.1) for the few-parameter
//! likelihoods of this module.
//!
//! The parameters are the logarithms of the model parameters, so every
//! point is a valid model and the scale differences between, say, `r` and
//! `alpha` disappear. The box `[lower, upper]` keeps the search away from
//! degenerate regions; a step is clipped to it. The line search backtracks
//! from the full quasi-Newton step until the Armijo condition holds, or
//! until the decrease it asks for is below the rounding of the objective
//! (no smaller step can show one), and the inverse-Hessian update is skipped whenever the curvature condition fails,
//! which keeps the approximation positive definite.

/// The outcome of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Settings of [`minimize`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub max_iterations: usize,
    /// Converged when the largest gradient component is below this.
    pub gradient_tolerance: f64,
    /// Largest step in any coordinate per iteration (log units).
    pub max_step: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_iterations: 500,
            gradient_tolerance: 1e-9,
            max_step: 2.0,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimise `f`, which returns the value at `x` and writes the gradient
/// into its second argument. Non-finite values are treated as "too far" by
/// the line search.
/// `x` moved inside the box by a margin, so that a search started there is
/// not taken for one that ran into a bound.
pub(crate) fn inside(x: &[f64], lower: &[f64], upper: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(lower.iter().zip(upper))
        .map(|(v, (lo, hi))| v.clamp(lo + 0.01, hi - 0.01))
        .collect()
}

pub(crate) fn minimize(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    settings: Settings,
) -> Minimum {
    let n = start.len();
    let clip = |x: &mut [f64]| {
        for i in 0..n {
            x[i] = x[i].clamp(lower[i], upper[i]);
        }
    };
    let mut x = start.to_vec();
    clip(&mut x);
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let identity = |h: &mut Vec<f64>| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            h[i * n + i] = 1.0;
        }
    };
    let mut h = vec![0.0; n * n];
    identity(&mut h);

    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut p = vec![0.0; n];
    let mut iterations = 0;
    let mut stalls = 0;
    while iterations < settings.max_iterations {
        if !fx.is_finite() {
            break;
        }
        if inf_norm(&g) < settings.gradient_tolerance {
            return Minimum {
                x,
                value: fx,
                iterations,
                converged: true,
            };
        }
        iterations += 1;
        for i in 0..n {
            p[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        if dot(&p, &g) >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            identity(&mut h);
            p.iter_mut().zip(&g).for_each(|(pi, gi)| *pi = -gi);
        }
        let longest = inf_norm(&p);
        if longest > settings.max_step {
            let s = settings.max_step / longest;
            p.iter_mut().for_each(|v| *v *= s);
        }

        let slope = dot(&p, &g);
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            // A decrease this small is below what the rounding of `f` can
            // show: as far as floating point tells, this is the minimum.
            // (A search started at the previous optimum otherwise spends
            // dozens of evaluations halving steps that cannot succeed.)
            if -step * slope <= 4.0 * f64::EPSILON * fx.abs() {
                break;
            }
            for i in 0..n {
                x_new[i] = x[i] + step * p[i];
            }
            clip(&mut x_new);
            let f_new = f(&x_new, &mut g_new);
            if f_new.is_finite() && f_new <= fx + 1e-4 * step * slope {
                accepted = f_new < fx || x_new != x;
                if accepted {
                    let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
                    let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
                    let sy = dot(&s, &y);
                    if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() && sy > 0.0 {
                        // H <- (I - rho s y') H (I - rho y s') + rho s s'
                        let rho = 1.0 / sy;
                        let hy: Vec<f64> = (0..n)
                            .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                            .collect();
                        let yhy = dot(&y, &hy);
                        for i in 0..n {
                            for j in 0..n {
                                h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                                    + (rho * rho * yhy + rho) * s[i] * s[j];
                            }
                        }
                    }
                    let improvement = fx - f_new;
                    x.copy_from_slice(&x_new);
                    g.copy_from_slice(&g_new);
                    fx = f_new;
                    stalls = if improvement <= f64::EPSILON * fx.abs() {
                        stalls + 1
                    } else {
                        0
                    };
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted || stalls >= 5 {
            // No further progress is possible in floating point. Accept the
            // point if its gradient is small on the likelihood's scale.
            let gn = inf_norm(&g);
            return Minimum {
                converged: gn < settings.gradient_tolerance.sqrt() * 1e-1,
                x,
                value: fx,
                iterations,
            };
        }
    }
    Minimum {
        converged: fx.is_finite() && inf_norm(&g) < settings.gradient_tolerance,
        x,
        value: fx,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_the_rosenbrock_function() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = minimize(
            rosen,
            &[-1.2, 1.0],
            &[-5.0, -5.0],
            &[5.0, 5.0],
            Settings::default(),
        );
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-7 && (m.x[1] - 1.0).abs() < 1e-7,
            "{m:?}"
        );
    }

    #[test]
    fn a_search_at_the_rounding_floor_stops_without_halving_in_vain() {
        // Like a likelihood summed over a million customers at its optimum:
        // the computed gradient does not vanish (here 1e-7) and the value
        // is only known to its rounding (here noise of 1e-15), so no step
        // along the gradient can show the decrease the line search asks
        // for.
        let evaluations = std::cell::Cell::new(0);
        let rounded = |x: &[f64], g: &mut [f64]| {
            evaluations.set(evaluations.get() + 1);
            g[0] = 2.0 * (x[0] - 1.0) + 1e-7;
            0.5 + (x[0] - 1.0).powi(2) + 1e-15 * (x[0] * 1e12).sin().abs()
        };
        let m = minimize(rounded, &[1.0], &[-10.0], &[10.0], Settings::default());
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-6, "{m:?}");
        assert!(evaluations.get() <= 12, "{} evaluations", evaluations.get());
    }

    #[test]
    fn stops_at_the_box() {
        let slope = |x: &[f64], g: &mut [f64]| {
            g[0] = -1.0;
            -x[0]
        };
        let m = minimize(slope, &[0.0], &[-1.0], &[3.0], Settings::default());
        assert_eq!(m.x[0], 3.0);
        assert!(!m.converged);
    }
}
