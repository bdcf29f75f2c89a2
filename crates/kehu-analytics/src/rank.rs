//! Order statistics shared by the models: tie-respecting quintile scores and
//! medians, computed by selection (`select_nth_unstable`, linear time)
//! instead of a full sort.

/// Quintile cut values of `keys` where a larger key is better.
///
/// The score rule (documented in [`crate::rfm`]) is
/// `score(v) = 1 + floor(5 * below(v) / n)` with `below(v)` the number of keys
/// strictly smaller than `v`. Writing `m_k = ceil(k * n / 5)`, the score is at
/// least `k + 1` exactly when `below(v) >= m_k`, i.e. when `v` is larger than
/// the `m_k`-th smallest key. So the four cut values are those order
/// statistics and `score(v) = 1 + #{k : v > cut_k}`.
pub(crate) fn quintile_cuts(keys: &[i64]) -> Option<[i64; 4]> {
    let n = keys.len();
    if n == 0 {
        return None;
    }
    let mut work = keys.to_vec();
    let pos = |k: usize| (k * n).div_ceil(5) - 1;
    let mut cuts = [0i64; 4];
    // Select the largest position first, then keep selecting inside the
    // left part, which shrinks the work each time.
    let mut hi = n;
    for k in (1..=4).rev() {
        let p = pos(k);
        let (_, v, _) = work[..hi].select_nth_unstable(p);
        cuts[k - 1] = *v;
        hi = p + 1;
    }
    Some(cuts)
}

/// The 1-5 score of `v` given the cuts of [`quintile_cuts`].
#[inline]
pub(crate) fn quintile_score(v: i64, cuts: &[i64; 4]) -> u8 {
    1 + u8::from(v > cuts[0])
        + u8::from(v > cuts[1])
        + u8::from(v > cuts[2])
        + u8::from(v > cuts[3])
}

/// The median of finite values: the middle value, or the mean of the two
/// middle values for an even count. Empty input has no median.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let upper = n / 2;
    let (left, mid, _) = values.select_nth_unstable_by(upper, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        return Some(mid);
    }
    let lower = left.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
    Some(lower + (mid - lower) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(keys: &[i64]) -> Vec<u8> {
        let n = keys.len() as u64;
        keys.iter()
            .map(|v| {
                let below = keys.iter().filter(|k| *k < v).count() as u64;
                (1 + 5 * below / n) as u8
            })
            .collect()
    }

    #[test]
    fn cuts_reproduce_the_rank_rule_on_small_cases() {
        let cases: Vec<Vec<i64>> = vec![
            vec![5],
            vec![1, 2],
            vec![3, 3, 3],
            vec![1, 2, 3, 4, 5],
            vec![1, 1, 1, 1, 1, 1, 2, 3, 4, 10],
            vec![-5, 0, 0, 7, 7, 7, 7, 9, 9, 11, 11, 12, 13],
        ];
        for keys in cases {
            let cuts = quintile_cuts(&keys).unwrap();
            let got: Vec<u8> = keys.iter().map(|v| quintile_score(*v, &cuts)).collect();
            assert_eq!(got, naive(&keys), "keys {keys:?}");
        }
        assert!(quintile_cuts(&[]).is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
