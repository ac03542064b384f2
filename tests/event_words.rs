//! Every kind of timeline entry the core writes has words in both languages: none falls through to "Other record"
//! (an order's timeline in the Chinese UI must not show a kind the UI does not know).

use std::path::Path;

use tilldesk::i18n::Lang;
use tilldesk::ui::words_orders::event_words;

/// The kinds written as SQL literals: `INSERT INTO order_events (…) VALUES (?1, ?2, 'kind', ?3)`.
fn kinds_in(dir: &Path, kinds: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("sandbox") {
                kinds_in(&path, kinds);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("INSERT INTO order_events") {
            rest = &rest[at + 1..];
            let statement: String = rest.chars().take(200).collect();
            let Some(v) = statement.find("?2, '") else { continue };
            let kind = &statement[v + 5..];
            if let Some(end) = kind.find('\'') {
                kinds.push((kind[..end].to_owned(), path.display().to_string()));
            }
        }
    }
}

#[test]
fn every_kind_the_core_writes_has_words_in_both_languages() {
    let mut kinds = Vec::new();
    kinds_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut kinds);
    assert!(kinds.len() >= 8, "the scan finds the core's timeline kinds: {kinds:?}");
    let other = event_words("no_such_kind", "");
    for (kind, file) in kinds {
        let words = event_words(&kind, "X-R1 1.00: words");
        assert_ne!(words.get(Lang::ZhCn), other.get(Lang::ZhCn), "{kind} (written in {file}) has no words");
        assert_ne!(words.get(Lang::En), other.get(Lang::En), "{kind} (written in {file}) has no words");
    }
}
