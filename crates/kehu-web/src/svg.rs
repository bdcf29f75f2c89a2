//! Charts drawn on the server as inline SVG: no script, no external asset,
//! readable with JavaScript off and printable. Every text that reaches the
//! markup passes through [`esc`], because templates insert the result
//! unescaped.

use std::fmt::Write;

/// Escapes text for SVG/XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar: its label, its value, the value as shown, and an optional link.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub shown: String,
    pub href: Option<String>,
}

const ROW: i64 = 26;
const LABEL_W: i64 = 120;
const WIDTH: i64 = 460;

/// Horizontal bars, one per row, scaled to the largest value.
pub fn hbars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len().max(1) as i64 + 4;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" aria-label="{}">"#,
        esc(title)
    );
    let bar_room = WIDTH - LABEL_W - 90;
    for (i, b) in bars.iter().enumerate() {
        let y = i as i64 * ROW + 2;
        let w = (b.value.max(0) * bar_room / max).max(if b.value > 0 { 2 } else { 0 });
        let label = truncate(&b.label, 9);
        let open = b
            .href
            .as_ref()
            .map(|h| format!(r#"<a href="{}">"#, esc(h)))
            .unwrap_or_default();
        let close = if b.href.is_some() { "</a>" } else { "" };
        let _ = write!(
            s,
            r#"{open}<g><title>{title}: {shown}</title><text x="{lx}" y="{ty}" text-anchor="end" class="lbl">{label}</text><rect x="{LABEL_W}" y="{y}" width="{w}" height="{bh}" rx="3" class="bar"/><text x="{vx}" y="{ty}" class="val">{shown}</text></g>{close}"#,
            title = esc(&b.label),
            shown = esc(&b.shown),
            lx = LABEL_W - 8,
            ty = y + 16,
            label = esc(&label),
            bh = ROW - 8,
            vx = LABEL_W + w + 6,
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical columns (e.g. revenue per month); the last one is highlighted.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let (h, top, bottom) = (200_i64, 22_i64, 24_i64);
    let n = bars.len().max(1) as i64;
    let slot = WIDTH / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {h}" width="100%" aria-label="{}">"#,
        esc(title)
    );
    let room = h - top - bottom;
    for (i, b) in bars.iter().enumerate() {
        let bh = (b.value.max(0) * room / max).max(if b.value > 0 { 2 } else { 0 });
        let x = i as i64 * slot + slot / 5;
        let w = slot * 3 / 5;
        let y = h - bottom - bh;
        let class = if i + 1 == bars.len() {
            "bar now"
        } else {
            "bar"
        };
        let _ = write!(
            s,
            r#"<g><title>{label}: {shown}</title><rect x="{x}" y="{y}" width="{w}" height="{bh}" rx="3" class="{class}"/><text x="{cx}" y="{vy}" text-anchor="middle" class="val">{shown}</text><text x="{cx}" y="{ly}" text-anchor="middle" class="lbl">{label}</text></g>"#,
            label = esc(&b.label),
            shown = esc(&b.shown),
            cx = x + w / 2,
            vy = (y - 6).max(12),
            ly = h - 6,
        );
    }
    s.push_str("</svg>");
    s
}

/// A cumulative share curve (Pareto or whale): `points` are (share of
/// customers, share of value) in 0..=1 on x; y may rise above 1 (the whale's
/// hump) or end below it. The diagonal shows an even spread; the point at
/// `mark` of the customers is labelled.
pub fn share_curve(title: &str, points: &[(f64, f64)], mark: f64, axis: (&str, &str)) -> String {
    let (w, h, left, bottom, top) = (WIDTH as f64, 240.0, 44.0, 28.0, 14.0);
    let y_max = points.iter().map(|p| p.1).fold(1.0_f64, f64::max).min(5.0);
    let y_min = points.iter().map(|p| p.1).fold(0.0_f64, f64::min).max(-2.0);
    let px = |x: f64| left + x.clamp(0.0, 1.0) * (w - left - 20.0);
    let py = |y: f64| top + (y_max - y.clamp(y_min, y_max)) / (y_max - y_min) * (h - top - bottom);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="100%" aria-label="{}">"#,
        esc(title)
    );
    // Grid every 20% of customers and of value.
    for i in 0..=5 {
        let f = f64::from(i) / 5.0;
        let _ = write!(
            s,
            r#"<line x1="{x}" y1="{t}" x2="{x}" y2="{b}" class="grid"/><text x="{x}" y="{ly}" text-anchor="middle" class="lbl">{pct}%</text>"#,
            x = px(f),
            t = top,
            b = h - bottom,
            ly = h - bottom + 16.0,
            pct = i * 20,
        );
    }
    let mut v = (y_min * 5.0).floor() / 5.0;
    while v <= y_max + 1e-9 {
        let _ = write!(
            s,
            r#"<line x1="{l}" y1="{y}" x2="{r}" y2="{y}" class="grid"/><text x="{tx}" y="{ty}" text-anchor="end" class="lbl">{pct:.0}%</text>"#,
            l = left,
            r = w - 20.0,
            y = py(v),
            tx = left - 6.0,
            ty = py(v) + 4.0,
            pct = v * 100.0,
        );
        v += if y_max - y_min > 2.0 { 0.5 } else { 0.2 };
    }
    let _ = write!(
        s,
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="even"/>"#,
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    let line: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
        .collect();
    let _ = write!(
        s,
        r#"<polyline points="{}" class="curve"><title>{}</title></polyline>"#,
        line.join(" "),
        esc(title)
    );
    if let Some((x, y)) = points
        .iter()
        .copied()
        .min_by(|a, b| (a.0 - mark).abs().total_cmp(&(b.0 - mark).abs()))
    {
        let _ = write!(
            s,
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" class="mark"/><text x="{tx:.1}" y="{ty:.1}" class="val">{who} {xp:.0}% → {what} {yp:.0}%</text>"#,
            cx = px(x),
            cy = py(y),
            tx = px(x) + 8.0,
            ty = py(y) + 14.0,
            who = esc(axis.0),
            what = esc(axis.1),
            xp = x * 100.0,
            yp = y * 100.0,
        );
    }
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// `12.3万` / `1.2亿` in Chinese, `12.3K` / `1.2M` in English: short
/// amounts for chart labels, rounded half away from zero in integer
/// arithmetic (money is never a float).
pub fn short_amount(minor: i64, zh: bool) -> String {
    let units: &[(i128, &str)] = if zh {
        &[(100_000_000, "亿"), (10_000, "万")]
    } else {
        &[(1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")]
    };
    let minor = i128::from(minor);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.abs();
    for (size, unit) in units {
        let per = size * 100;
        if abs >= per {
            // Tenths of the unit, rounded.
            let tenths = (abs * 10 + per / 2) / per;
            return format!("{sign}¥{}.{}{unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{sign}¥{}", (abs + 50) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let svg = hbars(
            "t",
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                value: 3,
                shown: "3\"".into(),
                href: Some("/x?a=1&b=\"2\"".into()),
            }],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a=1&amp;b=&quot;2&quot;"));
        assert!(!svg.contains("3\"<"));
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let bars = |v: &[i64]| {
            v.iter()
                .map(|v| Bar {
                    label: "x".into(),
                    value: *v,
                    shown: v.to_string(),
                    href: None,
                })
                .collect::<Vec<_>>()
        };
        let svg = hbars("t", &bars(&[10, 5, 0]));
        let room = WIDTH - LABEL_W - 90;
        assert!(svg.contains(&format!(r#"width="{room}""#)));
        assert!(svg.contains(&format!(r#"width="{}""#, room / 2)));
        assert!(svg.contains(r#"width="0""#));
        // Columns of nothing still draw (no division by zero).
        assert!(columns("t", &bars(&[0, 0])).contains("</svg>"));
    }

    #[test]
    fn short_amounts_use_the_units_of_each_language() {
        assert_eq!(short_amount(123_456_700, true), "¥123.5万");
        assert_eq!(short_amount(123_456_700, false), "¥1.2M");
        assert_eq!(short_amount(25_000_000_000, true), "¥2.5亿");
        assert_eq!(short_amount(9_900, true), "¥99");
    }
}
