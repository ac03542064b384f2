//! The counter's function keys (F1 收款, F3 退款, F4 查单, Esc 取消 …): shown on the buttons, changed in Settings,
//! stored in the settings table (`keys.<action>` = "F1" … "F12" or "Esc"). The map itself is plain state: it is
//! read from the stored settings the shell hands it, and Settings writes a changed key through the command queue.

use crate::i18n::Lang;

/// What a function key does at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// F1 收款: focus the amount (start a sale); with an amount and a code typed, charge.
    Charge,
    /// F2 动态码: the dynamic code the customer scans (bound by `ui::dynamic_code::DynamicHook`).
    DynamicCode,
    /// F3 退款: the refund form for the selected or the last order.
    Refund,
    /// F4 查单: ask about the last order now.
    Query,
    /// F9 重打小票: reserved for reprinting the last receipt (the receipts screen binds the action).
    Reprint,
    /// Esc 取消: cancel the sale in progress (the engine cancels or reverses; nothing paid is lost).
    Cancel,
    /// F10 交班: the shift screen, asking to confirm the handover (Enter closes the shift).
    CloseShift,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Charge,
        Action::DynamicCode,
        Action::Refund,
        Action::Query,
        Action::Reprint,
        Action::Cancel,
        Action::CloseShift,
    ];

    /// The settings-table key.
    pub fn setting_key(self) -> &'static str {
        match self {
            Action::Charge => "keys.charge",
            Action::DynamicCode => "keys.dynamic_code",
            Action::Refund => "keys.refund",
            Action::Query => "keys.query",
            Action::Reprint => "keys.reprint",
            Action::Cancel => "keys.cancel",
            Action::CloseShift => "keys.close_shift",
        }
    }

    pub fn default_key(self) -> egui::Key {
        match self {
            Action::Charge => egui::Key::F1,
            Action::DynamicCode => egui::Key::F2,
            Action::Refund => egui::Key::F3,
            Action::Query => egui::Key::F4,
            Action::Reprint => egui::Key::F9,
            Action::Cancel => egui::Key::Escape,
            Action::CloseShift => egui::Key::F10,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Action::Charge => lang.pick("收款", "Charge"),
            Action::DynamicCode => lang.pick("动态码", "Show code"),
            Action::Refund => lang.pick("退款", "Refund"),
            Action::Query => lang.pick("查单", "Check order"),
            Action::Reprint => lang.pick("重打小票", "Reprint"),
            Action::Cancel => lang.pick("取消", "Cancel"),
            Action::CloseShift => lang.pick("交班", "Close shift"),
        }
    }
}

/// The keys a function may be given.
pub const KEYS: [egui::Key; 13] = [
    egui::Key::F1,
    egui::Key::F2,
    egui::Key::F3,
    egui::Key::F4,
    egui::Key::F5,
    egui::Key::F6,
    egui::Key::F7,
    egui::Key::F8,
    egui::Key::F9,
    egui::Key::F10,
    egui::Key::F11,
    egui::Key::F12,
    egui::Key::Escape,
];

/// A key's stored spelling and its name on a button ("F1", "Esc").
pub fn key_name(key: egui::Key) -> &'static str {
    match key {
        egui::Key::Escape => "Esc",
        other => other.name(),
    }
}

fn parse_key(text: &str) -> Option<egui::Key> {
    KEYS.into_iter().find(|k| key_name(*k).eq_ignore_ascii_case(text.trim()))
}

/// Which key does what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    keys: [(Action, egui::Key); Action::ALL.len()],
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap { keys: Action::ALL.map(|a| (a, a.default_key())) }
    }
}

/// Why a function cannot have a key: another function has it already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{key} is already the key for another function")]
pub struct KeyTaken {
    pub key: &'static str,
    pub by: Action,
}

impl KeyMap {
    /// The stored keys (`setting` reads one setting by its key), the defaults where unset, unreadable or clashing.
    pub fn load<E>(setting: impl Fn(&str) -> Result<Option<String>, E>) -> Result<Self, E> {
        let mut map = KeyMap::default();
        for action in Action::ALL {
            if let Some(key) = setting(action.setting_key())?.as_deref().and_then(parse_key) {
                // A clash written by hand keeps the default for the later function.
                if map.action_of(key).is_none_or(|a| a == action) {
                    map.put(action, key);
                }
            }
        }
        Ok(map)
    }

    pub fn key(&self, action: Action) -> egui::Key {
        self.keys.iter().find(|(a, _)| *a == action).map_or(action.default_key(), |(_, k)| *k)
    }

    fn action_of(&self, key: egui::Key) -> Option<Action> {
        self.keys.iter().find(|(_, k)| *k == key).map(|(a, _)| *a)
    }

    fn put(&mut self, action: Action, key: egui::Key) {
        for entry in &mut self.keys {
            if entry.0 == action {
                entry.1 = key;
            }
        }
    }

    /// Whether `action` may have `key`: refused when another function has it.
    pub fn check(&self, action: Action, key: egui::Key) -> Result<(), KeyTaken> {
        match self.action_of(key).filter(|a| *a != action) {
            Some(by) => Err(KeyTaken { key: key_name(key), by }),
            None => Ok(()),
        }
    }

    /// Gives `action` the key `key` (once stored); refused when another function has it.
    pub fn assign(&mut self, action: Action, key: egui::Key) -> Result<(), KeyTaken> {
        self.check(action, key)?;
        self.put(action, key);
        Ok(())
    }

    /// A button's text with its key: "收款 F1".
    pub fn button_text(&self, action: Action, lang: Lang) -> String {
        format!("{} {}", action.label(lang), key_name(self.key(action)))
    }

    /// Whether `action`'s key was pressed this frame (the press is consumed, so nothing else acts on it).
    pub fn pressed(&self, ctx: &egui::Context, action: Action) -> bool {
        let key = self.key(action);
        ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, key))
    }

    /// Whether `action`'s key was pressed this frame, without consuming it.
    pub fn was_pressed(&self, ctx: &egui::Context, action: Action) -> bool {
        let key = self.key(action);
        ctx.input(|i| i.key_pressed(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_the_settings_and_a_clash_is_refused() {
        let stored = std::cell::RefCell::new(std::collections::HashMap::<String, String>::new());
        let read = |key: &str| Ok::<_, std::convert::Infallible>(stored.borrow().get(key).cloned());
        let mut map = KeyMap::load(read).unwrap();
        assert_eq!(map, KeyMap::default());
        assert_eq!(map.button_text(Action::Charge, Lang::ZhCn), "收款 F1");
        assert_eq!(map.button_text(Action::Cancel, Lang::En), "Cancel Esc");
        map.assign(Action::Query, egui::Key::F8).unwrap();
        assert_eq!(map.key(Action::Query), egui::Key::F8);
        stored.borrow_mut().insert("keys.query".into(), "F8".into());
        assert_eq!(KeyMap::load(read).unwrap().key(Action::Query), egui::Key::F8);
        assert_eq!(map.assign(Action::Query, egui::Key::F1), Err(KeyTaken { key: "F1", by: Action::Charge }));
        assert_eq!(map.key(Action::Query), egui::Key::F8);
        // A clash written by hand keeps the default.
        stored.borrow_mut().insert("keys.refund".into(), "F1".into());
        assert_eq!(KeyMap::load(read).unwrap().key(Action::Refund), egui::Key::F3);
        stored.borrow_mut().insert("keys.refund".into(), "nonsense".into());
        assert_eq!(KeyMap::load(read).unwrap().key(Action::Refund), egui::Key::F3);
    }
}
