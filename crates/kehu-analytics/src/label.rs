//! Bilingual display text for stable keys.
//!
//! Every named result of this crate (segment, layer, stage, group) has a
//! stable `snake_case` key, used in storage, the API and filters, and a
//! [`Label`] with the English and Simplified Chinese text shown to users.
//! Keys never change once published; labels may be reworded.

use serde::Serialize;

/// Display text in the two languages the product ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Label {
    /// English.
    pub en: &'static str,
    /// Simplified Chinese (zh-CN).
    pub zh_cn: &'static str,
}

impl Label {
    /// The text for a language tag: `zh`, `zh-CN` and `zh-Hans` pick Chinese,
    /// anything else English.
    pub fn text(&self, lang: &str) -> &'static str {
        let lang = lang.to_ascii_lowercase();
        if lang == "zh" || lang.starts_with("zh-cn") || lang.starts_with("zh-hans") {
            self.zh_cn
        } else {
            self.en
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_pick_the_right_text() {
        let l = Label {
            en: "Lost",
            zh_cn: "已流失客户",
        };
        assert_eq!(l.text("zh-CN"), "已流失客户");
        assert_eq!(l.text("zh"), "已流失客户");
        assert_eq!(l.text("en-GB"), "Lost");
        assert_eq!(l.text(""), "Lost");
    }
}
