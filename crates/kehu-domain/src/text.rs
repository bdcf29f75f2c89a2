//! Text normalization shared by duplicate detection and search.

/// Legal-form suffixes dropped from company names before comparing them,
/// longest first so that `股份有限公司` wins over `有限公司`.
const LEGAL_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "分公司",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd.",
    "co.ltd",
    "company",
    "limited",
    "corporation",
    "corp.",
    "corp",
    "inc.",
    "inc",
    "ltd.",
    "ltd",
    "llc",
    "gmbh",
];

/// Maps full-width ASCII variants (`Ａ`, `１`, `，`, ideographic space) to
/// their half-width forms, which is how Chinese input methods often type them.
pub fn to_half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Lower-cased, half-width, without whitespace or most punctuation: the form
/// in which two spellings of the same name compare equal.
pub fn fold(s: &str) -> String {
    to_half_width(s)
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(c, '(' | ')' | '（' | '）' | '·' | '-' | '_' | '"' | '\'')
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The duplicate-detection key of a customer name: folded and without a
/// trailing legal form, so `华为技术有限公司` and `华为技术 公司` meet.
pub fn company_key(name: &str) -> String {
    let mut key = fold(name);
    // Suffixes can stack (`… 集团 有限公司`), so strip until nothing changes.
    loop {
        let before = key.len();
        for suffix in LEGAL_SUFFIXES {
            if key.len() > suffix.len() && key.ends_with(suffix) {
                key.truncate(key.len() - suffix.len());
                key = key.trim_end_matches([',', '.']).to_owned();
                break;
            }
        }
        if key.len() == before {
            return key;
        }
    }
}

/// Trims and turns an empty string into `None`.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_keys_meet_across_spellings() {
        let check = |a: &str, b: &str| assert_eq!(company_key(a), company_key(b), "{a} vs {b}");
        check("华为技术有限公司", "华为技术 公司");
        check("华为技术有限公司", "华为技术（有限公司）");
        check("Acme Co., Ltd.", "ACME");
        check("ＡＣＭＥ Inc", "acme");
        check("北京字节跳动科技股份有限公司", "北京字节跳动科技");
    }

    #[test]
    fn a_name_that_is_only_a_suffix_is_kept() {
        assert_eq!(company_key("公司"), "公司");
    }

    #[test]
    fn half_width() {
        assert_eq!(to_half_width("ＡＢＣ１２３，　"), "ABC123, ");
    }
}
