//! Every screen in one language (issue 21): the till takes a sale through the sandbox, then every screen of the
//! navigation is opened in Chinese and in English, and none may show text of the other language outside the
//! allow-list (brand names, ids, merchant data). The screens' own language tests (`ui_language_*.rs`) open their
//! dialogs and detail panels; this one makes sure no screen, including one added later, is left out.

mod ui_common;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;

use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::sound::{Player, Sound, SoundError, SoundSettings};
use tilldesk::ui::{SandboxStatus, Screen, TillDeskApp};
use ui_common::{AppHarness, harness, other_language_text, type_and_enter, wait_for, wait_until};

struct Silent;

impl Player for Silent {
    fn play(&self, _wav: &[u8]) -> Result<(), SoundError> {
        Ok(())
    }
}

/// Merchant data the sandbox's first run writes, and names that are the same in both languages.
const ALLOW: &[&str] = &["演示门店", "Demo Store", "mm", "pw-play", "paplay", "aplay", "afplay"];

/// Steps until the screen's text has stayed the same for five frames (its background loads have landed).
fn settle(h: &mut AppHarness) {
    let last = std::cell::RefCell::new((Vec::new(), 0u32));
    wait_until(h, "the screen to settle", |h| {
        let now = ui_common::screen_text(h);
        let mut last = last.borrow_mut();
        if last.0 == now {
            last.1 += 1;
        } else {
            *last = (now, 0);
        }
        last.1 >= 5
    });
}

fn walk(lang: Lang) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.ctx.sound = Sound::new(Arc::new(Silent), SoundSettings { sound: false, voice: false, volume: 0 });
    let mut h: AppHarness = harness(app, [1280.0, 800.0]);

    // A sale, so that the orders, refunds and overview screens have something to show.
    wait_for(&mut h, lang.pick("可以收款", "Ready to take payments"));
    type_and_enter(&mut h, "12.34");
    type_and_enter(&mut h, "2800000000000000");
    wait_for(&mut h, lang.pick("收款成功", "Payment received"));

    let mut found = Vec::new();
    for screen in Screen::ALL {
        h.get_by_label(screen.nav_label(lang)).click();
        wait_for(&mut h, screen.heading(lang));
        settle(&mut h);
        for text in other_language_text(&h, lang, ALLOW) {
            found.push(format!("{screen:?}: {text}"));
        }
    }
    drop(rt);
    assert!(found.is_empty(), "text of the other language in {lang:?}: {found:#?}");
}

#[test]
fn every_screen_is_in_chinese_in_the_chinese_ui() {
    walk(Lang::ZhCn);
}

#[test]
fn every_screen_is_in_english_in_the_english_ui() {
    walk(Lang::En);
}
