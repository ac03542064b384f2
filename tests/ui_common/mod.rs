//! What the whole-app kittests share: a harness on the real `TillDeskApp`, waiting for work on background threads
//! to show up (dumping the screen when it never does), and typing into a labelled field.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::ui::{TillDeskApp, fonts};

pub type AppHarness = Harness<'static, TillDeskApp>;

/// The app in a window of `size`, with the bundled CJK font, after two frames.
pub fn harness(app: TillDeskApp, size: [f32; 2]) -> AppHarness {
    let mut h = Harness::builder()
        .with_size(size)
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run_steps(2);
    h
}

/// Every label and value on screen (for failure messages).
pub fn screen_text(h: &AppHarness) -> Vec<String> {
    h.query_all_by(|_| true).filter_map(|n| n.accesskit_node().label().or_else(|| n.accesskit_node().value())).collect()
}

/// Steps the UI until `done` (up to 30 s); on timeout, fails naming `what` and showing the screen.
pub fn wait_until(h: &mut AppHarness, what: &str, done: impl Fn(&AppHarness) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.step();
        if done(h) {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out waiting for {what:?}; the screen shows: {:#?}", screen_text(h));
        }
        std::thread::sleep(Duration::from_millis(40));
    }
}

/// Waits until at least `n` labels contain `text`.
pub fn wait_for_n(h: &mut AppHarness, text: &str, n: usize) {
    wait_until(h, text, |h| h.query_all_by_label_contains(text).count() >= n);
}

/// Waits until a label contains `text`.
pub fn wait_for(h: &mut AppHarness, text: &str) {
    wait_for_n(h, text, 1);
}

/// Clicks a text field (found by its label) and types into it.
pub fn type_into(h: &mut AppHarness, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}
