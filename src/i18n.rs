//! The two UI languages. Texts sit next to the code that shows them: `lang.pick("收银", "Checkout")`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    /// The spelling stored in settings ("zh-CN", "en").
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads a stored tag or an OS locale ("zh_CN.UTF-8", "zh-Hans-CN", "en-US"); anything Chinese is zh-CN.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if t.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language the OS is set to; English when it is neither Chinese nor English.
    pub fn from_os() -> Lang {
        sys_locale::get_locale().and_then(|l| Lang::from_tag(&l)).unwrap_or(Lang::En)
    }

    /// Picks the text in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_tags_map_to_languages() {
        assert_eq!(Lang::from_tag("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_tag("zh-Hans-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_tag("en-US"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr-FR"), None);
        for l in [Lang::ZhCn, Lang::En] {
            assert_eq!(Lang::from_tag(l.tag()), Some(l));
        }
    }
}
