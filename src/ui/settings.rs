//! 设置 Settings: language, appearance (theme and scale), mode, where the data lives, this till's store and
//! terminal, receipts, sync, keys, staff, sound and function keys. The sections sit in a column of at most
//! [`MAX_WIDTH`] points, centred in a wide window. What it reads (the schema version, the recent audit entries, the
//! receipt settings) and writes (sound, function keys, receipts) goes through the command queue, like the test print.

use crate::i18n::{Lang, Text};
use crate::model::{AuditEntry, ChannelMode, OperatorId};
use crate::queue::{Ticket, poll_slot};
use crate::store::StoreError;
use crate::store::operators::Permission;
use crate::ui::Ctx;
use crate::ui::hotkeys::{Action, KeyTaken};
use crate::ui::words_backoffice::{store_error, store_error_words};

/// The database's facts Settings shows: its schema version and the latest audit entries with the operators' names.
#[derive(Debug)]
struct Facts {
    schema: Result<u32, StoreError>,
    audit: Result<Audit, StoreError>,
}

/// The latest audit entries and the operators' names they refer to.
type Audit = (Vec<AuditEntry>, Vec<(OperatorId, String)>);

/// A function key being saved: the action, the key it had (given back if the write fails), the write.
type SavingKey = (Action, egui::Key, Ticket<Result<(), StoreError>>);

/// How many audit entries Settings shows.
const RECENT_AUDIT: u32 = 5;

/// How often (seconds of the window's clock) the facts are read again while Settings is shown: other panels and
/// other tills change the audit log too.
const FACTS_EVERY: f64 = 2.0;

fn read_facts(q: &crate::queue::CoreSession) -> Facts {
    let store = &q.store;
    let audit = store.recent_audit(RECENT_AUDIT).and_then(|entries| {
        let names = store.staff().operators()?.into_iter().map(|o| (o.id, o.name)).collect();
        Ok((entries, names))
    });
    Facts { schema: store.schema_version(), audit }
}

#[derive(Debug, Default)]
pub struct SettingsScreen {
    /// Set by the "run the setup wizard again" button; the shell opens the wizard.
    wizard_requested: bool,
    staff: crate::ui::staff::StaffPanel,
    sync: crate::ui::sync_panel::SyncPanel,
    keys: crate::ui::keys::KeysPanel,
    this_till: crate::ui::this_till::ThisTillPanel,
    receipts: ReceiptsPanel,
    /// Why the last change here was refused (red, under the settings).
    refused: Option<Text>,
    /// Why the last function-key change was refused (the key is taken).
    keys_refused: Option<Text>,
    /// The facts last read, and when (the window's clock), and the read under way.
    facts: Option<Facts>,
    facts_at: Option<f64>,
    reading: Option<Ticket<Facts>>,
    /// The sound settings being saved, and what they were before (put back when the save fails).
    saving_sound: Option<(crate::sound::SoundSettings, Ticket<Result<(), StoreError>>)>,
    /// The function key being saved: (the action, the key it had, the write).
    saving_key: Option<SavingKey>,
}

/// The widest the settings column grows (points); a wider window centres it.
pub const MAX_WIDTH: f32 = 980.0;

/// Draws `add` in a column at most `max` wide, centred in the space there is.
pub fn centred_column<R>(ui: &mut egui::Ui, max: f32, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    let width = ui.available_width();
    let pad = ((width - max) / 2.0).max(0.0);
    ui.horizontal_top(|ui| {
        ui.add_space(pad);
        ui.vertical(|ui| {
            ui.set_max_width(width.min(max));
            add(ui)
        })
        .inner
    })
    .inner
}

impl SettingsScreen {
    /// Whether the merchant asked for the first-run wizard (cleared by asking).
    pub fn take_wizard_request(&mut self) -> bool {
        std::mem::take(&mut self.wizard_requested)
    }

    /// Reads what the panels cached again (the stores may have changed elsewhere).
    pub fn invalidate(&mut self) {
        self.this_till.invalidate();
        self.receipts.loaded = false;
        self.facts_at = None;
    }

    /// Reads the schema version and the audit entries again when due; takes the answer when it came.
    fn poll_facts(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        match poll_slot(&mut self.reading) {
            Some(Ok(facts)) => self.facts = Some(facts),
            Some(Err(e)) => ctx.error = Some(crate::i18n::Phrase::text(&e)),
            None => {}
        }
        let now = ui.input(|i| i.time);
        if self.reading.is_none() && self.facts_at.is_none_or(|at| now - at >= FACTS_EVERY) {
            self.facts_at = Some(now);
            self.reading = Some(ctx.queue.submit(|q| read_facts(q)));
        }
        ui.ctx().request_repaint_after(std::time::Duration::from_secs_f64(FACTS_EVERY));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| centred_column(ui, MAX_WIDTH, |ui| self.contents(ui, ctx)));
    }

    fn contents(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll_facts(ui, ctx);
        egui::Grid::new("settings-grid").num_columns(2).spacing([24.0, 10.0]).show(ui, |ui| {
            ui.label(lang.pick("界面语言", "Language"));
            ui.horizontal(|ui| {
                for choice in [Lang::ZhCn, Lang::En] {
                    if ui.radio(ctx.lang == choice, choice.native_name()).clicked() && ctx.lang != choice {
                        ctx.set_language(choice);
                    }
                }
            });
            ui.end_row();

            appearance_rows(ui, ctx);

            ui.label(lang.pick("运行模式", "Mode"));
            ui.vertical(|ui| {
                for (mode, label) in [
                    (
                        ChannelMode::Sandbox,
                        lang.pick(
                            "沙箱（内置模拟网关，不会真实扣款）",
                            "Sandbox (embedded gateways, no real money moves)",
                        ),
                    ),
                    (ChannelMode::Live, lang.pick("正式（真实收单网关）", "Live (real acquirer gateways)")),
                ] {
                    if ui.radio(ctx.mode == mode, label).clicked() && ctx.mode != mode {
                        self.refused = ctx.permit_text(Permission::ChangeSettings).err();
                        if self.refused.is_none() {
                            ctx.set_mode(mode);
                        }
                    }
                }
            });
            ui.end_row();

            ui.label(lang.pick("数据目录", "Data folder"));
            ui.monospace(ctx.home.dir.display().to_string());
            ui.end_row();

            ui.label(lang.pick("数据库", "Database"));
            ui.monospace(ctx.queue.core().db().display().to_string());
            ui.end_row();

            ui.label(lang.pick("数据库版本", "Schema version"));
            ui.label(match self.facts.as_ref().map(|f| &f.schema) {
                Some(Ok(v)) => v.to_string(),
                Some(Err(e)) => store_error_words(e, lang),
                None => "…".to_owned(),
            });
            ui.end_row();

            ui.label(lang.pick("软件版本", "Version"));
            ui.label(env!("CARGO_PKG_VERSION"));
            ui.end_row();
        });
        if let Some(refused) = &self.refused {
            ui.colored_label(ui.visuals().error_fg_color, refused.get(lang));
        }
        ui.add_space(8.0);
        ui.separator();
        self.this_till.ui(ui, ctx);
        crate::ui::dynamic_code::customer_display_setting(ui, ctx);
        ui.separator();
        // A scope of its own: the form appears once the queue has read the settings.
        ui.push_id("receipts", |ui| self.receipts.ui(ui, ctx));
        ui.separator();
        if ui.button(lang.pick("重新运行首次设置向导", "Run the setup wizard again")).clicked() {
            // The wizard changes the merchant, the store and the mode.
            self.refused = ctx.permit_text(Permission::ChangeSettings).err();
            self.wizard_requested = self.refused.is_none();
        }

        ui.add_space(16.0);
        // In a scope of its own: the list grows as the queue answers, and the widgets below keep their ids.
        ui.push_id("recent-audit", |ui| {
            ui.label(egui::RichText::new(lang.pick("最近的变更（审计日志）", "Recent changes (audit log)")).strong());
            match self.facts.as_ref().map(|f| &f.audit) {
                None => {
                    ui.spinner();
                }
                Some(Ok((entries, _))) if entries.is_empty() => {
                    ui.label(lang.pick("暂无", "None yet"));
                }
                Some(Ok((entries, names))) => crate::ui::staff::audit_list(ui, entries, names, lang),
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, store_error_words(e, lang));
                }
            }
        });
        // Each section in a scope of its own: the sync's list grows at every pass and the key and staff panels change
        // as their answers come, so the widgets after them keep their ids (a field being typed into keeps the focus).
        ui.separator();
        ui.push_id("sync", |ui| self.sync.ui(ui, ctx));
        ui.separator();
        ui.push_id("keys", |ui| self.keys.ui(ui, ctx));
        ui.separator();
        ui.push_id("staff", |ui| self.staff.ui(ui, ctx));
        ui.separator();
        ui.push_id("sound", |ui| self.sound_ui(ui, ctx));
        ui.separator();
        ui.push_id("function-keys", |ui| self.keys_ui(ui, ctx));
    }
}

/// 声音与语音, 功能键: how the counter sounds and which keys do what. Anyone at the till may change them (like the
/// language): they are how the till is worked, not what it does with money.
impl SettingsScreen {
    fn sound_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.label(egui::RichText::new(lang.pick("声音与语音播报", "Sound and voice")).strong());
        let mut s = ctx.sound.settings;
        ui.checkbox(&mut s.sound, lang.pick("收款提示音与失败提示音", "Chime on payment, beep on failure"));
        ui.add_enabled(
            s.sound,
            egui::Checkbox::new(&mut s.voice, lang.pick("语音播报到账金额", "Announce received payments aloud")),
        );
        ui.horizontal(|ui| {
            let label = ui.label(lang.pick("音量", "Volume"));
            ui.add_enabled(s.sound, egui::Slider::new(&mut s.volume, 0..=100).suffix(" %")).labelled_by(label.id);
            if ui.add_enabled(s.sound, egui::Button::new(lang.pick("试听", "Try it"))).clicked() {
                let amount = crate::money::Amount::from_fen(1234);
                ctx.sound.play(crate::sound::Cue::Paid { wallet: Some(crate::sound::Announced::Alipay), amount });
            }
        });
        ui.label(
            egui::RichText::new(lang.pick(
                "通过系统播放器播放（Linux：pw-play / paplay / aplay；macOS：afplay；Windows：PowerShell）。没有声卡时保持静音。",
                "Played through the system's player (Linux: pw-play / paplay / aplay; macOS: afplay; Windows: \
                 PowerShell). Silent where there is no sound device.",
            ))
            .weak(),
        );
        if let Some((before, ticket)) = &mut self.saving_sound
            && let Some(answer) = ticket.poll()
        {
            let before = *before;
            self.saving_sound = None;
            if let Some(e) = failed(answer) {
                ctx.sound.settings = before;
                ctx.error = Some(e);
            }
        }
        // Applied at once; a later change waits until the one being saved is written.
        if s != ctx.sound.settings && self.saving_sound.is_none() {
            let before = std::mem::replace(&mut ctx.sound.settings, s);
            let ticket = ctx.queue.submit(move |q| s.save(&mut q.store, q.operator));
            self.saving_sound = Some((before, ticket));
            self.facts_at = None;
        }
    }

    fn keys_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        use crate::ui::hotkeys::{KEYS, key_name};
        let lang = ctx.lang;
        if let Some((action, before, ticket)) = &mut self.saving_key
            && let Some(answer) = ticket.poll()
        {
            let (action, before) = (*action, *before);
            self.saving_key = None;
            if let Some(e) = failed(answer) {
                let _ = ctx.keys.assign(action, before);
                self.keys_refused = Some(e);
            }
        }
        ui.label(egui::RichText::new(lang.pick("收银功能键", "Function keys at the counter")).strong());
        let mut change = None;
        // Each function's name, then its key in a list named by it ("收款  F1 ▾").
        egui::Grid::new("hotkeys").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            for action in Action::ALL {
                let current = ctx.keys.key(action);
                let caption = ui.label(action.label(lang));
                egui::ComboBox::from_id_salt(("hotkey", action.setting_key()))
                    .selected_text(key_name(current))
                    .width(72.0)
                    .show_ui(ui, |ui| {
                        for key in KEYS {
                            let free = self.saving_key.is_none();
                            if ui.selectable_label(key == current, key_name(key)).clicked() && key != current && free {
                                change = Some((action, key));
                            }
                        }
                    })
                    .response
                    .labelled_by(caption.id);
                ui.end_row();
            }
        });
        if let Some((action, key)) = change {
            let before = ctx.keys.key(action);
            // Given at once (the counter uses it from the next frame); taken back if the write fails.
            self.keys_refused = match ctx.keys.assign(action, key) {
                Ok(()) => {
                    let ticket =
                        ctx.queue.submit(move |q| q.store.set_setting(action.setting_key(), key_name(key), q.operator));
                    self.saving_key = Some((action, before, ticket));
                    self.facts_at = None;
                    None
                }
                Err(taken) => Some(key_taken_words(taken)),
            };
        }
        if let Some(refused) = &self.keys_refused {
            ui.colored_label(ui.visuals().error_fg_color, refused.get(lang));
        }
    }
}

/// Why a function cannot have a key, in both languages.
fn key_taken_words(KeyTaken { key, by }: KeyTaken) -> Text {
    Text::new(
        format!("{key} 已用于“{}”，请先为它换一个键", by.label(Lang::ZhCn)),
        format!("{key} is already the key for “{}”: give that another key first", by.label(Lang::En)),
    )
}

/// A queued write's failure in words (None: it was written).
fn failed(answer: Result<Result<(), StoreError>, crate::queue::QueueError>) -> Option<Text> {
    match answer {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(store_error(&e)),
        Err(e) => Some(crate::i18n::Phrase::text(&e)),
    }
}

/// Settings → 小票 Receipts: when a receipt prints (always / ask / never), on which printer (a network printer's
/// address or a CUPS queue) and paper (58 / 80 mm), and a test print (off the UI thread).
#[derive(Debug, Default)]
struct ReceiptsPanel {
    loaded: bool,
    mode: crate::receipt::Mode,
    printer: String,
    width: crate::receipt::Width,
    message: Option<(bool, Text)>,
    loading: Option<Ticket<Result<crate::receipt::ReceiptSettings, ReceiptError>>>,
    saving: Option<Ticket<Result<(), ReceiptError>>>,
    testing: Option<Ticket<Result<(), ReceiptError>>>,
}

use crate::receipt::ReceiptError;

/// A receipt command's failure in words (`what` failed: the save or the test print).
fn receipt_error_words(e: &ReceiptError, what: Text) -> Text {
    match e {
        ReceiptError::Store(e) => store_error(e),
        ReceiptError::Unreachable { address, .. } => {
            Text::new(format!("打印机无法连接：{address}"), format!("Cannot reach the printer at {address}"))
        }
        e => {
            tracing::warn!(error = %e, "receipts");
            Text::new(format!("{}（详情见日志）", what.get(Lang::ZhCn)), format!("{}: {e}", what.get(Lang::En)))
        }
    }
}

impl ReceiptsPanel {
    /// Takes the answers that came: the stored settings, a save, a test print.
    fn poll(&mut self, ctx: &mut Ctx) {
        use crate::i18n::Phrase;
        if !self.loaded && self.loading.is_none() {
            self.loading = Some(ctx.queue.submit(|q| crate::receipt::ReceiptSettings::load(&q.store)));
        }
        if let Some(answer) = poll_slot(&mut self.loading) {
            let s = answer.ok().and_then(Result::ok).unwrap_or_default();
            self.mode = s.mode;
            self.printer = s.printer.map(|p| p.to_string()).unwrap_or_default();
            self.width = s.width;
            self.loaded = true;
        }
        if let Some(answer) = poll_slot(&mut self.saving) {
            self.message = Some(match answer {
                Ok(Ok(())) => (true, Text::new("小票设置已保存", "Receipt settings saved")),
                Ok(Err(e)) => (
                    false,
                    receipt_error_words(&e, Text::new("无法保存小票设置", "The receipt settings were not saved")),
                ),
                Err(e) => (false, e.text()),
            });
        }
        if let Some(answer) = poll_slot(&mut self.testing) {
            self.message = Some(match answer {
                Ok(Ok(())) => (true, Text::new("测试小票已发送", "Test receipt sent")),
                Ok(Err(e)) => (false, receipt_error_words(&e, Text::new("测试打印失败", "Test print failed"))),
                Err(e) => (false, e.text()),
            });
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        use crate::receipt::{Mode, Width};
        let lang = ctx.lang;
        self.poll(ctx);
        ui.strong(lang.pick("小票", "Receipts"));
        if !self.loaded {
            ui.spinner();
            return;
        }
        egui::Grid::new("receipt-settings").num_columns(2).spacing([24.0, 8.0]).show(ui, |ui| {
            ui.label(lang.pick("收款/退款后打印", "Print after a payment or refund"));
            ui.horizontal(|ui| {
                for (mode, label) in [
                    (Mode::Always, lang.pick("总是", "Always")),
                    (Mode::Ask, lang.pick("询问", "Ask")),
                    (Mode::Never, lang.pick("从不", "Never")),
                ] {
                    ui.radio_value(&mut self.mode, mode, label);
                }
            });
            ui.end_row();
            let l = ui.label(lang.pick("小票打印机", "Receipt printer"));
            ui.add(egui::TextEdit::singleline(&mut self.printer).hint_text("tcp://192.168.1.50:9100 / cups:QUEUE"))
                .labelled_by(l.id);
            ui.end_row();
            ui.label(lang.pick("纸宽", "Paper width"));
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.width, Width::Mm58, "58 mm");
                ui.radio_value(&mut self.width, Width::Mm80, "80 mm");
            });
            ui.end_row();
        });
        if self.printer.trim().is_empty() && self.mode != Mode::Never {
            ui.label(
                lang.pick("未设置打印机时不会自动打印小票。", "No receipt prints by itself until a printer is set."),
            );
        }
        ui.horizontal(|ui| {
            let saving = self.saving.is_some();
            if ui.add_enabled(!saving, egui::Button::new(lang.pick("保存小票设置", "Save receipt settings"))).clicked()
            {
                self.save(ctx);
            }
            let testing = self.testing.is_some();
            if ui.add_enabled(!testing, egui::Button::new(lang.pick("测试打印", "Test print"))).clicked() {
                self.test_print(ctx);
            }
            if saving || testing {
                ui.spinner();
            }
        });
        if let Some((ok, text)) = &self.message {
            let color = if *ok { crate::ui::staff::ok_color(ui) } else { ui.visuals().error_fg_color };
            ui.colored_label(color, text.get(lang));
        }
    }

    /// The typed printer, or why it is not one (None: left empty).
    fn target(&self) -> Result<Option<crate::receipt::Target>, Text> {
        match self.printer.trim() {
            "" => Ok(None),
            p => crate::receipt::Target::parse(p).map(Some).map_err(|_| {
                Text::new(
                    "打印机地址应为 tcp://主机:9100 或 cups:队列名",
                    "The printer should be tcp://HOST:9100 or cups:QUEUE",
                )
            }),
        }
    }

    fn save(&mut self, ctx: &mut Ctx) {
        if let Err(e) = ctx.permit_text(Permission::ChangeSettings) {
            self.message = Some((false, e));
            return;
        }
        let printer = match self.target() {
            Ok(p) => p,
            Err(e) => {
                self.message = Some((false, e));
                return;
            }
        };
        let settings = crate::receipt::ReceiptSettings { mode: self.mode, printer, width: self.width };
        self.message = None;
        self.saving = Some(ctx.queue.submit(move |q| settings.save(&mut q.store, q.operator)));
    }

    /// Prints a test receipt with the merchant's and the first store's names, on the queue (it reads the names
    /// and reaches the printer).
    fn test_print(&mut self, ctx: &mut Ctx) {
        let target = match self.target() {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.message = Some((false, Text::new("请先填写打印机", "Enter a printer first")));
                return;
            }
            Err(e) => {
                self.message = Some((false, e));
                return;
            }
        };
        let width = self.width;
        self.message = None;
        self.testing = Some(ctx.queue.submit(move |q| {
            let names = (|| {
                let store = q.store.setup().stores().ok()?.into_iter().next()?;
                let m = q.store.setup().merchant_by_id(store.merchant_id).ok()??;
                Some((m.display_name_zh, store.name_zh))
            })();
            let (merchant, store) = names.unwrap_or_else(|| ("TillDesk".into(), String::new()));
            let receipt = crate::receipt::test_receipt(&merchant, &store, &crate::time::now_utc());
            crate::receipt::test_print(&target, width, &receipt)
        }));
    }
}

/// Settings → 外观 Appearance: the theme (light, dark, follow the system) and the interface scale. Anyone at the
/// till may change them, like the language; they apply at once and at every start.
fn appearance_rows(ui: &mut egui::Ui, ctx: &mut Ctx) {
    use crate::config::{SCALE_RANGE, SCALE_STEP, Theme};
    let lang = ctx.lang;
    ui.label(lang.pick("外观主题", "Theme"));
    ui.horizontal_wrapped(|ui| {
        for theme in Theme::ALL {
            if ui.radio(ctx.theme == theme, theme.label(lang)).clicked() && ctx.theme != theme {
                ctx.set_theme(theme);
            }
        }
    });
    ui.end_row();

    let caption = ui.label(lang.pick("界面缩放", "Interface scale"));
    ui.horizontal_wrapped(|ui| {
        let mut percent = ctx.scale;
        let slider = egui::Slider::new(&mut percent, SCALE_RANGE).step_by(f64::from(SCALE_STEP)).suffix(" %");
        // Applied when the slider is let go (a scale that changed while dragging would move the slider away).
        let r = ui.add(slider).labelled_by(caption.id);
        if r.drag_stopped() || (r.changed() && !r.dragged()) {
            ctx.set_scale(percent);
        }
        if ui.button("−").on_hover_text("Ctrl + -").clicked() {
            ctx.set_scale(ctx.scale.saturating_sub(SCALE_STEP));
        }
        if ui.button("+").on_hover_text("Ctrl + =").clicked() {
            ctx.set_scale(ctx.scale.saturating_add(SCALE_STEP));
        }
        if ui.button(lang.pick("恢复 100 %", "Reset to 100 %")).on_hover_text("Ctrl + 0").clicked() {
            ctx.set_scale(100);
        }
    });
    ui.end_row();
}
