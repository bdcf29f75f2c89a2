//! RFM: recency, frequency and monetary value, scored 1-5 and named.
//!
//! # Measures
//!
//! For a [`Window`] of `days` days ending on `as_of`, per customer with at
//! least one purchase in the window:
//!
//! * **Recency** `R`: days from the last purchase in the window to `as_of`
//!   (0 = bought on the as-of day). Smaller is better.
//! * **Frequency** `F`: number of purchases in the window.
//! * **Monetary** `M`: net value of the window in minor units, purchases minus
//!   refunds (so it can be zero or negative).
//!
//! Customers without a purchase in the window get no RFM record: they have
//! nothing recent to score, and the lifecycle model (departed) covers them.
//! The default window is 365 days.
//!
//! # Scores: quintiles where equal values always get equal scores
//!
//! Each measure is scored 1 (worst) to 5 (best) by its position among the `n`
//! scored customers. For a value `v`, let `worse(v)` be the number of
//! customers whose value is strictly worse (larger recency; smaller frequency
//! or monetary). Then
//!
//! ```text
//! score(v) = 1 + floor(5 * worse(v) / n)
//! ```
//!
//! This is the quintile of the value's lowest position in the sorted list (a
//! "minimum rank"). Because it depends only on the value, equal values always
//! get equal scores and the order of the input or the customer ids never
//! matter. A large tie therefore shares the score of its lowest member: when
//! 60% of customers bought once, all of them get `F = 1`, and the next
//! frequency starts at `F = 4`. If every customer has the same value, every
//! customer scores 1 on that measure. Scoring is linear time: the four cut
//! values are order statistics found by selection (see [`RfmBreakpoints`]).
//!
//! # Segments
//!
//! Each of the 125 `(R, F, M)` combinations maps to exactly one segment.
//! Frequency and monetary are first combined into `FM = floor((F + M) / 2)`
//! (1-5), then the segment is read from this grid:
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | **5** | New | Potential Loyalist | Potential Loyalist | Champions | Champions |
//! | **4** | Promising | Potential Loyalist | Potential Loyalist | Loyal | Champions |
//! | **3** | About to Sleep | About to Sleep | Need Attention | Loyal | Loyal |
//! | **2** | Hibernating | Hibernating | At Risk | At Risk | Can't Lose Them |
//! | **1** | Lost | Lost | Hibernating | At Risk | Can't Lose Them |
//!
//! Reading it: the top rows bought recently, so low FM means *new* or
//! *promising*, high FM means *champions*; the bottom rows have not bought
//! for a long time, so high FM means valuable customers slipping away
//! (*at risk*, *can't lose them*) and low FM means *hibernating* or *lost*.
//! Published RFM segment tables overlap and leave combinations unnamed; this
//! grid is total by construction, and a test enumerates all 125 combinations.
//! Segment keys are listed in [`RfmSegment::key`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{AnalyticsError, Result};
use crate::input::{CustomerSummary, Order, Window};
use crate::label::Label;
use crate::rank::{quintile_cuts, quintile_score};

/// RFM configuration: the window to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmConfig {
    /// Window ending on the as-of date.
    pub window: Window,
}

impl RfmConfig {
    /// The default window length in days.
    pub const DEFAULT_WINDOW_DAYS: u32 = 365;

    /// A configuration for `window_days` days ending on `as_of`.
    pub fn new(as_of: NaiveDate, window_days: u32) -> Result<Self> {
        Ok(Self {
            window: Window::new(as_of, window_days)?,
        })
    }

    /// The default 365-day window ending on `as_of`.
    pub fn with_default_window(as_of: NaiveDate) -> Result<Self> {
        Self::new(as_of, Self::DEFAULT_WINDOW_DAYS)
    }
}

/// The three raw measures of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmValues {
    /// The customer's id.
    pub customer_id: i64,
    /// Days since the last purchase.
    pub recency_days: i64,
    /// Purchases in the window.
    pub frequency: u32,
    /// Net value in the window, minor units.
    pub monetary_minor: i64,
}

/// The three 1-5 scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RfmScores {
    /// Recency score, 5 = most recent.
    pub r: u8,
    /// Frequency score, 5 = most frequent.
    pub f: u8,
    /// Monetary score, 5 = most valuable.
    pub m: u8,
}

impl RfmScores {
    /// The combined frequency-monetary score `floor((F + M) / 2)` used by the
    /// segment grid.
    pub fn fm(&self) -> u8 {
        (self.f + self.m) / 2
    }

    /// The conventional three-digit cell code, e.g. `545`.
    pub fn code(&self) -> u16 {
        u16::from(self.r) * 100 + u16::from(self.f) * 10 + u16::from(self.m)
    }

    /// The segment of these scores (see the module docs for the grid).
    pub fn segment(&self) -> RfmSegment {
        RfmSegment::from_scores(*self)
    }
}

/// The named RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    /// Bought recently, often, and spend the most.
    Champions,
    /// Buy regularly with good value; respond to recognition.
    Loyal,
    /// Recent customers with average frequency; can become loyal.
    PotentialLoyalist,
    /// Bought very recently, for the first time or rarely.
    New,
    /// Fairly recent but still low frequency and value.
    Promising,
    /// Middle of the road on all three measures.
    NeedAttention,
    /// Below average recency and low frequency/value; fading.
    AboutToSleep,
    /// Used to buy often and well, but not for a while.
    AtRisk,
    /// Among the most valuable, yet long gone quiet.
    CantLoseThem,
    /// Long since last purchase, low frequency/value.
    Hibernating,
    /// Lowest recency, frequency and value.
    Lost,
}

use RfmSegment as S;

/// The segment grid indexed by `[5 - R][FM - 1]`; see the module docs.
const GRID: [[RfmSegment; 5]; 5] = [
    [
        S::New,
        S::PotentialLoyalist,
        S::PotentialLoyalist,
        S::Champions,
        S::Champions,
    ],
    [
        S::Promising,
        S::PotentialLoyalist,
        S::PotentialLoyalist,
        S::Loyal,
        S::Champions,
    ],
    [
        S::AboutToSleep,
        S::AboutToSleep,
        S::NeedAttention,
        S::Loyal,
        S::Loyal,
    ],
    [
        S::Hibernating,
        S::Hibernating,
        S::AtRisk,
        S::AtRisk,
        S::CantLoseThem,
    ],
    [S::Lost, S::Lost, S::Hibernating, S::AtRisk, S::CantLoseThem],
];

impl RfmSegment {
    /// All segments, best first.
    pub const ALL: [RfmSegment; 11] = [
        S::Champions,
        S::Loyal,
        S::PotentialLoyalist,
        S::New,
        S::Promising,
        S::NeedAttention,
        S::AboutToSleep,
        S::AtRisk,
        S::CantLoseThem,
        S::Hibernating,
        S::Lost,
    ];

    /// The segment of a score triple. Scores outside 1-5 are clamped.
    pub fn from_scores(s: RfmScores) -> Self {
        let r = s.r.clamp(1, 5);
        let fm = (s.f.clamp(1, 5) + s.m.clamp(1, 5)) / 2;
        GRID[usize::from(5 - r)][usize::from(fm - 1)]
    }

    /// Stable snake_case key (as serialised).
    pub fn key(&self) -> &'static str {
        match self {
            S::Champions => "champions",
            S::Loyal => "loyal",
            S::PotentialLoyalist => "potential_loyalist",
            S::New => "new",
            S::Promising => "promising",
            S::NeedAttention => "need_attention",
            S::AboutToSleep => "about_to_sleep",
            S::AtRisk => "at_risk",
            S::CantLoseThem => "cant_lose_them",
            S::Hibernating => "hibernating",
            S::Lost => "lost",
        }
    }

    /// Parse a key produced by [`RfmSegment::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Display names.
    pub fn label(&self) -> Label {
        let (en, zh_cn) = match self {
            S::Champions => ("Champions", "冠军客户"),
            S::Loyal => ("Loyal", "忠诚客户"),
            S::PotentialLoyalist => ("Potential Loyalist", "潜在忠诚客户"),
            S::New => ("New", "新客户"),
            S::Promising => ("Promising", "有潜力客户"),
            S::NeedAttention => ("Need Attention", "需要关注客户"),
            S::AboutToSleep => ("About to Sleep", "即将沉睡客户"),
            S::AtRisk => ("At Risk", "有流失风险客户"),
            S::CantLoseThem => ("Can't Lose Them", "不能失去的客户"),
            S::Hibernating => ("Hibernating", "沉睡客户"),
            S::Lost => ("Lost", "已流失客户"),
        };
        Label { en, zh_cn }
    }
}

/// The cut values behind the scores, for display ("R = 5 means bought within
/// the last 12 days").
///
/// A customer scores at least `k + 1` (for `k` = 1..4) on recency when
/// `recency_days < recency_days[k - 1]`, on frequency when
/// `frequency > frequency[k - 1]`, and on monetary when
/// `monetary_minor > monetary_minor[k - 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmBreakpoints {
    /// Recency cuts in days (non-increasing).
    pub recency_days: [i64; 4],
    /// Frequency cuts (non-decreasing).
    pub frequency: [i64; 4],
    /// Monetary cuts in minor units (non-decreasing).
    pub monetary_minor: [i64; 4],
}

/// One customer's RFM result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmRecord {
    /// The customer's id.
    pub customer_id: i64,
    /// Days since the last purchase.
    pub recency_days: i64,
    /// Purchases in the window.
    pub frequency: u32,
    /// Net value in the window, minor units.
    pub monetary_minor: i64,
    /// The 1-5 scores.
    pub scores: RfmScores,
    /// The named segment.
    pub segment: RfmSegment,
}

/// The result of an RFM run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmAnalysis {
    /// The configuration used.
    pub config: RfmConfig,
    /// Score cut values; `None` when nobody was scored.
    pub breakpoints: Option<RfmBreakpoints>,
    /// One record per scored customer, in the order of the input values
    /// (ascending customer id for the order and summary entry points).
    pub records: Vec<RfmRecord>,
}

impl RfmAnalysis {
    /// Customers per segment, in [`RfmSegment::ALL`] order.
    pub fn segment_counts(&self) -> Vec<(RfmSegment, u64)> {
        let mut counts = [0u64; 11];
        for r in &self.records {
            counts[r.segment as usize] += 1;
        }
        RfmSegment::ALL
            .into_iter()
            .map(|s| (s, counts[s as usize]))
            .collect()
    }

    /// The recency x frequency score grid (counts and value), as drawn in
    /// the RFM chart: `cells[R - 1][F - 1]`.
    pub fn grid(&self) -> RfmGrid {
        let mut cells = [[RfmGridCell::default(); 5]; 5];
        for r in &self.records {
            let c = &mut cells[usize::from(r.scores.r - 1)][usize::from(r.scores.f - 1)];
            c.customers += 1;
            c.monetary_minor = c.monetary_minor.saturating_add(r.monetary_minor);
        }
        RfmGrid { cells }
    }
}

/// One cell of [`RfmGrid`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmGridCell {
    /// Customers in the cell.
    pub customers: u64,
    /// Their summed monetary value, minor units.
    pub monetary_minor: i64,
}

/// Counts and value per (R, F) score pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmGrid {
    /// `cells[R - 1][F - 1]`.
    pub cells: [[RfmGridCell; 5]; 5],
}

/// Measure R, F and M from an order stream (the fast path: no sorting).
/// Output is sorted by customer id.
pub fn values_from_orders(orders: &[Order], config: &RfmConfig) -> Result<Vec<RfmValues>> {
    config.window.validate()?;
    let as_of = config.window.as_of;
    let agg = aggregate::aggregate::<aggregate::Lean>(orders, &config.window);
    Ok(agg
        .customers
        .iter()
        .filter_map(|(customer_id, t)| {
            let last = t.last_purchase()?;
            Some(RfmValues {
                customer_id: *customer_id,
                recency_days: (as_of - last).num_days(),
                frequency: t.purchases,
                monetary_minor: t.amount_minor,
            })
        })
        .collect())
}

/// Measure R, F and M from per-customer summaries that describe the window
/// (as kept by the storage layer). Customers without a purchase are skipped;
/// a last purchase after the as-of date is an error.
pub fn values_from_summaries(
    summaries: &[CustomerSummary],
    config: &RfmConfig,
) -> Result<Vec<RfmValues>> {
    config.window.validate()?;
    let as_of = config.window.as_of;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let Some(last) = s.last_order else { continue };
        if s.order_count == 0 {
            continue;
        }
        if last > as_of {
            return Err(AnalyticsError::InvalidInput {
                customer_id: s.customer_id,
                reason: format!("last order {last} is after the as-of date {as_of}"),
            });
        }
        out.push(RfmValues {
            customer_id: s.customer_id,
            recency_days: (as_of - last).num_days(),
            frequency: s.order_count,
            monetary_minor: s.total_amount_minor,
        });
    }
    Ok(out)
}

/// Score measured values and name their segments. Records keep the order of
/// `values`.
pub fn score(values: &[RfmValues]) -> (Vec<RfmRecord>, Option<RfmBreakpoints>) {
    // Recency is "smaller is better": negate it so all three measures are
    // "larger is better" for the shared quintile rule.
    let recency: Vec<i64> = values
        .iter()
        .map(|v| v.recency_days.saturating_neg())
        .collect();
    let frequency: Vec<i64> = values.iter().map(|v| i64::from(v.frequency)).collect();
    let monetary: Vec<i64> = values.iter().map(|v| v.monetary_minor).collect();
    // The three selections are independent; run them side by side on
    // large inputs.
    let cuts = if crate::aggregate::workers(values.len()) > 1 {
        std::thread::scope(|scope| {
            let r = scope.spawn(|| quintile_cuts(&recency));
            let f = scope.spawn(|| quintile_cuts(&frequency));
            let m = quintile_cuts(&monetary);
            let join = |h: std::thread::ScopedJoinHandle<'_, Option<[i64; 4]>>| {
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
            };
            (join(r), join(f), m)
        })
    } else {
        (
            quintile_cuts(&recency),
            quintile_cuts(&frequency),
            quintile_cuts(&monetary),
        )
    };
    let (Some(rc), Some(fc), Some(mc)) = cuts else {
        return (Vec::new(), None);
    };
    let breakpoints = RfmBreakpoints {
        recency_days: rc.map(i64::saturating_neg),
        frequency: fc,
        monetary_minor: mc,
    };
    (score_with(values, &breakpoints), Some(breakpoints))
}

/// Score measured values against given breakpoints (those of an earlier
/// run): the scores that run would have given these values. Records keep
/// the order of `values`.
pub fn score_with(values: &[RfmValues], breakpoints: &RfmBreakpoints) -> Vec<RfmRecord> {
    let rc = breakpoints.recency_days.map(i64::saturating_neg);
    values
        .iter()
        .map(|v| {
            let scores = RfmScores {
                r: quintile_score(v.recency_days.saturating_neg(), &rc),
                f: quintile_score(i64::from(v.frequency), &breakpoints.frequency),
                m: quintile_score(v.monetary_minor, &breakpoints.monetary_minor),
            };
            RfmRecord {
                customer_id: v.customer_id,
                recency_days: v.recency_days,
                frequency: v.frequency,
                monetary_minor: v.monetary_minor,
                scores,
                segment: RfmSegment::from_scores(scores),
            }
        })
        .collect()
}

/// RFM from an order stream: measure, score, segment.
pub fn analyze_orders(orders: &[Order], config: &RfmConfig) -> Result<RfmAnalysis> {
    let values = values_from_orders(orders, config)?;
    let (records, breakpoints) = score(&values);
    Ok(RfmAnalysis {
        config: *config,
        breakpoints,
        records,
    })
}

/// RFM from per-customer summaries of the window.
pub fn analyze_summaries(summaries: &[CustomerSummary], config: &RfmConfig) -> Result<RfmAnalysis> {
    let values = values_from_summaries(summaries, config)?;
    let (records, breakpoints) = score(&values);
    Ok(RfmAnalysis {
        config: *config,
        breakpoints,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_one_of_the_125_combinations_has_exactly_one_segment_and_all_segments_are_used() {
        let mut used: BTreeMap<RfmSegment, u32> = BTreeMap::new();
        for r in 1..=5u8 {
            for f in 1..=5u8 {
                for m in 1..=5u8 {
                    let s = RfmScores { r, f, m };
                    // A function gives one segment per input; check that it
                    // matches exactly one of the named segments.
                    let matching = RfmSegment::ALL
                        .iter()
                        .filter(|x| **x == s.segment())
                        .count();
                    assert_eq!(matching, 1, "{}", s.code());
                    *used.entry(s.segment()).or_default() += 1;
                }
            }
        }
        assert_eq!(used.values().sum::<u32>(), 125);
        for s in RfmSegment::ALL {
            assert!(used.contains_key(&s), "{s:?} unreachable");
        }
    }

    #[test]
    fn grid_reads_as_documented() {
        let seg = |r, f, m| RfmScores { r, f, m }.segment();
        assert_eq!(seg(5, 5, 5), S::Champions);
        assert_eq!(seg(5, 1, 1), S::New);
        assert_eq!(seg(5, 1, 2), S::New); // FM = 1
        assert_eq!(seg(5, 1, 3), S::PotentialLoyalist); // FM = 2
        assert_eq!(seg(4, 1, 1), S::Promising);
        assert_eq!(seg(3, 3, 3), S::NeedAttention);
        assert_eq!(seg(3, 2, 1), S::AboutToSleep);
        assert_eq!(seg(2, 4, 4), S::AtRisk);
        assert_eq!(seg(1, 5, 5), S::CantLoseThem);
        assert_eq!(seg(2, 1, 1), S::Hibernating);
        assert_eq!(seg(1, 1, 1), S::Lost);
        assert_eq!(seg(4, 5, 4), S::Loyal);
    }

    #[test]
    fn keys_round_trip_and_match_serde() {
        for s in RfmSegment::ALL {
            assert_eq!(RfmSegment::from_key(s.key()), Some(s));
            let json = format!("\"{}\"", s.key());
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
            assert!(!s.label().en.is_empty() && !s.label().zh_cn.is_empty());
        }
    }
}
