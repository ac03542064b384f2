//! The two UI languages. Texts sit next to the code that shows them: `lang.pick("收银", "Checkout")`.
//!
//! What happens (a result, a refusal, an error) is kept as a [`Text`] in both languages, or as a core error *kind*
//! that the UI phrases through [`Phrase`], and is worded when it is drawn: switching the language re-words every
//! message already on screen. The core's own `Display` stays English (command line, logs); a screen never shows it
//! to a person except through [`Text::untranslated`], which marks what still has to be phrased.

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

/// A message in both languages, made when something happens and shown in the language current when it is drawn.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text { zh: zh.into(), en: en.into() }
    }

    /// Words that read the same in both languages: ids, numbers, merchant data.
    pub fn same(s: impl Into<String>) -> Text {
        let s = s.into();
        Text { zh: s.clone(), en: s }
    }

    /// A core message nobody has phrased in Chinese yet (English in both languages). Each use is a to-do: give the
    /// error a kind and phrase it with [`Phrase`].
    pub fn untranslated(s: impl Into<String>) -> Text {
        Text::same(s)
    }

    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }

    /// This sentence, then `next` (this one ended with a full stop when it has none).
    pub fn then(self, next: &Text) -> Text {
        let zh_end = if self.zh.ends_with(['。', '！', '？', '：']) { "" } else { "。" };
        let en_end = if self.en.ends_with(['.', '!', '?', ':']) { "" } else { "." };
        Text { zh: format!("{}{zh_end}{}", self.zh, next.zh), en: format!("{}{en_end} {}", self.en, next.en) }
    }
}

/// Something the UI can word in either language: core error kinds and values, statuses, steps, events.
pub trait Phrase {
    fn phrase(&self, lang: Lang) -> String;

    /// Both phrasings, to keep and show later in whatever language is current then.
    fn text(&self) -> Text {
        Text { zh: self.phrase(Lang::ZhCn), en: self.phrase(Lang::En) }
    }
}

impl Phrase for Text {
    fn phrase(&self, lang: Lang) -> String {
        self.get(lang).to_owned()
    }

    fn text(&self) -> Text {
        self.clone()
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

    #[test]
    fn a_text_is_worded_when_it_is_drawn() {
        let t = Text::new("已保存", "Saved");
        assert_eq!(t.get(Lang::ZhCn), "已保存");
        assert_eq!(t.phrase(Lang::En), "Saved");
        assert_eq!(Text::same("S001").get(Lang::ZhCn), "S001");
    }
}
