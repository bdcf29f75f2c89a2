//! Search terms: how a customer is found by characters, pinyin, initials,
//! phone and email with nothing but B-tree range lookups.
//!
//! Every searchable text is stored as the set of its *suffixes*: a substring
//! query is then a prefix query on one of them (`term >= q AND term < q+∞`),
//! which both SQLite and PostgreSQL answer from an ordinary index, at any
//! table size. For Chinese text, the suffixes are taken three times: in
//! characters (`华为科技` → `为科技`), in full pinyin from each syllable
//! (`weikeji`), and in initials (`wkj`). Latin text gets its character
//! suffixes, which cover every substring. Phones are stored as national
//! digits (prefix search) and reversed digits behind a `#` marker (suffix
//! search: the last four digits of a mobile).

use std::collections::BTreeSet;

use pinyin::ToPinyin;

/// Longest stored term, in characters; longer queries are cut to it and the
/// match is still exact enough for a name search.
pub const MAX_TERM_CHARS: usize = 20;
/// Characters of a name that are indexed; the rest of a very long name is
/// only reachable through its beginning.
const MAX_NAME_CHARS: usize = 24;
/// Marks reversed phone digits.
pub const PHONE_SUFFIX_MARK: char = '#';

/// Collects the terms of one customer.
#[derive(Debug, Default)]
pub struct Terms(BTreeSet<String>);

impl Terms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the suffixes of a name in characters, pinyin and initials.
    pub fn name(&mut self, name: &str) -> &mut Self {
        let folded: Vec<char> = crate::text::fold(name)
            .chars()
            .take(MAX_NAME_CHARS)
            .collect();
        let mut syllables: Vec<(String, char)> = Vec::with_capacity(folded.len());
        let mut has_han = false;
        for (i, c) in folded.iter().enumerate() {
            self.insert(folded[i..].iter().copied());
            match c.to_pinyin() {
                Some(p) => {
                    has_han = true;
                    let plain = p.plain();
                    let first = plain.chars().next().unwrap_or(*c);
                    syllables.push((plain.to_owned(), first));
                }
                None => syllables.push((c.to_string(), *c)),
            }
        }
        if has_han {
            for i in 0..syllables.len() {
                // Pinyin suffixes start at a syllable, as people type them.
                let full: String = syllables[i..].iter().map(|(s, _)| s.as_str()).collect();
                self.insert(full.chars());
                self.insert(syllables[i..].iter().map(|(_, c)| *c));
            }
        }
        self
    }

    /// Adds a phone number for prefix and suffix search.
    pub fn phone(&mut self, mobile: &crate::Mobile) -> &mut Self {
        let national = mobile.national_digits();
        self.insert(national.chars());
        let reversed: String = std::iter::once(PHONE_SUFFIX_MARK)
            .chain(national.chars().rev())
            .collect();
        self.insert(reversed.chars());
        self
    }

    /// Adds an email address (prefix search on the whole address).
    pub fn email(&mut self, email: &crate::Email) -> &mut Self {
        self.insert(email.as_str().chars());
        self
    }

    fn insert(&mut self, chars: impl Iterator<Item = char>) {
        let term: String = chars.take(MAX_TERM_CHARS).collect();
        if !term.is_empty() {
            self.0.insert(term);
        }
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0.into_iter().collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a typed query is looked up: a list of term prefixes; a customer
/// matches when any of its terms starts with any of them.
pub fn query_prefixes(query: &str) -> Vec<String> {
    let q: String = crate::text::fold(query)
        .chars()
        .take(MAX_TERM_CHARS)
        .collect();
    if q.is_empty() {
        return Vec::new();
    }
    let mut out = vec![q.clone()];
    // Names are indexed without their legal form, so a query that spells
    // it out (`华为技术有限公司`) must drop it too.
    let key: String = crate::text::company_key(&q);
    if !key.is_empty() && key != q {
        out.push(key);
    }
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = q.chars().all(|c| c.is_ascii_digit() || c == '+');
    if phone_like && digits.len() >= 3 {
        let national = digits
            .strip_prefix("86")
            .filter(|d| d.len() == 11)
            .unwrap_or(&digits);
        if national != q {
            out.push(national.to_owned());
        }
        out.push(
            std::iter::once(PHONE_SUFFIX_MARK)
                .chain(national.chars().rev())
                .collect(),
        );
    }
    out
}

/// The exclusive upper bound of the range of terms starting with `prefix`,
/// for a byte-ordered (`C` / `BINARY`) collation.
pub fn prefix_upper_bound(prefix: &str) -> String {
    // U+10FFFF encodes as F4 8F BF BF, above the first byte of any other
    // character, so every term that extends `prefix` sorts below this bound.
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push('\u{10FFFF}');
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn terms_of(name: &str) -> Vec<String> {
        let mut t = Terms::new();
        t.name(name);
        t.into_vec()
    }

    fn finds(name: &str, query: &str) -> bool {
        let terms = terms_of(name);
        query_prefixes(query)
            .iter()
            .any(|p| terms.iter().any(|t| t.starts_with(p.as_str())))
    }

    #[test]
    fn chinese_names_are_found_by_characters_pinyin_and_initials() {
        for q in [
            "张三",
            "张",
            "三",
            "zhangsan",
            "zhang",
            "zs",
            "san",
            "ZS",
            "ｚｈａｎｇ",
        ] {
            assert!(finds("张三", q), "{q}");
        }
        for q in [
            "华为",
            "科技",
            "huawei",
            "hw",
            "hwkj",
            "keji",
            "kj",
            "北京华为",
        ] {
            assert!(finds("北京华为科技有限公司", q), "{q}");
        }
        assert!(!finds("张三", "lisi"));
        assert!(!finds("张三", "zsan1"));
    }

    #[test]
    fn latin_names_match_any_substring() {
        assert!(finds("Microsoft China", "soft"));
        assert!(finds("Microsoft China", "MICROSOFTCH"));
        assert!(!finds("Microsoft China", "apple"));
    }

    #[test]
    fn phones_match_prefix_and_suffix() {
        let mut t = Terms::new();
        t.phone(&crate::Mobile::parse("m", "13812345678").unwrap());
        let terms = t.into_vec();
        let hit = |q: &str| {
            query_prefixes(q)
                .iter()
                .any(|p| terms.iter().any(|t| t.starts_with(p.as_str())))
        };
        assert!(hit("5678"));
        assert!(hit("138"));
        assert!(hit("+8613812345678"));
        assert!(!hit("9999"));
    }

    #[test]
    fn upper_bound_is_above_every_extension() {
        let ub = prefix_upper_bound("zs");
        for t in ["zs", "zsa", "zs\u{4e00}", "zsz\u{10FFFE}"] {
            assert!(t.as_bytes() < ub.as_bytes(), "{t}");
        }
        assert!("zt".as_bytes() > ub.as_bytes());
    }
}
