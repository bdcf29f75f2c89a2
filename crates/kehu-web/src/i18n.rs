//! Translation catalogs (`locales/*.toml`, embedded) and locale negotiation.
//!
//! Keys are flat dotted strings; values may hold `{name}` placeholders. A
//! test fails when a key exists in one catalog and not the other, and the
//! templates take every visible string from here.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    ZhCn,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase();
        if t.starts_with("zh") {
            Some(Locale::ZhCn)
        } else if t.starts_with("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The best match of an `Accept-Language` header (by q-value, then order).
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Locale::parse(tag) {
                if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                    best = Some((q, i, l));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Locale::ZhCn => include_str!("../locales/zh-CN.toml"),
            Locale::En => include_str!("../locales/en.toml"),
        }
    }
}

pub type Catalog = HashMap<String, String>;

fn flatten(prefix: &str, v: &toml::Value, out: &mut Catalog) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// Parses a catalog; a broken catalog is a build-breaking bug caught by tests.
pub fn parse_catalog(src: &str) -> Result<Catalog, toml::de::Error> {
    let v: toml::Value = toml::from_str(src)?;
    let mut out = Catalog::new();
    flatten("", &v, &mut out);
    Ok(out)
}

pub fn catalog(locale: Locale) -> &'static Catalog {
    static ZH: OnceLock<Catalog> = OnceLock::new();
    static EN: OnceLock<Catalog> = OnceLock::new();
    let cell = match locale {
        Locale::ZhCn => &ZH,
        Locale::En => &EN,
    };
    cell.get_or_init(|| {
        parse_catalog(locale.source()).unwrap_or_else(|e| {
            tracing::error!(locale = locale.tag(), error = %e, "translation catalog unreadable");
            Catalog::new()
        })
    })
}

/// The translator handed to templates.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The text of `key`; a missing key shows itself, loudly, rather than nothing.
    pub fn t<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        catalog(self.locale)
            .get(key)
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The text of `key` with `{name}` placeholders filled.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t_owned(key);
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// Owned text of a key built at run time.
    pub fn t_string(&self, key: &str) -> String {
        self.t_owned(key)
    }

    fn t_owned(&self, key: &str) -> String {
        catalog(self.locale)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// Whether the catalog has `key`.
    pub fn has(&self, key: &str) -> bool {
        catalog(self.locale).contains_key(key)
    }

    /// The label of a stored enum value, e.g. `("classification", "target")`.
    pub fn value(&self, kind: &str, value: &str) -> String {
        self.t_owned(&format!("value.{kind}.{value}"))
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_have_exactly_the_same_keys() {
        let zh = parse_catalog(Locale::ZhCn.source()).unwrap();
        let en = parse_catalog(Locale::En.source()).unwrap();
        let zk: BTreeSet<_> = zh.keys().collect();
        let ek: BTreeSet<_> = en.keys().collect();
        let only_zh: Vec<_> = zk.difference(&ek).collect();
        let only_en: Vec<_> = ek.difference(&zk).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only zh-CN: {only_zh:?}; only en: {only_en:?}"
        );
        assert!(zh.values().all(|v| !v.trim().is_empty()));
        assert!(en.values().all(|v| !v.trim().is_empty()));
    }

    #[test]
    fn every_domain_value_has_a_label() {
        use kehu_domain::*;
        let kinds: [(&str, &[&str]); 8] = [
            ("classification", Classification::KEYS),
            ("status", CustomerStatus::KEYS),
            ("kind", CustomerKind::KEYS),
            ("channel", Channel::KEYS),
            ("closeness", Closeness::KEYS),
            ("level", ContactLevel::KEYS),
            ("budget_authority", BudgetAuthority::KEYS),
            ("order_status", OrderStatus::KEYS),
        ];
        for locale in Locale::ALL {
            let c = catalog(locale);
            for (kind, keys) in kinds {
                for k in keys {
                    assert!(
                        c.contains_key(&format!("value.{kind}.{k}")),
                        "{}: value.{kind}.{k}",
                        locale.tag()
                    );
                }
            }
            for r in Role::KEYS {
                assert!(
                    c.contains_key(&format!("value.role.{r}")),
                    "{}: role {r}",
                    locale.tag()
                );
            }
        }
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,zh;q=0.5"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("fr;q=1,en;q=0.3,zh-TW;q=0.6"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("fr"), None);
    }
}
